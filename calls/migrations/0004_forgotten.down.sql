ALTER TABLE calls DROP COLUMN anonymized;
DROP TABLE forgotten;
