package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis returns a client for the shared REDIS_URL and a key prefix for this test alone
// ("test:<random>:"). Keys under the prefix are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	url := need(t, "REDIS_URL")
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("testenv: REDIS_URL: %v", err)
	}
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		t.Fatalf("testenv: Redis at REDIS_URL: %v", err)
	}
	prefix := "test:" + randomHex(6) + ":"
	t.Cleanup(func() {
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("testenv: scan test keys: %v", err)
			return
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := rdb.Del(ctx, keys[:n]...).Err(); err != nil {
				t.Errorf("testenv: delete test keys: %v", err)
				return
			}
			keys = keys[n:]
		}
	})
	return rdb, prefix
}

// RedisServer is a private redis-server on a loopback port, for tests that stop and
// restart Redis. It keeps nothing on disk: a restarted server is empty.
type RedisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string // more redis-server arguments (cluster mode, replicaof, sentinel)

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// StartRedis starts a redis-server (from PATH) on a free 127.0.0.1 port and kills it when
// the test ends.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	return startRedis(t, false, nil)
}

// startRedis starts a redis-server with args (given its port); clusterPort picks a port
// whose cluster bus (10000 higher) is free and fits too.
func startRedis(t testing.TB, clusterPort bool, args func(port int) []string) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(SkipEnv) == "1" {
			t.Skipf("redis-server is not on PATH and %s=1: skipping", SkipEnv)
		}
		t.Fatalf("testenv: redis-server is not on PATH (deploy/dev/stack.sh up installs it): %v", err)
	}
	s := &RedisServer{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	pick := freePort
	if clusterPort {
		pick = freeClusterPort
	}
	startOnFreePort(t, "redis-server", pick, func(port int) error {
		s.port = port
		if args != nil {
			s.args = args(port)
		}
		return s.start()
	})
	return s
}

// startOnFreePort starts a server with start on a port from pick, and again on another
// port when that fails: another process may take a free port between our check and the
// server's bind. The fifth failure ends the test.
func startOnFreePort(t testing.TB, what string, pick func() (int, error), start func(port int) error) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port, err := pick()
		if err == nil {
			err = start(port)
		}
		if err == nil {
			return
		}
		if attempt == 4 {
			t.Fatalf("testenv: start %s: %v", what, err)
		}
	}
}

// Addr is the server's host:port.
func (s *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's redis:// URL, database 0.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Client returns a client for the server, closed when the test ends. Its timeouts are
// short and it follows context deadlines, as a production client should.
func (s *RedisServer) Client() *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  s.Addr(),
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Second,
		DialerRetries:         1,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		MaxRetries:            -1,
	})
	s.t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Stop kills the server (SIGKILL: a crash, not a shutdown) and waits for it to exit.
// Stopping a stopped server does nothing.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Start restarts a stopped server on the same port. Starting a running server does
// nothing.
func (s *RedisServer) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("testenv: restart redis-server on %s: %v", s.Addr(), err)
	}
}

func (s *RedisServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logFile := filepath.Join(s.dir, "redis.log")
	args := []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(s.port),
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", logFile,
	}
	if len(s.args) > 0 && strings.HasSuffix(s.args[0], ".conf") {
		args = append([]string{s.args[0]}, append(args, s.args[1:]...)...) // a config file comes first
	} else {
		args = append(args, s.args...)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(s.Addr()) == nil {
			s.cmd, s.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server exited: %s", tail(logFile))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server did not answer PING within 10s: %s", tail(logFile))
		}
	}
}

// ping speaks just enough RESP to tell that the server is up.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return errors.New("unexpected answer " + strconv.Quote(line))
	}
	return nil
}

// freeClusterPort is a free port of at most 55535 whose cluster bus port is free too.
func freeClusterPort() (int, error) {
	for range 50 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		if p > 55535 {
			continue
		}
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000)); err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free port of 55535 or less with a free cluster bus port")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}
