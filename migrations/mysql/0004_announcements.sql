-- Announcements: messages to everyone (issue 31, seed 002's broadcast).
CREATE TABLE IF NOT EXISTS announcements (
  id         BIGINT       NOT NULL AUTO_INCREMENT,
  -- NULL once the author's account is deleted: the announcement stays.
  author_id  BIGINT       NULL,
  text       TEXT         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created_at DATETIME(6)  NOT NULL,
  PRIMARY KEY (id),
  CONSTRAINT announcements_author_fk FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
