package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/memberline/memberline/connections"
)

// The demo API answers the line's signed requests, as the example flow reads them, and
// refuses unsigned ones.
func TestDemoAPI(t *testing.T) {
	srv := httptest.NewServer(demoBookings(demoSecret, time.Now))
	defer srv.Close()
	client := connections.NewClient(connections.Options{})
	conn := connections.Connection{ID: "bookings", BaseURL: srv.URL + "/v2", Secret: demoSecret, Timeout: time.Second, AllowPrivate: true}
	r := client.Fetch(context.Background(), conn, "GET", "/members/1001/bookings?upcoming=1", nil)
	if r.Outcome != connections.OK || r.Status != 200 {
		t.Fatalf("signed request: %+v", r)
	}
	bookings, _ := r.Answer.(map[string]any)["bookings"].([]any)
	if len(bookings) != 1 || bookings[0].(map[string]any)["gate"] == "" {
		t.Errorf("answer = %v", r.Answer)
	}
	conn.Secret = "another-secret-0123456789"
	if r := client.Fetch(context.Background(), conn, "GET", "/members/1001/bookings", nil); r.Status != 401 {
		t.Errorf("a request signed with another secret: %+v", r)
	}
}
