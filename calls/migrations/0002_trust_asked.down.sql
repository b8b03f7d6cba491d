ALTER TABLE calls DROP COLUMN asked_activity;
ALTER TABLE calls DROP COLUMN trust;
