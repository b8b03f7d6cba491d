-- Creates or replaces the profiles of a batch of imported members (staged, one row per
-- member), keeping created_at. Returns the ids that existed before: only their old
-- numbers and activities need deleting.
WITH up AS (
    INSERT INTO members (id, first_name, last_name, tier, language, time_zone)
    SELECT id, first_name, last_name, tier, language, time_zone FROM import_members
    ON CONFLICT (id) DO UPDATE SET
        first_name = EXCLUDED.first_name,
        last_name  = EXCLUDED.last_name,
        tier       = EXCLUDED.tier,
        language   = EXCLUDED.language,
        time_zone  = EXCLUDED.time_zone,
        updated_at = now()
    RETURNING id, xmax <> 0 AS existed
)
SELECT id FROM up WHERE existed
