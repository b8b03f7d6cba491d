package flows

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"
)

// Message nodes send an SMS or a WhatsApp message to the caller's phone. The engine does
// no I/O: a turn that reaches one stops there with Turn.Message; the edge checks the
// number's consent and writes the message to a durable outbox (sent later, off the
// webhook's path) and resumes the flow with Call.Messaged: queued goes to next after the
// node's words, anything else to not_sent with vars.message_status.

// Message statuses the node's way depends on (vars.message_status).
const (
	MessageQueued    = "queued"     // in the outbox: it will be sent
	MessageOptedOut  = "opted_out"  // the number said STOP
	MessageNotMobile = "not_mobile" // the number cannot take messages (Twilio 21614 before)
	MessageInvalid   = "invalid"    // not a number messages reach (Twilio 21211 before)
	MessageEmpty     = "empty"      // the body rendered empty: nothing is sent
	MessageNoNumber  = "no_number"  // the caller's number is withheld
)

// MessageStatusVar is the variable a message node sets.
const MessageStatusVar = "message_status"

// MessageTemplate is an approved WhatsApp template (outside the 24-hour window), with its
// variables ("1" → a template).
type MessageTemplate struct {
	SID       string            `json:"sid"`
	Variables map[string]string `json:"variables,omitempty"`
}

// MessageRequest asks the edge to send a message for a message node.
type MessageRequest struct {
	Node     string
	Channel  string // sms or whatsapp
	To       string // the caller's E.164
	Body     string
	Language string
	Template *MessageTemplate // rendered variables
}

// Messaged is the edge's answer to a MessageRequest.
type Messaged struct {
	Node   string
	Status string // MessageQueued or why not
}

var templateSID = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)

// cmessage is a message node compiled.
type cmessage struct {
	channel  string
	body     ctext
	template *MessageTemplate
	tplVars  map[string]*template
	notSent  string
}

// Segment limits of an SMS body: a warning above the first, an error above the second.
const (
	warnSegments = 3
	maxSegments  = 10
)

func (c *compiler) message(cn *cnode, n *Node, path string) {
	m := &cmessage{channel: n.Channel}
	cn.message = m
	switch n.Channel {
	case "sms", "whatsapp":
	case "":
		c.add(join(path, "channel"), "required: sms or whatsapp")
	default:
		c.add(join(path, "channel"), "must be sms or whatsapp")
	}
	body := Text{}
	for _, lang := range slices.Sorted(maps.Keys(n.Body)) {
		s, ok := n.Body[lang].(string)
		if !ok {
			c.add(join(join(path, "body"), lang), "must be text: a message body per language")
			continue
		}
		body[lang] = s
	}
	m.body = c.text(join(path, "body"), body, n.Template == nil, false)
	for lang, src := range body {
		segs, ucs2 := smsSegments(src)
		lp := join(join(path, "body"), lang)
		switch {
		case n.Channel != "sms":
		case segs > maxSegments:
			c.add(lp, "about %d SMS segments (%s); at most %d", segs, encodingName(ucs2), maxSegments)
		case segs > warnSegments:
			c.warn(lp, "about %d SMS segments (%s): each is charged", segs, encodingName(ucs2))
		}
	}
	if t := n.Template; t != nil {
		tp := join(path, "template")
		if n.Channel != "whatsapp" {
			c.add(tp, "a template is for whatsapp")
		}
		if !templateSID.MatchString(t.SID) {
			c.add(join(tp, "sid"), "must be a content template SID (HX and 32 hex digits)")
		}
		m.template = t
		m.tplVars = map[string]*template{}
		for _, k := range slices.Sorted(maps.Keys(t.Variables)) {
			tpl, err := parseTemplate(t.Variables[k], false)
			if err != nil {
				c.add(join(join(tp, "variables"), k), "template: %v", err)
				continue
			}
			for _, v := range tpl.vars() {
				c.reads = append(c.reads, varRead{v, join(join(tp, "variables"), k)})
			}
			m.tplVars[k] = tpl
		}
	}
	cn.say = c.text(join(path, "say"), n.Say, false, false)
	cn.next = c.ref(join(path, "next"), n.Next, true)
	m.notSent = c.ref(join(path, "not_sent"), n.NotSent, false)
	if m.notSent == "" {
		m.notSent = cn.next
	}
	c.sets[MessageStatusVar] = true
}

func encodingName(ucs2 bool) string {
	if ucs2 {
		return "UCS-2, 70 characters each"
	}
	return "GSM-7, 160 characters each"
}

// smsSegments estimates the segments of an SMS body as written (each {{ }} counted as 10
// characters), and whether it needs UCS-2.
func smsSegments(src string) (int, bool) {
	text := regexp.MustCompile(`\{\{[^}]*\}\}`).ReplaceAllString(src, "0123456789")
	ucs2 := false
	units := 0
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsm7, r):
			units++
		case strings.ContainsRune(gsm7Ext, r):
			units += 2
		default:
			ucs2 = true
		}
	}
	if ucs2 {
		units = len(utf16.Encode([]rune(text)))
		if units <= 70 {
			return 1, true
		}
		return (units + 66) / 67, true
	}
	if units <= 160 {
		return 1, false
	}
	return (units + 152) / 153, false
}

// The GSM 03.38 alphabet and its extension (two units each).
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "^{}\\[~]|€\f"
)

// enterMessage renders a message node's body and stops the turn for the edge; a body
// that renders empty, or a withheld number, takes not_sent at once.
func (r *run) enterMessage(n *cnode) string {
	m := n.message
	lang, tpl := r.template(m.body)
	body := ""
	if tpl != nil {
		s := r.scope()
		s.lang, s.terms = lang, r.p.terms[lang]
		body = strings.TrimSpace(plain(tpl, s))
	}
	switch {
	case r.call.Caller.Phone == "":
		return r.messageNotSent(n, MessageNoNumber)
	case body == "" && m.template == nil:
		return r.messageNotSent(n, MessageEmpty)
	}
	req := MessageRequest{Node: n.id, Channel: m.channel, To: r.call.Caller.Phone, Body: body, Language: lang}
	if m.template != nil {
		t := &MessageTemplate{SID: m.template.SID, Variables: map[string]string{}}
		s := r.plainScope()
		for k, tpl := range m.tplVars {
			t.Variables[k] = plain(tpl, s)
		}
		req.Template = t
	}
	r.st.Node, r.st.Attempts = n.id, 0
	r.turn.Message = &req
	r.trace("message %s: %s to the caller (%s)", n.id, m.channel, lang)
	return ""
}

// resumeMessage goes on from a message node with the edge's answer; without one it asks
// again.
func (r *run) resumeMessage(n *cnode) error {
	res := r.call.Messaged
	if res == nil || res.Node != n.id {
		if next := r.enterMessage(n); next != "" {
			return r.walk(next)
		}
		return nil
	}
	r.st.Attempts = 0
	if res.Status != MessageQueued {
		return r.walk(r.messageNotSent(n, res.Status))
	}
	r.setVar(MessageStatusVar, MessageQueued)
	r.say(n, n.say, &r.turn.Actions)
	r.trace("message %s: queued → %s", n.id, n.next)
	return r.walk(n.next)
}

func (r *run) messageNotSent(n *cnode, status string) string {
	r.setVar(MessageStatusVar, status)
	r.trace("message %s: not sent (%s) → %s", n.id, status, n.message.notSent)
	return n.message.notSent
}

// setVar sets one call variable (a copy of the map: the State passed in keeps its own).
func (r *run) setVar(name, value string) {
	vars := maps.Clone(r.st.Vars)
	if vars == nil {
		vars = map[string]string{}
	}
	vars[name] = value
	r.st.Vars = vars
}
