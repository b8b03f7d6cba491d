-- A member deleted (forgotten) must not come back into the call records through a call
-- still in progress: its next webhooks, retries and replays write events that name the
-- member and the caller. forgotten keeps, for a while, the member ids and caller hashes
-- that were anonymized and when; an event of a call that started before that time is
-- written without them. calls.anonymized marks rows anonymized, whose member and caller
-- fields later events never fill again.
CREATE TABLE forgotten (
    member_id    text,
    caller_hash  text,
    forgotten_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forgotten_member ON forgotten (member_id) WHERE member_id IS NOT NULL;
CREATE INDEX forgotten_hash ON forgotten (caller_hash) WHERE caller_hash IS NOT NULL;
ALTER TABLE calls ADD COLUMN anonymized boolean NOT NULL DEFAULT false;
