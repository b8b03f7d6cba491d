INSERT INTO flow_versions (flow_id, version, document, author, message, rollback_of)
SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5 FROM flow_versions WHERE flow_id = $1
RETURNING version, created_at
