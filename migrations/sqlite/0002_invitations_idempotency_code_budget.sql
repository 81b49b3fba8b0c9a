-- Security round 3 (issue 28); see migrations/mysql.

ALTER TABLE room_members
  ADD COLUMN status TEXT NOT NULL DEFAULT 'joined' CHECK (status IN ('invited', 'joined'));

DROP INDEX IF EXISTS messages_client_msg_id;
CREATE UNIQUE INDEX messages_client_msg_id ON messages (author_id, room_id, client_msg_id);

ALTER TABLE email_verifications ADD COLUMN day_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE email_verifications ADD COLUMN day_started_at TEXT NULL;
