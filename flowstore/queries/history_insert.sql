INSERT INTO flow_audit (actor, action, flow_id, version, detail) VALUES ($1, $2, $3, $4, $5)
