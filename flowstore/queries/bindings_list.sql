SELECT number, flow_id FROM flow_bindings ORDER BY number
