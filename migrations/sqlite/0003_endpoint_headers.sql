-- Custom headers (SPEC section 4): up to 20 extra request headers per endpoint, sent on every
-- attempt. Sealed at rest like the signing secrets (one sealed JSON object); NULL when none.
ALTER TABLE endpoints ADD COLUMN headers_sealed TEXT;
