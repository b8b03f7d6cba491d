-- Locks a member against changes to their phones until the transaction ends. Every write
-- to member_phones first locks the member row in a conflicting mode (member_upsert.sql,
-- member_lock_update.sql), so the phones read after this are the ones a cache must
-- invalidate. Activity writes take this shared mode and may run side by side.
SELECT 1 FROM members WHERE id = $1 FOR SHARE
