-- A cluster orders a room's messages by each one naming the message before
-- it, read under a lock on the room's row (issue 16). As separate statements
-- that was a transaction of five round trips (BEGIN, the lock, the read, the
-- insert, COMMIT) holding the lock across three of them, which bounded a
-- room at one message per ~4 round trips cluster-wide (issue 33 item 3).
-- Called as one statement, the same transaction holds the lock only while
-- the server runs it.
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
