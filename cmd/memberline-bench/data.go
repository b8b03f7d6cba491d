package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/memberdata"
	"github.com/memberline/memberline/lookup"
)

// ensureData imports the generated data set unless the directory already holds it.
func ensureData(ctx context.Context, pool *pgxpool.Pool, inv lookup.Invalidator, members int, dir string) error {
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM members").Scan(&n); err != nil {
		return err
	}
	var last string
	_ = pool.QueryRow(ctx, "SELECT id FROM members WHERE id = $1", memberdata.MemberID(members-1)).Scan(&last)
	if n == members && last != "" {
		fmt.Fprintf(os.Stderr, "memberline-bench: %d members already loaded; reusing them\n", n)
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, fmt.Sprintf("members-%d.ndjson", members))
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(os.Stderr, "memberline-bench: generating %d members into %s\n", members, path)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		err = memberdata.Members{N: members, Now: time.Now()}.Write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(os.Stderr, "memberline-bench: importing %s\n", path)
	st, err := lookup.Import(ctx, pool, f, inv, lookup.ImportOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "memberline-bench: imported %d members, %d numbers, %d activities in %.1fs\n",
		st.Members, st.Phones, st.Activities, st.Elapsed.Seconds())
	return nil
}

// redisBytesPerNumber caches 10,000 numbers under a fresh prefix and reports Redis's
// own account of one entry (MEMORY USAGE, averaged over a sample).
func redisBytesPerNumber(ctx context.Context, rdb redis.UniversalClient, dir *lookup.Directory, prefix string) (float64, error) {
	c := lookup.NewCache(dir, rdb, lookup.CacheOptions{Prefix: prefix})
	now := time.Now()
	const n = 10000
	for k := range n {
		if _, err := c.Resolve(ctx, memberdata.Phone(k*97), now); err != nil {
			return 0, err
		}
	}
	var total, sampled int64
	for k := 0; k < n; k += 50 {
		b, err := rdb.MemoryUsage(ctx, prefix+"caller:"+memberdata.Phone(k*97)).Result()
		if err != nil {
			continue
		}
		total += b
		sampled++
	}
	if sampled == 0 {
		return 0, fmt.Errorf("redis: no cached number found under %s", prefix)
	}
	return float64(total) / float64(sampled), nil
}

func cleanup(rdb redis.UniversalClient, pattern string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			rdb.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
}
