package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// memberExport is everything stored about one member (GET /api/v1/members/{id}/export):
// the profile with its numbers, every activity, whether a PIN is set (never the PIN),
// every verification attempt (calling numbers only as keyed hashes), the consents to
// remember numbers, and the member's call records.
type memberExport struct {
	Member lookup.Member `json:"member"`
	lookup.MemberRecords
	Calls []calls.Call `json:"calls"`
	// MessageConsent is what the member's numbers said about messages.
	MessageConsent []outbound.Consent `json:"message_consent"`
}

func (s *Server) handleExportMember() http.Handler {
	return s.memberOp(memberPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		ctx := r.Context()
		m, err := s.deps.Members.GetMember(ctx, ids[0])
		if err != nil {
			return nil, err
		}
		ex := memberExport{Member: m, Calls: []calls.Call{}, MessageConsent: []outbound.Consent{}}
		if s.deps.Messages != nil {
			for _, p := range m.Phones {
				c, err := s.deps.Messages.ConsentOf(ctx, p)
				if err != nil {
					return nil, err
				}
				if c.Status != "" {
					ex.MessageConsent = append(ex.MessageConsent, c)
				}
			}
		}
		ex.Activities, ex.VerificationAttempts, ex.Consents = []lookup.Activity{}, []lookup.Attempt{}, []lookup.Consent{}
		if s.deps.PINs != nil {
			if ex.MemberRecords, err = s.deps.PINs.Records(ctx, m.ID); err != nil {
				return nil, err
			}
		}
		if s.deps.Calls != nil {
			f := calls.Filter{MemberID: m.ID, Limit: 500}
			for {
				page, err := s.deps.Calls.List(ctx, f)
				if err != nil {
					return nil, fmt.Errorf("ivr: export: calls: %w", err)
				}
				ex.Calls = append(ex.Calls, page.Calls...)
				if page.Next == "" {
					break
				}
				f.Cursor = page.Next
			}
		}
		return ex, nil
	})
}

// handleDeleteMember forgets a member: the directory row with its numbers, activities,
// PIN and verification attempts (PostgreSQL cascades), every cache tier (the directory's
// invalidation reaches Redis and each instance's local tier), the answers their calls got
// that the retry cache keeps (a greeting by name), and what ties call records to them
// (anonymized: the calls stay, counted as anonymous; a call still in progress stays
// anonymous). Between the first and the rest it waits ForgetAfter, so that the webhooks
// then in flight have finished and every instance has written its records.
func (s *Server) handleDeleteMember() http.Handler {
	return s.memberOp(memberPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		// A member already gone (a retry after the rest failed) still has the rest done,
		// and is answered 404. Their numbers' message consent goes with them.
		if s.deps.Messages != nil {
			if m, err := s.deps.Members.GetMember(r.Context(), ids[0]); err == nil {
				for _, p := range m.Phones {
					if err := s.deps.Messages.ForgetConsent(r.Context(), p); err != nil {
						return nil, err
					}
				}
			}
		}
		gone := s.deps.Members.DeleteMember(r.Context(), ids[0])
		if gone != nil && !errors.Is(gone, errs.ErrNotFound) {
			return nil, gone
		}
		if s.deps.Calls != nil && s.deps.Answers != nil {
			if s.cfg.ForgetAfter > 0 && gone == nil {
				select {
				case <-time.After(s.cfg.ForgetAfter):
				case <-r.Context().Done():
					return nil, r.Context().Err()
				}
			}
			keys, err := s.deps.Calls.AnswerKeys(r.Context(), ids[0], s.cfg.Now().Add(-time.Hour))
			if err == nil {
				err = s.deps.Answers.Forget(r.Context(), keys...)
			}
			if err != nil {
				return nil, errors.Join(errors.New("api: member deleted, but the answers their calls got are not forgotten yet: retry"), err)
			}
		}
		if s.deps.Calls != nil {
			n, err := s.deps.Calls.AnonymizeMember(r.Context(), ids[0])
			if err != nil {
				return nil, errors.Join(errors.New("ivr: member deleted, but their call records are not anonymized yet: retry"), err)
			}
			s.log.InfoContext(r.Context(), "member deleted", "calls_anonymized", n)
		}
		return nil, gone
	})
}
