SELECT DISTINCT flow_id FROM flow_versions
