-- Public rooms and history for new members (issue 31); see migrations/mysql.

ALTER TABLE rooms
  ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public'));
ALTER TABLE rooms
  ADD COLUMN history TEXT NOT NULL DEFAULT 'all' CHECK (history IN ('all', 'since_join'));
CREATE INDEX IF NOT EXISTS rooms_public ON rooms (visibility, id);

ALTER TABLE room_members ADD COLUMN history_from INTEGER NOT NULL DEFAULT 0;
