package ivr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/memberline/memberline/flows"
)

// Call state travels between webhooks inside the <Gather> action URL, signed, so a call
// survives a restart and can land on any instance. Twilio's own signature covers the URL
// as well; ours also holds when signature checks are off in development. A state is bound
// to its call: the MAC covers the call's SID, and the state carries its expiry, so it
// continues only the call it was issued to, and not past the longest call (4 hours, by
// default). Its form: payload.expiry.mac (expiry in Unix seconds, base 36).

var (
	errBadState     = errors.New("call state is malformed, of another call, or its signature is wrong")
	errStateExpired = errors.New("call state has expired")
)

// DefaultStateTTL is how long a call's state is valid: Twilio's default longest call.
const DefaultStateTTL = 4 * time.Hour

type stateCodec struct {
	key  []byte
	macs *sync.Pool // hash.Hash: HMAC-SHA256 keyed with key, reused across calls
}

func newStateCodec(secret string) stateCodec {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("memberline call state v1"))
	key := m.Sum(nil)
	return stateCodec{key: key, macs: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// appendMAC appends the URL-safe MAC of payload (its first 16 bytes) to dst.
func (c stateCodec) appendMAC(dst, payload []byte) []byte {
	m := c.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(payload)
	var sum [sha256.Size]byte
	dst = base64.RawURLEncoding.AppendEncode(dst, m.Sum(sum[:0])[:16])
	c.macs.Put(m)
	return dst
}

// encode returns the state of call callSID, valid until expires, URL-safe.
func (c stateCodec) encode(st flows.State, callSID string, expires time.Time) (string, error) {
	return c.appendTo("", st, callSID, expires)
}

// appendTo returns prefix followed by the encoded state, built in one buffer: the
// Gather action URL of every answer that waits for input.
func (c stateCodec) appendTo(prefix string, st flows.State, callSID string, expires time.Time) (string, error) {
	raw, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	b := make([]byte, 0, len(prefix)+enc.EncodedLen(len(raw))+len(callSID)+16+enc.EncodedLen(16))
	b = append(b, prefix...)
	b = enc.AppendEncode(b, raw)
	b = strconv.AppendInt(append(b, '.'), expires.Unix(), 36)
	signed := len(b)
	// The MAC covers payload.expiry and the call SID, which the URL does not carry.
	b = append(append(b, '.'), callSID...)
	mac := c.appendMAC(nil, b[len(prefix):])
	b = append(b[:signed+1], mac...)
	return string(b), nil
}

// decode reads the state of call callSID at now: a state issued to another call, or
// expired, is refused like a forged one.
func (c stateCodec) decode(s, callSID string, now time.Time) (flows.State, error) {
	var st flows.State
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return st, errBadState
	}
	signed, sig := s[:i], s[i+1:]
	payload, exp, ok := strings.Cut(signed, ".")
	var mac [24]byte
	if !ok || !hmac.Equal([]byte(sig), c.appendMAC(mac[:0], []byte(signed+"."+callSID))) {
		return st, errBadState
	}
	if until, err := strconv.ParseInt(exp, 36, 64); err != nil || now.Unix() > until {
		return st, errStateExpired
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return st, errBadState
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.Node == "" {
		return st, errBadState
	}
	return st, nil
}
