package ivr

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzCallbackToken: whatever a callback webhook's c= holds, only a token the edge made
// (and not expired) names a callback.
func FuzzCallbackToken(f *testing.F) {
	e := New(Config{TwilioAuthToken: "t", Now: func() time.Time { return testNow }}, Deps{})
	good := e.callbackToken(42, testNow.Add(time.Hour))
	for _, s := range []string{good, "", "1.2.3", "42.zzz." + good[strings.LastIndexByte(good, '.')+1:], "..", good + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		id, ok := e.callbackID(tok)
		if ok && (tok != good || id != 42) {
			t.Fatalf("%q accepted as callback %d", tok, id)
		}
	})
}

// FuzzQueueFigures: a wait webhook's figures, however garbled, read as whole numbers from
// 0 (unknown) up, never negative.
func FuzzQueueFigures(f *testing.F) {
	e := New(Config{TwilioAuthToken: "t", Now: func() time.Time { return testNow }}, Deps{})
	f.Add("3", "70", "600", "6", "")
	f.Add("-1", "x", "99999999999999999999", "", "1796619295")
	f.Fuzz(func(t *testing.T, pos, qt, avg, size, at string) {
		form := url.Values{"QueuePosition": {pos}, "QueueTime": {qt}, "AvgQueueTime": {avg}, "CurrentQueueSize": {size}}
		r := httptest.NewRequest("POST", "/twilio/queue/wait?at="+url.QueryEscape(at), strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		q := e.queueInfo(r)
		if q.Position < 0 || q.QueueTime < 0 || q.AvgTime < 0 || q.Size < 0 {
			t.Fatalf("%+v from %q %q %q %q", q, pos, qt, avg, size)
		}
		if m, ok := q.WaitMinutes(); ok && m < 1 {
			t.Fatalf("a wait of %d minutes", m)
		}
	})
}

// FuzzSMSKeyword: STOP in any case and dress is STOP; nothing else becomes a keyword by
// accident of trimming.
func FuzzSMSKeyword(f *testing.F) {
	for _, s := range []string{" stop ", "Stop.", "STOP!!", "stopp", "don't stop", "¡START!", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		kw := keyword(body)
		if slices.Contains(stopWords, kw) && !strings.Contains(strings.ToUpper(body), kw) {
			t.Fatalf("%q read as %s", body, kw)
		}
	})
}
