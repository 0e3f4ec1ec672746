-- 0001: the Store port in PostgreSQL. Every row carries the school (tenant) it belongs to, and
-- every key starts with it, so one database can serve a whole trust.

-- Records: one row per item (concern, filter request, outbox message, timer, bot state...).
-- ``data`` is the record's JSON, or its AES-GCM sealed form when a key is configured.
-- ``due_at`` and ``claim_group`` are copied out of the data on write for kinds that are
-- claimed (outbox, timers), so claiming works on sealed data too; ``lease_*`` mark a claim.
CREATE TABLE records (
    tenant      text        NOT NULL CHECK (tenant <> ''),
    kind        text        NOT NULL,
    id          text        NOT NULL,
    version     integer     NOT NULL CHECK (version >= 1),
    schema      integer     NOT NULL,
    data        jsonb       NOT NULL,
    due_at      timestamptz,
    claim_group text,
    lease_until timestamptz,
    lease_owner text,
    PRIMARY KEY (tenant, kind, id)
);
CREATE INDEX records_due ON records (tenant, kind, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX records_leased ON records (tenant, kind, claim_group) WHERE lease_until IS NOT NULL;
CREATE INDEX records_data ON records USING gin (data jsonb_path_ops);

-- The head of each tenant's audit chain. Appending locks this row (SELECT ... FOR UPDATE) in
-- the same transaction as the records, so entries are numbered and chained one at a time.
CREATE TABLE chains (
    tenant text   PRIMARY KEY CHECK (tenant <> ''),
    seq    bigint NOT NULL CHECK (seq >= 0),
    hash   text   NOT NULL
);

-- The audit log: sealed entries, per tenant, numbered 1, 2, 3... (policy.audit).
CREATE TABLE audit (
    tenant    text   NOT NULL,
    seq       bigint NOT NULL CHECK (seq >= 1),
    actor     text   NOT NULL,
    action    text   NOT NULL,
    item      text   NOT NULL,
    outcome   text   NOT NULL,
    at        text   NOT NULL,
    prev_hash text   NOT NULL,
    hash      text   NOT NULL,
    PRIMARY KEY (tenant, seq)
);

-- Append-only, as far as ordinary statements go (the hash chain catches everything else).
CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();

-- Dedupe keys of committed changes (Teams activity ids, form ids) and the refs they wrote.
CREATE TABLE dedupe (
    tenant text        NOT NULL,
    key    text        NOT NULL,
    refs   jsonb       NOT NULL,
    at     timestamptz NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE INDEX dedupe_at ON dedupe (tenant, at);

-- Named sequences (OSC-2026, FLT-2026...).
CREATE TABLE sequences (
    tenant text   NOT NULL,
    name   text   NOT NULL,
    value  bigint NOT NULL CHECK (value >= 0),
    PRIMARY KEY (tenant, name)
);
