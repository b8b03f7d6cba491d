-- The members behind a number ($1, E.164), each with the activities that may be relevant
-- to a call: not cancelled, ending at or after $2, starting at or before $3. One row per
-- (member, activity); a member without such activities comes once with NULL activity
-- columns. Members by id (byte order, as Go sorts), activities by start.
SELECT m.id, m.first_name, m.last_name, m.tier, m.language, m.time_zone,
       m.created_at, m.updated_at,
       ARRAY(SELECT p.phone FROM member_phones p WHERE p.member_id = m.id
             ORDER BY p.phone COLLATE "C") AS phones,
       a.id, a.kind, a.summary, a.place,
       a.starts_at, a.starts_offset, a.ends_at, a.ends_offset, a.status, a.reference
FROM member_phones mp
JOIN members m ON m.id = mp.member_id
LEFT JOIN activities a
       ON a.member_id = m.id
      AND a.status <> 'cancelled'
      AND a.ends_at >= $2
      AND a.starts_at <= $3
WHERE mp.phone = $1
ORDER BY m.id COLLATE "C", a.starts_at, a.id COLLATE "C"
