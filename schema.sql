-- specserve schema for MySQL 8 and MariaDB 10.11: the canonical one.
-- All times are UTC, DATETIME(6). Apply with `mysql <db> < schema.sql`
-- (a `specserve db init` command that applies it comes with the store).

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
