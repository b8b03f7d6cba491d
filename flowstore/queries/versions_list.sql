SELECT flow_id, version, author, message, created_at, coalesce(rollback_of, 0)
FROM flow_versions WHERE flow_id = $1 ORDER BY version
