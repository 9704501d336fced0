-- gardener: enrichment results kept apart from what suppliers sent, with
-- per-field provenance, canonical product groups, and the record of runs.

-- enrichments holds one enriched field of one product. products is never
-- written by the gardener. enricher, enricher_version and run_id say which
-- enricher (at which version of its code and rules) produced the value, and
-- which run last changed it: a run that computes the same value writes
-- nothing, so run_id always names the run that made the value what it is.
CREATE TABLE enrichments (
    tenant_id         text        NOT NULL,
    supplier_code     text        NOT NULL,
    sku               text        NOT NULL,
    field             text        NOT NULL,
    value             jsonb       NOT NULL,
    enricher          text        NOT NULL,
    enricher_version  text        NOT NULL,
    run_id            text        NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, supplier_code, sku, field)
);
CREATE INDEX enrichments_field ON enrichments (tenant_id, field);

-- The gardener reads the products a harvest changed since its watermark.
CREATE INDEX products_last_seen ON products (tenant_id, last_seen);

-- product_groups are canonical products: the same item offered by several
-- suppliers, found by GTIN or by normalised brand and name. group_id is
-- derived from key, so it is stable across runs.
CREATE TABLE product_groups (
    tenant_id   text        NOT NULL,
    group_id    text        NOT NULL,
    key         text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, group_id)
);

-- product_group_members puts each product in at most one group.
CREATE TABLE product_group_members (
    tenant_id      text        NOT NULL,
    supplier_code  text        NOT NULL,
    sku            text        NOT NULL,
    group_id       text        NOT NULL,
    run_id         text        NOT NULL,
    PRIMARY KEY (tenant_id, supplier_code, sku)
);
CREATE INDEX product_group_members_group ON product_group_members (tenant_id, group_id);

-- gardener_runs has one row per gardener run (a run spans continue-as-new).
-- The cursor is the batch checkpoint: it advances in the same transaction
-- that writes a batch's results, so a retried or crashed batch is neither
-- lost nor counted twice.
CREATE TABLE gardener_runs (
    run_id           text PRIMARY KEY,
    workflow_id      text        NOT NULL,
    tenant_id        text        NOT NULL,
    supplier_code    text        NOT NULL DEFAULT '',
    full_run         boolean     NOT NULL,
    status           text        NOT NULL,
    error            text,
    watermark_from   timestamptz,
    watermark_to     timestamptz NOT NULL,
    enrichers        jsonb       NOT NULL DEFAULT '[]',
    stale_enrichers  text[]      NOT NULL DEFAULT '{}',
    cursor_supplier  text        NOT NULL DEFAULT '',
    cursor_sku       text        NOT NULL DEFAULT '',
    done             boolean     NOT NULL DEFAULT false,
    batches          bigint      NOT NULL DEFAULT 0,
    processed        bigint      NOT NULL DEFAULT 0,
    written          bigint      NOT NULL DEFAULT 0,
    deleted          bigint      NOT NULL DEFAULT 0,
    finalized        bigint      NOT NULL DEFAULT 0,
    finalized_at     timestamptz,
    enrich_ms        bigint      NOT NULL DEFAULT 0,
    write_ms         bigint      NOT NULL DEFAULT 0,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX gardener_runs_tenant ON gardener_runs (tenant_id, started_at DESC);

-- gardener_tallies counts what enrichers noticed during a run, such as
-- unmapped supplier categories (name 'unmapped_category', key the path).
CREATE TABLE gardener_tallies (
    run_id  text   NOT NULL REFERENCES gardener_runs (run_id) ON DELETE CASCADE,
    name    text   NOT NULL,
    key     text   NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (run_id, name, key)
);

-- gardener_watermarks is where the next run of a scope starts: products
-- with last_seen after last_seen_upto (less an overlap) are processed.
-- scope is '' for the whole tenant, or one supplier code.
CREATE TABLE gardener_watermarks (
    tenant_id       text        NOT NULL,
    scope           text        NOT NULL,
    last_seen_upto  timestamptz NOT NULL,
    run_id          text        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, scope)
);

-- gardener_enricher_versions records the enricher versions the last
-- successful run of a scope applied to every product. An enabled enricher
-- whose version is not recorded here is stale: the next run applies it, and
-- only it, to the products that did not change.
CREATE TABLE gardener_enricher_versions (
    tenant_id   text NOT NULL,
    scope       text NOT NULL,
    enricher    text NOT NULL,
    version     text NOT NULL,
    run_id      text NOT NULL,
    PRIMARY KEY (tenant_id, scope, enricher)
);

-- llm_cache keeps validated LLM answers by prompt and product content hash,
-- so an unchanged product is never sent twice.
CREATE TABLE llm_cache (
    cache_key     text PRIMARY KEY,
    answer        jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
