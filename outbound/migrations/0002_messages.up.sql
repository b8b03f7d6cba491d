-- Messages flows send to callers (SMS, WhatsApp): an outbox, one row per call and node,
-- sent by whichever instance claims the row, at most MESSAGE_RATE a second per sender.
CREATE TABLE messages (
    id            bigserial PRIMARY KEY,
    call_sid      text NOT NULL,
    node          text NOT NULL,
    channel       text NOT NULL,              -- sms or whatsapp
    number        text NOT NULL,              -- E.164
    body          text NOT NULL DEFAULT '',
    language      text NOT NULL DEFAULT '',
    template_sid  text NOT NULL DEFAULT '',
    template_vars jsonb NOT NULL DEFAULT '{}',
    flow          text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'queued', -- queued, sending, sent, delivered, read, undelivered, failed
    message_sid   text NOT NULL DEFAULT '',
    error_code    integer,
    attempts      integer NOT NULL DEFAULT 0,
    next_at       timestamptz NOT NULL,
    lease_until   timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (call_sid, node)                   -- exactly once per call and node
);
CREATE INDEX messages_due ON messages (next_at) WHERE status = 'queued';
CREATE INDEX messages_sid ON messages (message_sid) WHERE message_sid <> '';

-- The send rate: each sender (a messaging service or a From number) sends its next
-- message no earlier than next_at.
CREATE TABLE message_senders (
    sender  text PRIMARY KEY,
    next_at timestamptz NOT NULL
);

-- Consent per number, whoever owns it: STOP and its synonyms opt out, START opts back in;
-- Twilio's 21610 marks an opt-out too. Numbers that cannot take messages are kept as well.
CREATE TABLE message_consent (
    number     text PRIMARY KEY,
    status     text NOT NULL,                 -- opted_out, opted_in, not_mobile, invalid
    source     text NOT NULL,                 -- sms STOP, sms START, twilio 21610, ...
    changed_at timestamptz NOT NULL
);
