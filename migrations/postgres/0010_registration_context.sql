-- A registration's ingest (src/store/postgres/ingest.ts) takes its user's advisory lock, then reads
-- everything its decision needs. As two statements that is two round trips to the server, and on a
-- loaded machine each round trip's socket write and wake-up cost more than the statement itself.
-- One call does both: each statement of a VOLATILE function takes a fresh snapshot (READ
-- COMMITTED), so the read after the lock sees whatever the lock's previous holder committed, as
-- the separate statement did. The answer is one row (the LEFT JOIN on the one-row `(SELECT 1)`
-- answers a row when the user has no registration). No decision is made here: domain/ingest.ts
-- makes it from this row.
CREATE FUNCTION registration_context(p_app_id integer, p_client_uuid text)
RETURNS TABLE (project_exists boolean, endpoint_enabled boolean, purchased boolean, registered boolean, body text, answer text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(p_app_id, hashtext(p_client_uuid));
  RETURN QUERY
  SELECT EXISTS (SELECT 1 FROM projects p WHERE p.app_id = p_app_id),
         (SELECT e.enabled FROM endpoints e WHERE e.app_id = p_app_id),
         EXISTS (SELECT 1 FROM purchases pu WHERE pu.app_id = p_app_id AND pu.client_uuid = p_client_uuid),
         r.app_id IS NOT NULL, r.body, r.answer
  FROM (SELECT 1) AS one
  LEFT JOIN registrations r ON r.app_id = p_app_id AND r.client_uuid = p_client_uuid;
END
$$;
