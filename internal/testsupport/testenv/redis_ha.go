package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/redisx"
)

// RedisCluster is a private Redis Cluster of three masters on loopback, the slots split
// evenly, for tests of the service in REDIS_MODE=cluster.
type RedisCluster struct {
	Nodes []*RedisServer
}

// StartCluster starts three cluster-enabled redis-servers, gives each a third of the
// slots, joins them and waits until every node says the cluster is ok.
func StartCluster(t testing.TB) *RedisCluster {
	t.Helper()
	c := &RedisCluster{}
	for range 3 {
		c.Nodes = append(c.Nodes, startRedis(t, true, func(int) []string {
			return []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"}
		}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ranges := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	clients := make([]*redis.Client, len(c.Nodes))
	for i, n := range c.Nodes {
		clients[i] = n.Client()
		if err := clients[i].ClusterAddSlotsRange(ctx, ranges[i][0], ranges[i][1]).Err(); err != nil {
			t.Fatalf("testenv: cluster: add slots on %s: %v", n.Addr(), err)
		}
		if i > 0 {
			if err := clients[0].ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(n.port)).Err(); err != nil {
				t.Fatalf("testenv: cluster: meet %s: %v", n.Addr(), err)
			}
		}
	}
	for i, n := range c.Nodes {
		waitFor(t, ctx, "the cluster to be ok on "+n.Addr(), func() bool {
			info, err := clients[i].ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3")
		})
	}
	return c
}

// URL is the cluster's URL as REDIS_URL takes it in cluster mode.
func (c *RedisCluster) URL() string { return nodesURL(c.Nodes, "") }

// nodesURL names several servers in one redis:// URL: the first, then addr= for the rest.
func nodesURL(nodes []*RedisServer, path string) string {
	u := "redis://" + nodes[0].Addr() + path
	for i, n := range nodes[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + n.Addr()
	}
	return u
}

// RedisSentinel is a primary, its replica and three sentinels watching them as master
// MasterName, for tests of REDIS_MODE=sentinel and of failover.
type RedisSentinel struct {
	Primary, Replica *RedisServer
	Sentinels        []*RedisServer
}

// MasterName is the name the sentinels know the primary by.
const MasterName = "memberline"

// StartSentinel starts the primary, the replica following it, and three sentinels with a
// quorum of two that mark a silent primary down after one second.
func StartSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	s := &RedisSentinel{Primary: startRedis(t, false, nil)}
	s.Replica = startRedis(t, false, func(int) []string {
		return []string{"--replicaof", "127.0.0.1", strconv.Itoa(s.Primary.port), "--replica-announce-ip", "127.0.0.1"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	replica := s.Replica.Client()
	waitFor(t, ctx, "the replica to sync", func() bool {
		info, err := replica.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	for range 3 {
		dir := t.TempDir()
		s.Sentinels = append(s.Sentinels, startRedis(t, false, func(port int) []string {
			conf := filepath.Join(dir, "sentinel.conf")
			body := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel announce-ip 127.0.0.1\nsentinel monitor %s 127.0.0.1 %d 2\n"+
				"sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\nsentinel parallel-syncs %s 1\n",
				port, MasterName, s.Primary.port, MasterName, MasterName, MasterName)
			if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{conf, "--sentinel"}
		}))
	}
	for _, sn := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr()})
		t.Cleanup(func() { sc.Close() })
		waitFor(t, ctx, "sentinel "+sn.Addr()+" to know the replica and the other sentinels", func() bool {
			reps, err1 := sc.Replicas(ctx, MasterName).Result()
			others, err2 := sc.Sentinels(ctx, MasterName).Result()
			return err1 == nil && err2 == nil && len(reps) == 1 && len(others) == 2
		})
	}
	return s
}

// URL is the sentinels' URL as REDIS_URL takes it in sentinel mode (with MasterName).
func (s *RedisSentinel) URL() string { return nodesURL(s.Sentinels, "/0") }

// HAMode is a Redis deployment other than one node, with clients made as serve makes them
// (redisx.NewClient with REDIS_MODE Name), each closed when the test ends.
type HAMode struct {
	Name   string
	Client func() redis.UniversalClient
}

// HAModes starts a Cluster and a Sentinel setup and answers both.
func HAModes(t testing.TB) []HAMode {
	t.Helper()
	cluster, sentinel := StartCluster(t), StartSentinel(t)
	mode := func(name, url, master string) HAMode {
		return HAMode{Name: name, Client: func() redis.UniversalClient {
			rdb, err := redisx.NewClient(name, url, master)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rdb.Close() })
			return rdb
		}}
	}
	return []HAMode{mode(redisx.Cluster, cluster.URL(), ""), mode(redisx.Sentinel, sentinel.URL(), MasterName)}
}

// Promoted reports whether the sentinels name the replica as the master now.
func (s *RedisSentinel) Promoted() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0].Addr()})
	defer sc.Close()
	addr, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
	return err == nil && len(addr) == 2 && addr[1] == strconv.Itoa(s.Replica.port)
}

func waitFor(t testing.TB, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("testenv: waiting for %s: %v", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
