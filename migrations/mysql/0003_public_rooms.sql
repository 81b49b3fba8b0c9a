-- Public rooms and history for new members (issue 31).

-- `public` rooms are listed by room/discover and joinable by anyone;
-- `private` ones only by invitation. `since_join`: a member reads the
-- messages stored after they became one (room_members.history_from).
ALTER TABLE rooms
  ADD COLUMN visibility ENUM('private', 'public') NOT NULL DEFAULT 'private' AFTER name,
  ADD COLUMN history ENUM('all', 'since_join') NOT NULL DEFAULT 'all' AFTER visibility,
  ADD KEY rooms_public (visibility, id);

-- The newest message a member cannot read (0: they read all): the room's
-- last message when they became a member of a `since_join` room.
ALTER TABLE room_members
  ADD COLUMN history_from BIGINT NOT NULL DEFAULT 0 AFTER last_read_message_id;
