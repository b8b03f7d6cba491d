package ivr

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + sorted form params)), see
// https://www.twilio.com/docs/usage/security. We check it ourselves because twilio-go's
// RequestValidator keeps one value per repeated form key, so it rejects genuine requests
// (the repeated-Digits vector of the official libraries' tests; see TestValidateVectors).

// SignatureHeader is the header Twilio signs its webhooks in.
const SignatureHeader = "X-Twilio-Signature"

// MaxWebhookBody bounds the bodies Middleware reads; Twilio's are a few KiB.
const MaxWebhookBody = 64 << 10

// maxFormParams matches net/url's default limit, so that whatever we verify the handler
// can parse.
const maxFormParams = 10000

// SettingsHeader names the key and algorithm of a signature made with a shared key
// (Twilio's Webhooks configuration): "key=<sharedKeyId>,algorithm=HMAC_SHA256". Without it
// the signature is HMAC-SHA1 with the auth token.
const SettingsHeader = "X-Twilio-Webhooks-Signature-Settings"

// The signature algorithms of the settings header.
const (
	HMACSHA1   = "HMAC_SHA1"
	HMACSHA256 = "HMAC_SHA256"
)

// maxSigLen is the length of a base64 HMAC-SHA256 (32 bytes); a SHA-1 one is 28.
const maxSigLen = 44

// Sign computes the X-Twilio-Signature Twilio would send for a form POST to fullURL: the
// URL as given, then each key and value, keys sorted, each key's distinct values sorted.
// With no form it is the signature of a GET (or of a JSON POST, whose URL carries
// bodySHA256).
func Sign(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	io.WriteString(mac, fullURL)
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := slices.Compact(slices.Sorted(slices.Values(form[k])))
		for _, v := range vs {
			io.WriteString(mac, k)
			io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Validator checks X-Twilio-Signature against the auth token (HMAC-SHA1) or, when the
// request names one in SettingsHeader, a shared key. It is safe for concurrent use.
type Validator struct {
	token   *signer
	shared  map[string]*signer // "<keyId> <algorithm>"
	noToken bool
}

// signer is one secret with one hash, and the hot path's buffers for it, reused.
type signer struct {
	states sync.Pool // *sigState
	sigLen int       // base64 length of its signatures
}

func newSigner(secret []byte, h func() hash.Hash) *signer {
	s := &signer{sigLen: base64.StdEncoding.EncodedLen(h().Size())}
	s.states.New = func() any {
		return &sigState{mac: hmac.New(h, secret), sum: make([]byte, 0, sha256.Size)}
	}
	return s
}

// NewValidator returns a Validator for authToken. With an empty token it rejects every
// request: an unset token is a configuration error, not a way to turn checks off.
func NewValidator(authToken string) *Validator { return NewValidatorWithKeys(authToken, nil) }

// NewValidatorWithKeys is NewValidator that also accepts signatures made with the shared
// keys (key id → secret), with HMAC-SHA256 or HMAC-SHA1 as SettingsHeader says. Two keys
// at once let a key be rotated without downtime.
func NewValidatorWithKeys(authToken string, sharedKeys map[string]string) *Validator {
	v := &Validator{token: newSigner([]byte(authToken), sha1.New), shared: map[string]*signer{}, noToken: authToken == ""}
	for id, secret := range sharedKeys {
		v.shared[id+" "+HMACSHA256] = newSigner([]byte(secret), sha256.New)
		v.shared[id+" "+HMACSHA1] = newSigner([]byte(secret), sha1.New)
	}
	return v
}

// signerFor is the signer a request's SettingsHeader names: the auth token without one;
// nil for a key that is not configured or an algorithm that is not HMAC-SHA1 or -SHA256.
// The header is read as Twilio's helper libraries read it: comma-separated key=value
// parts; without algorithm=, HMAC-SHA1.
func (v *Validator) signerFor(settings string) *signer {
	if settings == "" && !v.noToken {
		return v.token // the usual case: no header
	}
	key, algorithm := "", HMACSHA1
	for part := range strings.SplitSeq(settings, ",") {
		name, value, ok := strings.Cut(part, "=")
		switch name = strings.TrimSpace(name); {
		case !ok:
		case name == "key":
			key = strings.TrimSpace(value)
		case name == "algorithm" && strings.TrimSpace(value) != "":
			algorithm = strings.ToUpper(strings.TrimSpace(value))
		}
	}
	if algorithm != HMACSHA1 && algorithm != HMACSHA256 {
		return nil
	}
	if key == "" {
		if algorithm != HMACSHA1 || v.noToken {
			return nil
		}
		return v.token
	}
	return v.shared[key+" "+algorithm]
}

// Validate reports whether signature is valid for a request Twilio made to fullURL (the
// public URL: scheme, host, optional port, path, raw query) with the raw body and its
// Content-Type.
//
// A form body (application/x-www-form-urlencoded) is parsed here, keeping repeated keys
// (their distinct values are signed, as in Twilio's official libraries). Otherwise the
// signature covers the URL alone: a non-empty body must then be hashed in the URL's
// bodySHA256 parameter (Twilio's JSON webhooks), and the hash must match; any other body
// is refused. Because Twilio is inconsistent about default ports, the URL is tried as
// given and with the scheme's default port (:443, :80) added or removed; a non-default
// port is always part of what is signed.
func (v *Validator) Validate(fullURL, contentType string, body []byte, signature string) bool {
	return v.ValidateWith("", fullURL, contentType, body, signature)
}

// ValidateWith is Validate for a request whose SettingsHeader is settings ("" for none).
func (v *Validator) ValidateWith(settings, fullURL, contentType string, body []byte, signature string) bool {
	s := v.signerFor(settings)
	if s == nil {
		return false
	}
	_, ok := s.check(fullURL, contentType, body, signature, false)
	return ok
}

// check is Validate that, when asked and the body is a valid signed form, also returns
// the form as net/url.ParseQuery would (values in body order), so that the handler does
// not parse the body a second time.
func (s *signer) check(fullURL, contentType string, body []byte, signature string, wantForm bool) (url.Values, bool) {
	if len(signature) != s.sigLen {
		return nil, false
	}
	st := s.states.Get().(*sigState)
	defer s.states.Put(st)
	st.params = st.params[:0]
	isForm := isFormType(contentType)
	switch {
	case isForm:
		if !st.parseForm(body) {
			return nil, false
		}
	case hasQueryParam(fullURL, "bodySHA256"):
		if !bodyHashMatches(fullURL, body) {
			return nil, false
		}
	case len(body) > 0:
		return nil, false
	}
	st.sig = append(st.sig[:0], signature...)
	st.url = append(st.url[:0], fullURL...)
	ok := st.matches()
	if !ok {
		var variant bool
		if st.url, variant = appendPortVariant(st.url[:0], fullURL); variant {
			ok = st.matches()
		}
	}
	if !ok || !wantForm || !isForm {
		return nil, ok
	}
	return st.values(), true
}

// Middleware returns a wrapper that lets through only requests whose signature is valid
// for publicBase (e.g. "https://ivr.example.com") + r.URL.RequestURI(), so it must see the
// path Twilio requested (mount it before any http.StripPrefix). The body is read (at
// most MaxWebhookBody bytes, else 413) and restored, so the next handler can still call
// r.ParseForm; a form POST arrives already parsed (r.PostForm and r.Form set as
// r.ParseForm would), from the same reading of the body the signature was checked on.
// A missing or wrong signature gets 403 with a short plain-text body.
func (v *Validator) Middleware(publicBase string) func(http.Handler) http.Handler {
	publicBase = strings.TrimRight(publicBase, "/")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sig := r.Header.Get(SignatureHeader)
			if sig == "" {
				http.Error(w, "missing "+SignatureHeader, http.StatusForbidden)
				return
			}
			span := signatureSpan(r.Context())
			body, err := readBody(w, r)
			if err != nil {
				span.End()
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				} else {
					http.Error(w, "cannot read request body", http.StatusBadRequest)
				}
				return
			}
			s := v.signerFor(r.Header.Get(SettingsHeader))
			if s == nil {
				span.SetAttributes(attrSignatureValid.Bool(false))
				span.End()
				http.Error(w, "unknown key or algorithm in "+SettingsHeader, http.StatusForbidden)
				return
			}
			form, ok := s.check(publicBase+r.URL.RequestURI(), r.Header.Get("Content-Type"), body, sig, true)
			if !ok {
				span.SetAttributes(attrSignatureValid.Bool(false))
				span.End()
				http.Error(w, "invalid "+SignatureHeader, http.StatusForbidden)
				return
			}
			signatureValid(span, form)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if form != nil && r.Method == http.MethodPost {
				setForm(r, form)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// readBody reads r's body, at most MaxWebhookBody bytes, in one allocation when the
// request announces its length.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body := http.MaxBytesReader(w, r.Body, MaxWebhookBody)
	defer body.Close()
	size := 512
	if n := r.ContentLength; n >= 0 && n < MaxWebhookBody {
		size = int(n) + 1 // the extra byte sees EOF without growing
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// sigState holds one validation's buffers.
type sigState struct {
	mac    hash.Hash
	sum    []byte
	b64    [maxSigLen]byte // base64 of sum
	sig    []byte          // the signature under test
	url    []byte          // the URL being tried
	arena  []byte          // unescaped form keys and values
	pairs  []formPair      // in body order
	sorted []formPair      // by key, then value: the order Twilio signs in
	params []byte          // the signed form data: key1 value1 key2 value2 ...
}

// formPair locates one key and value in sigState.arena.
type formPair struct{ k0, k1, v0, v1 int }

// matches reports, in constant time, whether st.sig signs st.url + st.params.
func (st *sigState) matches() bool {
	st.mac.Reset()
	st.mac.Write(st.url)
	st.mac.Write(st.params)
	st.sum = st.mac.Sum(st.sum[:0])
	n := base64.StdEncoding.EncodedLen(len(st.sum))
	base64.StdEncoding.Encode(st.b64[:n], st.sum)
	return hmac.Equal(st.b64[:n], st.sig)
}

// parseForm reads body as net/url.ParseQuery does and sets st.params to the data Twilio
// signs. It refuses what ParseQuery reports as an error (bad escapes, semicolons, too
// many parameters) rather than guess at what the handler will see.
func (st *sigState) parseForm(body []byte) bool {
	if bytes.Count(body, []byte("&")) >= maxFormParams {
		return false
	}
	st.arena, st.pairs = st.arena[:0], st.pairs[:0]
	for len(body) > 0 {
		var seg []byte
		seg, body, _ = bytes.Cut(body, []byte("&"))
		if bytes.IndexByte(seg, ';') >= 0 {
			return false
		}
		if len(seg) == 0 {
			continue
		}
		k, val, _ := bytes.Cut(seg, []byte("="))
		var p formPair
		var ok bool
		p.k0 = len(st.arena)
		if st.arena, ok = appendUnescaped(st.arena, k); !ok {
			return false
		}
		p.k1, p.v0 = len(st.arena), len(st.arena)
		if st.arena, ok = appendUnescaped(st.arena, val); !ok {
			return false
		}
		p.v1 = len(st.arena)
		st.pairs = append(st.pairs, p)
	}
	arena := st.arena
	st.sorted = append(st.sorted[:0], st.pairs...)
	slices.SortFunc(st.sorted, func(a, b formPair) int {
		if c := bytes.Compare(arena[a.k0:a.k1], arena[b.k0:b.k1]); c != 0 {
			return c
		}
		return bytes.Compare(arena[a.v0:a.v1], arena[b.v0:b.v1])
	})
	for i, p := range st.sorted {
		if i > 0 { // a repeated key and value is signed once
			q := st.sorted[i-1]
			if bytes.Equal(arena[p.k0:p.k1], arena[q.k0:q.k1]) && bytes.Equal(arena[p.v0:p.v1], arena[q.v0:q.v1]) {
				continue
			}
		}
		st.params = append(st.params, arena[p.k0:p.k1]...)
		st.params = append(st.params, arena[p.v0:p.v1]...)
	}
	return true
}

// values returns the parsed form as url.Values, each key's values in body order, in a
// few allocations: one string holds every key and value, and one slice every value.
func (st *sigState) values() url.Values {
	arena := string(st.arena)
	vals := make([]string, len(st.pairs))
	form := make(url.Values, len(st.pairs))
	for i, p := range st.pairs {
		k := arena[p.k0:p.k1]
		vals[i] = arena[p.v0:p.v1]
		if vs, seen := form[k]; seen {
			form[k] = append(vs, vals[i])
		} else {
			form[k] = vals[i : i+1 : i+1] // capped: a later append copies, never overwrites
		}
	}
	return form
}

// setForm gives r the form of its body as r.ParseForm would: r.PostForm, and r.Form
// with the URL's query values after the body's.
func setForm(r *http.Request, form url.Values) {
	r.PostForm = form
	if r.URL.RawQuery == "" {
		r.Form = form
		return
	}
	all := make(url.Values, len(form)+1)
	for k, vs := range form {
		all[k] = vs[:len(vs):len(vs)]
	}
	q, _ := url.ParseQuery(r.URL.RawQuery) // as ParseForm: keep what parses
	for k, vs := range q {
		all[k] = append(all[k], vs...)
	}
	r.Form = all
}

// appendUnescaped appends s decoded as a query component ('+' is a space, %XX a byte).
func appendUnescaped(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			if i+2 >= len(s) {
				return dst, false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return dst, false
			}
			dst = append(dst, hi<<4|lo)
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isFormType reports whether contentType is application/x-www-form-urlencoded, whatever
// its parameters (charset).
func isFormType(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
}

// rawQuery returns the query of a URL: after the first '?', before any '#'.
func rawQuery(u string) string {
	_, q, ok := strings.Cut(u, "?")
	if !ok {
		return ""
	}
	q, _, _ = strings.Cut(q, "#")
	return q
}

// queryParam returns the raw value of the first parameter named key in u's query.
func queryParam(u, key string) (string, bool) {
	q := rawQuery(u)
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

func hasQueryParam(u, key string) bool {
	_, ok := queryParam(u, key)
	return ok
}

// bodyHashMatches reports whether u's bodySHA256 parameter is the hex SHA-256 of body.
func bodyHashMatches(u string, body []byte) bool {
	want, _ := queryParam(u, "bodySHA256")
	var w [sha256.Size]byte
	if len(want) != hex.EncodedLen(len(w)) {
		return false
	}
	if _, err := hex.Decode(w[:], []byte(want)); err != nil {
		return false
	}
	got := sha256.Sum256(body)
	return subtle.ConstantTimeCompare(got[:], w[:]) == 1
}

// appendPortVariant appends u with its scheme's default port removed when u has it, or
// added when u has no port. It reports false, appending nothing, for a URL with another
// port or a scheme other than http and https.
func appendPortVariant(dst []byte, u string) ([]byte, bool) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return dst, false
	}
	var port string
	switch {
	case strings.EqualFold(scheme, "https"):
		port = "443"
	case strings.EqualFold(scheme, "http"):
		port = "80"
	default:
		return dst, false
	}
	start := len(scheme) + len("://") // where the authority starts in u
	end := len(u)                     // and where it ends
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		end = start + i
	}
	host := start // where host[:port] starts, after any userinfo
	if i := strings.LastIndexByte(u[start:end], '@'); i >= 0 {
		host = start + i + 1
	}
	colon := strings.LastIndexByte(u[host:end], ':')
	if colon >= 0 && strings.IndexByte(u[host+colon:end], ']') >= 0 {
		colon = -1 // a colon inside an IPv6 literal, not a port
	}
	if colon < 0 {
		dst = append(dst, u[:end]...)
		dst = append(dst, ':')
		dst = append(dst, port...)
		return append(dst, u[end:]...), true
	}
	if u[host+colon+1:end] != port {
		return dst, false
	}
	dst = append(dst, u[:host+colon]...)
	return append(dst, u[end:]...), true
}
