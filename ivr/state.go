package ivr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"strings"
	"sync"

	"github.com/memberline/memberline/flows"
)

// Call state travels between webhooks inside the <Gather> action URL, signed, so a call
// survives a restart and can land on any instance. Twilio's own signature covers the URL
// as well; ours also holds when signature checks are off in development.

var errBadState = errors.New("call state is malformed or its signature is wrong")

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

// encode returns payload.mac, both URL-safe.
func (c stateCodec) encode(st flows.State) (string, error) {
	return c.appendTo("", st)
}

// appendTo returns prefix followed by the encoded state, built in one buffer: the
// Gather action URL of every answer that waits for input.
func (c stateCodec) appendTo(prefix string, st flows.State) (string, error) {
	raw, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	b := make([]byte, 0, len(prefix)+enc.EncodedLen(len(raw))+1+enc.EncodedLen(16))
	b = append(b, prefix...)
	b = enc.AppendEncode(b, raw)
	b = c.appendMAC(append(b, '.'), b[len(prefix):])
	return string(b), nil
}

func (c stateCodec) decode(s string) (flows.State, error) {
	var st flows.State
	payload, sig, ok := strings.Cut(s, ".")
	var mac [24]byte
	if !ok || !hmac.Equal([]byte(sig), c.appendMAC(mac[:0], []byte(payload))) {
		return st, errBadState
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
