-- Admin API tokens: only the SHA-256 of each secret is stored; the secret is shown once.
CREATE TABLE admin_tokens (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    role        text        NOT NULL CHECK (role IN ('viewer', 'editor', 'publisher', 'admin')),
    hash        bytea       NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text        NOT NULL DEFAULT '',
    revoked_at  timestamptz
);

-- Every admin action, whoever makes it (a token's name).
CREATE TABLE admin_audit (
    id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text        NOT NULL,
    action text        NOT NULL, -- e.g. "PUT /api/v1/members/{memberID}"
    target text        NOT NULL DEFAULT '',
    status integer     NOT NULL
);
CREATE INDEX admin_audit_at ON admin_audit (at);
