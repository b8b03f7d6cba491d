SELECT flow_id, version, author, message, created_at, coalesce(rollback_of, 0), document
FROM flow_versions WHERE flow_id = $1 AND version = $2
