SELECT flow_id, max(version) FROM flow_versions GROUP BY flow_id
