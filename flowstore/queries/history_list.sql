SELECT id, at, actor, action, coalesce(flow_id, ''), coalesce(version, 0), detail
FROM flow_audit WHERE ($1 = '' OR flow_id = $1) AND ($2::timestamptz IS NULL OR at >= $2)
ORDER BY id LIMIT $3
