-- The company's HTTP APIs that flows fetch from. The signing secret is sealed with
-- AES-256-GCM under the service's key (CONNECTIONS_KEY), bound to the row's id.
CREATE TABLE IF NOT EXISTS connections (
    id            text PRIMARY KEY,
    base_url      text NOT NULL,
    headers       jsonb NOT NULL DEFAULT '{}',
    secret_sealed bytea NOT NULL,
    timeout_ms    integer NOT NULL CHECK (timeout_ms BETWEEN 100 AND 10000),
    allow_private boolean NOT NULL DEFAULT false,
    version       integer NOT NULL DEFAULT 1,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    text NOT NULL DEFAULT ''
);
