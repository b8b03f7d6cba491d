-- The arm of each experiment a call went through (experiment → arm), for the experiment
-- reports.
ALTER TABLE calls ADD COLUMN arms jsonb NOT NULL DEFAULT '{}';
CREATE INDEX calls_arms ON calls USING gin (arms) WHERE arms <> '{}';
