INSERT INTO flow_versions (flow_id, version, document, author, message)
VALUES ($1, 1, $2, $3, 'built-in flow')
