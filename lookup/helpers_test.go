package lookup

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/testsupport/testenv"
)

// now is the moment of every call in these tests.
var now = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

var (
	est = time.FixedZone("", -5*3600)
	ist = time.FixedZone("", 5*3600+1800)
)

func newPool(t testing.TB) *pgxpool.Pool {
	return testenv.Postgres(t, testenv.Key("lookup", Migrations), Migrate)
}

func newDirectory(t testing.TB) *Directory {
	return NewDirectory(newPool(t), DefaultWindows)
}

// queryCounter is a pgx tracer counting the statements sent.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// countedPool is a second pool on pool's database whose statements are counted.
func countedPool(t testing.TB, pool *pgxpool.Pool) (*pgxpool.Pool, *queryCounter) {
	cfg := pool.Config()
	qc := &queryCounter{}
	cfg.ConnConfig.Tracer = qc
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, qc
}

// commandCounter is a go-redis hook counting commands by name.
type commandCounter struct {
	get, other atomic.Int64
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "get" {
			c.get.Add(1)
		} else {
			c.other.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.other.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustPutMember(t testing.TB, w Writer, m Member) Member {
	t.Helper()
	out, err := w.PutMember(ctxT(t), m)
	if err != nil {
		t.Fatalf("PutMember(%s): %v", m.ID, err)
	}
	return out
}

func mustPutActivity(t testing.TB, w Writer, a Activity) Activity {
	t.Helper()
	out, err := w.PutActivity(ctxT(t), a)
	if err != nil {
		t.Fatalf("PutActivity(%s/%s): %v", a.MemberID, a.ID, err)
	}
	return out
}

func dana() Member {
	return Member{ID: "1001", FirstName: "Dana", LastName: "Whitfield", Tier: "Diamond",
		Language: "en-US", TimeZone: "America/New_York", Phones: []string{"+14045550123"}}
}

func trip(memberID, id string, starts, ends time.Time) Activity {
	return Activity{MemberID: memberID, ID: id, Kind: "trip", Summary: "ATL to LHR", Place: "London",
		StartsAt: starts, EndsAt: ends, Reference: "ABC123"}
}

// sameInstantAndOffset reports whether a and b are the same moment written with the same
// UTC offset.
func sameInstantAndOffset(a, b time.Time) bool {
	_, ao := a.Zone()
	_, bo := b.Zone()
	return a.Equal(b) && ao == bo
}
