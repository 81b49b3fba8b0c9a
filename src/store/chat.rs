//! Rooms, their members and their messages: what the chat operations store.
//! The SQL is in `sql.rs` beside the users' and tokens', run by both stores.

use std::future::Future;

use time::PrimitiveDateTime;

use super::StoreResult;

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
    /// When created (UTC).
    pub created_at: PrimitiveDateTime,
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
pub trait ChatStore: Send + Sync + 'static {
    /// The direct room of `caller` and `other`, created the first time with
    /// `caller` joined and `other` invited (if such a user exists; the reply
    /// is the same either way, so ids cannot be probed). Opening it again
    /// joins `caller` (accepting an invitation, or coming back after
    /// declining). `true` when it was created now. Concurrent calls get one room.
    fn direct_room(
        &self,
        caller: i64,
        other: i64,
        now: PrimitiveDateTime,
    ) -> impl Future<Output = StoreResult<(RoomRecord, bool)>> + Send;
    /// A new group room owned (and joined) by `owner`, with those of
    /// `members` that exist invited.
    fn create_group_room(
        &self,
        owner: i64,
        name: &str,
        members: &[i64],
        now: PrimitiveDateTime,
    ) -> impl Future<Output = StoreResult<RoomRecord>> + Send;
    /// A room by id.
    fn room(&self, id: i64) -> impl Future<Output = StoreResult<Option<RoomRecord>>> + Send;
    /// `user`'s place in `room`, if a member (invited or joined).
    fn membership(&self, room: i64, user: i64) -> impl Future<Output = StoreResult<Option<Membership>>> + Send;
    /// Invites `user` to `room`; `false` if already a member or no such user.
    fn add_member(
        &self,
        room: i64,
        user: i64,
        now: PrimitiveDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Accepts `user`'s invitation to `room`; `false` if it had none.
    fn join_room(&self, room: i64, user: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Removes `user` from `room` (an invited member declines); when the
    /// owner leaves, the longest-standing joined member becomes the owner.
    /// `false` if not a member.
    fn leave_room(&self, room: i64, user: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// A room's members, oldest first.
    fn members(&self, room: i64) -> impl Future<Output = StoreResult<Vec<MemberRecord>>> + Send;
    /// A room's members' ids, each with whether they joined.
    fn member_ids(&self, room: i64) -> impl Future<Output = StoreResult<Vec<(i64, MemberStatus)>>> + Send;
    /// `user`'s rooms, most recently active first.
    fn rooms_of(&self, user: i64) -> impl Future<Output = StoreResult<Vec<RoomSummaryRecord>>> + Send;
    /// Stores a message; with a `client_msg_id` the sender already used in
    /// this room, the original instead.
    fn insert_message(&self, message: NewMessage) -> impl Future<Output = StoreResult<InsertedMessage>> + Send;
    /// A room's messages older than `before` (all when `None`), newest first, at most `limit`.
    fn history(
        &self,
        room: i64,
        before: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<MessageRecord>>> + Send;
    /// Whether message `message` is stored, in room `room` (a cluster
    /// believes an event's place in its room only then).
    fn message_in_room(&self, room: i64, message: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Moves `user`'s last-read pointer in `room` forward to `message` (a
    /// message of that room); `false` if it did not move.
    fn mark_read(&self, room: i64, user: i64, message: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// `user`'s contacts: the users who share at least one room with them
    /// where both joined.
    fn peers_of(&self, user: i64) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;
}
