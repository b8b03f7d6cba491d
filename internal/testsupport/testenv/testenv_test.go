package testenv

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

func createThings(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS things (id int PRIMARY KEY)")
	return err
}

func TestPostgres(t *testing.T) {
	need(t, "DATABASE_URL") // skip or fail here, not in the subtests alone
	ctx := context.Background()
	var names [2]string
	for i := range names {
		t.Run(fmt.Sprint("test", i), func(t *testing.T) {
			pool := Postgres(t, "testenv-things", createThings)
			if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&names[i]); err != nil {
				t.Fatal(err)
			}
			// The template's schema is there, and the data is the test's own.
			if _, err := pool.Exec(ctx, "INSERT INTO things VALUES (1)"); err != nil {
				t.Fatalf("insert into a fresh copy: %v", err)
			}
		})
	}
	if names[0] == names[1] || !strings.HasPrefix(names[0], testPrefix) {
		t.Fatalf("test databases %q and %q; want two distinct %s databases", names[0], names[1], testPrefix)
	}
	admin, err := adminDB(ctx, need(t, "DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	var left int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names[:]).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d test databases outlived their tests", left)
	}
}

func TestPostgresParallel(t *testing.T) {
	for i := range 6 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			pool := Postgres(t, "testenv-things", createThings)
			if _, err := pool.Exec(context.Background(), "INSERT INTO things VALUES (1)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPostgresMigratesExistingTemplate(t *testing.T) {
	ctx := context.Background()
	key := "testenv-grows-" + randomHex(4)
	v1 := func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS a (id int)")
		return err
	}
	v2 := func(ctx context.Context, pool *pgxpool.Pool) error {
		if err := v1(ctx, pool); err != nil {
			return err
		}
		_, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS b (id int)")
		return err
	}
	Postgres(t, key, v1)
	// A later process, with a migration added, under the same key.
	templates.Delete(key)
	pool := Postgres(t, key, v2)
	if _, err := pool.Exec(ctx, "INSERT INTO b VALUES (1)"); err != nil {
		t.Fatalf("the template was not brought up to date: %v", err)
	}
	t.Cleanup(func() { dropTemplate(t, key) })
}

func dropTemplate(t *testing.T, key string) {
	v, ok := templates.Load(key)
	if !ok {
		return
	}
	admin, _ := adminDB(context.Background(), need(t, "DATABASE_URL"))
	admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(v.(*template).name)+" WITH (FORCE)")
}

func TestKey(t *testing.T) {
	a := fstest.MapFS{"0001_a.up.sql": {Data: []byte("CREATE TABLE a (id int)")}}
	b := fstest.MapFS{"0001_a.up.sql": {Data: []byte("CREATE TABLE a (id bigint)")}}
	if Key("lookup", a) == Key("lookup", b) {
		t.Error("Key ignores the migrations' content")
	}
	if k1, k2 := Key("lookup", a), Key("lookup", a); k1 != k2 {
		t.Error("Key is not stable")
	}
	if Key("lookup", a) == Key("flows", a) {
		t.Error("Key ignores the name")
	}
	if !strings.HasPrefix(Key("lookup", a), "lookup@") {
		t.Errorf("Key = %q", Key("lookup", a))
	}
}

// fakeTB records how a helper ended the test.
type fakeTB struct {
	testing.TB
	mu    sync.Mutex
	ended string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.ended = "fatal: " + fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.ended = "skip: " + fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func TestMissingServiceFailsUnlessSkipRequested(t *testing.T) {
	for _, tc := range []struct {
		name, skip, want string
	}{
		{"fails by default", "", "fatal: DATABASE_URL is not set; run `make test`"},
		{"skips on request", "1", "skip: DATABASE_URL is not set and MEMBERLINE_SKIP_DB=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DATABASE_URL", "")
			t.Setenv(SkipEnv, tc.skip)
			f := &fakeTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Postgres(f, "unused", createThings)
			}()
			<-done
			if !strings.HasPrefix(f.ended, tc.want) {
				t.Fatalf("ended with %q; want %q...", f.ended, tc.want)
			}
		})
	}
}

func TestRedis(t *testing.T) {
	need(t, "REDIS_URL")
	ctx := context.Background()
	var prefix string
	var rdb *redis.Client
	t.Run("uses its prefix", func(t *testing.T) {
		var c *redis.Client
		c, prefix = Redis(t)
		if !strings.HasPrefix(prefix, "test:") || !strings.HasSuffix(prefix, ":") {
			t.Fatalf("prefix %q", prefix)
		}
		for i := range 3 {
			if err := c.Set(ctx, fmt.Sprint(prefix, "k", i), "v", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	rdb, _ = Redis(t)
	n, err := rdb.Exists(ctx, prefix+"k0", prefix+"k1", prefix+"k2").Result()
	if err != nil || n != 0 {
		t.Fatalf("%d keys outlived their test (%v)", n, err)
	}
}

func TestStartRedis(t *testing.T) {
	ctx := context.Background()
	srv := StartRedis(t)
	if !strings.HasPrefix(srv.URL(), "redis://127.0.0.1:") {
		t.Fatalf("URL = %q", srv.URL())
	}
	rdb := srv.Client()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rdb.Get(cctx, "k").Err(); err == nil || err == redis.Nil {
		t.Fatalf("GET with the server stopped = %v; want a connection error", err)
	}
	srv.Stop() // twice is fine
	addr := srv.Addr()
	srv.Start()
	if srv.Addr() != addr {
		t.Fatalf("restarted on %s; want %s", srv.Addr(), addr)
	}
	// The client reconnects; a restarted server keeps nothing.
	var err error
	for range 50 {
		if err = rdb.Get(ctx, "k").Err(); err == redis.Nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != redis.Nil {
		t.Fatalf("GET after restart = %v; want redis.Nil", err)
	}
}
