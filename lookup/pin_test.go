package lookup

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/testsupport/testenv"
)

func pinMember(t *testing.T, pool *pgxpool.Pool, id string) {
	t.Helper()
	dir := NewDirectory(pool, DefaultWindows)
	if _, err := dir.PutMember(context.Background(), Member{ID: id, FirstName: "Dana", Language: "en-US", TimeZone: "UTC", Phones: []string{"+14045550123"}}); err != nil {
		t.Fatal(err)
	}
}

func TestSetPIN(t *testing.T) {
	pool := newPool(t)
	rdb, prefix := testenv.Redis(t)
	pins := NewPINs(pool, rdb, PINOptions{Prefix: prefix})
	pinMember(t, pool, "1001")
	ctx := context.Background()
	tests := []struct {
		name    string
		member  string
		pin     string
		wantErr error
	}{
		{"four digits", "1001", "2580", nil},
		{"eight digits", "1001", "25802580", nil},
		{"too short", "1001", "258", errs.ErrInvalid},
		{"too long", "1001", "258025802", errs.ErrInvalid},
		{"not digits", "1001", "25a0", errs.ErrInvalid},
		{"no such member", "9999", "2580", errs.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pins.SetPIN(ctx, tt.member, tt.pin)
			if !errors.Is(err, tt.wantErr) && !(err == nil && tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var fe *errs.Error
			if errors.Is(tt.wantErr, errs.ErrInvalid) && (!errors.As(err, &fe) || fe.Field != "pin") {
				t.Errorf("err = %v, want a field error naming pin", err)
			}
		})
	}
	// Stored only as a salted argon2id hash: two members with the same PIN differ.
	pinMember(t, pool, "1002")
	for _, id := range []string{"1001", "1002"} {
		if err := pins.SetPIN(ctx, id, "2580"); err != nil {
			t.Fatal(err)
		}
	}
	var a, b string
	if err := pool.QueryRow(ctx, `SELECT (SELECT hash FROM member_pins WHERE member_id = '1001'), (SELECT hash FROM member_pins WHERE member_id = '1002')`).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, "$argon2id$") || a == b || strings.Contains(a, "2580") {
		t.Errorf("hashes %q, %q", a, b)
	}
}

// Two service instances (their own pools and Redis clients) share one lockout.
func TestPINLockoutAcrossInstances(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	rdb2, _ := testenv.Redis(t)
	pinLockoutAcrossInstances(t, rdb, rdb2, prefix)
}

// pinLockoutAcrossInstances: two instances, one client each, share one lockout.
func pinLockoutAcrossInstances(t *testing.T, rdb, rdb2 redis.UniversalClient, prefix string) {
	pool := newPool(t)
	pool2, err := pgxpool.NewWithConfig(context.Background(), pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool2.Close)
	opts := PINOptions{Prefix: prefix, MaxAttempts: 3, Window: time.Minute}
	a, b := NewPINs(pool, rdb, opts), NewPINs(pool2, rdb2, opts)
	pinMember(t, pool, "1001")
	ctx := context.Background()
	if err := a.SetPIN(ctx, "1001", "2580"); err != nil {
		t.Fatal(err)
	}
	const caller = "+14045550123"
	steps := []struct {
		name string
		via  *PINs
		pin  string
		from string
		want string
	}{
		{"wrong on instance a", a, "1111", caller, PINWrong},
		{"wrong on instance b", b, "2222", caller, PINWrong},
		{"wrong again on a", a, "3333", "+14045550199", PINWrong},
		{"right, but the member is locked (b)", b, "2580", "+14045550177", PINLocked},
		{"locked on a as well", a, "2580", caller, PINLocked},
	}
	for _, s := range steps {
		got, err := s.via.Check(ctx, "1001", s.pin, s.from, "")
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Errorf("%s: %s, want %s", s.name, got, s.want)
		}
	}
	ttl, err := rdb.TTL(ctx, prefix+"pin:member:1001").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("lockout TTL = %v, %v; want within the window", ttl, err)
	}
	// Every try was recorded, the calling number only as a keyed hash.
	got, err := a.Attempts(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(steps) {
		t.Fatalf("attempts = %+v, want %d", got, len(steps))
	}
	for _, at := range got {
		if at.CallerHash == "" || strings.Contains(at.CallerHash, "4045550") {
			t.Errorf("caller hash %q", at.CallerHash)
		}
	}
	// A calling number is limited too, whichever member it tries.
	pinMember(t, pool, "1002")
	if err := a.SetPIN(ctx, "1002", "2580"); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Check(ctx, "1002", "2580", caller, ""); got != PINLocked {
		t.Errorf("another member from a locked number: %s, want locked", got)
	}
	if got, _ := b.Check(ctx, "1002", "2580", "+14045550100", ""); got != PINOK {
		t.Errorf("another number: %s, want ok", got)
	}
	// Setting a new PIN clears the member's lockout.
	if err := b.SetPIN(ctx, "1001", "4321"); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Check(ctx, "1001", "4321", "+14045550111", ""); got != PINOK {
		t.Errorf("after a new PIN: %s, want ok", got)
	}
	// Only failures count: a member verifying more often than the limit is not locked.
	for i := range opts.MaxAttempts + 2 {
		if got, _ := b.Check(ctx, "1001", "4321", "+14045550122", ""); got != PINOK {
			t.Fatalf("right PIN %d: %s, want ok", i+1, got)
		}
	}
}

func TestCheckPINWithoutPIN(t *testing.T) {
	pool := newPool(t)
	rdb, prefix := testenv.Redis(t)
	pins := NewPINs(pool, rdb, PINOptions{Prefix: prefix})
	pinMember(t, pool, "1001")
	got, err := pins.Check(context.Background(), "1001", "2580", "", "")
	if err != nil || got != PINNone {
		t.Errorf("check = %q, %v; want no_pin", got, err)
	}
}

// TestWithheldCallersLockedOutIndependently: withheld callers do not share one budget: a
// withheld caller that spends its tries on one member leaves every other withheld caller,
// trying another member, their own.
func TestWithheldCallersLockedOutIndependently(t *testing.T) {
	pool := newPool(t)
	rdb, prefix := testenv.Redis(t)
	pins := NewPINs(pool, rdb, PINOptions{Prefix: prefix, MaxAttempts: 3, Window: time.Minute})
	ctx := context.Background()
	for _, id := range []string{"1001", "1002"} {
		pinMember(t, pool, id)
		if err := pins.SetPIN(ctx, id, "2580"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if _, err := pins.Check(ctx, "1001", "1111", "", "CAwithheld1"); err != nil {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	if got, _ := pins.Check(ctx, "1001", "2580", "", "CAwithheld1"); got != PINLocked {
		t.Errorf("the caller that spent its tries: %s, want locked", got)
	}
	if got, _ := pins.Check(ctx, "1002", "2580", "", "CAwithheld2"); got != PINOK {
		t.Errorf("another withheld caller, another member: %s, want ok", got)
	}
	if got, _ := pins.Check(ctx, "1001", "2580", "", "CAwithheld3"); got != PINLocked {
		t.Errorf("the member is still locked for everyone: %s", got)
	}
}

// Tries escalate: MaxAttempts in the window, then one each SlowEvery, then locked until a
// new PIN is set, OnLocked told once. A 4-digit PIN gives a guesser 2 × MaxAttempts tries.
func TestPINLockoutEscalates(t *testing.T) {
	pool := newPool(t)
	rdb, prefix := testenv.Redis(t)
	var locked []string
	pins := NewPINs(pool, rdb, PINOptions{Prefix: prefix, MaxAttempts: 2, Window: 200 * time.Millisecond, SlowEvery: 400 * time.Millisecond,
		OnLocked: func(_ context.Context, id string) { locked = append(locked, id) }})
	ctx := context.Background()
	pinMember(t, pool, "1001")
	if err := pins.SetPIN(ctx, "1001", "2580"); err != nil {
		t.Fatal(err)
	}
	try := func(pin, from string) string {
		t.Helper()
		got, err := pins.Check(ctx, "1001", pin, from, "")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// Two wrong tries, then the window's limit.
	for i, want := range []string{PINWrong, PINWrong, PINLocked} {
		if got := try("1111", fmt.Sprintf("+1404555010%d", i)); got != want {
			t.Fatalf("try %d in the window: %s, want %s", i+1, got, want)
		}
	}
	// The window over, the member is slowed down: one try, then none until SlowEvery.
	time.Sleep(250 * time.Millisecond)
	if got := try("1111", "+14045550110"); got != PINWrong {
		t.Fatalf("the first slowed try: %s, want wrong", got)
	}
	if got := try("2580", "+14045550111"); got != PINLocked {
		t.Fatalf("a second try within SlowEvery, even the right PIN: %s, want locked", got)
	}
	time.Sleep(450 * time.Millisecond)
	if got := try("1111", "+14045550112"); got != PINWrong {
		t.Fatalf("the next slowed try: %s, want wrong", got)
	}
	// Four wrong tries: locked for good, told once; even the right PIN, later, is refused.
	if len(locked) != 1 || locked[0] != "1001" {
		t.Fatalf("OnLocked told %v, want [1001]", locked)
	}
	time.Sleep(450 * time.Millisecond)
	if got := try("2580", "+14045550113"); got != PINLocked {
		t.Fatalf("the right PIN on a locked member: %s, want locked", got)
	}
	// A new PIN (the member or an admin) unlocks.
	if err := pins.SetPIN(ctx, "1001", "4321"); err != nil {
		t.Fatal(err)
	}
	if got := try("4321", "+14045550114"); got != PINOK {
		t.Fatalf("after a new PIN: %s, want ok", got)
	}
	if len(locked) != 1 {
		t.Errorf("OnLocked told %v", locked)
	}
}

// A withheld number gets no fresh budget with each call: its tries count against the
// member, whatever call they come from.
func TestWithheldCallsShareTheMembersBudget(t *testing.T) {
	pool := newPool(t)
	rdb, prefix := testenv.Redis(t)
	pins := NewPINs(pool, rdb, PINOptions{Prefix: prefix, MaxAttempts: 3, Window: time.Minute})
	ctx := context.Background()
	pinMember(t, pool, "1001")
	if err := pins.SetPIN(ctx, "1001", "2580"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if got, _ := pins.Check(ctx, "1001", "1111", "", fmt.Sprintf("CAwithheld%d", i)); got != PINWrong {
			t.Fatalf("withheld call %d: %s", i, got)
		}
	}
	if got, _ := pins.Check(ctx, "1001", "2580", "", "CAwithheld9"); got != PINLocked {
		t.Errorf("a fresh withheld call after three: %s, want locked", got)
	}
}

// Every try computes one argon2id hash, whether the member exists, has a PIN, or is
// locked, so the time of the answer does not tell them apart: each try allocates the
// hash's 19 MiB, which a try that skipped it would not (a few KB).
func TestPINTriesTakeTheSameWork(t *testing.T) {
	pool := newPool(t)
	rdb, prefix := testenv.Redis(t)
	pins := NewPINs(pool, rdb, PINOptions{Prefix: prefix, MaxAttempts: 1})
	ctx := context.Background()
	standInHash() // made once, outside the measurement
	pinMember(t, pool, "1001")
	if err := pins.SetPIN(ctx, "1001", "2580"); err != nil {
		t.Fatal(err)
	}
	pinMember(t, pool, "1002") // no PIN
	for _, tc := range []struct{ name, member string }{
		{"no such member", "9999"}, {"a member without a PIN", "1002"}, {"a member with a PIN", "1001"}, {"a member locked out", "1001"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := pins.Check(ctx, tc.member, "1111", "+14045550123", "")
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n < argonMemory*1024 {
			t.Errorf("%s (%s): %d bytes allocated, want an argon2id hash's %d", tc.name, got, n, argonMemory*1024)
		}
	}
}
