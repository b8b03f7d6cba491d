DELETE FROM members WHERE id = $1
