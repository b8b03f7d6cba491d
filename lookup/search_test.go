package lookup

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/memberline/memberline/internal/errs"
)

func TestSearch(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := newDirectory(t)
	for _, m := range []Member{
		dana(),
		{ID: "1002", FirstName: "Daniel", LastName: "Abbott", Phones: []string{"+14045550124"}},
		{ID: "1003", FirstName: "Whitney", LastName: "Young", Phones: []string{"+14045550125"}},
		{ID: "1004", FirstName: "Sam", LastName: "O_Neil", Phones: []string{"+14045550126"}},
		{ID: "1005", FirstName: "Sam", LastName: "OXNeil", Phones: []string{"+14045550127"}},
		{ID: "1006", FirstName: "Ann", LastName: "100% Club", Phones: []string{"+14045550128"}},
	} {
		mustPutMember(t, dir, m)
	}
	for i := range 12 {
		mustPutMember(t, dir, Member{ID: fmt.Sprintf("2%03d", i), FirstName: "Zed", LastName: fmt.Sprintf("Zulu%02d", i),
			Phones: []string{fmt.Sprintf("+1404555%04d", 2000+i)}})
	}

	tests := []struct {
		name  string
		query string
		limit int
		want  []string // member ids, in order
	}{
		{name: "prefix of a first name", query: "Dan", want: []string{"1002", "1001"}},
		{name: "prefix of a last name", query: "Whit", want: []string{"1001", "1003"}},
		{name: "first and last name", query: "Dana Wh", want: []string{"1001"}},
		{name: "case does not matter", query: "dANA whitFIELD", want: []string{"1001"}},
		{name: "surrounding spaces are trimmed", query: "  whitfield ", want: []string{"1001"}},
		{name: "a prefix, not a substring", query: "field", want: []string{}},
		{name: "underscore matches only itself", query: "O_N", want: []string{"1004"}},
		{name: "percent matches only itself", query: "100%", want: []string{"1006"}},
		{name: "a lone percent matches nothing else", query: "D%", want: []string{}},
		{name: "default limit", query: "Zed", want: zeds(10)},
		{name: "explicit limit", query: "Zulu", limit: 3, want: zeds(3)},
		{name: "limit over the maximum is capped", query: "Zed", limit: 1000, want: zeds(12)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := dir.Search(ctx, tc.query, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, m := range ms {
				got = append(got, m.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Search(%q, %d) = %v; want %v", tc.query, tc.limit, got, tc.want)
			}
		})
	}

	t.Run("members come whole", func(t *testing.T) {
		ms, err := dir.Search(ctx, "Dana", 0)
		if err != nil || len(ms) != 1 {
			t.Fatalf("Search = %v, %v", ms, err)
		}
		if m := ms[0]; m.Tier != "Diamond" || !slices.Equal(m.Phones, []string{"+14045550123"}) || m.CreatedAt.IsZero() {
			t.Fatalf("member = %+v", m)
		}
	})

	for _, q := range []string{"", "D", " D ", "é"} {
		t.Run(fmt.Sprintf("too short %q", q), func(t *testing.T) {
			_, err := dir.Search(ctx, q, 0)
			var fe *errs.Error
			if !errors.As(err, &fe) || fe.Field != "q" || !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("Search(%q) = %v; want a *errs.Error on q", q, err)
			}
		})
	}
}

func zeds(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("2%03d", i)
	}
	return ids
}
