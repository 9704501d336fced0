-- ingest_provenance records which embedder made each document's embedding,
-- so that the near-duplicate flood detector compares a new document only
-- with recent ones embedded alike: after a switch of embedder (another
-- model, or another dimension) the old vectors are not comparable. Existing
-- rows take their SNO's embedder.
ALTER TABLE ingest_provenance ADD COLUMN doc_embedder text NOT NULL DEFAULT '';
UPDATE ingest_provenance p SET doc_embedder = s.embedder
    FROM ingest_snos s
    WHERE s.tenant_id = p.tenant_id AND s.sno_id = p.sno_id AND p.doc_embedding IS NOT NULL;
