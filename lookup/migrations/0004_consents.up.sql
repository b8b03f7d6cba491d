-- A caller's consent to have a number recognized as a member's ("remember this number"),
-- given on a call after verifying with their PIN.
CREATE TABLE member_consents (
    member_id    text        NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    phone        text        NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{1,14}$'), -- E.164
    call_sid     text        NOT NULL DEFAULT '',
    consented_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, phone)
);
