UPDATE flow_changes SET seq = seq + 1
