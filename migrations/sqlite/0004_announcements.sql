-- Announcements (issue 31); see migrations/mysql.
CREATE TABLE IF NOT EXISTS announcements (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  author_id  INTEGER NULL REFERENCES users (id) ON DELETE SET NULL,
  text       TEXT    NOT NULL,
  created_at TEXT    NOT NULL
);
