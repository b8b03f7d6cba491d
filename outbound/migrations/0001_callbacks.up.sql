-- Callbacks callers asked for instead of waiting in a queue, dialed by whichever instance
-- claims them first (SELECT ... FOR UPDATE SKIP LOCKED).
CREATE TABLE callbacks (
    id            bigserial PRIMARY KEY,
    call_sid      text NOT NULL UNIQUE,       -- the call that asked: a retry of its webhook finds it
    member_id     text NOT NULL DEFAULT '',
    number        text NOT NULL,              -- E.164, dialed back
    queue         text NOT NULL DEFAULT '',
    workflow      text NOT NULL DEFAULT '',
    priority      integer NOT NULL DEFAULT 0,
    language      text NOT NULL DEFAULT '',
    reason        text NOT NULL DEFAULT '',
    context       jsonb NOT NULL DEFAULT '[]', -- [[key, value], ...] for the agent
    flow          text NOT NULL,
    flow_version  integer NOT NULL,
    node          text NOT NULL,
    trust         text NOT NULL DEFAULT '',
    position      integer NOT NULL DEFAULT 0, -- the caller's place when they asked
    requested_at  timestamptz NOT NULL,
    due_at        timestamptz NOT NULL,       -- when the wait estimated then has passed
    status        text NOT NULL DEFAULT 'pending', -- pending, dialing, done, failed, cancelled
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 3,
    lease_until   timestamptz,                -- dialing: another instance may take it after
    dial_call_sid text NOT NULL DEFAULT '',   -- the outbound call of the current try
    tries         jsonb NOT NULL DEFAULT '[]', -- [{at, call_sid, outcome, error_code}]
    outcome       text NOT NULL DEFAULT '',
    error_code    integer,
    updated_at    timestamptz NOT NULL
);

-- One pending callback per number and queue: a second request says when the first is due.
CREATE UNIQUE INDEX callbacks_one_pending ON callbacks (number, queue, workflow) WHERE status IN ('pending', 'dialing');
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE status = 'pending';
CREATE INDEX callbacks_lease ON callbacks (lease_until) WHERE status = 'dialing';
CREATE INDEX callbacks_status ON callbacks (status, due_at);

-- Numbers that asked not to be called back: never dialed.
CREATE TABLE do_not_call (
    number   text PRIMARY KEY,
    added_at timestamptz NOT NULL DEFAULT now()
);
