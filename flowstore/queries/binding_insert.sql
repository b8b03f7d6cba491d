INSERT INTO flow_bindings (number, flow_id, updated_by) VALUES ($1, $2, $3)
