package lookup

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/argon2"
)

// PINs are members' step-up secrets for calls whose number the network does not vouch
// for. They are stored only as argon2id hashes with a random salt each, never returned,
// and checked with a lockout that escalates:
//
//   - at most MaxAttempts tries per member and per calling number within Window, counted
//     in Redis so that it holds across instances;
//   - after MaxAttempts wrong tries since the member's last right one, one try an hour;
//   - after twice MaxAttempts wrong tries, none: the PIN is locked (in PostgreSQL) until a
//     new one is set, and OnLocked is told.
//
// A 4-digit PIN thus gives a guesser 10 tries of 10,000, not 480 a day. Every try takes
// the same time whether the member exists, has a PIN or is locked (one argon2id
// computation each), and is recorded in verification_attempts with the calling number as
// a keyed hash.
type PINs struct {
	pool *pgxpool.Pool
	rdb  redis.UniversalClient
	o    PINOptions
}

// PINOptions tune PIN checks. Zero values get the defaults noted.
type PINOptions struct {
	MaxAttempts int           // tries per member and per calling number in Window; 5
	Window      time.Duration // how long tries count (from the first); 15 minutes
	Prefix      string        // Redis key prefix ["ml:", the cache's]
	// CallerKey keys the hash of calling numbers in the attempts table and in Redis, so
	// the stored hashes cannot be reversed by trying every number.
	CallerKey []byte
	// SlowEvery is the pace of tries once a member has MaxAttempts wrong ones: one each
	// SlowEvery; an hour.
	SlowEvery time.Duration
	// OnLocked, if set, is told when a member's PIN becomes locked (a metric, the audit).
	OnLocked func(ctx context.Context, memberID string)
}

// Verification outcomes, as recorded.
const (
	PINOK     = "ok"
	PINWrong  = "wrong"
	PINLocked = "locked"
	PINNone   = "no_pin" // the member has no PIN: counts as a wrong one
)

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane), so a
// burst of PIN checks on a webhook instance stays within memory (each check holds 19 MiB
// for about 30 ms). They are stored in each hash: raising them later keeps old hashes
// checkable.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

// NewPINs returns the PIN store.
func NewPINs(pool *pgxpool.Pool, rdb redis.UniversalClient, o PINOptions) *PINs {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	if o.Prefix == "" {
		o.Prefix = "ml:" // the cache's
	}
	if len(o.CallerKey) == 0 {
		o.CallerKey = []byte("memberline caller")
	}
	if o.SlowEvery <= 0 {
		o.SlowEvery = time.Hour
	}
	return &PINs{pool: pool, rdb: rdb, o: o}
}

// ValidPIN reports whether pin is 4 to 8 digits.
func ValidPIN(pin string) bool {
	if len(pin) < 4 || len(pin) > 8 {
		return false
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return false
		}
	}
	return true
}

// SetPIN stores a member's PIN (4 to 8 digits, else an invalid "pin"), replacing
// any earlier one and clearing the member's lockout. Not found: no such member.
func (p *PINs) SetPIN(ctx context.Context, memberID, pin string) error {
	if !ValidPIN(pin) {
		return fieldErr("pin", "must be 4 to 8 digits")
	}
	hash, err := hashPIN(pin)
	if err != nil {
		return fmt.Errorf("lookup: set pin: %w", err)
	}
	tag, err := p.pool.Exec(ctx, `INSERT INTO member_pins (member_id, hash)
		SELECT id, $2 FROM members WHERE id = $1
		ON CONFLICT (member_id) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now(), failed = 0, locked_at = NULL`, memberID, hash)
	if err != nil {
		return fmt.Errorf("lookup: set pin: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("set pin for member %q", memberID)
	}
	// One key a command: on a Cluster they may live on different masters.
	pipe := p.rdb.Pipeline()
	pipe.Del(ctx, p.memberKey(memberID))
	pipe.Del(ctx, p.slowKey(memberID))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("lookup: set pin: clear lockout: %w", err)
	}
	return nil
}

// HasPIN reports whether the member has a PIN.
func (p *PINs) HasPIN(ctx context.Context, memberID string) (bool, error) {
	var ok bool
	err := p.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM member_pins WHERE member_id = $1)`, memberID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("lookup: has pin: %w", err)
	}
	return ok, nil
}

// countScript counts one try against a key and starts its window at the first (as INCR
// and EXPIRE NX in one transaction would, but on one key, so that it runs on a Cluster).
var countScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`)

// Check verifies pin for the member on call callSID from callerPhone ("" when withheld)
// and returns the outcome: PINOK, PINWrong, PINNone or PINLocked. Each try first counts
// against the member and the calling number (INCR, atomic across instances, so
// concurrent tries cannot slip past the limit); past MaxAttempts in Window the PIN is not
// even compared. A withheld number counts against the member alone: a withheld caller
// gets no fresh budget with each call. Past MaxAttempts wrong tries the member gets one try
// each SlowEvery, and past twice that the PIN is locked until SetPIN. A right PIN clears
// the member's counts and gives the number its try back. An error (Redis or PostgreSQL
// down) means not verified.
func (p *PINs) Check(ctx context.Context, memberID, pin, callerPhone, callSID string) (string, error) {
	caller := p.CallerHash(callerPhone)
	keys := []string{p.memberKey(memberID)}
	if caller != "" {
		keys = append(keys, p.o.Prefix+"pin:caller:"+caller)
	}
	// Each count is its own atomic step (countScript), so the member's and the number's
	// keys may live on different Cluster masters; one round trip for both.
	pipe := p.rdb.Pipeline()
	counts := make([]*redis.Cmd, len(keys))
	for i, k := range keys {
		counts[i] = countScript.Eval(ctx, pipe, []string{k}, p.o.Window.Milliseconds())
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return "", fmt.Errorf("lookup: check pin: lockout: %w", err)
	}
	var (
		hash   string
		failed int
		locked bool
	)
	err := p.pool.QueryRow(ctx, `SELECT hash, failed, locked_at IS NOT NULL FROM member_pins WHERE member_id = $1`,
		memberID).Scan(&hash, &failed, &locked)
	outcome := ""
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		outcome = PINNone
	case err != nil:
		return "", fmt.Errorf("lookup: check pin: %w", err)
	case locked || slices.ContainsFunc(counts, func(c *redis.Cmd) bool { n, _ := c.Int64(); return n > int64(p.o.MaxAttempts) }):
		outcome = PINLocked
	case failed >= p.o.MaxAttempts:
		// Slowed down: one try each SlowEvery.
		ok, err := p.rdb.SetNX(ctx, p.slowKey(memberID), 1, p.o.SlowEvery).Result()
		if err != nil {
			return "", fmt.Errorf("lookup: check pin: lockout: %w", err)
		}
		if !ok {
			outcome = PINLocked
		}
	}
	// The PIN is compared, or a stand-in is, so that every try takes the same time: a
	// member number that names nobody, or a member without a PIN or locked, is not told
	// apart by how long the answer takes.
	if outcome == "" {
		outcome = PINWrong
		if checkPIN(hash, pin) {
			outcome = PINOK
		}
	} else {
		checkPIN(standInHash(), pin)
	}
	if err := p.settle(ctx, memberID, caller, outcome); err != nil {
		return "", err
	}
	if outcome == PINOK {
		// Only failures should count: the member's count starts over, and the calling
		// number gets this try back. Not fatal: the counts expire with the window anyway.
		pipe := p.rdb.Pipeline()
		pipe.Del(ctx, keys[0])
		pipe.Del(ctx, p.slowKey(memberID))
		if len(keys) > 1 {
			pipe.Decr(ctx, keys[1])
		}
		_, _ = pipe.Exec(ctx)
	}
	return outcome, nil
}

// settle records a try and keeps the member's count of wrong tries: a right one clears it,
// a wrong one adds to it and, at twice MaxAttempts, locks the PIN (OnLocked is told).
func (p *PINs) settle(ctx context.Context, memberID, caller, outcome string) error {
	var lockedNow bool
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO verification_attempts (member_id, caller_hash, outcome)
			SELECT id, $2, $3 FROM members WHERE id = $1`, memberID, caller, outcome); err != nil {
			return err
		}
		switch outcome {
		case PINOK:
			_, err := tx.Exec(ctx, `UPDATE member_pins SET failed = 0 WHERE member_id = $1`, memberID)
			return err
		case PINWrong:
			return tx.QueryRow(ctx, `UPDATE member_pins SET failed = failed + 1,
				locked_at = CASE WHEN failed + 1 >= $2 AND locked_at IS NULL THEN now() ELSE locked_at END
				WHERE member_id = $1 RETURNING failed = $2`,
				memberID, 2*p.o.MaxAttempts).Scan(&lockedNow)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("lookup: check pin: record: %w", err)
	}
	if lockedNow && p.o.OnLocked != nil {
		p.o.OnLocked(ctx, memberID)
	}
	return nil
}

// standInHash is a hash of no one's PIN, with the real ones' parameters, compared when no
// real one is: made once, on the first try that needs it.
var standInHash = sync.OnceValue(func() string {
	h, err := hashPIN("no one's")
	if err != nil {
		panic(fmt.Sprintf("lookup: a stand-in PIN hash: %v", err))
	}
	return h
})

// Attempt is one recorded verification try.
type Attempt struct {
	At         time.Time `json:"at"`
	CallerHash string    `json:"caller_hash"`
	Outcome    string    `json:"outcome"`
}

// Attempts lists a member's verification tries, oldest first.
func (p *PINs) Attempts(ctx context.Context, memberID string) ([]Attempt, error) {
	rows, err := p.pool.Query(ctx, `SELECT at, caller_hash, outcome FROM verification_attempts
		WHERE member_id = $1 ORDER BY at, id`, memberID)
	if err != nil {
		return nil, fmt.Errorf("lookup: attempts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attempt, error) {
		var a Attempt
		err := r.Scan(&a.At, &a.CallerHash, &a.Outcome)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("lookup: attempts: %w", err)
	}
	if out == nil {
		out = []Attempt{}
	}
	return out, nil
}

// CallerHash is the keyed hash a calling number is recorded as ("" for a withheld one).
func (p *PINs) CallerHash(phone string) string {
	if phone == "" {
		return ""
	}
	m := hmac.New(sha256.New, p.o.CallerKey)
	m.Write([]byte(phone))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (p *PINs) memberKey(memberID string) string { return p.o.Prefix + "pin:member:" + memberID }

// slowKey marks a slowed-down member's try: the next may come when it expires.
func (p *PINs) slowKey(memberID string) string { return p.o.Prefix + "pin:slow:" + memberID }

// hashPIN returns pin's argon2id hash in the PHC string format.
func hashPIN(pin string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pin), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// checkPIN compares pin with a hash from hashPIN, in constant time.
func checkPIN(hash, pin string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || mem > 1<<20 || iters > 16 || threads == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pin), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
