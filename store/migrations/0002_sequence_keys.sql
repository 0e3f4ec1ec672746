-- 0002: keyed sequence draws (``Store.next_sequence(name, key=...)``). Every copy of one form
-- sent at once (a double click, a Teams retry) gets the same number, so references stay
-- gap-free. Rows older than the dedupe keys' two days are removed when a store opens.
CREATE TABLE sequence_keys (
    tenant text        NOT NULL,
    name   text        NOT NULL,
    key    text        NOT NULL,
    value  bigint      NOT NULL CHECK (value >= 1),
    at     timestamptz NOT NULL,
    PRIMARY KEY (tenant, name, key)
);
CREATE INDEX sequence_keys_at ON sequence_keys (tenant, at);
