-- The caller's trust level at the start of the call (verified, unverified, suspicious),
-- and whether the flow asked the caller about their activity: the recognition report
-- shares by trust level.
ALTER TABLE calls ADD COLUMN trust text NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN asked_activity boolean NOT NULL DEFAULT false;
