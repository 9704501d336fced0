-- quality's stale-stock pass looks, every run, for the products whose
-- stock has been at zero since before a limit (now less zero_stock_days).
-- Through enrichments_sparse_field it read every stored date of the
-- tenant (a tenth of its products in the bench) to keep the few past the
-- limit: about 0.2 s of each run at 1M products, a rerun with nothing
-- changed included. This index orders the dates, in the form Enrich
-- writes them (RFC 3339 in UTC to the second, whose text orders as the
-- time, byte-wise), so the pass reads only those up to the limit; a date
-- written otherwise is indexed as '' and always read, then parsed.
--
-- The field leaves enrichments_sparse_field, which it no longer needs:
-- each of its rows is indexed once, as before. The expression must stay
-- quality.staleSQL's, to the letter.
--
-- The price: this is the first index of enrichments that reads value, and
-- PostgreSQL 15 does not update a row in place (HOT, no new index
-- entries) when a column any index reads changes, whatever the index's
-- predicate. Updating 10,000 brand values of the bench's 1M-product
-- tenant, 17% of the updates were HOT without this index and none with it
-- (pages a COPY filled have little room for HOT). A non-HOT update adds a
-- primary-key entry, 6-9 µs here (158,540 rows into a fresh copy of
-- product_group_members and its two indexes took 2.1-2.8 s): it takes
-- some 25,000 such updates in a run to cost what the pass saves every run.
CREATE INDEX enrichments_stock_zero_since ON enrichments (tenant_id,
    ((CASE WHEN value #>> '{}' LIKE '____-__-__T__:__:__Z' THEN value #>> '{}' ELSE '' END) COLLATE "C"))
    WHERE field = 'quality.stock_zero_since';
DROP INDEX enrichments_sparse_field;
CREATE INDEX enrichments_sparse_field ON enrichments (tenant_id, field)
    WHERE field NOT IN ('brand', 'group', 'category', 'quality.stock_zero_since');
