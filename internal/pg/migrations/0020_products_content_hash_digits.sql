-- products.content_hash: what a re-harvest compares to tell a changed
-- product. Workers from this one on write the first 16 hex digits (64 bits)
-- of the product's SHA-256 (product.StoredHashDigits), which is all that
-- was ever compared; rows written before keep all 64 digits, and stay as
-- they are until their content changes (compare left(content_hash, 16)).
-- The 48 digits dropped were about a tenth of a row's bytes. Only the
-- column's comment changes here: nothing is rewritten.
COMMENT ON COLUMN products.content_hash IS
    'first 16 hex digits of the SHA-256 of the product''s supplier fields (all 64 in rows written before migration 0020); compare left(content_hash, 16)';
