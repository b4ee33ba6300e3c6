-- Portal sessions (SPEC sections 5 and 7): single-use links the admin mints so that a browser
-- opens one project's dashboard without a key. Only the SHA-256 of a link's token is kept. A use
-- sets used_at once: `UPDATE … WHERE used_at IS NULL AND expires_at > now` decides between racing
-- uses, so exactly one of them gets the session.
CREATE TABLE portal_links (
  id         TEXT PRIMARY KEY,
  app_id     INTEGER NOT NULL REFERENCES projects (app_id),
  hash       TEXT NOT NULL UNIQUE,
  read_only  INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER
) STRICT;
-- The retention sweep drops links once they have expired (used or not, they open nothing then).
CREATE INDEX portal_links_by_expiry ON portal_links (expires_at);
