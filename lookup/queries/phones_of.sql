SELECT phone FROM member_phones WHERE member_id = $1 ORDER BY phone COLLATE "C"
