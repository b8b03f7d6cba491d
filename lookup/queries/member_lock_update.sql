-- As member_lock_share.sql, for deleting the member: the exclusive mode from the start,
-- because two deletes upgrading from a shared lock would deadlock.
SELECT 1 FROM members WHERE id = $1 FOR UPDATE
