INSERT INTO flows (id, draft, created_by, updated_by) VALUES ($1, $2, $3, $3)
ON CONFLICT (id) DO NOTHING
