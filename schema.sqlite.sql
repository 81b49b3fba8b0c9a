-- specserve schema for the embedded SQLite default: the same tables as
-- schema.sql (MySQL/MariaDB). Applied automatically when the SQLite store opens.
-- Differences: COLLATE NOCASE folds ASCII letters only; times are ISO-8601 text (UTC).

CREATE TABLE IF NOT EXISTS users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT    NOT NULL,
  email         TEXT    NOT NULL COLLATE NOCASE,
  password_hash TEXT    NULL,
  role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_by    INTEGER NULL REFERENCES users (id) ON DELETE SET NULL,
  created_at    TEXT    NOT NULL,
  updated_at    TEXT    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email ON users (email COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS users_created_by ON users (created_by);

CREATE TABLE IF NOT EXISTS api_tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash   BLOB    NOT NULL,
  client_ip    TEXT    NULL,
  user_agent   TEXT    NULL,
  created_at   TEXT    NOT NULL,
  expires_at   TEXT    NOT NULL,
  revoked_at   TEXT    NULL,
  last_used_at TEXT    NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_tokens_token_hash ON api_tokens (token_hash);
CREATE INDEX IF NOT EXISTS api_tokens_user_live ON api_tokens (user_id, revoked_at, expires_at);
