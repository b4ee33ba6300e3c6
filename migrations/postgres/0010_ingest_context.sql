-- What ingest (src/store/postgres/ingest.ts) reads under a user's advisory lock, each in one call.
--
-- registration_contexts: registrations are recorded in batches (src/store/postgres/ingest.ts): the reports that arrive in
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

-- purchase_context: a purchase takes its user's lock and reads everything its decision needs in one
-- call, as above (a fresh snapshot after the lock). FOR SHARE on the user's registration: erasure
-- and the awaiting-retention sweep cannot remove it while this transaction turns it into an event
-- (they wait, or skip it). The purchase is found by its transactionId.
CREATE FUNCTION purchase_context(p_app_id integer, p_client_uuid text, p_transaction_id text)
RETURNS TABLE (project_exists boolean, endpoint_enabled boolean, event_exists boolean, purchased_by text, answer text,
               registered boolean, store_register boolean, registration_body text, subscriber_hash text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  PERFORM pg_advisory_xact_lock(p_app_id, hashtext(p_client_uuid));
  RETURN QUERY
  SELECT EXISTS (SELECT 1 FROM projects p WHERE p.app_id = p_app_id),
         (SELECT e.enabled FROM endpoints e WHERE e.app_id = p_app_id),
         EXISTS (SELECT 1 FROM events ev WHERE ev.app_id = p_app_id AND ev.client_uuid = p_client_uuid),
         pu.client_uuid, pu.answer,
         r.app_id IS NOT NULL, r.store_register, r.body, r.subscriber_hash
  FROM (SELECT 1) AS one
  LEFT JOIN purchases pu ON pu.app_id = p_app_id AND pu.transaction_id = p_transaction_id
  LEFT JOIN LATERAL (
    SELECT reg.app_id, reg.store_register, reg.body, reg.subscriber_hash FROM registrations reg
    WHERE reg.app_id = p_app_id AND reg.client_uuid = p_client_uuid FOR SHARE
  ) r ON true;
END
$$;
