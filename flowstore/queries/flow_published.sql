SELECT EXISTS (SELECT 1 FROM flow_versions WHERE flow_id = $1)
