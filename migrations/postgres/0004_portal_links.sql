-- Portal sessions (SPEC sections 5 and 7): single-use links the admin mints so that a browser
-- opens one project's dashboard without a key. Only the SHA-256 of a link's token is kept. A use
-- sets used_at once: `UPDATE … WHERE used_at IS NULL AND expires_at > now` decides between racing
-- uses (the loser re-reads the row after the winner commits and no longer matches), so exactly
-- one of them gets the session.
CREATE TABLE portal_links (
  id         TEXT COLLATE "C" PRIMARY KEY,
  app_id     INTEGER NOT NULL REFERENCES projects (app_id),
  hash       TEXT NOT NULL UNIQUE,
  read_only  BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at    BIGINT
);
-- The retention sweep drops links once they have expired (used or not, they open nothing then).
CREATE INDEX portal_links_by_expiry ON portal_links (expires_at);
