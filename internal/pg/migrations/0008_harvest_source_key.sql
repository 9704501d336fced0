-- harvest: a product remembers the key of the feed record it was written
-- from, so that a re-harvest can tell an unchanged record without
-- normalising it again.

-- source_key: product.Normalizer.SourceKey of the record (its fields, the
-- supplier's normalisation options and the rules' version) mixed with the
-- first 64 bits of content_hash, so that a row whose content was rewritten
-- without it (by a worker older than this column) never matches. NULL:
-- unknown (written before this column); such products are compared by
-- normalising, as before. Adding a nullable column rewrites nothing.
ALTER TABLE products ADD COLUMN source_key bigint;
