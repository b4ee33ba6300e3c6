-- Registrations are recorded in batches (src/store/postgres/ingest.ts): the reports that arrive in
-- one turn of a process's event loop share one transaction. For a batch it takes each user's
-- advisory lock, then reads everything each decision needs. As statements of their own that is a
-- round trip per user and per read, and on a loaded machine each round trip (a socket write and a
-- wake-up on both sides) costs more than the statement. One call does it all:
--
-- - The locks are taken in one order, (app_id, hashtext(client_uuid)), by every caller, so two
--   batches (in two processes) cannot deadlock; a purchase holds one user's lock at a time.
-- - Each statement of a VOLATILE function takes a fresh snapshot (READ COMMITTED): the read after
--   the locks sees whatever their previous holders committed.
-- - One row per input, in input order (ord), also for a user with no registration.
--
-- No decision is made here: domain/ingest.ts makes each from its row.
CREATE FUNCTION registration_contexts(p_app_ids integer[], p_client_uuids text[])
RETURNS TABLE (ord integer, project_exists boolean, endpoint_enabled boolean, purchased boolean, registered boolean, body text, answer text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  u record;
BEGIN
  FOR u IN
    SELECT DISTINCT t.app_id, hashtext(t.client_uuid) AS h FROM unnest(p_app_ids, p_client_uuids) AS t(app_id, client_uuid) ORDER BY 1, 2
  LOOP
    PERFORM pg_advisory_xact_lock(u.app_id, u.h);
  END LOOP;
  RETURN QUERY
  SELECT t.ord::integer,
         EXISTS (SELECT 1 FROM projects p WHERE p.app_id = t.app_id),
         (SELECT e.enabled FROM endpoints e WHERE e.app_id = t.app_id),
         EXISTS (SELECT 1 FROM purchases pu WHERE pu.app_id = t.app_id AND pu.client_uuid = t.client_uuid),
         r.app_id IS NOT NULL, r.body, r.answer
  FROM unnest(p_app_ids, p_client_uuids) WITH ORDINALITY AS t(app_id, client_uuid, ord)
  LEFT JOIN registrations r ON r.app_id = t.app_id AND r.client_uuid = t.client_uuid
  ORDER BY t.ord;
END
$$;
