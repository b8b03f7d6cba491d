-- As candidates_by_phone.sql, for one member id ($1).
SELECT m.id, m.first_name, m.last_name, m.tier, m.language, m.time_zone,
       m.created_at, m.updated_at,
       ARRAY(SELECT p.phone FROM member_phones p WHERE p.member_id = m.id
             ORDER BY p.phone COLLATE "C") AS phones,
       a.id, a.kind, a.summary, a.place,
       a.starts_at, a.starts_offset, a.ends_at, a.ends_offset, a.status, a.reference
FROM members m
LEFT JOIN activities a
       ON a.member_id = m.id
      AND a.status <> 'cancelled'
      AND a.ends_at >= $2
      AND a.starts_at <= $3
WHERE m.id = $1
ORDER BY a.starts_at, a.id COLLATE "C"
