SELECT coalesce(max(version), 0) FROM flow_versions WHERE flow_id = $1
