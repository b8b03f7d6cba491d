DELETE FROM activities WHERE member_id = $1 AND id = $2
