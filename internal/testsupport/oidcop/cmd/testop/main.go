// Command testop runs the test OpenID provider (internal/oidcop) for the console's
// browser tests: one client, and users with their groups, given as flags; it prints
// "issuer <URL>" when it listens and stops at SIGTERM or when its stdin closes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/memberline/memberline/internal/testsupport/oidcop"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "where to listen")
	client := flag.String("client", "memberline", "the client id")
	secret := flag.String("secret", "", "the client secret")
	redirects := flag.String("redirect", "", "redirect URIs, comma-separated")
	logout := flag.String("post-logout", "", "post-logout redirect URIs, comma-separated")
	users := flag.String("users", "[]", `users as JSON: [{"ID":"u1","Username":"ana","Password":"…","Email":"…","Name":"Ana Admin","Groups":["cc-admins"]}]`)
	flag.Parse()
	var us []oidcop.User
	if err := json.Unmarshal([]byte(*users), &us); err != nil {
		log.Fatalf("testop: -users: %v", err)
	}
	op, err := oidcop.Start(*addr, oidcop.Config{ClientID: *client, ClientSecret: *secret,
		RedirectURIs: split(*redirects), PostLogoutURIs: split(*logout), Users: us})
	if err != nil {
		log.Fatalf("testop: %v", err)
	}
	fmt.Println("issuer", op.Issuer)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	closed := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(closed) }()
	select {
	case <-stop:
	case <-closed:
	}
	_ = op.Close()
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
