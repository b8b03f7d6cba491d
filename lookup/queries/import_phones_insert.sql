-- Adds the imported members' numbers (staged).
INSERT INTO member_phones (phone, member_id) SELECT phone, member_id FROM import_phones
ON CONFLICT DO NOTHING
