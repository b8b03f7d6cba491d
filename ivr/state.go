package ivr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/memberline/memberline/flows"
)

// Call state travels between webhooks inside the <Gather> action URL, signed, so a call
// survives a restart and can land on any instance. Twilio's own signature covers the URL
// as well; ours also holds when signature checks are off in development.

var errBadState = errors.New("call state is malformed or its signature is wrong")

type stateCodec struct{ key []byte }

func newStateCodec(secret string) stateCodec {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("memberline call state v1"))
	return stateCodec{key: m.Sum(nil)}
}

func (c stateCodec) mac(payload string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// encode returns payload.mac, both URL-safe.
func (c stateCodec) encode(st flows.State) (string, error) {
	raw, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + c.mac(payload), nil
}

func (c stateCodec) decode(s string) (flows.State, error) {
	var st flows.State
	payload, sig, ok := strings.Cut(s, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(c.mac(payload))) {
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
