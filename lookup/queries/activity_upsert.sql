INSERT INTO activities (member_id, id, kind, summary, place,
                        starts_at, starts_offset, ends_at, ends_offset, status, reference)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (member_id, id) DO UPDATE SET
    kind          = EXCLUDED.kind,
    summary       = EXCLUDED.summary,
    place         = EXCLUDED.place,
    starts_at     = EXCLUDED.starts_at,
    starts_offset = EXCLUDED.starts_offset,
    ends_at       = EXCLUDED.ends_at,
    ends_offset   = EXCLUDED.ends_offset,
    status        = EXCLUDED.status,
    reference     = EXCLUDED.reference,
    updated_at    = now()
