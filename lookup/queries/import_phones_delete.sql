-- Deletes the numbers of the imported members ($1), returning them: their answers change.
DELETE FROM member_phones WHERE member_id = ANY($1::text[]) RETURNING phone
