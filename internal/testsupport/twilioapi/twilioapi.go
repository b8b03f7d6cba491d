// Package twilioapi is a fake of the parts of Twilio's REST API the service uses (Calls,
// Messages),
// on loopback, for tests: it records what it was asked, answers as Twilio does, and fails
// on demand (4xx with Twilio's error codes, 429, slowness).
package twilioapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// AccountSID is the fake's account.
const AccountSID = "AC0123456789abcdef0123456789abcdef"

// Call is a call the fake was asked to place.
type Call struct {
	SID, To, From, URL, StatusCallback, MachineDetection string
	Form                                                 url.Values
}

// Message is a message the fake was asked to send.
type Message struct {
	SID, To, From, MessagingServiceSID, Body, ContentSID, ContentVariables, StatusCallback string
	At                                                                                     time.Time
}

// Failure is an error answer: an HTTP status and Twilio's error code.
type Failure struct {
	Status, Code int
	Message      string
}

// Server is the fake. Its URL is TWILIO_API_URL for the service under test.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	calls    []Call
	messages []Message
	failures []Failure
	delay    time.Duration
	n        int
	// every, when > 0, fails each every-th request with failEvery.
	every, seen int
	failEvery   Failure
}

// FailEvery fails every n-th request from now on with f (Twilio's 429s under load).
func (s *Server) FailEvery(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.every, s.failEvery = n, f
}

// New starts the fake; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// FailNext makes the next requests fail, one failure each, in order.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f...)
}

// Delay makes every answer wait d.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Messages are the messages sent so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Calls are the calls placed so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay := s.delay
	var fail *Failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.seen++
	if s.every > 0 && s.seen%s.every == 0 && fail == nil {
		f := s.failEvery
		fail = &f
	}
	s.mu.Unlock()
	time.Sleep(delay)
	w.Header().Set("Content-Type", "application/json")
	if user, _, ok := r.BasicAuth(); !ok || user == "" {
		writeError(w, Failure{Status: 401, Code: 20003, Message: "Authenticate"})
		return
	}
	if fail != nil {
		writeError(w, *fail)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/2010-04-01/Accounts/"+AccountSID+"/Messages.json" {
		s.message(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+AccountSID+"/Calls.json" {
		writeError(w, Failure{Status: 404, Code: 20404, Message: "The requested resource was not found"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, Failure{Status: 400, Code: 21100, Message: "bad form"})
		return
	}
	to := r.PostForm.Get("To")
	if !strings.HasPrefix(to, "+") || len(to) < 8 {
		writeError(w, Failure{Status: 400, Code: 21211, Message: fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)})
		return
	}
	s.mu.Lock()
	s.n++
	c := Call{SID: fmt.Sprintf("CA%032x", 0xfa4e0000+s.n), To: to, From: r.PostForm.Get("From"), URL: r.PostForm.Get("Url"),
		StatusCallback: r.PostForm.Get("StatusCallback"), MachineDetection: r.PostForm.Get("MachineDetection"), Form: r.PostForm}
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": c.SID, "to": c.To, "from": c.From, "status": "queued",
		"account_sid": AccountSID, "direction": "outbound-api"})
}

func (s *Server) message(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, Failure{Status: 400, Code: 21100, Message: "bad form"})
		return
	}
	to := strings.TrimPrefix(r.PostForm.Get("To"), "whatsapp:")
	if !strings.HasPrefix(to, "+") || len(to) < 8 {
		writeError(w, Failure{Status: 400, Code: 21211, Message: "The 'To' number is not a valid phone number."})
		return
	}
	s.mu.Lock()
	s.n++
	m := Message{SID: fmt.Sprintf("SM%032x", 0x5e000000+s.n), To: r.PostForm.Get("To"), From: r.PostForm.Get("From"),
		MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"), Body: r.PostForm.Get("Body"), ContentSID: r.PostForm.Get("ContentSid"),
		ContentVariables: r.PostForm.Get("ContentVariables"), StatusCallback: r.PostForm.Get("StatusCallback"), At: time.Now()}
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": m.SID, "to": m.To, "status": "queued", "account_sid": AccountSID})
}

func writeError(w http.ResponseWriter, f Failure) {
	w.WriteHeader(f.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": f.Code, "message": f.Message, "status": f.Status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", f.Code)})
}
