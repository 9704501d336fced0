-- ingest: documents turned into scored knowledge records (SNOs), their
-- critics' results, where each came from, and the quarantine with the
-- operators' decisions. Every table is keyed by tenant first: nothing is
-- ever read across tenants.

-- ingest_snos has one row per SNO. sno_id is derived from the tenant and
-- the document text (the same document is one SNO). sno holds the whole
-- SNO as JSON (lossless: graph, evidence, critics); the columns beside it
-- repeat what SQL queries filter on. status is admitted, quarantined or
-- deleted (a quarantined SNO an operator deleted: its row stays, its
-- content is cleared). embedding is the hypothesis's (the SNO's); the
-- whole text's embedding, which finds floods of near-duplicates, is kept
-- with each submission in ingest_provenance.
CREATE TABLE ingest_snos (
    tenant_id       text        NOT NULL,
    sno_id          text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('admitted', 'quarantined', 'deleted')),
    schema_version  int         NOT NULL,
    hypothesis      text        NOT NULL,
    trust           float8      NOT NULL,
    reasons         text[]      NOT NULL DEFAULT '{}',
    source          text        NOT NULL,
    content_sha256  text        NOT NULL,
    size_bytes      int         NOT NULL,
    embedder        text        NOT NULL,
    embedding       float4[],
    sno             jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sno_id)
);
CREATE INDEX ingest_snos_status ON ingest_snos (tenant_id, status);

-- ingest_critic_results: one row per SNO and critic.
CREATE TABLE ingest_critic_results (
    tenant_id    text   NOT NULL,
    sno_id       text   NOT NULL,
    critic       text   NOT NULL,
    score        float8 NOT NULL,
    confidence   float8 NOT NULL,
    explanation  text   NOT NULL,
    sub_scores   jsonb  NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, sno_id, critic),
    FOREIGN KEY (tenant_id, sno_id) REFERENCES ingest_snos ON DELETE CASCADE
);

-- ingest_provenance: one row per submission of a document, including those
-- refused before an SNO could be built (sno_id is then the would-be id).
-- item is the document's place in its workflow ("" for a single ingest, a
-- file name, URL or JSONL line for a batch): (workflow_id, item) makes a
-- retried submission idempotent. The rate limit and the flood detector
-- count a source's rows by received_at.
CREATE TABLE ingest_provenance (
    tenant_id       text        NOT NULL,
    workflow_id     text        NOT NULL,
    item            text        NOT NULL,
    run_id          text        NOT NULL,
    sno_id          text        NOT NULL,
    source          text        NOT NULL,
    submitter       text        NOT NULL,
    content_sha256  text        NOT NULL,
    size_bytes      int         NOT NULL,
    outcome         text        NOT NULL,
    reasons         text[]      NOT NULL DEFAULT '{}',
    metadata        jsonb       NOT NULL DEFAULT '{}',
    doc_embedding   float4[],
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, workflow_id, item)
);
CREATE INDEX ingest_provenance_source ON ingest_provenance (tenant_id, source, received_at);
CREATE INDEX ingest_provenance_sno ON ingest_provenance (tenant_id, sno_id);

-- ingest_quarantine: why an SNO (or a refused document) is held, and the
-- operator's decision once taken. decision is NULL while it waits.
CREATE TABLE ingest_quarantine (
    tenant_id       text        NOT NULL,
    sno_id          text        NOT NULL,
    reasons         text[]      NOT NULL,
    details         jsonb       NOT NULL DEFAULT '{}',
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    decision        text        CHECK (decision IN ('release', 'delete')),
    decided_by      text,
    decided_at      timestamptz,
    PRIMARY KEY (tenant_id, sno_id)
);
CREATE INDEX ingest_quarantine_open ON ingest_quarantine (tenant_id) WHERE decision IS NULL;

-- ingest_decisions records every operator decision, in order.
CREATE TABLE ingest_decisions (
    id           bigserial   PRIMARY KEY,
    tenant_id    text        NOT NULL,
    sno_id       text        NOT NULL,
    decision     text        NOT NULL CHECK (decision IN ('release', 'delete')),
    operator     text        NOT NULL,
    note         text        NOT NULL DEFAULT '',
    workflow_id  text        NOT NULL,
    request_id   text        NOT NULL,
    decided_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, request_id)
);

-- ingest_vectors is the append-only log of admitted hypothesis embeddings
-- the novelty critic searches (exact scan, in memory, per tenant): workers
-- load it incrementally by seq, and re-read the last minutes by added_at
-- because sequence numbers can commit out of order. A released SNO is
-- appended when released.
CREATE TABLE ingest_vectors (
    seq        bigserial   PRIMARY KEY,
    tenant_id  text        NOT NULL,
    sno_id     text        NOT NULL,
    embedding  float4[]    NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingest_vectors_tenant ON ingest_vectors (tenant_id, seq);
CREATE INDEX ingest_vectors_recent ON ingest_vectors (tenant_id, added_at);

-- ingest_texts keeps documents' texts by content hash, so workflow history
-- carries only the hash. A deleted SNO's text is removed.
CREATE TABLE ingest_texts (
    tenant_id       text        NOT NULL,
    content_sha256  text        NOT NULL,
    body            bytea       NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, content_sha256)
);

-- ingest_batch_chunks: a batch's work list, made once when it begins.
-- items are file names or URLs; for a JSONL file, first_line..end_line and
-- byte_offset say where the chunk's lines start. done_at, admitted and
-- quarantined make a retried chunk return its recorded counts.
CREATE TABLE ingest_batch_chunks (
    run_id       text        NOT NULL,
    chunk        int         NOT NULL,
    items        text[]      NOT NULL DEFAULT '{}',
    byte_offset  bigint      NOT NULL DEFAULT 0,
    lines        int         NOT NULL DEFAULT 0,
    first_line   int         NOT NULL DEFAULT 0,
    done_at      timestamptz,
    documents    int         NOT NULL DEFAULT 0,
    admitted     int         NOT NULL DEFAULT 0,
    quarantined  int         NOT NULL DEFAULT 0,
    duplicates   int         NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, chunk)
);
