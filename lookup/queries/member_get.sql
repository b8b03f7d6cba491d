SELECT m.id, m.first_name, m.last_name, m.tier, m.language, m.time_zone,
       m.created_at, m.updated_at,
       ARRAY(SELECT p.phone FROM member_phones p WHERE p.member_id = m.id
             ORDER BY p.phone COLLATE "C") AS phones
FROM members m
WHERE m.id = $1
