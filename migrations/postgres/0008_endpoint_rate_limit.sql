-- rateLimitPerSecond (SPEC section 4): a project may cap its endpoint at this many deliveries per
-- second; NULL when it does not.
ALTER TABLE endpoints ADD COLUMN rate_limit_per_second INTEGER;
