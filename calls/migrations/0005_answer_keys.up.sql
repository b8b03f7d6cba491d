-- The retry cache's key of each webhook answer a call got (ivr's settled answers, which
-- may greet the member by name), so that deleting a member can forget them at once.
ALTER TABLE calls ADD COLUMN answer_keys text[] NOT NULL DEFAULT '{}';
