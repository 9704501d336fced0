-- Which product columns a harvest merge changed, so that the gardener's
-- incremental runs skip the products none of whose changed columns an
-- enabled enricher reads (a supplier's daily feed that changes prices and
-- stock, say). The bits are package prodfields' (name 1, description 2,
-- brand 4, gtin 8, price 16, currency 32, stock 64, availability 128,
-- category_path 256, product_url 512, image_urls 1024, attributes 2048).
--
-- products.changed_fields: the columns the product's last update by a
-- merge changed. The merge sets it in its DO UPDATE, where the old and the
-- new row meet, and returns it to the change log; NULL where not known
-- (inserted, reactivated, loaded by COPY, or updated by an older worker).
-- A column without a default: adding it rewrites nothing, and an update
-- stores 4 bytes.
ALTER TABLE products ADD COLUMN changed_fields integer;

-- product_changes.fields[i]: the columns changed for skus[i]; NULL (the
-- array or an element): any may have changed. Entries logged by a worker
-- from before this migration have none.
ALTER TABLE product_changes ADD COLUMN fields integer[];
ALTER TABLE product_changes ALTER fields SET STORAGE EXTERNAL;
ALTER TABLE product_changes ADD CHECK (fields IS NULL OR cardinality(fields) = n);

-- product_changes.tids[i]: where the merge left skus[i]'s row, so that the
-- gardener fetches it there instead of descending the primary key (a
-- third of the cost of a read by key at 5,000 SKUs). A hint, never
-- trusted: the row may have moved since (changed again, vacuumed and its
-- place reused, the table rewritten), and the reader checks what it finds
-- and reads the others by key. NULL: not known.
ALTER TABLE product_changes ADD COLUMN tids tid[];
ALTER TABLE product_changes ALTER tids SET STORAGE EXTERNAL;
ALTER TABLE product_changes ADD CHECK (tids IS NULL OR cardinality(tids) = n);

-- gardener_runs.skipped: logged products the run did not read, because
-- no enabled enricher reads what changed in them.
ALTER TABLE gardener_runs ADD COLUMN skipped bigint NOT NULL DEFAULT 0;
