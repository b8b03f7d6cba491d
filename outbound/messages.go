package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twilio/twilio-go"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/memberline/memberline/internal/errs"
)

// Message statuses, in the order Twilio reports them; undelivered and failed are final
// like delivered. A status callback never moves a message back (a late "sent" after
// "delivered").
const (
	MsgQueued      = "queued"
	MsgSending     = "sending"
	MsgSent        = "sent"
	MsgDelivered   = "delivered"
	MsgRead        = "read"
	MsgUndelivered = "undelivered"
	MsgFailed      = "failed"
)

// msgRank orders statuses: a callback with a lower rank than the stored one is ignored.
var msgRank = map[string]int{MsgQueued: 0, "accepted": 0, "scheduled": 0, MsgSending: 1, MsgSent: 2,
	MsgDelivered: 3, MsgUndelivered: 3, MsgFailed: 3, MsgRead: 4}

// Consent statuses of a number.
const (
	OptedOut  = "opted_out"
	OptedIn   = "opted_in"
	NotMobile = "not_mobile"
	Invalid   = "invalid"
)

// Message is a message in the outbox.
type Message struct {
	ID           int64             `json:"id"`
	CallSID      string            `json:"call_sid"`
	Node         string            `json:"node"`
	Channel      string            `json:"channel"`
	Number       string            `json:"number"`
	Body         string            `json:"-"` // personal data: not shown
	Language     string            `json:"language,omitempty"`
	TemplateSID  string            `json:"template_sid,omitempty"`
	TemplateVars map[string]string `json:"-"`
	Flow         string            `json:"flow,omitempty"`
	Status       string            `json:"status"`
	MessageSID   string            `json:"message_sid,omitempty"`
	ErrorCode    *int              `json:"error_code,omitempty"`
	Attempts     int               `json:"attempts"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

const msgColumns = `id, call_sid, node, channel, number, body, language, template_sid, template_vars, flow, status,
	message_sid, error_code, attempts, created_at, updated_at`

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.CallSID, &m.Node, &m.Channel, &m.Number, &m.Body, &m.Language, &m.TemplateSID, &m.TemplateVars,
		&m.Flow, &m.Status, &m.MessageSID, &m.ErrorCode, &m.Attempts, &m.CreatedAt, &m.UpdatedAt)
	return m, err
}

// Enqueue writes a message to the outbox, once per call and node: a repeat (a retry of
// the webhook, a replay, another instance) answers the stored one, with existing true.
func (s *Store) Enqueue(ctx context.Context, m Message, now time.Time) (Message, bool, error) {
	vars, _ := json.Marshal(m.TemplateVars)
	if m.TemplateVars == nil {
		vars = []byte("{}")
	}
	stored, err := scanMessage(s.pool.QueryRow(ctx, `INSERT INTO messages (call_sid, node, channel, number, body, language,
		template_sid, template_vars, flow, next_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10) ON CONFLICT (call_sid, node) DO NOTHING RETURNING `+msgColumns,
		m.CallSID, m.Node, m.Channel, m.Number, m.Body, m.Language, m.TemplateSID, vars, m.Flow, now))
	if err == nil {
		return stored, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Message{}, false, errs.Wrapf(err, "outbound", "queue a message")
	}
	stored, err = scanMessage(s.pool.QueryRow(ctx, `SELECT `+msgColumns+` FROM messages WHERE call_sid = $1 AND node = $2`, m.CallSID, m.Node))
	return stored, true, errs.Wrapf(err, "outbound", "queue a message")
}

// MessagesOf are the messages queued on call callSID, oldest first.
func (s *Store) MessagesOf(ctx context.Context, callSID string) ([]Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+msgColumns+` FROM messages WHERE call_sid = $1 ORDER BY id`, callSID)
	if err != nil {
		return nil, errs.Wrapf(err, "outbound", "messages of %s", callSID)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Consent is a number's consent: its status and when and how it was given.
type Consent struct {
	Number    string    `json:"number"`
	Status    string    `json:"status"`
	Source    string    `json:"source"`
	ChangedAt time.Time `json:"changed_at"`
}

// ConsentOf is number's consent; Status "" when it never said anything.
func (s *Store) ConsentOf(ctx context.Context, number string) (Consent, error) {
	c := Consent{Number: number}
	err := s.pool.QueryRow(ctx, `SELECT status, source, changed_at FROM message_consent WHERE number = $1`, number).
		Scan(&c.Status, &c.Source, &c.ChangedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, nil
	}
	return c, errs.Wrapf(err, "outbound", "consent of a number")
}

// SetConsent records number's consent (opted_out, opted_in, not_mobile, invalid).
func (s *Store) SetConsent(ctx context.Context, number, status, source string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO message_consent (number, status, source, changed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (number) DO UPDATE SET status = $2, source = $3, changed_at = $4`, number, status, source, at)
	return errs.Wrapf(err, "outbound", "record consent")
}

// ForgetConsent deletes what is kept of number's consent (with the member's data).
func (s *Store) ForgetConsent(ctx context.Context, number string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM message_consent WHERE number = $1`, number)
	return errs.Wrapf(err, "outbound", "forget consent")
}

// MessageStatus records a status callback: the message moves on unless the status is
// older than the one it has; an unknown MessageSid changes nothing (found false).
func (s *Store) MessageStatus(ctx context.Context, messageSID, status string, errorCode int, now time.Time) (Message, bool, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+msgColumns+` FROM messages WHERE message_sid = $1`, messageSID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, false, nil
	}
	if err != nil {
		return Message{}, false, errs.Wrapf(err, "outbound", "message status")
	}
	rank, known := msgRank[status]
	if !known || rank < msgRank[m.Status] || (rank == msgRank[m.Status] && m.Status != MsgQueued) {
		return m, true, nil // older news, or nothing new
	}
	var code *int
	if errorCode != 0 {
		code = &errorCode
	}
	m, err = scanMessage(s.pool.QueryRow(ctx, `UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), updated_at = $4
		WHERE id = $1 RETURNING `+msgColumns, m.ID, status, code, now))
	return m, true, errs.Wrapf(err, "outbound", "message status")
}

// takeSlot takes the sender's next send slot when it is due: it answers false while the
// sender must wait (another instance sent within 1/rate). Slots missed while no instance
// was looking are made up within the last second (a burst of at most a second's worth),
// so the rate over time is the configured one, never more.
func (s *Store) takeSlot(ctx context.Context, sender string, every time.Duration, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO message_senders (sender, next_at) VALUES ($1, $2::timestamptz + $3::interval)
		ON CONFLICT (sender) DO UPDATE SET next_at = GREATEST(message_senders.next_at, $2::timestamptz - interval '1 second') + $3::interval
		WHERE message_senders.next_at <= $2::timestamptz`, sender, now, strconv.FormatInt(every.Microseconds(), 10)+" microseconds")
	if err != nil {
		return false, errs.Wrapf(err, "outbound", "send slot")
	}
	return tag.RowsAffected() == 1, nil
}

// claimMessage takes the next queued message due by now (or whose sending instance
// stopped), leased to this instance.
func (s *Store) claimMessage(ctx context.Context, now time.Time, lease time.Duration) (Message, bool, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `UPDATE messages SET status = 'sending', lease_until = $2, attempts = attempts + 1, updated_at = $1
		WHERE id = (SELECT id FROM messages WHERE (status = 'queued' AND next_at <= $1) OR (status = 'sending' AND message_sid = '' AND lease_until < $1)
			ORDER BY next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+msgColumns, now, now.Add(lease)))
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, false, nil
	}
	return m, err == nil, errs.Wrapf(err, "outbound", "claim a message")
}

// sent records Twilio's answer to a send: its SID, or a failure (final), or a try again at
// retryAt.
func (s *Store) sent(ctx context.Context, id int64, sid, status string, code int, retryAt time.Time, now time.Time) error {
	var c *int
	if code != 0 {
		c = &code
	}
	_, err := s.pool.Exec(ctx, `UPDATE messages SET message_sid = $2, status = $3, error_code = COALESCE($4, error_code),
		next_at = $5, lease_until = NULL, updated_at = $6 WHERE id = $1`, id, sid, status, c, retryAt, now)
	return errs.Wrapf(err, "outbound", "message sent")
}

// MessageSender sends the outbox's messages with twilio-go's CreateMessage.
type MessageSender interface {
	Send(ctx context.Context, m Message) (sid string, err error)
}

// TwilioMessages sends through Twilio: from the messaging service or the number, with
// status callbacks to StatusURL.
type TwilioMessages struct {
	REST                *twilio.RestClient
	MessagingServiceSID string // MG…; else From
	From                string
	StatusURL           string
}

// Send creates the message. WhatsApp goes to whatsapp:+… from whatsapp:+…; a template
// is sent as its content SID and variables.
func (t TwilioMessages) Send(_ context.Context, m Message) (string, error) {
	p := &api.CreateMessageParams{}
	to, from := m.Number, t.From
	if m.Channel == "whatsapp" {
		to, from = "whatsapp:"+to, "whatsapp:"+strings.TrimPrefix(from, "whatsapp:")
	}
	p.SetTo(to).SetStatusCallback(t.StatusURL)
	if t.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(t.MessagingServiceSID)
	} else {
		p.SetFrom(from)
	}
	if m.TemplateSID != "" {
		p.SetContentSid(m.TemplateSID)
		vars, _ := json.Marshal(m.TemplateVars)
		p.SetContentVariables(string(vars))
	} else {
		p.SetBody(m.Body)
	}
	msg, err := t.REST.Api.CreateMessage(p)
	if err != nil {
		return "", err
	}
	if msg == nil || msg.Sid == nil {
		return "", errors.New("twilio: the new message has no SID")
	}
	return *msg.Sid, nil
}

// Twilio's error codes a send can meet.
const (
	codeTooMany    = 20429 // too many requests: try again later
	codeOptedOut   = 21610 // the number replied STOP to this sender
	codeNotMobile  = 21614 // not a mobile number
	codeInvalidTo  = 21211 // not a valid number
	statusTooMany  = 429
	maxSendBackoff = time.Minute
)

// SenderOptions tune a Sender. Zero fields get the defaults noted.
type SenderOptions struct {
	Rate   float64 // messages a second per sender (MESSAGE_RATE, 1)
	Sender string  // the sender's name for the rate (the messaging service or the number)
	Poll   time.Duration
	Lease  time.Duration // how long a send may take before another instance takes it (1 min)
	Now    func() time.Time
	Logger *slog.Logger
}

// Sender drains the outbox at the sender's rate, shared by every instance: each send
// takes the sender's next slot in PostgreSQL first. 429 and 20429 try again later with
// backoff instead of dropping the message; 21610 marks the number opted out.
type Sender struct {
	store *Store
	send  MessageSender
	o     SenderOptions
	every time.Duration
}

// NewSender returns a sender of store's outbox through send.
func NewSender(store *Store, send MessageSender, o SenderOptions) *Sender {
	if o.Rate <= 0 {
		o.Rate = 1
	}
	if o.Sender == "" {
		o.Sender = "default"
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{store: store, send: send, o: o, every: time.Duration(float64(time.Second) / o.Rate)}
}

// Run sends until ctx ends; queued messages left by a stopped instance are picked up.
func (s *Sender) Run(ctx context.Context) {
	for ctx.Err() == nil {
		sent, err := s.Once(ctx)
		if err != nil {
			s.o.Logger.WarnContext(ctx, "messages not sent; trying again", "err", err)
		}
		if !sent {
			select {
			case <-ctx.Done():
			case <-time.After(min(s.o.Poll, s.every)):
			}
		}
	}
}

// Once sends one message when one is due and the sender's rate allows; it answers
// whether it sent (or tried to).
func (s *Sender) Once(ctx context.Context) (bool, error) {
	now := s.o.Now()
	ok, err := s.store.takeSlot(ctx, s.o.Sender, s.every, now)
	if err != nil || !ok {
		return false, err
	}
	m, found, err := s.store.claimMessage(ctx, now, s.o.Lease)
	if err != nil || !found {
		return false, err
	}
	sid, err := s.send.Send(ctx, m)
	if err == nil {
		return true, s.store.sent(ctx, m.ID, sid, MsgSent, 0, now, now)
	}
	code, status := TwilioErrorCode(err)
	switch {
	case code == codeOptedOut:
		_ = s.store.SetConsent(ctx, m.Number, OptedOut, "twilio 21610", now)
		return true, s.store.sent(ctx, m.ID, "", MsgFailed, code, now, now)
	case code == codeNotMobile:
		_ = s.store.SetConsent(ctx, m.Number, NotMobile, "twilio 21614", now)
		return true, s.store.sent(ctx, m.ID, "", MsgFailed, code, now, now)
	case code == codeInvalidTo:
		_ = s.store.SetConsent(ctx, m.Number, Invalid, "twilio 21211", now)
		return true, s.store.sent(ctx, m.ID, "", MsgFailed, code, now, now)
	case status >= 400 && status < 500 && status != statusTooMany && code != codeTooMany:
		return true, s.store.sent(ctx, m.ID, "", MsgFailed, code, now, now)
	}
	// 429, 20429, 5xx, no answer: try again later, backing off.
	backoff := min(time.Duration(1<<min(m.Attempts, 6))*time.Second, maxSendBackoff)
	s.o.Logger.InfoContext(ctx, "message not sent yet; trying again", "message", m.ID, "code", code, "in", backoff)
	return true, s.store.sent(ctx, m.ID, "", MsgQueued, code, now.Add(backoff), now)
}

// MessageDay is one day's messages by status, for the reports.
type MessageDay struct {
	Day       string `json:"day"` // YYYY-MM-DD in the report's zone
	Queued    int64  `json:"queued"`
	Sent      int64  `json:"sent"`
	Delivered int64  `json:"delivered"`
	Failed    int64  `json:"failed"` // failed or undelivered
}

// MessagesPerDay counts the messages queued from from to to (days in loc) by where they
// are now: still queued (or sending), sent, delivered (or read), failed (or undelivered).
func (s *Store) MessagesPerDay(ctx context.Context, from, to time.Time, loc *time.Location) ([]MessageDay, error) {
	rows, err := s.pool.Query(ctx, `SELECT to_char(created_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day,
			count(*) FILTER (WHERE status IN ('queued', 'sending')),
			count(*) FILTER (WHERE status = 'sent'),
			count(*) FILTER (WHERE status IN ('delivered', 'read')),
			count(*) FILTER (WHERE status IN ('failed', 'undelivered'))
		FROM messages WHERE created_at >= $1 AND created_at < $2 GROUP BY day ORDER BY day`, from, to, loc.String())
	if err != nil {
		return nil, errs.Wrapf(err, "outbound", "messages per day")
	}
	defer rows.Close()
	out := []MessageDay{}
	for rows.Next() {
		var d MessageDay
		if err := rows.Scan(&d.Day, &d.Queued, &d.Sent, &d.Delivered, &d.Failed); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// messageCounts are the messages per channel and status, for the metrics.
func (s *Store) messageCounts(ctx context.Context) (map[[2]string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT channel, status, count(*) FROM messages GROUP BY channel, status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[2]string]int64{}
	for rows.Next() {
		var ch, st string
		var n int64
		if err := rows.Scan(&ch, &st, &n); err != nil {
			return nil, err
		}
		out[[2]string{ch, st}] = n
	}
	return out, rows.Err()
}

// ObserveMessages reports memberline.messages{channel,status} (how many messages are in
// each status) to mp.
func ObserveMessages(store *Store, mp metric.MeterProvider) error {
	_, err := mp.Meter("github.com/memberline/memberline/outbound").Int64ObservableGauge("memberline.messages",
		metric.WithDescription("messages flows queued, by channel and status"),
		metric.WithInt64Callback(func(ctx context.Context, obs metric.Int64Observer) error {
			counts, err := store.messageCounts(ctx)
			if err != nil {
				return nil
			}
			for k, n := range counts {
				obs.Observe(n, metric.WithAttributes(attribute.String("channel", k[0]), attribute.String("status", k[1])))
			}
			return nil
		}))
	return err
}
