-- Security round 3 (issue 28).

-- A member is invited until they accept (room/join, or by writing in the
-- room): until then the others see neither their name nor their presence.
-- Everyone a room had before was there by their own consent.
ALTER TABLE room_members
  ADD COLUMN status ENUM('invited', 'joined') NOT NULL DEFAULT 'joined' AFTER role;

-- Idempotent sends per (sender, room, client id): the same client id used in
-- another room is another message, never the first room's.
ALTER TABLE messages
  DROP INDEX messages_client_msg_id,
  ADD UNIQUE KEY messages_client_msg_id (author_id, room_id, client_msg_id);

-- Wrong codes per account per day, across resends (a resend starts the
-- current code's own budget over, not this one).
ALTER TABLE email_verifications
  ADD COLUMN day_attempts INT NOT NULL DEFAULT 0,
  ADD COLUMN day_started_at DATETIME(6) NULL;
