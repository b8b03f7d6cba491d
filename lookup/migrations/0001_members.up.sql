-- Members, the numbers they call from, and what they have booked.

CREATE TABLE members (
    id         text        PRIMARY KEY,
    first_name text        NOT NULL,
    last_name  text        NOT NULL DEFAULT '',
    tier       text        NOT NULL DEFAULT '',
    language   text        NOT NULL DEFAULT 'en-US', -- BCP 47
    time_zone  text        NOT NULL DEFAULT 'UTC',   -- IANA
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One number may belong to several members (a household) and one member may have
-- several numbers. The primary key, phone first, is the index calls are looked up by;
-- the second index serves "the numbers of this member" (writes, cascades).
CREATE TABLE member_phones (
    phone     text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{1,14}$'), -- E.164
    member_id text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (phone, member_id)
);
CREATE INDEX member_phones_member_id ON member_phones (member_id);

-- Times are stored as instants plus the UTC offset (seconds east) they were written
-- with, so lookups can give them back in the activity's own time zone.
CREATE TABLE activities (
    member_id     text        NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    id            text        NOT NULL,
    kind          text        NOT NULL,
    summary       text        NOT NULL DEFAULT '',
    place         text        NOT NULL DEFAULT '',
    starts_at     timestamptz NOT NULL,
    starts_offset integer     NOT NULL CHECK (starts_offset BETWEEN -86400 AND 86400),
    ends_at       timestamptz NOT NULL,
    ends_offset   integer     NOT NULL CHECK (ends_offset BETWEEN -86400 AND 86400),
    status        text        NOT NULL DEFAULT 'confirmed',
    reference     text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, id),
    CHECK (ends_at >= starts_at)
);

-- Serves the lookup: "activities of these members, not cancelled, ends_at >= X,
-- starts_at <= Y". Queries must repeat the status predicate for the planner to use it.
CREATE INDEX activities_relevant ON activities (member_id, ends_at) INCLUDE (starts_at)
    WHERE status <> 'cancelled';
