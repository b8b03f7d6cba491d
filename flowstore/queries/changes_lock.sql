SELECT seq FROM flow_changes FOR UPDATE
