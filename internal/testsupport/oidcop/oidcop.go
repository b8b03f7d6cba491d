// Package oidcop runs a real OpenID provider on loopback for tests: zitadel's OP (its
// protocol handlers, login page and in-memory storage, from github.com/zitadel/oidc's
// example server) with the users, groups and client a test gives. It is never part of the
// service: only tests and the browser tests' provider (cmd/testop) use it.
package oidcop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is one account at the provider; Groups go in the "groups" claim.
type User struct {
	ID, Username, Password, Email, Name string
	Groups                              []string
}

// Config is the provider's one client and its users.
type Config struct {
	ClientID, ClientSecret string
	RedirectURIs           []string // where the code may be sent
	PostLogoutURIs         []string // where RP-initiated logout may return
	Users                  []User
}

// OP is a running provider.
type OP struct {
	Issuer string
	srv    *http.Server
}

// Start listens on addr (127.0.0.1:0 for any free port) and serves the provider there.
func Start(addr string, cfg Config) (*OP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	issuer := "http://" + ln.Addr().String()
	users := userStore{}
	for _, u := range cfg.Users {
		users[u.ID] = u
	}
	client := storage.WebClient(cfg.ClientID, cfg.ClientSecret, cfg.RedirectURIs...)
	st := &store{Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{cfg.ClientID: client}), users: users, postLogout: cfg.PostLogoutURIs}
	quiet := slog.New(slog.NewTextHandler(discard{}, nil))
	router := exampleop.SetupServer(issuer, st, quiet, false)
	o := &OP{Issuer: issuer, srv: &http.Server{Handler: router, ReadHeaderTimeout: 5 * time.Second}}
	go func() {
		if err := o.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return o, nil
}

// Close stops the provider.
func (o *OP) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return o.srv.Shutdown(ctx)
}

// store is the example storage with this provider's users, the groups claim and the
// client's post-logout URIs.
type store struct {
	*storage.Storage
	users      userStore
	postLogout []string
}

func (s *store) groups(userID string, info *oidc.UserInfo) {
	if u, ok := s.users[userID]; ok && u.Groups != nil {
		info.AppendClaims("groups", u.Groups)
	}
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *store) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, token, scopes); err != nil {
		return err
	}
	s.groups(token.GetSubject(), info)
	return nil
}

// SetUserinfoFromToken fills the userinfo endpoint's answer.
func (s *store) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	s.groups(info.Subject, info)
	return nil
}

// GetClientByClientID answers the client with its post-logout URIs.
func (s *store) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return logoutClient{c, s.postLogout}, nil
}

type logoutClient struct {
	op.Client
	uris []string
}

func (c logoutClient) PostLogoutRedirectURIs() []string { return c.uris }

// userStore is the example storage's UserStore over this provider's users.
type userStore map[string]User

func (u userStore) user(x User) *storage.User {
	first, last, _ := strings.Cut(x.Name, " ")
	return &storage.User{ID: x.ID, Username: x.Username, Password: x.Password, FirstName: first, LastName: last,
		Email: x.Email, EmailVerified: true, PreferredLanguage: language.English}
}

func (u userStore) GetUserByID(id string) *storage.User {
	if x, ok := u[id]; ok {
		return u.user(x)
	}
	return nil
}

func (u userStore) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return u.user(x)
		}
	}
	return nil
}

func (u userStore) ExampleClientID() string { return "service" }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var formID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// SignIn plays a person signing in through the provider's login page: it follows
// loginURL (a relying party's sign-in start) to the form, fills it in and follows the
// redirects from there; it answers the last response (its body read) and the body. c needs
// a cookie jar, as a browser has.
func SignIn(c *http.Client, loginURL, username, password string) (*http.Response, string, error) {
	res, body, err := fetch(c.Get(loginURL))
	if err != nil {
		return nil, "", err
	}
	m := formID.FindStringSubmatch(body)
	if m == nil {
		return res, body, fmt.Errorf("oidcop: no login form at %s", res.Request.URL)
	}
	return fetch(c.PostForm(res.Request.URL.String(), url.Values{"username": {username}, "password": {password}, "id": {m[1]}}))
}

func fetch(res *http.Response, err error) (*http.Response, string, error) {
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}
