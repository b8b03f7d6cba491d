package outbound

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// Dialer places the call of a callback's try and answers its call SID.
type Dialer interface {
	Dial(ctx context.Context, c Callback) (callSID string, err error)
}

// DispatcherOptions tune a Dispatcher. Zero fields get the defaults noted.
type DispatcherOptions struct {
	Poll  time.Duration // how often due callbacks are looked for (1 s)
	Lease time.Duration // how long a try may take before another instance may take it again (10 min)
	Batch int           // callbacks claimed at once (20)
	Now   func() time.Time
	// Window reports whether c may be dialed at now (its dial_when), and else the next
	// moment it may (zero: never within the week looked at). Nil: always.
	Window func(ctx context.Context, c Callback, now time.Time) (bool, time.Time)
	Logger *slog.Logger
	// MeterProvider gets memberline.callbacks.dials{outcome} and
	// memberline.callbacks.delay (seconds from due to dialed, first tries).
	MeterProvider metric.MeterProvider
}

// Backoff is the wait before the next try after a try that did not reach the member:
// 2, 5, then 10 minutes.
var Backoff = []time.Duration{2 * time.Minute, 5 * time.Minute, 10 * time.Minute}

// RetryAt is when c is tried again after its attempts so far.
func RetryAt(c Callback, now time.Time) time.Time {
	i := min(max(c.Attempts-1, 0), len(Backoff)-1)
	return now.Add(Backoff[i])
}

// Dispatcher dials due callbacks. Several instances may run one each on the same store:
// a callback is claimed by one of them (SELECT … FOR UPDATE SKIP LOCKED) and dialed once;
// a claim whose instance stopped is taken again when its lease runs out (see the package
// doc for why this and not a job queue library).
type Dispatcher struct {
	store  *Store
	dialer Dialer
	o      DispatcherOptions
	log    *slog.Logger
	dials  metric.Int64Counter
	delay  metric.Float64Histogram
}

// NewDispatcher returns a dispatcher of store's callbacks through dialer.
func NewDispatcher(store *Store, dialer Dialer, o DispatcherOptions) *Dispatcher {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mp := o.MeterProvider
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	m := mp.Meter("github.com/memberline/memberline/outbound")
	d := &Dispatcher{store: store, dialer: dialer, o: o, log: o.Logger}
	d.dials, _ = m.Int64Counter("memberline.callbacks.dials", metric.WithDescription("callback tries, by outcome"))
	d.delay, _ = m.Float64Histogram("memberline.callbacks.delay", metric.WithUnit("s"),
		metric.WithDescription("from a callback's due time to its first dial"))
	_, _ = m.Int64ObservableGauge("memberline.callbacks.pending", metric.WithDescription("callbacks waiting to be dialed"),
		metric.WithInt64Callback(func(ctx context.Context, obs metric.Int64Observer) error {
			counts, err := store.Counts(ctx)
			if err != nil {
				return nil
			}
			obs.Observe(counts[Pending])
			return nil
		}))
	return d
}

// Run dials due callbacks until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	for {
		for {
			n, err := d.Once(ctx)
			if err != nil {
				d.log.WarnContext(ctx, "callbacks not dispatched; trying again", "err", err)
			}
			if n < d.o.Batch || err != nil {
				break // caught up
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once claims one batch of due callbacks and dials them; it answers how many it claimed.
func (d *Dispatcher) Once(ctx context.Context) (int, error) {
	now := d.o.Now()
	claimed, err := d.store.Claim(ctx, now, d.o.Batch, d.o.Lease)
	if err != nil {
		return 0, err
	}
	for _, c := range claimed {
		d.dial(ctx, c, now)
	}
	return len(claimed), nil
}

func (d *Dispatcher) outcome(ctx context.Context, o string) {
	d.dials.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", o)))
}

func (d *Dispatcher) dial(ctx context.Context, c Callback, now time.Time) {
	if no, err := d.store.DoNotCall(ctx, c.Number); err != nil || no {
		if err == nil {
			_, err = d.store.Finish(ctx, c.ID, Try{At: now, Outcome: "do_not_call"}, false, true, now)
			d.outcome(ctx, "do_not_call")
		}
		if err != nil {
			d.log.WarnContext(ctx, "callback not checked against the do-not-call list", "callback", c.ID, "err", err)
		}
		return
	}
	if d.o.Window != nil {
		if ok, next := d.o.Window(ctx, c, now); !ok {
			if next.IsZero() {
				_, err := d.store.Finish(ctx, c.ID, Try{At: now, Outcome: "no_dial_window"}, false, true, now)
				d.outcome(ctx, "no_dial_window")
				if err != nil {
					d.log.WarnContext(ctx, "callback not failed", "callback", c.ID, "err", err)
				}
				return
			}
			if err := d.store.Postpone(ctx, c.ID, next, now); err != nil {
				d.log.WarnContext(ctx, "callback not postponed", "callback", c.ID, "err", err)
			}
			return
		}
	}
	if c.Attempts == 1 {
		d.delay.Record(ctx, now.Sub(c.DueAt).Seconds())
	}
	sid, err := d.dialer.Dial(ctx, c)
	if err != nil {
		code, status := TwilioErrorCode(err)
		final := status >= 400 && status < 500 && status != 429 // the request itself is refused: trying again will not help
		res, ferr := d.store.Finish(ctx, c.ID, Try{At: now, Outcome: "error", ErrorCode: code}, false, final, RetryAt(c, now))
		d.outcome(ctx, "error")
		d.log.WarnContext(ctx, "callback not dialed", "callback", c.ID, "code", code, "status", res.Status, "err", err)
		if ferr != nil {
			d.log.WarnContext(ctx, "callback try not recorded", "callback", c.ID, "err", ferr)
		}
		return
	}
	d.outcome(ctx, "dialed")
	if err := d.store.Dialed(ctx, c.ID, sid, now.Add(d.o.Lease), now); err != nil {
		d.log.WarnContext(ctx, "callback's call not recorded", "callback", c.ID, "call_sid", sid, "err", err)
	}
}
