-- PIN tries escalate: wrong tries since the last right PIN (or a new PIN) are counted, and
-- past a limit the member's PIN is locked until a new one is set.
ALTER TABLE member_pins ADD COLUMN failed integer NOT NULL DEFAULT 0;
ALTER TABLE member_pins ADD COLUMN locked_at timestamptz;
