INSERT INTO member_phones (phone, member_id)
SELECT p, $1 FROM unnest($2::text[]) AS p
