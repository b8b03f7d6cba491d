package lookup

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Redis deployment modes NewRedisClient understands.
const (
	RedisSingle   = "single"   // one node: redis://host:6379/0
	RedisSentinel = "sentinel" // sentinels: redis://s1:26379/0?addr=s2:26379, plus the master's name
	RedisCluster  = "cluster"  // cluster nodes: redis://n1:6379?addr=n2:6379
)

// NewRedisClient returns a client for a single node, a Sentinel-watched master or a
// Cluster, configured as RedisOptions explains: context deadlines are followed and a
// Redis that is down costs one quick failed dial per call.
func NewRedisClient(mode, url, sentinelMaster string) (redis.UniversalClient, error) {
	switch mode {
	case "", RedisSingle:
		opts, err := RedisOptions(url)
		if err != nil {
			return nil, err
		}
		return redis.NewClient(opts), nil
	case RedisSentinel, RedisCluster:
		co, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, err
		}
		u := &redis.UniversalOptions{
			Addrs:                 co.Addrs,
			Username:              co.Username,
			Password:              co.Password,
			TLSConfig:             co.TLSConfig,
			ContextTimeoutEnabled: true,
			MaxRetries:            1,
			DialTimeout:           500 * time.Millisecond,
			ReadTimeout:           500 * time.Millisecond,
			WriteTimeout:          500 * time.Millisecond,
			AutoPipelineOptions:   pipelineOptions(),
		}
		if mode == RedisCluster {
			u.IsClusterMode = true
			return redis.NewUniversalClient(u), nil
		}
		if sentinelMaster == "" {
			return nil, fmt.Errorf("sentinel mode needs the master's name")
		}
		u.MasterName = sentinelMaster
		return redis.NewUniversalClient(u), nil
	default:
		return nil, fmt.Errorf("unknown Redis mode %q (single, sentinel or cluster)", mode)
	}
}

// pipelineOptions configure the automatic pipeline of every client NewRedisClient and
// RedisOptions make: go-redis's defaults (one ordered stream of batches, none waiting to
// fill), with a bound on the commands waiting while Redis is slow, past which a command
// fails at once instead of queueing.
func pipelineOptions() *redis.AutoPipelineOptions {
	o := redis.DefaultAutoPipelineOptions()
	o.MaxQueuedCommands = 10_000
	return o
}

// AutoPipelined sends cmd through rdb's automatic pipeline and waits for its reply, or
// for ctx to end. Commands that goroutines send at the same time share one pipeline: while
// one batch is in flight the next fills, so under load a command costs a fraction of a
// round trip's system calls (on both ends), and alone it goes at once in a batch of one.
// The reply is cmd's; after a context error it must not be read (the command may still
// run). A client without an automatic pipeline (a Ring) sends cmd on its own.
func AutoPipelined(ctx context.Context, rdb redis.UniversalClient, cmd redis.Cmder) error {
	ap, err := rdb.AsyncAutoPipeline()
	if err != nil {
		if errors.Is(err, redis.ErrClosed) {
			return err
		}
		return rdb.Process(ctx, cmd)
	}
	return ap.Submit(ctx, cmd).WaitContext(ctx)
}

// PoolConfig parses a PostgreSQL URL into a pool configuration with at most maxConns
// connections (0: pgx's default) and a statement timeout on every connection (0: the
// server's). Bulk work such as Import lifts the timeout for its own transactions.
func PoolConfig(url string, maxConns int, statementTimeout time.Duration) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	if statementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(statementTimeout.Milliseconds(), 10)
	}
	return cfg, nil
}
