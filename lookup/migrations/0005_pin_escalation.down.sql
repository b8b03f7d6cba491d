ALTER TABLE member_pins DROP COLUMN locked_at;
ALTER TABLE member_pins DROP COLUMN failed;
