package softphone

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// twimlNode is a generic XML element (name set) or a run of text (name empty).
type twimlNode struct {
	name  string
	attrs []xml.Attr
	chars string
	kids  []*twimlNode
}

func (n *twimlNode) attrOK(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n *twimlNode) attr(name string) string {
	v, _ := n.attrOK(name)
	return v
}

func (n *twimlNode) elems() []*twimlNode {
	var out []*twimlNode
	for _, k := range n.kids {
		if k.name != "" {
			out = append(out, k)
		}
	}
	return out
}

// text is all the text inside n, at any depth.
func (n *twimlNode) text() string {
	if n.name == "" {
		return n.chars
	}
	var b strings.Builder
	for _, k := range n.kids {
		b.WriteString(k.text())
	}
	return b.String()
}

// ownText is the text directly inside n, not inside its children.
func (n *twimlNode) ownText() string {
	var b strings.Builder
	for _, k := range n.kids {
		if k.name == "" {
			b.WriteString(k.chars)
		}
	}
	return b.String()
}

// parseTwiML reads a document into generic nodes and returns its <Response>.
func parseTwiML(b []byte) (*twimlNode, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	root := &twimlNode{name: "#document"}
	stack := []*twimlNode{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid TwiML: %w", err)
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			n := &twimlNode{name: t.Name.Local, attrs: t.Attr}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 1 {
				top.kids = append(top.kids, &twimlNode{chars: string(t)})
			}
		}
	}
	els := root.elems()
	if len(els) != 1 || els[0].name != "Response" {
		return nil, errors.New("invalid TwiML: the document must be one <Response> element")
	}
	return els[0], nil
}
