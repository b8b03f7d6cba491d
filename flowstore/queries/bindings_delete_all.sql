DELETE FROM flow_bindings
