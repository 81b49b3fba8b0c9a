-- specserve schema for MySQL 8 and MariaDB 10.11: the tables as the
-- migrations in migrations/mysql leave them, in one file to read (a test
-- holds the two to the same columns and keys). `specserve db migrate` (or
-- `db init`) applies the migrations; this file is for reading and for
-- reviews. All times are UTC, DATETIME(6).

CREATE TABLE IF NOT EXISTS users (
  id            BIGINT        NOT NULL AUTO_INCREMENT,
  name          VARCHAR(100)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  -- Case-insensitive collation: the unique key treats Alice@x and alice@x as one email.
  email         VARCHAR(254)  CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
  -- NULL: the account cannot log in until a password is set.
  password_hash VARCHAR(255)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  role          ENUM('user', 'admin') NOT NULL DEFAULT 'user',
  -- The manager: who created this user. Deleting the manager leaves the user unmanaged.
  created_by    BIGINT        NULL,
  created_at    DATETIME(6)   NOT NULL,
  updated_at    DATETIME(6)   NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY users_email (email),
  KEY users_created_by (created_by),
  CONSTRAINT users_created_by_fk FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS api_tokens (
  id           BIGINT        NOT NULL AUTO_INCREMENT,
  user_id      BIGINT        NOT NULL,
  -- SHA-256 of the token; the token itself is never stored.
  token_hash   BINARY(32)    NOT NULL,
  client_ip    VARCHAR(45)   CHARACTER SET ascii COLLATE ascii_bin NULL,
  user_agent   VARCHAR(512)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  created_at   DATETIME(6)   NOT NULL,
  expires_at   DATETIME(6)   NOT NULL,
  revoked_at   DATETIME(6)   NULL,
  last_used_at DATETIME(6)   NULL,
  PRIMARY KEY (id),
  UNIQUE KEY api_tokens_token_hash (token_hash),
  -- Revoke-all-of-a-user and list-live-tokens lookups.
  KEY api_tokens_user_live (user_id, revoked_at, expires_at),
  CONSTRAINT api_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Refresh tokens (auth/generateToken with `refresh`, auth/refresh). One login is
-- one family: its first access token's id is `family_id`; each rotation uses one
-- up (`used_at`) and adds the next. A table of its own, so a database made before
-- it gets it from its migration.
CREATE TABLE IF NOT EXISTS refresh_tokens (
  id              BIGINT        NOT NULL AUTO_INCREMENT,
  user_id         BIGINT        NOT NULL,
  family_id       BIGINT        NOT NULL,
  -- SHA-256 of the token; the token itself is never stored.
  token_hash      BINARY(32)    NOT NULL,
  -- The access token issued with it.
  access_token_id BIGINT        NOT NULL,
  created_at      DATETIME(6)   NOT NULL,
  expires_at      DATETIME(6)   NOT NULL,
  used_at         DATETIME(6)   NULL,
  revoked_at      DATETIME(6)   NULL,
  PRIMARY KEY (id),
  UNIQUE KEY refresh_tokens_token_hash (token_hash),
  KEY refresh_tokens_family (family_id),
  KEY refresh_tokens_access (access_token_id),
  KEY refresh_tokens_user (user_id),
  CONSTRAINT refresh_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Client (service) tokens: an access token of their admin (api_tokens.user_id)
-- limited to scopes (token/createClient). A row here is what makes a token a
-- client token; the token's lifetime and revocation are its api_tokens row's.
CREATE TABLE IF NOT EXISTS client_tokens (
  token_id BIGINT        NOT NULL,
  name     VARCHAR(100)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  -- Space-separated scope names, as the spec spells them.
  scopes   VARCHAR(255)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (token_id),
  CONSTRAINT client_tokens_token_fk FOREIGN KEY (token_id) REFERENCES api_tokens (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Email verification (--require-email-verification): an account with a row
-- here has not proved its email yet and cannot log in. Only the one-time
-- code's SHA-256 is kept; the row goes when the code is accepted.
CREATE TABLE IF NOT EXISTS email_verifications (
  user_id    BIGINT       NOT NULL,
  code_hash  BINARY(32)   NOT NULL,
  expires_at DATETIME(6)  NOT NULL,
  -- Wrong codes entered against the current code.
  attempts   INT          NOT NULL DEFAULT 0,
  -- When the current code was mailed (resends are throttled from it).
  sent_at    DATETIME(6)  NOT NULL,
  -- Wrong codes since day_started_at, across resends (a daily cap per account).
  day_attempts   INT          NOT NULL DEFAULT 0,
  day_started_at DATETIME(6)  NULL,
  PRIMARY KEY (user_id),
  CONSTRAINT email_verifications_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The chat.

CREATE TABLE IF NOT EXISTS rooms (
  id          BIGINT        NOT NULL AUTO_INCREMENT,
  kind        ENUM('direct', 'group') NOT NULL,
  -- Group rooms only.
  name        VARCHAR(100)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  -- `public`: listed by room/discover and joinable by anyone; `private`: by invitation.
  visibility  ENUM('private', 'public') NOT NULL DEFAULT 'private',
  -- `since_join`: a member reads only what was stored after they became one.
  history     ENUM('all', 'since_join') NOT NULL DEFAULT 'all',
  -- Direct rooms only: "<smaller user id>:<larger user id>", unique, so a pair has one room.
  direct_key  VARCHAR(41)   CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_by  BIGINT        NULL,
  created_at  DATETIME(6)   NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY rooms_direct_key (direct_key),
  -- room/discover's pages.
  KEY rooms_public (visibility, id),
  CONSTRAINT rooms_created_by_fk FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS room_members (
  room_id              BIGINT       NOT NULL,
  user_id              BIGINT       NOT NULL,
  role                 ENUM('owner', 'member') NOT NULL,
  -- Invited members have not accepted yet: the others see neither their name
  -- nor their presence until they do (room/join, or writing in the room).
  status               ENUM('invited', 'joined') NOT NULL DEFAULT 'joined',
  joined_at            DATETIME(6)  NOT NULL,
  -- The newest message the member has read (0: none).
  last_read_message_id BIGINT       NOT NULL DEFAULT 0,
  -- The newest message the member may not read (0: none): the room's last
  -- message when they became a member of a `since_join` room.
  history_from         BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id),
  -- A user's rooms, and the rooms two users share.
  KEY room_members_user (user_id),
  CONSTRAINT room_members_room_fk FOREIGN KEY (room_id) REFERENCES rooms (id) ON DELETE CASCADE,
  -- A deleted user leaves every room.
  CONSTRAINT room_members_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS messages (
  id            BIGINT        NOT NULL AUTO_INCREMENT,
  room_id       BIGINT        NOT NULL,
  -- NULL once the author's account is deleted: the message stays, anonymous.
  author_id     BIGINT        NULL,
  client_msg_id VARCHAR(64)   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  text          TEXT          CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created_at    DATETIME(6)   NOT NULL,
  PRIMARY KEY (id),
  -- History pages (newest first, `id < before`) and the unread counts.
  KEY messages_room (room_id, id),
  -- Idempotent sends: one message per sender, room and client id.
  UNIQUE KEY messages_client_msg_id (author_id, room_id, client_msg_id),
  CONSTRAINT messages_room_fk FOREIGN KEY (room_id) REFERENCES rooms (id) ON DELETE CASCADE,
  CONSTRAINT messages_author_fk FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Announcements: messages to everyone (announcement/post, seed 002's broadcast).
CREATE TABLE IF NOT EXISTS announcements (
  id         BIGINT       NOT NULL AUTO_INCREMENT,
  -- NULL once the author's account is deleted: the announcement stays.
  author_id  BIGINT       NULL,
  text       TEXT         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created_at DATETIME(6)  NOT NULL,
  PRIMARY KEY (id),
  CONSTRAINT announcements_author_fk FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- A message of a clustered room, with the room's message before it, in one
-- statement: the room's row lock is held only while the server runs it
-- (migrations/mysql/0005_linked_insert_procedure.sql says why).
CREATE PROCEDURE specserve_insert_linked_message(
  IN p_room BIGINT,
  IN p_author BIGINT,
  IN p_client_msg_id VARCHAR(64),
  IN p_text TEXT,
  IN p_now DATETIME(6))
  MODIFIES SQL DATA
BEGIN
  DECLARE new_id BIGINT;
  DECLARE previous_id BIGINT DEFAULT NULL;
  DECLARE previous_at DATETIME(6) DEFAULT NULL;
  -- Any failure (a retried client_msg_id is a duplicate key) undoes it all
  -- and reaches the caller as it was raised.
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  UPDATE rooms SET id = id WHERE id = p_room;
  SELECT m.id, m.created_at INTO previous_id, previous_at
    FROM messages m WHERE m.room_id = p_room ORDER BY m.id DESC LIMIT 1;
  INSERT INTO messages (room_id, author_id, client_msg_id, text, created_at)
    VALUES (p_room, p_author, p_client_msg_id, p_text, p_now);
  SET new_id = LAST_INSERT_ID();
  COMMIT;
  SELECT new_id AS id, previous_id, previous_at;
END;
