package lookup

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// boundedPipeline reports whether the automatic pipeline's queue is bounded, so that a slow
// Redis makes lookups fail at once rather than pile up.
func boundedPipeline(o *redis.AutoPipelineOptions) bool {
	return o != nil && o.MaxQueuedCommands == 10_000
}

func TestNewRedisClient(t *testing.T) {
	for _, tc := range []struct {
		name, mode, url, master string
		check                   func(redis.UniversalClient) bool
		wantErr                 bool
	}{
		{name: "single", mode: RedisSingle, url: "redis://127.0.0.1:6379/2",
			check: func(c redis.UniversalClient) bool {
				cl, ok := c.(*redis.Client)
				return ok && cl.Options().DB == 2 && boundedPipeline(cl.Options().AutoPipelineOptions)
			}},
		{name: "default is single", url: "redis://127.0.0.1:6379/0",
			check: func(c redis.UniversalClient) bool { _, ok := c.(*redis.Client); return ok }},
		{name: "cluster", mode: RedisCluster, url: "redis://n1:6379?addr=n2:6379&addr=n3:6379",
			check: func(c redis.UniversalClient) bool {
				cl, ok := c.(*redis.ClusterClient)
				return ok && len(cl.Options().Addrs) == 3 && boundedPipeline(cl.Options().AutoPipelineOptions)
			}},
		{name: "sentinel", mode: RedisSentinel, url: "redis://s1:26379?addr=s2:26379", master: "mymaster",
			check: func(c redis.UniversalClient) bool { _, ok := c.(*redis.Client); return ok }},
		{name: "sentinel without a master", mode: RedisSentinel, url: "redis://s1:26379", wantErr: true},
		{name: "unknown mode", mode: "ring", url: "redis://127.0.0.1:6379", wantErr: true},
		{name: "bad url", mode: RedisSingle, url: "http://x", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewRedisClient(tc.mode, tc.url, tc.master)
			if tc.wantErr {
				if err == nil {
					c.Close()
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !tc.check(c) {
				t.Fatalf("client %T not as configured", c)
			}
		})
	}
}

func TestPoolConfig(t *testing.T) {
	cfg, err := PoolConfig("postgres://u@127.0.0.1:5432/db", 12, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 12 || cfg.ConnConfig.RuntimeParams["statement_timeout"] != "1500" {
		t.Fatalf("max %d, params %v", cfg.MaxConns, cfg.ConnConfig.RuntimeParams)
	}
	cfg, err = PoolConfig("postgres://u@127.0.0.1:5432/db", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, set := cfg.ConnConfig.RuntimeParams["statement_timeout"]; set || cfg.MaxConns <= 0 {
		t.Fatalf("defaults changed: max %d, params %v", cfg.MaxConns, cfg.ConnConfig.RuntimeParams)
	}
}
