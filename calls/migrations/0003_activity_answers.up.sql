-- Whether the member the call was about had an activity (upcoming, current or recent) at
-- the call's start, and whether the caller said yes when the flow asked about it: the
-- recognition report and the member segments count them.
ALTER TABLE calls ADD COLUMN had_activity boolean NOT NULL DEFAULT false;
ALTER TABLE calls ADD COLUMN activity_yes boolean NOT NULL DEFAULT false;
-- The traffic and segment reports read one flow version's calls of a period, and one
-- caller's calls.
CREATE INDEX calls_flow ON calls (flow, flow_version, started_at);
