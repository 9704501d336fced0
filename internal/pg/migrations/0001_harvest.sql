-- harvest: the canonical product catalogue and the record of every run.

-- products holds what suppliers sent, normalised. One row per
-- (tenant, supplier, sku); rows are never deleted, only deactivated.
CREATE TABLE products (
    tenant_id      text        NOT NULL,
    supplier_code  text        NOT NULL,
    sku            text        NOT NULL,
    name           text        NOT NULL,
    description    text        NOT NULL DEFAULT '',
    brand          text        NOT NULL DEFAULT '',
    gtin           text,
    price          numeric(18,4) NOT NULL CHECK (price >= 0),
    currency       char(3)     NOT NULL,
    stock          bigint      CHECK (stock >= 0),
    availability   text        NOT NULL,
    category_path  text[]      NOT NULL DEFAULT '{}',
    product_url    text,
    image_urls     text[]      NOT NULL DEFAULT '{}',
    attributes     jsonb       NOT NULL DEFAULT '{}',
    -- content_hash covers every supplier field above; an equal hash means
    -- nothing to write.
    content_hash   text        NOT NULL,
    first_seen     timestamptz NOT NULL,
    -- last_seen and last_run_id change only when a run writes the row
    -- (content changed or reactivated): an unchanged re-harvest writes nothing.
    last_seen      timestamptz NOT NULL,
    last_run_id    text        NOT NULL,
    active         boolean     NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, supplier_code, sku)
);
CREATE INDEX products_gtin ON products (tenant_id, gtin) WHERE gtin IS NOT NULL;

-- harvest_runs has one row per harvest run (a run spans continue-as-new).
CREATE TABLE harvest_runs (
    run_id            text PRIMARY KEY,
    workflow_id       text        NOT NULL,
    tenant_id         text        NOT NULL,
    supplier_code     text        NOT NULL,
    status            text        NOT NULL,
    feed_url          text        NOT NULL,
    format            text        NOT NULL,
    etag              text,
    last_modified     text,
    feed_bytes        bigint      NOT NULL DEFAULT 0,
    rows_read         bigint      NOT NULL DEFAULT 0,
    rows_valid        bigint      NOT NULL DEFAULT 0,
    rows_rejected     bigint      NOT NULL DEFAULT 0,
    rows_duplicate    bigint      NOT NULL DEFAULT 0,
    may_have_duplicates boolean   NOT NULL DEFAULT false,
    -- first_load: the supplier had no products when staging ended, so
    -- merges insert without conflict handling.
    first_load        boolean     NOT NULL DEFAULT false,
    inserted          bigint      NOT NULL DEFAULT 0,
    updated           bigint      NOT NULL DEFAULT 0,
    unchanged         bigint      NOT NULL DEFAULT 0,
    deactivated       bigint      NOT NULL DEFAULT 0,
    stage_attempts    integer     NOT NULL DEFAULT 0,
    resumed_from_row  bigint      NOT NULL DEFAULT 0,
    error             text,
    started_at        timestamptz NOT NULL DEFAULT now(),
    staged_at         timestamptz,
    merged_at         timestamptz,
    deactivated_at    timestamptz,
    finished_at       timestamptz
);
CREATE INDEX harvest_runs_supplier ON harvest_runs (tenant_id, supplier_code, started_at DESC);

-- harvest_rejects lists every refused row of a run with its reason.
CREATE TABLE harvest_rejects (
    run_id   text   NOT NULL REFERENCES harvest_runs (run_id) ON DELETE CASCADE,
    row_no   bigint NOT NULL,
    sku      text,
    reason   text   NOT NULL,
    raw      text   NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, row_no)
);

-- harvest_parts records each merged partition of a run, written in the same
-- transaction as the merge, so a retried merge returns the recorded counts.
CREATE TABLE harvest_parts (
    run_id     text    NOT NULL REFERENCES harvest_runs (run_id) ON DELETE CASCADE,
    part       integer NOT NULL,
    inserted   bigint  NOT NULL,
    updated    bigint  NOT NULL,
    unchanged  bigint  NOT NULL,
    duplicates bigint  NOT NULL,
    -- slim: rows staged slim (unchanged, already stored and active)
    slim       bigint  NOT NULL,
    PRIMARY KEY (run_id, part)
);

-- harvest_feeds remembers the validators (ETag, Last-Modified) of the last
-- successful run per supplier, for conditional GETs.
CREATE TABLE harvest_feeds (
    tenant_id      text NOT NULL,
    supplier_code  text NOT NULL,
    feed_url       text NOT NULL,
    etag           text,
    last_modified  text,
    run_id         text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, supplier_code)
);

-- harvest_stage_progress is the Stage activity's checkpoint. It is UNLOGGED
-- like the per-run staging tables it describes: after a database crash both
-- are emptied together, so the checkpoint never points past staged rows.
CREATE UNLOGGED TABLE harvest_stage_progress (
    run_id         text PRIMARY KEY,
    rows_consumed  bigint  NOT NULL,
    rows_valid     bigint  NOT NULL,
    rows_rejected  bigint  NOT NULL,
    feed_bytes     bigint  NOT NULL,
    etag           text,
    last_modified  text,
    length         bigint,
    attempts       integer NOT NULL DEFAULT 0,
    resumed_from   bigint  NOT NULL DEFAULT 0,
    -- may_have_duplicates: a SKU was seen twice (or staging resumed, so
    -- nobody saw them all); merges then deduplicate.
    may_have_duplicates boolean NOT NULL DEFAULT false
);
