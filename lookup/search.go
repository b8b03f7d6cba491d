package lookup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

var qMembersSearch = query("members_search")

// Search limits: a query shorter than MinSearchLen would match most of the directory.
const (
	MinSearchLen       = 2
	DefaultSearchLimit = 10
	MaxSearchLimit     = 50
)

// Searcher finds members by name, for people picking a member (the console), never for
// calls: calls are identified by number.
type Searcher interface {
	Search(ctx context.Context, query string, limit int) ([]Member, error)
}

var (
	_ Searcher = (*Directory)(nil)
	_ Searcher = (*Cache)(nil)
	_ Searcher = (*Local)(nil)
)

// Search returns the members whose first name, last name or "first last" starts with
// query, case-insensitively, ordered by last name, first name and id. limit <= 0 means
// DefaultSearchLimit; it is capped at MaxSearchLimit. A query (trimmed) shorter than
// MinSearchLen characters is invalid, naming "q".
func (d *Directory) Search(ctx context.Context, query string, limit int) ([]Member, error) {
	query = strings.TrimSpace(query)
	if utf8.RuneCountInString(query) < MinSearchLen {
		return nil, fieldErr("q", fmt.Sprintf("must be at least %d characters", MinSearchLen))
	}
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	limit = min(limit, MaxSearchLimit)
	rows, err := d.pool.Query(ctx, qMembersSearch, likePrefix(query), limit)
	if err != nil {
		return nil, fmt.Errorf("lookup: search members: %w", err)
	}
	defer rows.Close()
	ms := []Member{}
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.FirstName, &m.LastName, &m.Tier, &m.Language, &m.TimeZone,
			&m.CreatedAt, &m.UpdatedAt, &m.Phones); err != nil {
			return nil, fmt.Errorf("lookup: search members: %w", err)
		}
		m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lookup: search members: %w", err)
	}
	return ms, nil
}

// likePrefix is the LIKE pattern (escape character \) for strings starting with s: the
// query's own wildcards match only themselves.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func likePrefix(s string) string { return likeEscaper.Replace(s) + "%" }

// Search asks the tier below: name searches are rare and not worth caching.
func (c *Cache) Search(ctx context.Context, query string, limit int) ([]Member, error) {
	return search(ctx, c.below, query, limit)
}

// Search asks the tier below.
func (l *Local) Search(ctx context.Context, query string, limit int) ([]Member, error) {
	return search(ctx, l.below, query, limit)
}

// errNoSearch: the tiers stand on a directory that cannot search by name.
var errNoSearch = errors.New("lookup: search members: the directory does not search")

func search(ctx context.Context, below Tier, query string, limit int) ([]Member, error) {
	s, ok := below.(Searcher)
	if !ok {
		return nil, errNoSearch
	}
	return s.Search(ctx, query, limit)
}
