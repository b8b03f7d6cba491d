INSERT INTO flows (id, draft, created_by, updated_by) VALUES ($1, $2, $3, $3)
RETURNING id, draft, draft_rev, updated_at, updated_by
