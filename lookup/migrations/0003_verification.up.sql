-- Step-up verification: members' PINs (slow salted hashes only) and every attempt to
-- verify one. Attempts keep the calling number only as a keyed hash.

CREATE TABLE member_pins (
    member_id  text        PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    hash       text        NOT NULL, -- argon2id, PHC string format
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE verification_attempts (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   text        NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    caller_hash text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now(),
    outcome     text        NOT NULL CHECK (outcome IN ('ok', 'wrong', 'locked', 'no_pin'))
);
CREATE INDEX verification_attempts_member_at ON verification_attempts (member_id, at);
