SELECT f.id, f.draft, f.draft_rev, f.updated_at, f.updated_by,
  v.version, v.author, v.message, v.created_at, coalesce(v.rollback_of, 0),
  v.document IS DISTINCT FROM f.draft,
  coalesce((SELECT array_agg(b.number ORDER BY b.number) FROM flow_bindings b WHERE b.flow_id = f.id), '{}')
FROM flows f
LEFT JOIN LATERAL (SELECT * FROM flow_versions x WHERE x.flow_id = f.id ORDER BY x.version DESC LIMIT 1) v ON true
ORDER BY f.id
