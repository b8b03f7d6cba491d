package flows

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Twilio's documented limits, which validation holds a flow to so that Twilio never
// refuses a turn at call time (the edge keeps a safe answer for what a template's values
// make longer than these).

// Limits of a <Say> by voice family (13521), of <Gather> hints (13330), of a <Sip> URI's
// header part (21227) and of queue names. (The 64 kB of a whole answer is the encoder's:
// ivr.MaxResponse.)
const (
	MaxSayPolly   = 3000 // characters, SSML tags not counted
	MaxSayGoogle  = 5000
	MaxSayBasic   = 4096
	MaxHints      = 500
	MaxHintLength = 100
	MaxSIPHeaders = 1024 // the header part of a <Sip> URI, under this
	MaxQueueName  = 64
)

// MaxSay is the longest <Say> text the voice takes.
func MaxSay(voice string) int {
	switch {
	case strings.HasPrefix(voice, "Polly."):
		return MaxSayPolly
	case strings.HasPrefix(voice, "Google."):
		return MaxSayGoogle
	}
	return MaxSayBasic
}

//go:embed say_voices.txt
var sayVoicesFile string

// sayLanguages and sayVoices are what Twilio's <Say> accepts (say_voices.txt).
var sayLanguages, sayVoices = func() (map[string]bool, map[string]bool) {
	langs, voices := map[string]bool{}, map[string]bool{}
	into := langs
	for _, l := range strings.Split(sayVoicesFile, "\n") {
		switch l = strings.TrimSpace(l); {
		case l == "" || strings.HasPrefix(l, "#"):
		case l == "[languages]":
			into = langs
		case l == "[voices]":
			into = voices
		default:
			into[l] = true
		}
	}
	return langs, voices
}()

// googleVoice reads the language of a Google voice: Google.en-US-Standard-A speaks en-US.
var googleVoice = regexp.MustCompile(`^Google\.([A-Za-z]{2,3}-[A-Za-z]{2,4})-`)

//go:embed polly_voices.txt
var pollyVoicesFile string

// pollyLanguages are the languages each Polly voice speaks (polly_voices.txt), by name.
var pollyLanguages = func() map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(pollyVoicesFile, "\n") {
		if f := strings.Fields(l); len(f) > 1 && !strings.HasPrefix(f[0], "#") {
			m[f[0]] = f[1:]
		}
	}
	return m
}()

// pollyVoice reads a Polly voice's name: Polly.Amy-Neural is Amy.
var pollyVoice = regexp.MustCompile(`^Polly\.([^-]+)(?:-(?:Neural|Generative|LongForm))?$`)

// voiceLanguages are the languages voice speaks, when known.
func voiceLanguages(voice string) []string {
	if m := googleVoice.FindStringSubmatch(voice); m != nil {
		return []string{m[1]}
	}
	if m := pollyVoice.FindStringSubmatch(voice); m != nil {
		return pollyLanguages[m[1]]
	}
	return nil
}

// sayLanguage checks a declared language and its voice against what Twilio offers.
func (c *compiler) sayLanguage(path, lang, voice string) {
	if !sayLanguages[lang] {
		c.add(path, "Twilio's <Say> does not speak %q", lang)
	}
	if voice == "" {
		return // Twilio's default voice for the language
	}
	if !sayVoices[voice] {
		c.add(join(path, "voice"), "%q is not a voice Twilio offers for <Say>", voice)
		return
	}
	if speaks := voiceLanguages(voice); len(speaks) > 0 && !slices.ContainsFunc(speaks, func(s string) bool { return strings.EqualFold(s, lang) }) {
		c.add(join(path, "voice"), "%s speaks %s, not %s", voice, strings.Join(speaks, " and "), lang)
	}
}

// sayLength checks that a template's own text (what its values add is not known yet)
// fits a <Say> of the language's voice.
func (c *compiler) sayLength(path, lang, src string) {
	n := utf8.RuneCountInString(templateText(src))
	if limit := MaxSay(c.p.voices[lang]); n > limit {
		c.add(path, "%d characters: Twilio's <Say> with %s takes at most %d", n, voiceFamily(c.p.voices[lang]), limit)
	}
}

func voiceFamily(voice string) string {
	switch {
	case strings.HasPrefix(voice, "Polly."):
		return "a Polly voice"
	case strings.HasPrefix(voice, "Google."):
		return "a Google voice"
	}
	return "a basic voice"
}

// templateText is a template's text without its {{ … }} parts.
func templateText(src string) string {
	var b strings.Builder
	for {
		i := strings.Index(src, "{{")
		if i < 0 {
			b.WriteString(src)
			return b.String()
		}
		b.WriteString(src[:i])
		j := strings.Index(src[i:], "}}")
		if j < 0 {
			return b.String()
		}
		src = src[i+j+2:]
	}
}

// The SIP headers Twilio passes without an x- prefix (21227).
var sipPlainHeaders = map[string]bool{"user-to-user": true, "remote-party-id": true, "p-preferred-identity": true, "p-called-party-id": true}

// sipURI checks a hand-off's SIP URI: its header part under MaxSIPHeaders, header names
// x- (or one of those Twilio allows).
func (c *compiler) sipURI(path, uri string) {
	_, headers, ok := strings.Cut(uri, "?")
	if !ok {
		return
	}
	if len(headers) >= MaxSIPHeaders {
		c.add(path, "the header part is %d characters: Twilio takes under %d", len(headers), MaxSIPHeaders)
	}
	for _, h := range strings.Split(headers, "&") {
		name, _, _ := strings.Cut(h, "=")
		if l := strings.ToLower(name); l != "" && !strings.HasPrefix(l, "x-") && !sipPlainHeaders[l] {
			c.add(path, "header %q: Twilio passes only x- headers (and User-to-User, Remote-Party-ID, P-Preferred-Identity, P-Called-Party-ID)", name)
		}
	}
}

// hintsFit checks a gather's speech hints per language.
func (c *compiler) hintsFit(path string, hints map[string][]string) {
	for lang, hs := range hints {
		if len(hs) > MaxHints {
			c.add(join(path, "options"), "%d speech hints in %s: Twilio takes at most %d", len(hs), lang, MaxHints)
		}
		for _, h := range hs {
			if utf8.RuneCountInString(h) > MaxHintLength {
				c.add(join(path, "options"), "the speech hint %q is over %d characters, which Twilio refuses", fmt.Sprintf("%.20s…", h), MaxHintLength)
				break
			}
		}
	}
}
