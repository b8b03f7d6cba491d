ALTER TABLE calls DROP COLUMN answer_keys;
