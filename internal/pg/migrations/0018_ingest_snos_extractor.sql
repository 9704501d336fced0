-- ingest_snos.extractor names the extractor that built each SNO (its Name:
-- "rules-v1", or "llm-v1:<model>"), so that SNOs an LLM extractor's
-- fallback built with the rules are told from those the LLM built; until
-- now the fallback was only logged. '' for a document refused before an
-- SNO was built, and for the SNOs stored before.
ALTER TABLE ingest_snos ADD COLUMN extractor text NOT NULL DEFAULT '';
