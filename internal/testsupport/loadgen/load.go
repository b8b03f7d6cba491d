// Package loadgen is the load benchmark's closed-loop HTTP load generator, with latency
// percentiles. It is test support: never built into the service.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Load is a closed-loop load: Conns keep-alive connections, each sending the next
// request as soon as the previous answer has been read, for Duration after Warmup.
type Load struct {
	Addr     string
	Conns    int
	Warmup   time.Duration
	Duration time.Duration
	// Request returns the raw HTTP/1.1 request number i (every connection draws the next
	// i from one counter, so requests are never repeated within a run when they differ).
	Request func(i int64) []byte
	// Check, if set, reports whether an answer's body is right.
	Check func(body []byte) bool
}

// Result is what a run measured (after the warm-up).
type Result struct {
	Requests int64         `json:"requests"`
	Warmup   int64         `json:"warmup_requests"` // answered before measuring began
	Errors   int64         `json:"errors"`          // transport errors, non-200 statuses and failed checks
	Elapsed  time.Duration `json:"elapsed"`
	P50      time.Duration `json:"p50"`
	P99      time.Duration `json:"p99"`
	P999     time.Duration `json:"p999"`
	Max      time.Duration `json:"max"`
}

// RPS is requests per second.
func (r Result) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Run runs the load and returns its figures.
func (l Load) Run(ctx context.Context) (Result, error) {
	var (
		next      atomic.Int64
		errs      atomic.Int64
		warm      atomic.Int64
		recording atomic.Bool
		wg        sync.WaitGroup
		mu        sync.Mutex
		all       []time.Duration
		firstErr  error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range l.Conns {
		conn, err := net.Dial("tcp", l.Addr)
		if err != nil {
			return Result{}, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			go func() { <-ctx.Done(); conn.SetDeadline(time.Now()) }()
			br := bufio.NewReaderSize(conn, 16<<10)
			lat := make([]time.Duration, 0, 1<<16)
			for ctx.Err() == nil {
				req := l.Request(next.Add(1) - 1)
				began := time.Now()
				ok, err := roundTrip(conn, br, req, l.Check)
				took := time.Since(began)
				if ctx.Err() != nil {
					break
				}
				if recording.Load() {
					lat = append(lat, took)
					if !ok {
						errs.Add(1)
					}
				} else {
					warm.Add(1)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					errs.Add(1)
					return
				}
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	select {
	case <-time.After(l.Warmup):
	case <-ctx.Done():
	}
	recording.Store(true)
	began := time.Now()
	select {
	case <-time.After(l.Duration):
	case <-ctx.Done():
	}
	elapsed := time.Since(began)
	cancel()
	wg.Wait()
	slices.Sort(all)
	r := Result{Requests: int64(len(all)), Warmup: warm.Load(), Errors: errs.Load(), Elapsed: elapsed}
	if len(all) > 0 {
		pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
		r.P50, r.P99, r.P999, r.Max = pct(0.50), pct(0.99), pct(0.999), all[len(all)-1]
	}
	if firstErr != nil && r.Errors > 0 {
		return r, firstErr
	}
	return r, nil
}

var (
	contentLength = []byte("content-length:")
	errChunked    = errors.New("loadgen: chunked answers are not supported")
)

// roundTrip writes req and reads one answer: ok when it is a 200 whose body passes check.
func roundTrip(w io.Writer, br *bufio.Reader, req []byte, check func([]byte) bool) (bool, error) {
	if _, err := w.Write(req); err != nil {
		return false, err
	}
	status, err := br.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	ok := len(status) >= 12 && string(status[9:12]) == "200"
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return false, err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			n, err = strconv.Atoi(string(bytes.TrimSpace(line[len(contentLength):])))
			if err != nil {
				return false, fmt.Errorf("loadgen: bad Content-Length %q", line)
			}
		}
	}
	if n < 0 {
		return false, errChunked
	}
	body, err := br.Peek(n)
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			body = make([]byte, n)
			_, err = io.ReadFull(br, body)
			if err != nil {
				return false, err
			}
			return ok && (check == nil || check(body)), nil
		}
		return false, err
	}
	if check != nil && !check(body) {
		ok = false
	}
	_, _ = br.Discard(n)
	return ok, nil
}
