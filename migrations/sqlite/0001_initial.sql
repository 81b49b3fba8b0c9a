-- specserve for the embedded SQLite default, migration 1: the same tables as
-- migrations/mysql. Differences: COLLATE NOCASE folds ASCII letters only;
-- times are ISO-8601 text (UTC).
-- The schema as it was before migrations: every statement is CREATE ... IF
-- NOT EXISTS, so a database made by an older `db init` (which applied
-- schema.sql as it then was) takes this migration as a no-op and goes on
-- from the next one.

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

-- Refresh tokens (see schema.sql).
CREATE TABLE IF NOT EXISTS refresh_tokens (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  family_id       INTEGER NOT NULL,
  token_hash      BLOB    NOT NULL,
  access_token_id INTEGER NOT NULL,
  created_at      TEXT    NOT NULL,
  expires_at      TEXT    NOT NULL,
  used_at         TEXT    NULL,
  revoked_at      TEXT    NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS refresh_tokens_token_hash ON refresh_tokens (token_hash);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_access ON refresh_tokens (access_token_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_user ON refresh_tokens (user_id);

-- Client tokens and email verification (see schema.sql).
CREATE TABLE IF NOT EXISTS client_tokens (
  token_id INTEGER PRIMARY KEY REFERENCES api_tokens (id) ON DELETE CASCADE,
  name     TEXT    NOT NULL,
  scopes   TEXT    NOT NULL
);

CREATE TABLE IF NOT EXISTS email_verifications (
  user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  code_hash  BLOB    NOT NULL,
  expires_at TEXT    NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  sent_at    TEXT    NOT NULL
);

-- The chat (see schema.sql). CREATE ... IF NOT EXISTS: opening a database made
-- before these tables existed adds them and touches no existing row.

CREATE TABLE IF NOT EXISTS rooms (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT    NOT NULL CHECK (kind IN ('direct', 'group')),
  name        TEXT    NULL,
  direct_key  TEXT    NULL,
  created_by  INTEGER NULL REFERENCES users (id) ON DELETE SET NULL,
  created_at  TEXT    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS rooms_direct_key ON rooms (direct_key);

CREATE TABLE IF NOT EXISTS room_members (
  room_id              INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id              INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role                 TEXT    NOT NULL CHECK (role IN ('owner', 'member')),
  joined_at            TEXT    NOT NULL,
  last_read_message_id INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX IF NOT EXISTS room_members_user ON room_members (user_id);

CREATE TABLE IF NOT EXISTS messages (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  room_id       INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  author_id     INTEGER NULL REFERENCES users (id) ON DELETE SET NULL,
  client_msg_id TEXT    NULL,
  text          TEXT    NOT NULL,
  created_at    TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_room ON messages (room_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_msg_id ON messages (author_id, client_msg_id);
