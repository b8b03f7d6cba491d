package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/lookup"
)

// memberExport is everything stored about one member (GET /api/v1/members/{id}/export):
// the profile with its numbers, every activity, whether a PIN is set (never the PIN),
// every verification attempt (calling numbers only as keyed hashes), the consents to
// remember numbers, and the member's call records.
type memberExport struct {
	Member lookup.Member `json:"member"`
	lookup.MemberRecords
	Calls []calls.Call `json:"calls"`
}

func (s *Server) handleExportMember() http.Handler {
	return s.memberOp(memberPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		ctx := r.Context()
		m, err := s.deps.Members.GetMember(ctx, ids[0])
		if err != nil {
			return nil, err
		}
		ex := memberExport{Member: m, Calls: []calls.Call{}}
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
// invalidation reaches Redis and each instance's local tier), and what ties call records
// to them (anonymized: the calls stay, counted as anonymous).
func (s *Server) handleDeleteMember() http.Handler {
	return s.memberOp(memberPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		if err := s.deps.Members.DeleteMember(r.Context(), ids[0]); err != nil {
			return nil, err
		}
		if s.deps.Calls != nil {
			n, err := s.deps.Calls.AnonymizeMember(r.Context(), ids[0])
			if err != nil {
				return nil, errors.Join(errors.New("ivr: member deleted, but their call records are not anonymized yet: retry"), err)
			}
			s.log.InfoContext(r.Context(), "member deleted", "calls_anonymized", n)
		}
		return nil, nil
	})
}
