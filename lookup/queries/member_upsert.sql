-- Creates or replaces a member's profile, keeping created_at. Taking the row lock here
-- serializes writes to the member's phones (see member_lock.sql).
INSERT INTO members (id, first_name, last_name, tier, language, time_zone)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET
    first_name = EXCLUDED.first_name,
    last_name  = EXCLUDED.last_name,
    tier       = EXCLUDED.tier,
    language   = EXCLUDED.language,
    time_zone  = EXCLUDED.time_zone,
    updated_at = now()
RETURNING created_at, updated_at
