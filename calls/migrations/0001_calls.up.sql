-- One row per call: its journey through the flow, written by the call recorder off the
-- webhook's path. Callers appear only masked and as a keyed hash (joinable, not reversible).
CREATE TABLE calls (
    call_sid      text PRIMARY KEY,
    started_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    called        text NOT NULL DEFAULT '',   -- our number (To), E.164
    caller_hash   text NOT NULL DEFAULT '',   -- HMAC-SHA256 of the caller's E.164, hex
    caller_masked text NOT NULL DEFAULT '',   -- +1404***0123
    recognized    text NOT NULL DEFAULT '',   -- member, household, unknown, anonymous, error
    member_id     text,                       -- the member the call was about, once known
    flow          text NOT NULL DEFAULT '',
    flow_version  integer NOT NULL DEFAULT 0,
    nodes         text[] NOT NULL DEFAULT '{}',
    inputs        text[] NOT NULL DEFAULT '{}', -- digits or the matched option word, never free speech
    steps         jsonb NOT NULL DEFAULT '[]',
    outcome       text NOT NULL DEFAULT '',   -- self_service, handoff, caller_hung_up, error; '' while in progress
    status        text NOT NULL DEFAULT '',   -- Twilio's final CallStatus
    duration_s    integer
);

CREATE INDEX calls_started_at ON calls (started_at DESC, call_sid DESC);
CREATE INDEX calls_member ON calls (member_id, started_at DESC) WHERE member_id IS NOT NULL;
CREATE INDEX calls_caller ON calls (caller_hash, started_at DESC);
