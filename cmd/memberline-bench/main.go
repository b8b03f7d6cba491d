// Command memberline-bench measures the incoming-call webhook under load on loopback,
// against a bare net/http handler answering the same number of bytes. It loads the data
// set (generated members, imported once and reused), serves each configuration in this
// process and drives it from a child process, so the CPU time it reports per request is
// the server's alone. `make bench` runs it; BENCHMARKS.md records its figures.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/gctune"
	"github.com/memberline/memberline/internal/memberdata"
	"github.com/memberline/memberline/internal/pgpool"
	"github.com/memberline/memberline/internal/redisx"
	"github.com/memberline/memberline/internal/softphone"
	"github.com/memberline/memberline/internal/testsupport/loadgen"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/lookup"
)

const (
	benchToken  = "bench-twilio-auth-token"
	benchPublic = "http://bench.memberline.test"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		err = child(ctx, os.Args[2:])
	} else {
		err = parent(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "memberline-bench:", err)
		os.Exit(1)
	}
}

// scenario is one measured configuration.
type scenario struct {
	name    string
	slug    string // names its profile
	handler http.Handler
	kind    string // what the child sends: "known", "unknown", "cold", "known-calls", "unknown-calls"
	conns   int
	serve   string // a memberline binary to run as `serve` instead of handler, in its own process
}

type row struct {
	name       string
	conns      int
	res        loadgen.Result
	cpuPerReq  time.Duration
	loadPerReq time.Duration // the load generator's CPU time per request
	// redisPerReq and pgPerReq are Redis's and PostgreSQL's CPU time per request (every
	// redis-server and postgres process, from /proc); totalPerReq adds the server's.
	redisPerReq, pgPerReq, totalPerReq time.Duration
	rounds                             int
	minOf                              float64 // the lowest and highest ratio to the baseline over the rounds
	maxOf                              float64
	bodyBytes                          int
	baselineOf                         float64
	machine                            machineShare // the whole machine's CPU while the load ran
}

func parent(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("memberline-bench", flag.ContinueOnError)
	members := fs.Int("members", 1_000_000, "members in the data set")
	data := fs.String("data", ".dev/bench", "directory for the generated data set")
	duration := fs.Duration("duration", 10*time.Second, "measured time per scenario")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured time before each scenario")
	conns := fs.Int("conns", 32, "connections")
	coldConns := fs.Int("cold-conns", 4, "connections for the cold-miss scenario")
	out := fs.String("out", "bench-results.txt", "file the table is written to")
	profiles := fs.String("profiles", "", "write a CPU profile of every scenario (its first round) into this directory (SCENARIO.prof)")
	rounds := fs.Int("rounds", 1, "run every scenario this many times and report each one's median round")
	serveBin := fs.String("serve", "", "a memberline binary: also measure `memberline serve` as deployed (replay guard, call records, flow store, JSON log on a pipe)")
	only := fs.String("scenarios", "", "comma-separated slugs of the scenarios to run after the baseline (known-local, known-redis, unknown, cold, serve, serve-unknown); all when empty")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The in-process scenarios run with the collector settings of `memberline serve`.
	gc, err := gctune.Apply(os.Getenv, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	dbURL, redisURL := os.Getenv("DATABASE_URL"), os.Getenv("REDIS_URL")
	if dbURL == "" || redisURL == "" {
		return fmt.Errorf("DATABASE_URL and REDIS_URL are required (make bench sets them)")
	}
	pcfg, err := pgpool.Config(dbURL, 0, 5*time.Second)
	if err != nil {
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := lookup.Migrate(ctx, pool); err != nil {
		return err
	}
	rdb, err := redisx.NewClient(redisx.Single, redisURL, "")
	if err != nil {
		return err
	}
	defer rdb.Close()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	prefix := "mlbench:" + run + ":"
	defer cleanup(rdb, "mlbench:"+run+":*")

	dir := lookup.NewDirectory(pool, lookup.DefaultWindows)
	if err := ensureData(ctx, pool, lookup.NewCache(dir, rdb, lookup.CacheOptions{Prefix: prefix + "import:"}), *members, *data); err != nil {
		return err
	}

	cache := lookup.NewCache(dir, rdb, lookup.CacheOptions{Prefix: prefix})
	local := lookup.NewLocal(cache, lookup.LocalOptions{})
	defer local.Close()
	cold := lookup.NewCache(dir, rdb, lookup.CacheOptions{Prefix: prefix + "cold:"})
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil)) // the cost of the log line, not of a disk
	newEdge := func(r interface {
		lookup.Resolver
		lookup.Writer
	}) http.Handler {
		return ivr.New(ivr.Config{PublicURL: benchPublic, TwilioAuthToken: benchToken, Logger: logger},
			ivr.Deps{Resolver: r, Members: r, Flow: flows.Default()})
	}
	withLocal, redisOnly, coldOnly := newEdge(local), newEdge(cache), newEdge(cold)

	// The baseline answers as many bytes as the known member's greeting.
	// The first lookup after an import can miss the lookup deadline (a cold database
	// right after loading) and answer as for an unknown caller: the probe checks the data,
	// so it tries a few times.
	var probe string
	for try := 0; ; try++ {
		probe = httptestPost(withLocal, webhookForm(memberdata.Phone(0)))
		if strings.Contains(probe, "Welcome back") {
			break
		}
		if try == 4 {
			return fmt.Errorf("the known member %s is not greeted: %s", lookup.Mask(memberdata.Phone(0)), probe)
		}
		time.Sleep(time.Second)
	}
	static := []byte(strings.Repeat("x", len(probe)))
	baseline := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(static)
	})

	scenarios := []scenario{
		{name: "baseline: bare net/http, same bytes", slug: "baseline", handler: baseline, kind: "known", conns: *conns},
		{name: "known member, local-tier hit", slug: "known-local", handler: withLocal, kind: "known", conns: *conns},
		{name: "known member, Redis hit (no local tier)", slug: "known-redis", handler: redisOnly, kind: "known", conns: *conns},
		{name: "unknown number (local tier)", slug: "unknown", handler: withLocal, kind: "unknown", conns: *conns},
		{name: "cold miss: Redis miss, PostgreSQL, refill", slug: "cold", handler: coldOnly, kind: "cold", conns: *coldConns},
	}
	if *serveBin != "" {
		scenarios = append(scenarios, scenario{name: "memberline serve, known member, every guard on", slug: "serve",
			kind: "known-calls", conns: *conns, serve: *serveBin},
			scenario{name: "memberline serve, unknown number, every guard on", slug: "serve-unknown",
				kind: "unknown-calls", conns: *conns, serve: *serveBin})
	}
	if *only != "" {
		want := map[string]bool{"baseline": true}
		for _, slug := range strings.Split(*only, ",") {
			want[strings.TrimSpace(slug)] = true
		}
		kept := scenarios[:0]
		for _, sc := range scenarios {
			if want[sc.slug] {
				kept = append(kept, sc)
				delete(want, sc.slug)
			}
		}
		delete(want, "baseline")
		for slug := range want {
			return fmt.Errorf("-scenarios: no scenario %q", slug)
		}
		scenarios = kept
	}
	if *profiles != "" {
		if err := os.MkdirAll(*profiles, 0o755); err != nil {
			return err
		}
	}
	// Each round runs every scenario once; a scenario's row is its median round by the
	// ratio to the same round's baseline, which cancels drifts of the machine's speed.
	byScenario := make([][]row, len(scenarios))
	for round := range *rounds {
		var base float64
		for i, sc := range scenarios {
			profPath := ""
			if *profiles != "" && round == 0 {
				profPath = filepath.Join(*profiles, sc.slug+".prof")
			}
			fmt.Fprintf(os.Stderr, "memberline-bench: round %d/%d: %s, %d connections, %v...\n", round+1, *rounds, sc.name, sc.conns, *duration)
			r, err := runScenario(ctx, sc, profPath, dbURL, redisURL, *warmup, *duration, *members)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			r.bodyBytes = len(probe)
			if i == 0 {
				base = r.res.RPS()
			}
			r.baselineOf = r.res.RPS() / base
			byScenario[i] = append(byScenario[i], r)
		}
	}
	rows := make([]row, len(scenarios))
	for i, rs := range byScenario {
		rows[i] = median(rs)
	}
	perKey, err := redisBytesPerNumber(ctx, rdb, dir, prefix+"mem:")
	if err != nil {
		return err
	}
	table := render(rows, perKey, *members, gc)
	fmt.Print(table)
	return os.WriteFile(*out, []byte(table), 0o644)
}

// runScenario serves sc (in this process, or as `memberline serve`) and drives it.
func runScenario(ctx context.Context, sc scenario, profPath, dbURL, redisURL string, warmup, duration time.Duration, members int) (row, error) {
	if sc.serve != "" {
		d, cpu, err := driveServe(ctx, sc, dbURL, redisURL, warmup, duration, members, profPath)
		if err != nil {
			return row{}, err
		}
		return newRow(sc, d, cpu), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return row{}, err
	}
	srv := &http.Server{Handler: sc.handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	if profPath != "" {
		prof, err := os.Create(profPath)
		if err != nil {
			return row{}, err
		}
		defer prof.Close()
		if err := pprof.StartCPUProfile(prof); err != nil {
			return row{}, err
		}
	}
	before := cpuTime()
	d, err := drive(ctx, ln.Addr().String(), sc, warmup, duration, members, nil)
	cpu := cpuTime() - before
	if profPath != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return row{}, err
	}
	return newRow(sc, d, cpu), nil
}

// newRow is a scenario's figures per request, from what drive measured and the server's
// CPU time.
func newRow(sc scenario, d driven, cpu time.Duration) row {
	r := row{name: sc.name, conns: sc.conns, res: d.res, rounds: 1, machine: d.machine}
	if n := time.Duration(d.res.Requests + d.res.Warmup); n > 0 {
		r.cpuPerReq, r.loadPerReq = cpu/n, d.load/n
		r.redisPerReq, r.pgPerReq = d.redis/n, d.pg/n
		r.totalPerReq = r.cpuPerReq + r.redisPerReq + r.pgPerReq
	}
	return r
}

// median is the round with the median ratio to its baseline, with the range of the
// ratios and the errors of every round.
func median(rs []row) row {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b row) int { return cmp.Compare(a.baselineOf, b.baselineOf) })
	m := sorted[len(sorted)/2]
	m.minOf, m.maxOf, m.rounds = sorted[0].baselineOf, sorted[len(sorted)-1].baselineOf, len(rs)
	m.res.Errors = 0
	for _, r := range rs {
		m.res.Errors += r.res.Errors
	}
	return m
}

// driven is what drive measured while the load ran, warm-up included.
type driven struct {
	res       loadgen.Result
	load      time.Duration // the load generator's CPU time (user+system)
	redis, pg time.Duration // every redis-server's and every postgres process's
	machine   machineShare
}

// drive runs the child load generator against addr and returns what it measured. The
// stores' CPU is read while the server still runs: a server's PostgreSQL connections end
// with it, and a backend that has exited is no longer in /proc. started, when not nil, is
// closed when the child has made its requests and begins the load (its warm-up first).
func drive(ctx context.Context, addr string, sc scenario, warmup, duration time.Duration, members int, started chan<- struct{}) (driven, error) {
	self, err := os.Executable()
	if err != nil {
		return driven{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-child", addr, sc.kind, strconv.Itoa(sc.conns),
		warmup.String(), duration.String(), strconv.Itoa(members))
	cmd.Stderr = os.Stderr
	// The child closes its end of this pipe (its file 3) when the load begins.
	r, w, err := os.Pipe()
	if err != nil {
		return driven{}, err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err = cmd.Start()
	w.Close()
	if err != nil {
		return driven{}, fmt.Errorf("load generator: %w", err)
	}
	type mark struct {
		machine cpuTicks
		stores  map[int]storeCPU
	}
	began := make(chan mark, 1)
	go func() {
		_, _ = r.Read(make([]byte, 1)) // returns at the close (or the child's exit)
		t, _ := machineTicks()
		began <- mark{t, storesCPU()}
		if started != nil {
			close(started)
		}
	}()
	if err := cmd.Wait(); err != nil {
		return driven{}, fmt.Errorf("load generator: %w", err)
	}
	ended, _ := machineTicks()
	from := <-began
	d := driven{machine: ended.since(from.machine)}
	d.redis, d.pg = storesCPUSince(from.stores)
	var rep childReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return driven{}, fmt.Errorf("load generator said %q: %w", stdout.Bytes(), err)
	}
	d.res, d.load = rep.Result, rep.CPU
	return d, nil
}

// childReport is what the load generator prints: its figures and the CPU time it spent
// making the load (not preparing it).
type childReport struct {
	Result loadgen.Result `json:"result"`
	CPU    time.Duration  `json:"cpu"`
}

// driveServe runs `memberline serve` on the bench's data as it would be deployed (every
// webhook guarded against replays in Redis, every call recorded in PostgreSQL, flows from
// the store, one JSON log line per webhook on a pipe) and drives it like the others. Its
// CPU time is read from /proc, warm-up included. With profPath, a CPU profile of the
// measured part is taken through its DEBUG_ADDR.
func driveServe(ctx context.Context, sc scenario, dbURL, redisURL string, warmup, duration time.Duration, members int, profPath string) (d driven, cpu time.Duration, err error) {
	addr, err := freeAddr()
	if err != nil {
		return d, 0, err
	}
	debugAddr, err := freeAddr()
	if err != nil {
		return d, 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, sc.serve, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "REDIS_URL="+redisURL, "LISTEN_ADDR="+addr,
		"PUBLIC_URL="+benchPublic, "TWILIO_AUTH_TOKEN="+benchToken, "ADMIN_TOKEN=bench-admin-token-0123456789",
		"DEBUG_ADDR="+debugAddr)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	logs, err := cmd.StdoutPipe()
	if err != nil {
		return d, 0, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return d, 0, err
	}
	go io.Copy(io.Discard, logs) // as a log collector would read them
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	if err := waitReady(ctx, "http://"+addr+"/readyz", 60*time.Second); err != nil {
		return d, 0, fmt.Errorf("memberline serve: %w", err)
	}
	if err := forgetCalls(ctx, dbURL); err != nil {
		return d, 0, err
	}
	before, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return d, 0, err
	}
	profiled := make(chan error, 1)
	var started chan struct{}
	if profPath != "" {
		started = make(chan struct{})
		go func() {
			select {
			case <-started:
			case <-ctx.Done():
			}
			profiled <- fetchProfile(ctx, debugAddr, warmup, duration, profPath)
		}()
	} else {
		profiled <- nil
	}
	d, err = drive(ctx, addr, sc, warmup, duration, members, started)
	if err != nil {
		return d, 0, err
	}
	after, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return d, 0, err
	}
	return d, after - before, <-profiled
}

// forgetCalls empties the call records of earlier runs, so that every run of a serve
// scenario starts alike: over a table that grows run after run, each insert costs more
// and autovacuum comes by at random, and PostgreSQL's CPU per request with them.
func forgetCalls(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "TRUNCATE calls"); err != nil {
		return fmt.Errorf("emptying the call records of earlier runs: %w", err)
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// fetchProfile waits out the warm-up, then saves a CPU profile of the next duration
// (whole seconds) from a profiler at debugAddr.
func fetchProfile(ctx context.Context, debugAddr string, warmup, duration time.Duration, path string) error {
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
		return ctx.Err()
	}
	secs := max(1, int(duration/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debugAddr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func waitReady(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v: %w", within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// child is the load generator process: -child ADDR KIND CONNS WARMUP DURATION MEMBERS.
func child(ctx context.Context, args []string) error {
	if len(args) != 6 {
		return fmt.Errorf("child: want 6 arguments, got %q", args)
	}
	addr, kind := args[0], args[1]
	conns, _ := strconv.Atoi(args[2])
	warmup, _ := time.ParseDuration(args[3])
	duration, _ := time.ParseDuration(args[4])
	members, _ := strconv.Atoi(args[5])
	numbers := memberdata.Members{N: members}.Numbers()
	var request func(i int64) []byte
	switch kind {
	case "known":
		req := rawRequest(addr, webhookForm(memberdata.Phone(0)))
		request = func(int64) []byte { return req }
	case "unknown":
		req := rawRequest(addr, webhookForm(memberdata.UnknownPhone(0)))
		request = func(int64) []byte { return req }
	case "known-calls", "unknown-calls":
		// Every request a call of its own (a replay would be refused). Their call SIDs are
		// new to every run: the replay guard remembers earlier runs'.
		run := time.Now().UnixNano()
		phone := memberdata.Phone(0)
		if kind == "unknown-calls" {
			phone = memberdata.UnknownPhone(0)
		}
		request = premade(int((warmup+duration).Seconds()*40000), func(i int64) []byte {
			form := webhookForm(phone)
			form.Set("CallSid", fmt.Sprintf("CA%016x%016x", run, i))
			return rawRequest(addr, form)
		})
	case "cold":
		// Distinct numbers from a random start: each is new to the fresh cache prefix.
		start := int(time.Now().UnixNano() % int64(numbers))
		request = premade(int((warmup+duration).Seconds()*10000), func(i int64) []byte {
			return rawRequest(addr, webhookForm(memberdata.Phone((start+int(i))%numbers)))
		})
	default:
		return fmt.Errorf("child: unknown kind %q", kind)
	}
	load := loadgen.Load{
		Addr: addr, Conns: conns, Warmup: warmup, Duration: duration, Request: request,
		Check: func(body []byte) bool { return len(body) > 0 },
	}
	if f := os.NewFile(3, "started"); f != nil {
		f.Close() // tells the parent the load begins
	}
	before := cpuTime()
	res, err := load.Run(ctx)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(childReport{Result: res, CPU: cpuTime() - before})
}

// premade returns the requests build makes, the first n of them made ahead of time (on
// every CPU) so that signing them does not load this process during the run; later ones
// are made as they are needed.
func premade(n int, build func(i int64) []byte) func(i int64) []byte {
	made := make([][]byte, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				made[i] = build(int64(i))
			}
		}()
	}
	wg.Wait()
	return func(i int64) []byte {
		if i < int64(len(made)) {
			return made[i]
		}
		return build(i)
	}
}

func webhookForm(from string) url.Values {
	return softphone.Form("CA0123456789abcdef0123456789abcdef", from, "+18005550100")
}

func rawRequest(host string, form url.Values) []byte {
	body := form.Encode()
	sig := ivr.Sign(benchToken, benchPublic+"/twilio/voice", form)
	return []byte(fmt.Sprintf("POST /twilio/voice HTTP/1.1\r\nHost: %s\r\nUser-Agent: TwilioProxy/1.1\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nX-Twilio-Signature: %s\r\n\r\n%s",
		host, len(body), sig, body))
}

// httptestPost answers one signed webhook in process, for its body.
func httptestPost(h http.Handler, form url.Values) string {
	rec := &recorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodPost, "/twilio/voice", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", ivr.Sign(benchToken, benchPublic+"/twilio/voice", form))
	h.ServeHTTP(rec, req)
	return rec.body.String()
}

type recorder struct {
	header http.Header
	body   strings.Builder
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(int)             {}

func render(rows []row, perKey float64, members int, gc gctune.Settings) string {
	var b strings.Builder
	fmt.Fprintf(&b, "memberline-bench %s: %d members, %d CPUs (GOMAXPROCS %d), %s/%s, %s, %s\n\n",
		time.Now().UTC().Format(time.RFC3339), members, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.GOOS, runtime.GOARCH, runtime.Version(), gc)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconns\treq/s\tp50\tp99\tp99.9\tCPU/req\tRedis CPU/req\tPG CPU/req\ttotal CPU/req\tload CPU/req\tidle/softirq/steal\tvs baseline\terrors\t")
	for _, r := range rows {
		ratio := fmt.Sprintf("%.0f%%", 100*r.baselineOf)
		if r.rounds > 1 && r.minOf != r.maxOf {
			ratio = fmt.Sprintf("%.0f%% (%.0f-%.0f)", 100*r.baselineOf, 100*r.minOf, 100*r.maxOf)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", r.name, r.conns, r.res.RPS(),
			ms(r.res.P50), ms(r.res.P99), ms(r.res.P999), us(r.cpuPerReq), us(r.redisPerReq), us(r.pgPerReq), us(r.totalPerReq), us(r.loadPerReq), r.machine, ratio, r.res.Errors)
	}
	tw.Flush()
	if n := rows[0].rounds; n > 1 {
		fmt.Fprintf(&b, "\n%d rounds: each row is the scenario's median round by its ratio to the same round's baseline (the range in brackets); errors are all rounds'.\n", n)
	}
	fmt.Fprintf(&b, "\nanswer size: %d bytes; Redis memory per cached number: %.0f bytes (MEMORY USAGE)\n", rows[0].bodyBytes, perKey)
	fmt.Fprintln(&b, "CPU/req is the server process's user+system time over the requests it answered (warm-up included); Redis CPU/req and PG CPU/req are every redis-server's and every postgres process's (from /proc) over the same; total CPU/req is the three.")
	fmt.Fprintln(&b, "load CPU/req is the load generator's, on the same two cores: req/s is bounded by the sum of both.")
	fmt.Fprintln(&b, "idle/softirq/steal are shares of the whole machine's CPU while the load ran (/proc/stat, warm-up included): softirq is the kernel's network work (some of it charged to whichever process it interrupted); steal is time the hypervisor gave to other machines, so a round with steal measured its neighbours too.")
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
func us(d time.Duration) string { return fmt.Sprintf("%.1fµs", float64(d.Nanoseconds())/1000) }
