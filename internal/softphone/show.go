package softphone

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

func describeParams(v url.Values) string {
	if d := v.Get("Digits"); d != "" {
		return "Digits=" + d
	}
	return fmt.Sprintf("SpeechResult=%q Confidence=%s", v.Get("SpeechResult"), v.Get("Confidence"))
}

// show prints a verb that only plays something.
func (c *caller) show(v *twimlNode) {
	switch v.name {
	case "Say":
		lang := ""
		if l := v.attr("language"); l != "" && !strings.EqualFold(l, "en-US") {
			lang = "[" + l + "] "
		}
		fmt.Fprintf(c.out, "SAY   %s%s\n", lang, sayText(v))
	case "Play":
		if d := v.attr("digits"); d != "" {
			fmt.Fprintf(c.out, "PLAY  tones %s\n", d)
			return
		}
		fmt.Fprintf(c.out, "PLAY  %s\n", strings.TrimSpace(v.text()))
	case "Pause":
		length := v.attr("length")
		if length == "" {
			length = "1"
		}
		fmt.Fprintf(c.out, "PAUSE %ss\n", length)
	default:
		fmt.Fprintf(c.out, "????  <%s> is not simulated here; skipped\n", v.name)
	}
}

// sayText is what a <Say> speaks, SSML included: the text inside SSML elements as
// written (a say-as "characters" code stays HX7Q2P, so it can be read back and searched),
// a <sub> speaks its alias, a <break> is a space.
func sayText(n *twimlNode) string {
	var b strings.Builder
	var walk func(n *twimlNode)
	walk = func(n *twimlNode) {
		for _, k := range n.kids {
			switch {
			case k.name == "":
				b.WriteString(k.chars)
			case k.name == "break":
				b.WriteByte(' ')
			case k.name == "sub" && k.attr("alias") != "":
				b.WriteString(" " + k.attr("alias") + " ")
			case k.name == "p" || k.name == "s":
				b.WriteByte(' ')
				walk(k)
				b.WriteByte(' ')
			default:
				walk(k)
			}
		}
	}
	walk(n)
	s := strings.Join(strings.Fields(b.String()), " ")
	// Element boundaries add spaces; keep punctuation snug against what it follows.
	for _, p := range []string{".", ",", "?", "!", ";", ":"} {
		s = strings.ReplaceAll(s, " "+p, p)
	}
	return s
}

func (c *caller) showEnqueue(v *twimlNode) {
	line := "QUEUE"
	if name := strings.TrimSpace(v.ownText()); name != "" {
		line += " " + name
	}
	if wf := v.attr("workflowSid"); wf != "" {
		line += " workflowSid=" + wf
	}
	fmt.Fprintln(c.out, line)
	for _, t := range v.elems() {
		if t.name != "Task" {
			continue
		}
		for _, a := range []string{"priority", "timeout"} {
			if val := t.attr(a); val != "" {
				fmt.Fprintf(c.out, "TASK  %s=%s\n", a, val)
			}
		}
		raw := strings.TrimSpace(t.text())
		var attrs any
		if err := json.Unmarshal([]byte(raw), &attrs); err != nil {
			fmt.Fprintf(c.out, "TASK  (not JSON: %v) %s\n", err, raw)
			continue
		}
		for _, kv := range flattenJSON("", attrs) {
			k, v, _ := strings.Cut(kv, "=")
			fmt.Fprintf(c.out, "TASK  %s%s\n", kv, trustNote(k, v))
		}
	}
}

// flattenJSON lists a JSON value as sorted key=value lines, nested keys dotted.
func flattenJSON(prefix string, v any) []string {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			out = append(out, flattenJSON(join(k), t[k])...)
		}
		if len(out) == 0 && prefix != "" {
			out = append(out, prefix+"={}")
		}
		return out
	case []any:
		var out []string
		for i, e := range t {
			out = append(out, flattenJSON(join(strconv.Itoa(i)), e)...)
		}
		if len(out) == 0 && prefix != "" {
			out = append(out, prefix+"=[]")
		}
		return out
	case string:
		return []string{prefix + "=" + t}
	default:
		b, _ := json.Marshal(t)
		return []string{prefix + "=" + string(b)}
	}
}

func (c *caller) showDial(v *twimlNode) {
	if n := strings.TrimSpace(v.ownText()); n != "" {
		fmt.Fprintf(c.out, "DIAL  number %s\n", n)
	}
	for _, k := range v.elems() {
		switch k.name {
		case "Number":
			fmt.Fprintf(c.out, "DIAL  number %s\n", strings.TrimSpace(k.ownText()))
		case "Client":
			id := strings.TrimSpace(k.ownText())
			for _, e := range k.elems() {
				if e.name == "Identity" {
					id = strings.TrimSpace(e.text())
				}
			}
			fmt.Fprintf(c.out, "DIAL  client %s\n", id)
			for _, e := range k.elems() {
				if e.name == "Parameter" {
					fmt.Fprintf(c.out, "PARAM %s=%s%s\n", e.attr("name"), e.attr("value"), trustNote(e.attr("name"), e.attr("value")))
				}
			}
		case "Sip":
			uri := strings.TrimSpace(k.ownText())
			base, headers, _ := strings.Cut(uri, "?")
			fmt.Fprintf(c.out, "DIAL  sip %s\n", base)
			for _, h := range strings.Split(headers, "&") {
				if h == "" {
					continue
				}
				name, val, _ := strings.Cut(h, "=")
				if u, err := url.QueryUnescape(val); err == nil {
					val = u
				}
				fmt.Fprintf(c.out, "HDR   %s=%s%s\n", name, val, trustNote(name, val))
			}
		case "Queue", "Conference":
			fmt.Fprintf(c.out, "DIAL  %s %s\n", strings.ToLower(k.name), strings.TrimSpace(k.ownText()))
		default:
			fmt.Fprintf(c.out, "DIAL  <%s> %s\n", k.name, strings.TrimSpace(k.text()))
		}
	}
}

// trustWords say what a hand-off's trust level means: "verified" is the carrier's word
// for the number, not a caller who proved who they are.
var trustWords = map[string]string{
	"verified":     "the carrier attested the calling number; it does not say who is calling",
	"unverified":   "the carrier did not attest the calling number",
	"suspicious":   "the carrier's attestation failed: the number may be spoofed",
	"verified_pin": "the caller entered the member's PIN",
}

// trustNote explains a hand-off context's trust pair (a Task attribute, a <Parameter>, an
// X-Trust SIP header) in words; "" for any other pair.
func trustNote(key, value string) string {
	if !strings.EqualFold(key, "trust") && !strings.EqualFold(key, "x-trust") {
		return ""
	}
	if w, ok := trustWords[value]; ok {
		return "  (" + w + ")"
	}
	return ""
}
