-- ingest_vectors records which embedder made each vector, so that a
-- tenant's index holds vectors of one embedder only (vectors of different
-- embedders are not comparable and may differ in dimension) without a
-- join to ingest_snos on every refresh. Existing rows take their SNO's
-- embedder.
ALTER TABLE ingest_vectors ADD COLUMN embedder text NOT NULL DEFAULT '';
UPDATE ingest_vectors v SET embedder = s.embedder
    FROM ingest_snos s WHERE s.tenant_id = v.tenant_id AND s.sno_id = v.sno_id;

-- The SNO JSON is a few KB and compressed on every insert: lz4 costs a
-- fraction of the default pglz's CPU (existing rows keep theirs).
ALTER TABLE ingest_snos ALTER COLUMN sno SET COMPRESSION lz4;
