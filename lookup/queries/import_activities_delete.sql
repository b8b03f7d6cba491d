-- Deletes the activities of the imported members ($1): an import replaces them.
DELETE FROM activities WHERE member_id = ANY($1::text[])
