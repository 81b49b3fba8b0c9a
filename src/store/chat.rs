//! Rooms, their members and their messages: what the chat operations store.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use time::PrimitiveDateTime;

use super::sql::{Dialect, SqlStore, decode_error, like_escaped};
use super::{StoreError, StoreResult};

/// The columns [`SqlStore::room_from_row`] reads, as a `SELECT` list of
/// `rooms` (a macro, so that `concat!` keeps the statements `'static`).
macro_rules! room_columns {
    () => {
        "id, kind, name, visibility, history, created_at"
    };
}

/// A new member's `history_from` (and first read pointer), as SQL over the
/// room `r`: its newest message in a `since_join` room, else 0.
macro_rules! history_from {
    () => {
        "CASE WHEN r.history = 'since_join'
         THEN COALESCE((SELECT MAX(x.id) FROM messages x WHERE x.room_id = r.id), 0) ELSE 0 END"
    };
}

/// Whether a room is two users' own or a named group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    /// Two users' room; the pair has exactly one.
    Direct,
    /// A named room with an owner.
    Group,
}

impl RoomKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Direct => "direct",
            RoomKind::Group => "group",
        }
    }
}

/// Who may find and join a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomVisibility {
    /// By invitation only.
    Private,
    /// Listed by room/discover, joinable by anyone.
    Public,
}

impl RoomVisibility {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomVisibility::Private => "private",
            RoomVisibility::Public => "public",
        }
    }
}

/// Which of a room's messages its members read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryVisibility {
    /// All of them, whenever they joined.
    All,
    /// Those stored after they became a member.
    SinceJoin,
}

impl HistoryVisibility {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryVisibility::All => "all",
            HistoryVisibility::SinceJoin => "since_join",
        }
    }
}

/// A member's standing in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRole {
    /// Adds members (group rooms); passes on when leaving.
    Owner,
    /// Reads and writes.
    Member,
}

impl MemberRole {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Owner => "owner",
            MemberRole::Member => "member",
        }
    }
}

/// Whether a member accepted being in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    /// Added by someone else, not accepted yet: the others see neither
    /// their name nor their presence.
    Invited,
    /// In the room by their own act (created it, opened it, accepted).
    Joined,
}

impl MemberStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Invited => "invited",
            MemberStatus::Joined => "joined",
        }
    }
}

/// A user's place in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// Owner or member.
    pub role: MemberRole,
    /// Invited or joined.
    pub status: MemberStatus,
    /// The newest message of the room they may not read (0: they read all).
    pub history_from: i64,
}

/// A stored room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// Primary key.
    pub id: i64,
    /// Direct or group.
    pub kind: RoomKind,
    /// A group room's name.
    pub name: Option<String>,
    /// Private or public (direct rooms are private).
    pub visibility: RoomVisibility,
    /// Which messages members read.
    pub history: HistoryVisibility,
    /// When created (UTC).
    pub created_at: PrimitiveDateTime,
}

/// A group room to create.
#[derive(Debug, Clone)]
pub struct NewGroupRoom<'a> {
    /// Its owner, who joins it.
    pub owner: i64,
    /// Its name.
    pub name: &'a str,
    /// Users invited (those that exist).
    pub members: &'a [i64],
    /// Private or public.
    pub visibility: RoomVisibility,
    /// Which messages members read.
    pub history: HistoryVisibility,
    /// Now (UTC).
    pub now: PrimitiveDateTime,
}

/// What [`ChatStore::direct_room`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectOpen {
    /// The pair's room is new: the caller joined, the other is invited.
    Created,
    /// The caller joined it now (accepting an invitation, or coming back).
    Joined,
    /// The caller had joined it already.
    AlreadyIn,
}

/// What [`ChatStore::join_public_room`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicJoin {
    /// The user is a joined member now.
    Joined,
    /// The user was a joined member already.
    AlreadyMember,
    /// No such room, or it is not public.
    NotPublic,
}

/// A public room as room/discover lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicRoomRecord {
    /// The room.
    pub room: RoomRecord,
    /// Its joined members.
    pub members: i64,
    /// Whether the user who asked is one of them.
    pub joined: bool,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Primary key; grows with time.
    pub id: i64,
    /// Its room.
    pub room_id: i64,
    /// The sender; `None` once the sender's account is deleted.
    pub author_id: Option<i64>,
    /// The text.
    pub text: String,
    /// The sender's idempotency key.
    pub client_msg_id: Option<String>,
    /// When stored (UTC).
    pub created_at: PrimitiveDateTime,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Its room.
    pub room_id: i64,
    /// The sender.
    pub author_id: i64,
    /// The text.
    pub text: String,
    /// The sender's idempotency key: the same key from the same sender in the
    /// same room is the same message.
    pub client_msg_id: Option<String>,
    /// Now (UTC).
    pub now: PrimitiveDateTime,
    /// Also read the room's previous message, under a lock on the room that
    /// serializes its inserts in the database (so across nodes): a cluster
    /// orders a room's events by it. Costs a transaction; one node keeps the
    /// order with its own lock and does not ask.
    pub linked: bool,
}

/// What [`ChatStore::edit_message`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text was replaced.
    Edited,
    /// No such message in that room.
    NotFound,
    /// Someone else's message (or one whose author was deleted).
    NotAuthor,
}

/// What [`ChatStore::insert_message`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertedMessage {
    /// The message stored, or the original of a retry.
    pub record: MessageRecord,
    /// Whether it was stored now (`false`: a retry).
    pub new: bool,
    /// The room's message before it (id and time), when [`NewMessage::linked`] asked.
    pub previous: Option<(i64, PrimitiveDateTime)>,
}

/// A stored announcement (a message to everyone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementRecord {
    /// Primary key; grows with time.
    pub id: i64,
    /// Who posted it; `None` once their account is deleted.
    pub author_id: Option<i64>,
    /// The text.
    pub text: String,
    /// When stored (UTC).
    pub created_at: PrimitiveDateTime,
}

/// One of a user's rooms, as `room/list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummaryRecord {
    /// The room.
    pub room: RoomRecord,
    /// Its newest message.
    pub last_message: Option<MessageRecord>,
    /// Messages after the user's last-read pointer that others wrote.
    pub unread: i64,
    /// Whether the user accepted the room or is invited to it.
    pub status: MemberStatus,
}

/// A room member, with the name to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// The user.
    pub user_id: i64,
    /// Their name.
    pub name: String,
    /// Owner or member.
    pub role: MemberRole,
    /// Invited or joined.
    pub status: MemberStatus,
}

/// Rooms, members and messages. Every query is parameterized.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// The direct room of `caller` and `other`, created the first time with
    /// `caller` joined and `other` invited (if such a user exists; the reply
    /// is the same either way, so ids cannot be probed). Opening it again
    /// joins `caller` (accepting an invitation, or coming back after
    /// declining); what it did. Concurrent calls get one room.
    async fn direct_room(
        &self,
        caller: i64,
        other: i64,
        now: PrimitiveDateTime,
    ) -> StoreResult<(RoomRecord, DirectOpen)>;
    /// A new group room owned (and joined) by its owner, with those of its
    /// members that exist invited.
    async fn create_group_room(&self, room: NewGroupRoom<'_>) -> StoreResult<RoomRecord>;
    /// Makes `user` a joined member of `room` if it is public (an invitation
    /// to it is accepted too).
    async fn join_public_room(&self, room: i64, user: i64, now: PrimitiveDateTime) -> StoreResult<PublicJoin>;
    /// Public rooms whose name contains `query` (any case; `%`, `_` and `!`
    /// are plain characters), newest first, older than `before`, at most
    /// `limit`; each says whether `user` joined it.
    async fn discover_rooms(
        &self,
        user: i64,
        query: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<PublicRoomRecord>>;
    /// A room by id.
    async fn room(&self, id: i64) -> StoreResult<Option<RoomRecord>>;
    /// `user`'s place in `room`, if a member (invited or joined).
    async fn membership(&self, room: i64, user: i64) -> StoreResult<Option<Membership>>;
    /// Invites `user` to `room`; `false` if already a member or no such user.
    async fn add_member(&self, room: i64, user: i64, now: PrimitiveDateTime) -> StoreResult<bool>;
    /// Accepts `user`'s invitation to `room`; `false` if it had none.
    async fn join_room(&self, room: i64, user: i64) -> StoreResult<bool>;
    /// Removes `user` from `room` (an invited member declines); when the
    /// owner leaves, the longest-standing joined member becomes the owner.
    /// `false` if not a member.
    async fn leave_room(&self, room: i64, user: i64) -> StoreResult<bool>;
    /// A room's members, oldest first.
    async fn members(&self, room: i64) -> StoreResult<Vec<MemberRecord>>;
    /// A room's members' ids, each with whether they joined.
    async fn member_ids(&self, room: i64) -> StoreResult<Vec<(i64, MemberStatus)>>;
    /// `user`'s rooms, most recently active first.
    async fn rooms_of(&self, user: i64) -> StoreResult<Vec<RoomSummaryRecord>>;
    /// Stores a message; with a `client_msg_id` the sender already used in
    /// this room, the original instead.
    async fn insert_message(&self, message: NewMessage) -> StoreResult<InsertedMessage>;
    /// A room's messages older than `before` (all when `None`) and newer
    /// than `after`, newest first, at most `limit`.
    async fn history(&self, room: i64, before: Option<i64>, after: i64, limit: u32) -> StoreResult<Vec<MessageRecord>>;
    /// The messages of `user`'s rooms (joined or invited) after message
    /// `since` that they may read, oldest first, at most `limit`: what a
    /// reconnecting client missed.
    async fn messages_since(&self, user: i64, since: i64, limit: u32) -> StoreResult<Vec<MessageRecord>>;
    /// For each `(room, message)`, whether that message is stored in that
    /// room, in the same order: a cluster believes an event's place in its
    /// room only then, and asks for all the events that came meanwhile at once.
    async fn messages_in_rooms(&self, messages: &[(i64, i64)]) -> StoreResult<Vec<bool>>;
    /// Replaces the text of message `message` of `room` if `author` wrote it.
    async fn edit_message(&self, room: i64, message: i64, author: i64, text: &str) -> StoreResult<Edit>;
    /// Moves `user`'s last-read pointer in `room` forward to `message` (a
    /// message of that room); `false` if it did not move.
    async fn mark_read(&self, room: i64, user: i64, message: i64) -> StoreResult<bool>;
    /// `user`'s contacts: the users who share at least one room with them
    /// where both joined.
    async fn peers_of(&self, user: i64) -> StoreResult<Vec<i64>>;
    /// Stores an announcement by `author`.
    async fn insert_announcement(
        &self,
        author: i64,
        text: &str,
        now: PrimitiveDateTime,
    ) -> StoreResult<AnnouncementRecord>;
    /// Announcements older than `before` (all when `None`), newest first, at most `limit`.
    async fn announcements(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AnnouncementRecord>>;
}

#[async_trait]
impl<DB> ChatStore for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> i64: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> String: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> PrimitiveDateTime: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: Encode<'r, DB> + Type<DB>,
    for<'r> &'r [u8]: Encode<'r, DB> + Type<DB>,
    for<'r> u32: Encode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Encode<'r, DB>,
    for<'r> Option<String>: Encode<'r, DB>,
    for<'r> Option<&'r str>: Encode<'r, DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    async fn direct_room(
        &self,
        caller: i64,
        other: i64,
        now: PrimitiveDateTime,
    ) -> StoreResult<(RoomRecord, DirectOpen)> {
        let key = format!("{}:{}", caller.min(other), caller.max(other));
        let mut connection = self.connections.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let inserted =
            sqlx::query("INSERT INTO rooms (kind, direct_key, created_by, created_at) VALUES ('direct', ?, ?, ?)")
                .bind(&key)
                .bind(caller)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from);
        match inserted {
            Ok(result) => {
                let id = DB::inserted_id(&result);
                Self::join_member(&mut *tx, id, caller, "member", now).await?;
                Self::invite_member(&mut *tx, id, other, now).await?;
                tx.commit().await?;
                let room = RoomRecord {
                    id,
                    kind: RoomKind::Direct,
                    name: None,
                    visibility: RoomVisibility::Private,
                    history: HistoryVisibility::All,
                    created_at: now,
                };
                Ok((room, DirectOpen::Created))
            }
            // The pair has its room already (perhaps made a moment ago
            // by a concurrent call): the caller opening it joins it.
            Err(StoreError::Conflict) => {
                drop(tx);
                let mut connection = self.connections.acquire().await?;
                let row = sqlx::query(concat!("SELECT ", room_columns!(), " FROM rooms WHERE direct_key = ?"))
                    .bind(&key)
                    .fetch_one(&mut *connection)
                    .await?;
                let room = Self::room_from_row(&row)?;
                let joined = Self::join_member(&mut *connection, room.id, caller, "member", now).await?;
                Ok((room, if joined { DirectOpen::Joined } else { DirectOpen::AlreadyIn }))
            }
            Err(error) => Err(error),
        }
    }

    async fn create_group_room(&self, room: NewGroupRoom<'_>) -> StoreResult<RoomRecord> {
        let NewGroupRoom { owner, name, members, visibility, history, now } = room;
        let mut connection = self.connections.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let result = sqlx::query(
            "INSERT INTO rooms (kind, name, visibility, history, created_by, created_at)
             VALUES ('group', ?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(visibility.as_str())
        .bind(history.as_str())
        .bind(owner)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let id = DB::inserted_id(&result);
        Self::join_member(&mut *tx, id, owner, "owner", now).await?;
        let mut invited = std::collections::HashSet::new();
        for member in members.iter().filter(|m| **m != owner) {
            if invited.insert(*member) {
                Self::invite_member(&mut *tx, id, *member, now).await?;
            }
        }
        tx.commit().await?;
        Ok(RoomRecord { id, kind: RoomKind::Group, name: Some(name.to_owned()), visibility, history, created_at: now })
    }

    async fn join_public_room(&self, room: i64, user: i64, now: PrimitiveDateTime) -> StoreResult<PublicJoin> {
        let mut connection = self.connections.acquire().await?;
        let place = Self::membership_on(&mut connection, room, user).await?;
        if place.is_some_and(|place| place.status == MemberStatus::Joined) {
            return Ok(PublicJoin::AlreadyMember);
        }
        let public = sqlx::query("SELECT 1 FROM rooms WHERE id = ? AND visibility = 'public'")
            .bind(room)
            .fetch_optional(&mut *connection)
            .await?
            .is_some();
        if !public {
            return Ok(PublicJoin::NotPublic);
        }
        Ok(if Self::join_member(&mut connection, room, user, "member", now).await? {
            PublicJoin::Joined
        } else {
            PublicJoin::AlreadyMember
        })
    }

    async fn discover_rooms(
        &self,
        user: i64,
        query: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<PublicRoomRecord>> {
        use sqlx::Row;
        let pattern = format!("%{}%", like_escaped(&query.unwrap_or_default().to_lowercase()));
        let rows = sqlx::query(concat!(
            "SELECT ",
            room_columns!(),
            ", (SELECT COUNT(*) FROM room_members m WHERE m.room_id = rooms.id AND m.status = 'joined') AS members,
               (SELECT COUNT(*) FROM room_members m
                WHERE m.room_id = rooms.id AND m.user_id = ? AND m.status = 'joined') AS joined
             FROM rooms
             WHERE visibility = 'public' AND id < ? AND LOWER(name) LIKE ? ESCAPE '!'
             ORDER BY id DESC LIMIT ?"
        ))
        .bind(user)
        .bind(before.unwrap_or(i64::MAX))
        .bind(&pattern)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.connections.acquire().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PublicRoomRecord {
                    room: Self::room_from_row(row)?,
                    members: row.try_get("members")?,
                    joined: row.try_get::<i64, _>("joined")? > 0,
                })
            })
            .collect()
    }

    async fn room(&self, id: i64) -> StoreResult<Option<RoomRecord>> {
        let row = sqlx::query(concat!("SELECT ", room_columns!(), " FROM rooms WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *self.connections.acquire().await?)
            .await?;
        row.map(|row| Self::room_from_row(&row)).transpose()
    }

    async fn membership(&self, room: i64, user: i64) -> StoreResult<Option<Membership>> {
        Self::membership_on(&mut *self.connections.acquire().await?, room, user).await
    }

    async fn add_member(&self, room: i64, user: i64, now: PrimitiveDateTime) -> StoreResult<bool> {
        Self::invite_member(&mut *self.connections.acquire().await?, room, user, now).await
    }

    async fn join_room(&self, room: i64, user: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE room_members SET status = 'joined' WHERE room_id = ? AND user_id = ? AND status = 'invited'",
        )
        .bind(room)
        .bind(user)
        .execute(&mut *self.connections.acquire().await?)
        .await?;
        Ok(DB::rows_affected(&result) > 0)
    }

    async fn leave_room(&self, room: i64, user: i64) -> StoreResult<bool> {
        use sqlx::Row;
        let mut connection = self.connections.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let role = sqlx::query("SELECT role FROM room_members WHERE room_id = ? AND user_id = ?")
            .bind(room)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(role) = role else { return Ok(false) };
        sqlx::query("DELETE FROM room_members WHERE room_id = ? AND user_id = ?")
            .bind(room)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        if member_role(&role.try_get::<String, _>("role")?)? == MemberRole::Owner {
            let heir = sqlx::query(
                "SELECT user_id FROM room_members WHERE room_id = ? AND status = 'joined'
                 ORDER BY joined_at, user_id LIMIT 1",
            )
            .bind(room)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(heir) = heir {
                sqlx::query("UPDATE room_members SET role = 'owner' WHERE room_id = ? AND user_id = ?")
                    .bind(room)
                    .bind(heir.try_get::<i64, _>("user_id")?)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn members(&self, room: i64) -> StoreResult<Vec<MemberRecord>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT m.user_id, u.name, m.role, m.status FROM room_members m JOIN users u ON u.id = m.user_id
             WHERE m.room_id = ? ORDER BY m.joined_at, m.user_id",
        )
        .bind(room)
        .fetch_all(&mut *self.connections.acquire().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MemberRecord {
                    user_id: row.try_get("user_id")?,
                    name: row.try_get("name")?,
                    role: member_role(&row.try_get::<String, _>("role")?)?,
                    status: member_status(&row.try_get::<String, _>("status")?)?,
                })
            })
            .collect()
    }

    async fn member_ids(&self, room: i64) -> StoreResult<Vec<(i64, MemberStatus)>> {
        use sqlx::Row;
        let rows = sqlx::query("SELECT user_id, status FROM room_members WHERE room_id = ?")
            .bind(room)
            .fetch_all(&mut *self.connections.acquire().await?)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("user_id")?, member_status(&row.try_get::<String, _>("status")?)?)))
            .collect()
    }

    async fn rooms_of(&self, user: i64) -> StoreResult<Vec<RoomSummaryRecord>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT r.id, r.kind, r.name, r.visibility, r.history, r.created_at, m.status,
                    (SELECT COUNT(*) FROM messages x
                     WHERE x.room_id = r.id AND x.id > m.last_read_message_id AND x.id > m.history_from
                       AND (x.author_id IS NULL OR x.author_id <> ?)) AS unread,
                    l.id AS last_id, l.author_id AS last_author_id, l.text AS last_text,
                    l.client_msg_id AS last_client_msg_id, l.created_at AS last_created_at
             FROM room_members m
             JOIN rooms r ON r.id = m.room_id
             LEFT JOIN messages l ON l.id = (SELECT MAX(y.id) FROM messages y WHERE y.room_id = r.id)
                                 AND l.id > m.history_from
             WHERE m.user_id = ?
             ORDER BY COALESCE(l.id, 0) DESC, r.id DESC",
        )
        .bind(user)
        .bind(user)
        .fetch_all(&mut *self.connections.acquire().await?)
        .await?;
        rows.iter()
            .map(|row| {
                let room = Self::room_from_row(row)?;
                let last_message = match row.try_get::<Option<i64>, _>("last_id")? {
                    Some(id) => Some(MessageRecord {
                        id,
                        room_id: room.id,
                        author_id: row.try_get("last_author_id")?,
                        text: row.try_get("last_text")?,
                        client_msg_id: row.try_get("last_client_msg_id")?,
                        created_at: row.try_get("last_created_at")?,
                    }),
                    None => None,
                };
                let status = member_status(&row.try_get::<String, _>("status")?)?;
                Ok(RoomSummaryRecord { room, last_message, unread: row.try_get("unread")?, status })
            })
            .collect()
    }

    async fn insert_message(&self, message: NewMessage) -> StoreResult<InsertedMessage> {
        use sqlx::Row;
        let insert = sqlx::query(
            "INSERT INTO messages (room_id, author_id, client_msg_id, text, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(message.room_id)
        .bind(message.author_id)
        .bind(&message.client_msg_id)
        .bind(&message.text)
        .bind(message.now);
        let mut connection = self.connections.acquire().await?;
        // The new message's id, and the room's message before it when linked.
        let inserted: StoreResult<(i64, Option<(i64, PrimitiveDateTime)>)> = match (message.linked, DB::LINKED_INSERT) {
            (true, Some(statement)) => {
                let row = sqlx::query(statement)
                    .bind(message.room_id)
                    .bind(message.author_id)
                    .bind(&message.client_msg_id)
                    .bind(&message.text)
                    .bind(message.now)
                    .fetch_one(&mut *connection)
                    .await;
                match row {
                    Ok(row) => {
                        let previous_id: Option<i64> = row.try_get("previous_id")?;
                        let previous_at: Option<PrimitiveDateTime> = row.try_get("previous_at")?;
                        Ok((row.try_get("id")?, previous_id.zip(previous_at)))
                    }
                    Err(error) => Err(StoreError::from(error)),
                }
            }
            (true, None) => {
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                // Locks the room's row until commit (an update that changes
                // nothing still takes the lock, in InnoDB and in SQLite), so
                // the room's inserts are serialized and "previous" is exact.
                sqlx::query("UPDATE rooms SET id = id WHERE id = ?").bind(message.room_id).execute(&mut *tx).await?;
                let previous =
                    sqlx::query("SELECT id, created_at FROM messages WHERE room_id = ? ORDER BY id DESC LIMIT 1")
                        .bind(message.room_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|row| Ok::<_, sqlx::Error>((row.try_get("id")?, row.try_get("created_at")?)))
                        .transpose()?;
                let inserted = insert.execute(&mut *tx).await.map_err(StoreError::from);
                if inserted.is_ok() {
                    tx.commit().await?;
                }
                inserted.map(|result| (DB::inserted_id(&result), previous))
            }
            (false, _) => {
                insert.execute(&mut *connection).await.map_err(StoreError::from).map(|r| (DB::inserted_id(&r), None))
            }
        };
        match inserted {
            Ok((id, previous)) => {
                let record = MessageRecord {
                    id,
                    room_id: message.room_id,
                    author_id: Some(message.author_id),
                    text: message.text,
                    client_msg_id: message.client_msg_id,
                    created_at: message.now,
                };
                Ok(InsertedMessage { record, new: true, previous })
            }
            // A retry: the sender used this client_msg_id already.
            Err(StoreError::Conflict) => {
                let row = sqlx::query(
                    "SELECT id, room_id, author_id, text, client_msg_id, created_at FROM messages
                     WHERE author_id = ? AND room_id = ? AND client_msg_id = ?",
                )
                .bind(message.author_id)
                .bind(message.room_id)
                .bind(&message.client_msg_id)
                .fetch_one(&mut *connection)
                .await?;
                Ok(InsertedMessage { record: Self::message_from_row(&row)?, new: false, previous: None })
            }
            Err(error) => Err(error),
        }
    }

    async fn history(&self, room: i64, before: Option<i64>, after: i64, limit: u32) -> StoreResult<Vec<MessageRecord>> {
        let rows = sqlx::query(
            "SELECT id, room_id, author_id, text, client_msg_id, created_at FROM messages
             WHERE room_id = ? AND id < ? AND id > ? ORDER BY id DESC LIMIT ?",
        )
        .bind(room)
        .bind(before.unwrap_or(i64::MAX))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.connections.acquire().await?)
        .await?;
        rows.iter().map(|row| Self::message_from_row(row)).collect()
    }

    async fn messages_since(&self, user: i64, since: i64, limit: u32) -> StoreResult<Vec<MessageRecord>> {
        let rows = sqlx::query(
            "SELECT x.id, x.room_id, x.author_id, x.text, x.client_msg_id, x.created_at
             FROM room_members m JOIN messages x ON x.room_id = m.room_id
             WHERE m.user_id = ? AND x.id > ? AND x.id > m.history_from
             ORDER BY x.id LIMIT ?",
        )
        .bind(user)
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.connections.acquire().await?)
        .await?;
        rows.iter().map(|row| Self::message_from_row(row)).collect()
    }

    async fn messages_in_rooms(&self, messages: &[(i64, i64)]) -> StoreResult<Vec<bool>> {
        use sqlx::Row;
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<DB>::new("SELECT id, room_id FROM messages WHERE id IN (");
        let mut list = query.separated(", ");
        for (_, message) in messages {
            list.push_bind(*message);
        }
        query.push(")");
        let rows = query.build().fetch_all(&mut *self.connections.acquire().await?).await?;
        let stored = rows
            .iter()
            .map(|row| Ok((row.try_get("room_id")?, row.try_get("id")?)))
            .collect::<StoreResult<std::collections::HashSet<(i64, i64)>>>()?;
        Ok(messages.iter().map(|wanted| stored.contains(wanted)).collect())
    }

    async fn edit_message(&self, room: i64, message: i64, author: i64, text: &str) -> StoreResult<Edit> {
        use sqlx::Row;
        let mut connection = self.connections.acquire().await?;
        let row = sqlx::query("SELECT author_id FROM messages WHERE id = ? AND room_id = ?")
            .bind(message)
            .bind(room)
            .fetch_optional(&mut *connection)
            .await?;
        let Some(row) = row else { return Ok(Edit::NotFound) };
        if row.try_get::<Option<i64>, _>("author_id")? != Some(author) {
            return Ok(Edit::NotAuthor);
        }
        sqlx::query("UPDATE messages SET text = ? WHERE id = ?")
            .bind(text)
            .bind(message)
            .execute(&mut *connection)
            .await?;
        Ok(Edit::Edited)
    }

    async fn mark_read(&self, room: i64, user: i64, message: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE room_members SET last_read_message_id = ?
             WHERE room_id = ? AND user_id = ? AND last_read_message_id < ?
               AND EXISTS (SELECT 1 FROM messages WHERE id = ? AND room_id = ?)",
        )
        .bind(message)
        .bind(room)
        .bind(user)
        .bind(message)
        .bind(message)
        .bind(room)
        .execute(&mut *self.connections.acquire().await?)
        .await?;
        Ok(DB::rows_affected(&result) > 0)
    }

    async fn insert_announcement(
        &self,
        author: i64,
        text: &str,
        now: PrimitiveDateTime,
    ) -> StoreResult<AnnouncementRecord> {
        let result = sqlx::query("INSERT INTO announcements (author_id, text, created_at) VALUES (?, ?, ?)")
            .bind(author)
            .bind(text)
            .bind(now)
            .execute(&mut *self.connections.acquire().await?)
            .await?;
        let id = DB::inserted_id(&result);
        Ok(AnnouncementRecord { id, author_id: Some(author), text: text.to_owned(), created_at: now })
    }

    async fn announcements(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AnnouncementRecord>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT id, author_id, text, created_at FROM announcements WHERE id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.connections.acquire().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AnnouncementRecord {
                    id: row.try_get("id")?,
                    author_id: row.try_get("author_id")?,
                    text: row.try_get("text")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn peers_of(&self, user: i64) -> StoreResult<Vec<i64>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT DISTINCT b.user_id FROM room_members a
             JOIN room_members b ON b.room_id = a.room_id
             WHERE a.user_id = ? AND b.user_id <> ? AND a.status = 'joined' AND b.status = 'joined'",
        )
        .bind(user)
        .bind(user)
        .fetch_all(&mut *self.connections.acquire().await?)
        .await?;
        rows.iter().map(|row| Ok(row.try_get("user_id")?)).collect()
    }
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> i64: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> String: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> PrimitiveDateTime: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: Encode<'r, DB> + Type<DB>,
    for<'r> &'r [u8]: Encode<'r, DB> + Type<DB>,
    for<'r> u32: Encode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Encode<'r, DB>,
    for<'r> Option<String>: Encode<'r, DB>,
    for<'r> Option<&'r str>: Encode<'r, DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    fn room_from_row(row: &DB::Row) -> StoreResult<RoomRecord> {
        use sqlx::Row;
        let kind = match row.try_get::<String, _>("kind")?.as_str() {
            "direct" => RoomKind::Direct,
            "group" => RoomKind::Group,
            other => return Err(decode_error(format!("unknown room kind `{other}`"))),
        };
        let visibility = match row.try_get::<String, _>("visibility")?.as_str() {
            "private" => RoomVisibility::Private,
            "public" => RoomVisibility::Public,
            other => return Err(decode_error(format!("unknown room visibility `{other}`"))),
        };
        let history = match row.try_get::<String, _>("history")?.as_str() {
            "all" => HistoryVisibility::All,
            "since_join" => HistoryVisibility::SinceJoin,
            other => return Err(decode_error(format!("unknown room history `{other}`"))),
        };
        Ok(RoomRecord {
            id: row.try_get("id")?,
            kind,
            name: row.try_get("name")?,
            visibility,
            history,
            created_at: row.try_get("created_at")?,
        })
    }

    /// `user`'s place in `room`, if a member, on `connection`.
    async fn membership_on(connection: &mut DB::Connection, room: i64, user: i64) -> StoreResult<Option<Membership>> {
        use sqlx::Row;
        let row = sqlx::query("SELECT role, status, history_from FROM room_members WHERE room_id = ? AND user_id = ?")
            .bind(room)
            .bind(user)
            .fetch_optional(&mut *connection)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Membership {
            role: member_role(&row.try_get::<String, _>("role")?)?,
            status: member_status(&row.try_get::<String, _>("status")?)?,
            history_from: row.try_get("history_from")?,
        }))
    }

    fn message_from_row(row: &DB::Row) -> StoreResult<MessageRecord> {
        use sqlx::Row;
        Ok(MessageRecord {
            id: row.try_get("id")?,
            room_id: row.try_get("room_id")?,
            author_id: row.try_get("author_id")?,
            text: row.try_get("text")?,
            client_msg_id: row.try_get("client_msg_id")?,
            created_at: row.try_get("created_at")?,
        })
    }

    /// Makes `user` a joined member of `room` (`role` if new); an
    /// invitation becomes a membership. Whether they joined now (`false`:
    /// they had joined already).
    async fn join_member(
        connection: &mut DB::Connection,
        room: i64,
        user: i64,
        role: &str,
        now: PrimitiveDateTime,
    ) -> StoreResult<bool> {
        let inserted = sqlx::query(concat!(
            "INSERT INTO room_members (room_id, user_id, role, status, joined_at, history_from, last_read_message_id)
             SELECT ?, ?, ?, 'joined', ?, ",
            history_from!(),
            ", ",
            history_from!(),
            " FROM rooms r WHERE r.id = ?"
        ))
        .bind(room)
        .bind(user)
        .bind(role)
        .bind(now)
        .bind(room)
        .execute(&mut *connection)
        .await
        .map_err(StoreError::from);
        match inserted {
            Ok(result) => Ok(DB::rows_affected(&result) > 0),
            Err(StoreError::Conflict) => {
                let result = sqlx::query(
                    "UPDATE room_members SET status = 'joined' WHERE room_id = ? AND user_id = ? AND status = 'invited'",
                )
                .bind(room)
                .bind(user)
                .execute(&mut *connection)
                .await?;
                Ok(DB::rows_affected(&result) > 0)
            }
            Err(error) => Err(error),
        }
    }

    /// Invites `user` to `room` if such a user exists and is not a member;
    /// whether it did. One statement either way, so the two cases look alike.
    async fn invite_member(
        connection: &mut DB::Connection,
        room: i64,
        user: i64,
        now: PrimitiveDateTime,
    ) -> StoreResult<bool> {
        let result = sqlx::query(concat!(
            "INSERT INTO room_members (room_id, user_id, role, status, joined_at, history_from, last_read_message_id)
             SELECT ?, u.id, 'member', 'invited', ?, ",
            history_from!(),
            ", ",
            history_from!(),
            " FROM users u, rooms r
             WHERE u.id = ? AND r.id = ?
               AND NOT EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = u.id)"
        ))
        .bind(room)
        .bind(now)
        .bind(user)
        .bind(room)
        .execute(&mut *connection)
        .await?;
        Ok(DB::rows_affected(&result) > 0)
    }
}

/// A stored member role; anything else means the table was edited by hand.
fn member_role(value: &str) -> StoreResult<MemberRole> {
    match value {
        "owner" => Ok(MemberRole::Owner),
        "member" => Ok(MemberRole::Member),
        other => Err(decode_error(format!("unknown member role `{other}`"))),
    }
}

fn member_status(value: &str) -> StoreResult<MemberStatus> {
    match value {
        "invited" => Ok(MemberStatus::Invited),
        "joined" => Ok(MemberStatus::Joined),
        other => Err(decode_error(format!("unknown member status `{other}`"))),
    }
}
