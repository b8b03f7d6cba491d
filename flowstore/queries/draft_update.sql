UPDATE flows SET draft = $2, draft_rev = draft_rev + 1, updated_at = now(), updated_by = $3
WHERE id = $1 RETURNING id, draft, draft_rev, updated_at, updated_by
