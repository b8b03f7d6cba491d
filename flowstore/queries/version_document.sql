SELECT document FROM flow_versions WHERE flow_id = $1 AND version = $2
