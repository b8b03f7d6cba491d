DELETE FROM member_phones WHERE member_id = $1 RETURNING phone
