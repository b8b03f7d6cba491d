-- Flows: one editable draft per flow, immutable numbered versions, which called number
-- runs which flow, a change counter the instances poll, and the audit log.

CREATE TABLE flows (
    id          text PRIMARY KEY,
    draft       text NOT NULL,            -- the document as the editor saved it
    draft_rev   bigint NOT NULL DEFAULT 1, -- bumped by every save; the ETag
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);

CREATE TABLE flow_versions (
    flow_id     text NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    version     integer NOT NULL CHECK (version > 0),
    document    text NOT NULL,
    author      text NOT NULL,
    message     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    rollback_of integer,                  -- the version republished by a rollback
    PRIMARY KEY (flow_id, version)
);

-- number '' is the default: the flow for any called number without a binding of its own.
CREATE TABLE flow_bindings (
    number      text PRIMARY KEY,
    flow_id     text NOT NULL REFERENCES flows (id),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);

-- One row, bumped in the transaction of every publish, rollback and binding change, so
-- every instance notices with one cheap read.
CREATE TABLE flow_changes (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq  bigint NOT NULL DEFAULT 0
);
INSERT INTO flow_changes (id, seq) VALUES (true, 0);

CREATE TABLE flow_audit (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,   -- create, save, publish, rollback, bindings
    flow_id  text,            -- null for binding changes
    version  integer,
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX flow_audit_flow_at ON flow_audit (flow_id, at);
CREATE INDEX flow_audit_at ON flow_audit (at);
