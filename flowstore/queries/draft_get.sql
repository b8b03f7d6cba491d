SELECT id, draft, draft_rev, updated_at, updated_by FROM flows WHERE id = $1
