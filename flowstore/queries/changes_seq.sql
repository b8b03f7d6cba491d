SELECT seq FROM flow_changes
