-- product_changes logs which products each harvest statement changed, so
-- that the gardener's incremental runs read those products by key instead
-- of walking a supplier's whole partition for last_seen (at 1M products a
-- tenth of which changed, the walk read ten products for each one it
-- kept: 2.5 s of a 5 s run; a rerun with nothing changed walked all 1M).
--
-- Each statement that sets products' last_seen adds its rows in the same
-- transaction, with changed_at = the last_seen it wrote (now()): a merge
-- one row per 5,000 changed SKUs (in no order); a first load, whose rows go
-- in by COPY, one row with skus NULL: "any product of the supplier may
-- have changed". Deactivations are not logged: incremental runs read
-- active products alone. An index on products (or one row a SKU here)
-- would cost the harvest every insert's index entry; a row of an array per
-- 5,000 costs a merge under a microsecond a changed SKU.
CREATE TABLE product_changes (
    id            bigserial   PRIMARY KEY,
    tenant_id     text        NOT NULL,
    supplier_code text        NOT NULL,
    changed_at    timestamptz NOT NULL,
    run_id        text        NOT NULL,
    -- n is cardinality(skus): a reader pages through an entry without
    -- reading its array to learn its length. NULL with skus.
    n             integer,
    skus          text[],
    CHECK ((skus IS NULL) = (n IS NULL))
);
-- Stored uncompressed: compressing them took a merge nearly as long as
-- collecting them (6 ms per 12,500 SKUs), and entries live only until
-- every gardener scope of the tenant has read them.
ALTER TABLE product_changes ALTER skus SET STORAGE EXTERNAL;
CREATE INDEX product_changes_window ON product_changes (tenant_id, changed_at);

-- product_changes_horizon says since when the log is complete: it holds
-- every change made after complete_after. The row of tenant '' is the
-- migration's (nothing was logged before it); a tenant's own row is where
-- retention cut its entries. A gardener window that starts before a
-- tenant's horizon (the greater of the two) walks products as before.
CREATE TABLE product_changes_horizon (
    tenant_id      text        PRIMARY KEY,
    complete_after timestamptz NOT NULL
);
INSERT INTO product_changes_horizon (tenant_id, complete_after) VALUES ('', now());

-- A gardener run records whether it reads its window from the log
-- (change_log; NULL: begun before this migration, walks) and, when it
-- does, its checkpoint in the log: the entry and how many of its SKUs the
-- committed batches took.
ALTER TABLE gardener_runs ADD COLUMN change_log boolean,
    ADD COLUMN cursor_change bigint NOT NULL DEFAULT 0,
    ADD COLUMN cursor_change_pos integer NOT NULL DEFAULT 0;
