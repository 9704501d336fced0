-- products.content_hash: workers from this one on write the XXH64 of the
-- product's hashed encoding as 16 upper-case hex digits
-- (product.StoredHash), where they wrote the first 16 lower-case digits of
-- its SHA-256 (all 64 before migration 0020). The case tells the schemes
-- apart (product.SchemeOf), so a re-harvest compares each row with the
-- hash it was written with: rows written before stay as they are until
-- their product changes. Only the column's comment changes here: nothing
-- is rewritten.
COMMENT ON COLUMN products.content_hash IS
    'content hash of the product''s supplier fields: 16 upper-case hex digits of their XXH64; rows written before migration 0021 keep lower-case SHA-256 digits (16, or 64 before 0020); compare left(content_hash, 16)';
