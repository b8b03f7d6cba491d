DROP INDEX IF EXISTS calls_flow;
ALTER TABLE calls DROP COLUMN activity_yes;
ALTER TABLE calls DROP COLUMN had_activity;
