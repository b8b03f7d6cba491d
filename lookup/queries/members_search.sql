SELECT m.id, m.first_name, m.last_name, m.tier, m.language, m.time_zone,
       m.created_at, m.updated_at,
       ARRAY(SELECT p.phone FROM member_phones p WHERE p.member_id = m.id
             ORDER BY p.phone COLLATE "C") AS phones
FROM members m
WHERE m.first_name ILIKE $1 ESCAPE '\'
   OR m.last_name ILIKE $1 ESCAPE '\'
   OR (m.first_name || ' ' || m.last_name) ILIKE $1 ESCAPE '\'
ORDER BY m.last_name, m.first_name, m.id
LIMIT $2
