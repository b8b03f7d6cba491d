DROP INDEX calls_arms; ALTER TABLE calls DROP COLUMN arms;
