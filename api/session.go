package api

import (
	"net/http"
	"time"
)

// The console asks who it is signed in as, with what role and, for a session, the CSRF
// token its changes carry; and signs out.

type sessionAnswer struct {
	Via     string     `json:"via"` // "token" or "oidc"
	Name    string     `json:"name"`
	Email   string     `json:"email,omitempty"`
	Role    string     `json:"role"`
	CSRF    string     `json:"csrf,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

func (s *Server) handleSession() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := principalOf(r)
		a := sessionAnswer{Via: "token", Name: p.name, Role: p.role}
		if sess := p.session; sess != nil {
			exp := sess.Expires(s.deps.SSO.Config())
			a = sessionAnswer{Via: "oidc", Name: sess.Name, Email: sess.Email, Role: sess.Role, CSRF: sess.CSRF, Expires: &exp}
			if a.Name == "" {
				a.Name = sess.Email
			}
		}
		writeJSON(w, http.StatusOK, a)
	})
}

// handleSignOut ends a console session and answers where the browser goes next (the
// provider's sign-out, when it offers one); a token has nothing to end.
func (s *Server) handleSignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := principalOf(r)
		if p.session == nil {
			writeJSON(w, http.StatusOK, map[string]string{"next": ""})
			return
		}
		next, err := s.deps.SSO.Logout(w, r, *p.session)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"next": next})
	})
}
