DROP TABLE admin_audit;
DROP TABLE admin_tokens;
