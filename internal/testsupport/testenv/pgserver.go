package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresServer is a private PostgreSQL cluster on a loopback port, for tests that stop
// and restart PostgreSQL. Unlike a restarted RedisServer it keeps its data.
type PostgresServer struct {
	t    testing.TB
	bin  string // directory of initdb and pg_ctl
	dir  string // data directory's parent, removed at the end
	data string
	port int
	user string // OS user to run as when we are root; "" to run as ourselves

	mu      sync.Mutex
	running bool
}

// StartPostgres initializes a cluster in a temporary directory and starts it on a free
// 127.0.0.1 port; it is stopped and removed when the test ends. The binaries come from
// PG_BIN, else the newest /usr/lib/postgresql/*/bin, else PATH. Run as root, the cluster
// runs as the postgres OS user (PostgreSQL refuses root).
func StartPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	bin, err := pgBinDir()
	if err != nil {
		if os.Getenv(SkipEnv) == "1" {
			t.Skipf("no PostgreSQL server binaries and %s=1: skipping", SkipEnv)
		}
		t.Fatalf("testenv: %v (deploy/dev/stack.sh up installs them)", err)
	}
	s := &PostgresServer{t: t, bin: bin}
	if os.Geteuid() == 0 {
		s.user = "postgres"
	}
	// Not t.TempDir: its parents are private to root, and the cluster runs as postgres.
	if s.dir, err = os.MkdirTemp("", "memberline-pg-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.dir) })
	s.data = filepath.Join(s.dir, "data")
	if s.user != "" {
		if out, err := exec.Command("chown", s.user, s.dir).CombinedOutput(); err != nil {
			t.Fatalf("testenv: chown %s: %v %s", s.dir, err, out)
		}
	}
	if out, err := s.as("initdb", "-D", s.data, "-U", "memberline", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	t.Cleanup(s.Stop)
	startOnFreePort(t, "postgres", freePort, func(port int) error {
		s.port = port
		return s.start()
	})
	return s
}

func pgBinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no initdb in PG_BIN, /usr/lib/postgresql/*/bin or PATH")
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// as runs one of the server's programs, as the cluster's OS user.
func (s *PostgresServer) as(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, prog)
	if s.user == "" {
		return exec.Command(path, args...)
	}
	return exec.Command("runuser", append([]string{"-u", s.user, "--", path}, args...)...)
}

// URL is a connection URL for database db on the server.
func (s *PostgresServer) URL(db string) string {
	return fmt.Sprintf("postgres://memberline@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=2", s.port, db)
}

// CreateDatabase creates database name.
func (s *PostgresServer) CreateDatabase(name string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		s.t.Fatalf("testenv: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)); err != nil {
		s.t.Fatalf("testenv: create database %s: %v", name, err)
	}
}

// Stop stops the server at once (immediate mode: no checkpoint, every connection cut),
// as a crash would. Stopping a stopped server does nothing.
func (s *PostgresServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	if out, err := s.as("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		s.t.Errorf("testenv: stop postgres: %v %s", err, out)
	}
	s.running = false
}

// Start restarts a stopped server on the same port. Starting a running server does
// nothing.
func (s *PostgresServer) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("testenv: restart postgres on port %d: %v", s.port, err)
	}
}

func (s *PostgresServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	opts := strings.Join([]string{
		"-p", strconv.Itoa(s.port), "-c", "listen_addresses=127.0.0.1", "-k", s.dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
	}, " ")
	out, err := s.as("pg_ctl", "-D", s.data, "-l", filepath.Join(s.dir, "postgres.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v %s %s", err, out, tail(filepath.Join(s.dir, "postgres.log")))
	}
	s.running = true
	return nil
}
