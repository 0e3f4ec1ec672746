-- 0003: several audit chains per tenant (issue 25). A commit locks one chain's head, any one
-- not locked by another commit (SELECT ... FOR UPDATE SKIP LOCKED), instead of the tenant's
-- single head, which every commit of every instance waited for across its COMMIT's fsync.
-- Each chain runs 1, 2, 3... from the genesis hash on its own (policy.audit: an entry of chain
-- n > 0 also seals n). The existing chain and its entries become chain 0, unchanged, so they
-- verify as before. The store adds the other chains' heads when it opens.
ALTER TABLE chains ADD COLUMN shard smallint NOT NULL DEFAULT 0 CHECK (shard >= 0);
ALTER TABLE chains DROP CONSTRAINT chains_pkey;
ALTER TABLE chains ADD PRIMARY KEY (tenant, shard);

ALTER TABLE audit ADD COLUMN shard smallint NOT NULL DEFAULT 0 CHECK (shard >= 0);
ALTER TABLE audit DROP CONSTRAINT audit_pkey;
ALTER TABLE audit ADD PRIMARY KEY (tenant, shard, seq);
