-- enrichments' primary key leads with the SKU, as products' does (0003).
-- A gardener batch inserts a million-product catalogue's two million rows
-- one index entry at a time, and every comparison on the way into the old
-- key (tenant_id, supplier_code, sku, field) first compared two columns
-- that are equal for the whole batch. A COPY of the bench's 1,990,357 rows
-- (its 1M catalogue) cost the server 20.3 CPU-seconds into the old key,
-- 15.5 into this one and 8.8 into no index; building this key afterwards
-- cost 5.4, so a load path that builds the key once would save little more.
--
-- Lookups still find what they need: a product's fields by (sku,
-- supplier_code, tenant_id), a batch's stored rows by an SKU range, and
-- ON CONFLICT names the same columns (conflict targets are sets).
ALTER TABLE enrichments DROP CONSTRAINT enrichments_pkey;
ALTER TABLE enrichments ADD CONSTRAINT enrichments_pkey PRIMARY KEY (sku, supplier_code, tenant_id, field);
