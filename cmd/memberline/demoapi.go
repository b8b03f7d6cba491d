package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/memberline/memberline/connections"
)

const demoAPIUsage = `Usage:
  memberline demo-api [-addr 127.0.0.1:8090] [-secret SECRET]

A stand-in for a company's booking API, to hear the example fetch flow
(flows/testdata/fetch_flow.json) on a local line: GET /v2/members/{id}/bookings answers
the member's next flight, gate and delay. Every request must carry a valid
Memberline-Signature made with SECRET, as a real API would check it; anything else is 401.
See docs/development.md.
`

// demoSecret is the demo API's signing secret unless -secret says otherwise.
const demoSecret = "demo-secret-0123456789"

func runDemoAPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo-api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoAPIUsage) }
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	secret := fs.String("secret", demoSecret, "the connection's signing secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return serveDemo(ctx, "demo-api", *addr, demoBookings(*secret, time.Now), func(at net.Addr) {
		fmt.Fprintf(stdout, "demo booking API on http://%s/v2 (secret %q)\n", at, *secret)
	})
}

// serveDemo serves a demo command's handler on addr until ctx ends, after saying where
// (banner).
func serveDemo(ctx context.Context, name, addr string, h http.Handler, banner func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	banner(ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

var (
	demoPath      = regexp.MustCompile(`^/v2/members/([^/]+)/bookings$`)
	demoSignature = regexp.MustCompile(`^t=(\d+),v1=[0-9a-f]{64}$`)
)

// demoBookings answers GET /v2/members/{id}/bookings for signed requests: a flight, a
// gate and a delay that depend on the member id only.
func demoBookings(secret string, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		sig := r.Header.Get(connections.SignatureHeader)
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		m := demoSignature.FindStringSubmatch(sig)
		ts := int64(0)
		if m != nil {
			ts, _ = strconv.ParseInt(m[1], 10, 64)
		}
		at := time.Unix(ts, 0)
		if m == nil || now().Sub(at).Abs() > 5*time.Minute || connections.Sign(secret, at, r.Method, r.URL.RequestURI(), body) != sig {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"the request is not signed with the demo secret"}`)
			return
		}
		p := demoPath.FindStringSubmatch(r.URL.Path)
		if r.Method != http.MethodGet || p == nil {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"GET /v2/members/{id}/bookings"}`)
			return
		}
		h := fnv.New32a()
		h.Write([]byte(p[1]))
		n := h.Sum32()
		booking := map[string]any{
			"flight":        "DL" + strconv.Itoa(1000+int(n%9000)),
			"gate":          string(rune('A'+n%5)) + strconv.Itoa(1+int(n/5%30)),
			"delay_minutes": []int{0, 0, 20, 45}[n/150%4],
		}
		if strings.HasPrefix(p[1], "9") { // members 9…: nothing booked
			_ = json.NewEncoder(w).Encode(map[string]any{"bookings": []any{}})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"bookings": []any{booking}})
	})
}
