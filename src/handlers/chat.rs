//! The chat: rooms (room/*), messages (message/*) and presence (presence/*).
//!
//! Who may do what: any user opens the direct room with another user (the
//! pair's one room) or creates a group room, which they then own. Only members
//! read, write or list a room; non-members get `forbidden` whether the room
//! exists or not, so room ids cannot be probed. The owner of a group room adds
//! members; anyone but a direct room's users leaves; when the owner leaves,
//! the longest-standing joined member becomes the owner.
//!
//! Who learns about whom: a user someone else puts in a room (the other user
//! of a direct room, group members, added members) is *invited*. They get the
//! room's messages, but nobody in the room sees their name or presence, and
//! their connections make no `message/delivered`, until they accept
//! (`room/join`, opening the direct room themselves, or writing in the room);
//! leaving declines. A reply never says whether a user id exists. Presence
//! goes to contacts only: users who share a room where both joined.
//!
//! Delivery: a message is stored, then pushed (`message/new`) to every
//! member's bound connections but the one that sent it, under its room's lock
//! so that members see a room's messages in the order they were stored. In a
//! cluster the lock is the room's row in the database, and each event carries
//! the id of the room's message before it, by which every node hands a room's
//! messages over in that order ([`specserve_runtime::hub::Position`]). The
//! sender hears `message/delivered` once another member's connection was handed
//! the message (queued for it; that client's reading it is not observed): once
//! per node that handed it over ([`deliver_receipt`]).
//! Members are read just before the message is stored: one who joins while a
//! message is in flight may not be pushed that message; history has it.

use specserve_runtime::hub::{Audience, Hub, Position};
use specserve_runtime::{ApiError, Detail, Secured};
use tokio::sync::Mutex;

use super::{ChatContext, ChatHandlers, forbidden, not_found, store_error, wire_time};
use crate::api::*;
use crate::cluster::Nodes;
use crate::presence::Visibility;
use crate::store::{
    AnnouncementRecord, Database, DirectOpen, Edit, HistoryVisibility, MemberRole, MemberStatus as StoredStatus,
    Membership, MessageRecord, NewGroupRoom, NewMessage, PublicJoin, RoomKind as StoredKind, RoomRecord,
    RoomVisibility as StoredVisibility, now_utc,
};

/// The chat part of the application: rooms and messages in the store, pushed
/// through the hub, presence for the members' lists.
#[derive(Debug)]
pub struct Chat {
    store: Database,
    publisher: Publisher,
    presence: crate::presence::Presence,
    /// Per-room order: a message is stored and pushed under its room's lock.
    room_locks: RoomLocks,
    nodes: Nodes,
    /// Who may post announcements (`--announcers`).
    announcers: Announcers,
}

/// Who may post announcements (`--announcers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Announcers {
    /// Admins only.
    #[default]
    Admins,
    /// Every user (seed 002's broadcast).
    Everyone,
}

impl Announcers {
    /// The flag's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Announcers::Admins => "admins",
            Announcers::Everyone => "everyone",
        }
    }
}

impl std::fmt::Display for Announcers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Announcers {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "admins" => Ok(Announcers::Admins),
            "everyone" => Ok(Announcers::Everyone),
            other => Err(format!("`{other}` is not who may announce: admins or everyone")),
        }
    }
}

/// A message to store and push ([`Chat::post`]).
struct Post {
    room: i64,
    author: i64,
    text: String,
    client_msg_id: Option<String>,
}

/// Stripes of per-room locks: a room's messages are stored and pushed one at
/// a time, so every member sees them in id order. Rooms share a stripe when
/// their ids collide modulo its size, which only serializes them more.
#[derive(Debug)]
struct RoomLocks([Mutex<()>; 64]);

impl Default for RoomLocks {
    fn default() -> Self {
        RoomLocks(std::array::from_fn(|_| Mutex::new(())))
    }
}

impl RoomLocks {
    fn of(&self, room: i64) -> &Mutex<()> {
        &self.0[room.unsigned_abs() as usize % self.0.len()]
    }
}

/// The hub's receipt hook: tells a message's author it was handed to another
/// member's connection (on the node that did it).
pub(super) fn deliver_receipt(hub: &Hub, author: &str, position: Position) {
    let delivered = MessageDelivered { room_id: position.stream, message_id: position.id };
    if let Err(error) = Publisher::new(hub.clone()).message_delivered(Audience::principal(author), &delivered) {
        tracing::error!(%error, "delivery receipt not sent");
    }
}

/// A bad combination of fields the schema cannot express, as a validation error.
fn invalid(pointer: &str, message: &'static str) -> ApiError {
    ApiError::validation_failed(vec![Detail {
        pointer: pointer.into(),
        keyword: "oneOf".into(),
        message: message.into(),
    }])
}

fn room_view(room: RoomRecord) -> Room {
    Room {
        id: room.id,
        kind: match room.kind {
            StoredKind::Direct => RoomKind::Direct,
            StoredKind::Group => RoomKind::Group,
        },
        name: room.name,
        visibility: match room.visibility {
            StoredVisibility::Private => RoomVisibility::Private,
            StoredVisibility::Public => RoomVisibility::Public,
        },
        history: match room.history {
            HistoryVisibility::All => RoomHistory::All,
            HistoryVisibility::SinceJoin => RoomHistory::SinceJoin,
        },
        created_at: wire_time(room.created_at),
    }
}

/// A stored message as the wire shows it.
pub(super) fn message_view(message: MessageRecord) -> Message {
    Message {
        id: message.id,
        room_id: message.room_id,
        author_id: message.author_id,
        text: message.text,
        created_at: wire_time(message.created_at),
        client_msg_id: message.client_msg_id,
    }
}

fn principals(users: impl IntoIterator<Item = i64>) -> Vec<String> {
    users.into_iter().map(|u| u.to_string()).collect()
}

fn member_status(status: StoredStatus) -> MemberStatus {
    match status {
        StoredStatus::Invited => MemberStatus::Invited,
        StoredStatus::Joined => MemberStatus::Joined,
    }
}

impl Chat {
    pub(super) fn new(
        store: Database,
        publisher: Publisher,
        presence: crate::presence::Presence,
        nodes: Nodes,
        announcers: Announcers,
    ) -> Self {
        Chat { store, publisher, presence, room_locks: RoomLocks::default(), nodes, announcers }
    }

    /// The hub the chat pushes through.
    pub(super) fn hub(&self) -> &Hub {
        self.publisher.hub()
    }

    /// The caller's place in `room`; `forbidden` for a non-member (or no such room).
    async fn member_of(&self, room: i64, user: i64) -> Result<Membership, ApiError> {
        self.store
            .membership(room, user)
            .await
            .map_err(store_error)?
            .ok_or_else(|| forbidden("not a member of this room"))
    }

    /// Stores a message and pushes it, from `connection`: `message/new` to
    /// every member's connections on `/ws` and `NEW_MESSAGE` to their
    /// sockets of the room (`/room/<id>`), but `connection`, which has its
    /// answer; the author hears `message/delivered` once another joined
    /// member's connection took it. A retried `client_msg_id` returns the
    /// original and pushes nothing.
    async fn post(&self, post: Post, connection: u64) -> Result<MessageRecord, ApiError> {
        let Post { room, author, text, client_msg_id } = post;
        // One read answers both "may the author write here" and "who hears it",
        // outside the room's lock (which then covers the insert and the push only).
        let members = self.store.member_ids(room).await.map_err(store_error)?;
        match members.iter().find(|(id, _)| *id == author) {
            None => return Err(forbidden("not a member of this room")),
            // Writing in a room one was invited to accepts it.
            Some((_, StoredStatus::Invited)) => self.accepted(room, author, connection).await?,
            Some((_, StoredStatus::Joined)) => {}
        }
        let _room_order = self.room_locks.of(room).lock().await;
        let linked = self.nodes.cluster().is_some();
        let message = NewMessage { room_id: room, author_id: author, text, client_msg_id, now: now_utc(), linked };
        let inserted = self.store.insert_message(message).await.map_err(store_error)?;
        let stored = inserted.record;
        if !inserted.new {
            // A retry of a message already stored, and pushed when it was.
            return Ok(stored);
        }
        let position = Position {
            stream: stored.room_id,
            id: stored.id,
            after: inserted.previous.map(|(id, _)| id),
            after_age_ms: inserted
                .previous
                .map_or(0, |(_, at)| u64::try_from((stored.created_at - at).whole_milliseconds()).unwrap_or(0)),
        };
        let witnesses = principals(
            members.iter().filter(|(id, status)| *id != author && *status == StoredStatus::Joined).map(|(id, _)| *id),
        );
        let everyone = principals(members.into_iter().map(|(id, _)| id));
        let author_principal = author.to_string();
        let audience = Audience::principals(&everyone)
            .except(connection)
            .in_order(position)
            .with_receipt(&author_principal, &witnesses);
        self.publisher.message_new(audience, &MessageNew { message: message_view(stored.clone()) })?;
        let data = RoomMessageData {
            id: stored.id,
            content: stored.text.clone(),
            sender_id: author,
            created_at: wire_time(stored.created_at),
        };
        // Not `in_order`: the position is `message/new`'s, which a node sequences once
        // (on one node the room's lock keeps this order; across nodes, the bus's).
        let on_sockets = Audience::principals(&everyone).except(connection);
        self.publisher.room_new_message(&room.to_string(), on_sockets, &RoomNewMessage { data })?;
        Ok(stored)
    }

    /// `user` accepted an invitation to `room` on `connection` (see [`Chat::arrived`]).
    async fn accepted(&self, room: i64, user: i64, connection: u64) -> Result<(), ApiError> {
        if self.store.join_room(room, user).await.map_err(store_error)? {
            self.arrived(room, user, connection).await?;
        }
        Ok(())
    }

    /// `user` joined `room` now, on `connection`: its members' connections
    /// (but that one, which has its reply) hear who (`room/memberChanged`),
    /// and its joined members that they are online if they are.
    async fn arrived(&self, room: i64, user: i64, connection: u64) -> Result<(), ApiError> {
        let members = self.store.member_ids(room).await.map_err(store_error)?;
        let name = self.store.user_by_id(user).await.map_err(store_error)?.map(|u| u.name);
        let event = RoomMemberChanged { room_id: room, user_id: user, name, change: MembershipChange::Joined };
        let everyone = principals(members.iter().map(|(id, _)| *id));
        self.publisher.room_member_changed(Audience::principals(&everyone).except(connection), &event)?;
        if !self.presence.is_online(user) {
            return Ok(());
        }
        let joined: Vec<i64> = members
            .into_iter()
            .filter(|(id, status)| *id != user && *status == StoredStatus::Joined)
            .map(|(id, _)| id)
            .collect();
        self.presence.tell(user, true, &joined)
    }
}

impl<C: ChatContext> RoomApi for ChatHandlers<C> {
    type Context = C;

    /// Seed 001's per-room socket: `message/send` with the socket's room.
    async fn say(rq: Secured<'_, C, RoomParams>, request: RoomSay) -> Result<(), ApiError> {
        let (chat, caller, connection) = (rq.part::<Chat>(), rq.principal().user_id, rq.connection().id());
        // The topic is the path's text: only a canonical id reaches the room's sockets.
        let raw = rq.params().room_id.as_str();
        let room = raw.parse::<i64>().ok().filter(|id| *id > 0 && id.to_string() == raw);
        let room = room.ok_or_else(|| forbidden("not a member of this room"))?;
        let posted = Post { room, author: caller, text: request.content, client_msg_id: None };
        chat.post(posted, connection).await?;
        Ok(())
    }

    async fn create(rq: Secured<'_, C>, request: RoomCreatePayload) -> Result<RoomCreateReply, ApiError> {
        let (chat, caller) = (rq.part::<Chat>(), rq.principal().user_id);
        let room = match (request.other_user_id, request.name) {
            (Some(other), None) => {
                if request.member_ids.is_some() {
                    return Err(invalid("/payload/memberIds", "memberIds go with name (a group room)"));
                }
                if request.visibility.is_some() || request.history.is_some() {
                    return Err(invalid("/payload", "a direct room is private, its history whole"));
                }
                if other == caller {
                    return Err(invalid("/payload/otherUserId", "a direct room is with another user"));
                }
                // Invites `other` if such a user exists; the reply is the same either way.
                let (room, opened) = chat.store.direct_room(caller, other, now_utc()).await.map_err(store_error)?;
                // Opening a room one was invited to accepts it, as room/join does.
                if opened == DirectOpen::Joined {
                    chat.arrived(room.id, caller, rq.connection().id()).await?;
                }
                room
            }
            (None, Some(name)) => {
                let members: Vec<i64> = request.member_ids.unwrap_or_default();
                let room = NewGroupRoom {
                    owner: caller,
                    name: &name,
                    members: &members,
                    visibility: match request.visibility.unwrap_or(RoomVisibility::Private) {
                        RoomVisibility::Private => StoredVisibility::Private,
                        RoomVisibility::Public => StoredVisibility::Public,
                    },
                    history: match request.history.unwrap_or(RoomHistory::All) {
                        RoomHistory::All => HistoryVisibility::All,
                        RoomHistory::SinceJoin => HistoryVisibility::SinceJoin,
                    },
                    now: now_utc(),
                };
                chat.store.create_group_room(room).await.map_err(store_error)?
            }
            _ => return Err(invalid("/payload", "give otherUserId (a direct room) or name (a group room)")),
        };
        Ok(RoomCreateReply { room: room_view(room) })
    }

    async fn list(rq: Secured<'_, C>, _request: EmptyPayload) -> Result<RoomListReply, ApiError> {
        let (chat, caller) = (rq.part::<Chat>(), rq.principal().user_id);
        let rooms = chat.store.rooms_of(caller).await.map_err(store_error)?;
        let rooms = rooms
            .into_iter()
            .map(|summary| RoomSummary {
                room: room_view(summary.room),
                last_message: summary.last_message.map(message_view),
                unread: summary.unread,
                status: member_status(summary.status),
            })
            .collect();
        Ok(RoomListReply { rooms })
    }

    async fn add_member(rq: Secured<'_, C>, request: RoomMemberPayload) -> Result<(), ApiError> {
        let (chat, caller) = (rq.part::<Chat>(), rq.principal().user_id);
        let place = chat.member_of(request.room_id, caller).await?;
        if place.role != MemberRole::Owner || place.status != StoredStatus::Joined {
            return Err(forbidden("only the owner adds members"));
        }
        let room =
            chat.store.room(request.room_id).await.map_err(store_error)?.ok_or_else(|| not_found("no such room"))?;
        if room.kind == StoredKind::Direct {
            return Err(forbidden("a direct room has its two users only"));
        }
        // An invitation if such a user exists; the reply is the same either way.
        chat.store.add_member(request.room_id, request.user_id, now_utc()).await.map_err(store_error)?;
        Ok(())
    }

    async fn join(rq: Secured<'_, C>, request: RoomRef) -> Result<(), ApiError> {
        let (chat, caller, room) = (rq.part::<Chat>(), rq.principal().user_id, request.room_id);
        let connection = rq.connection().id();
        match chat.store.membership(room, caller).await.map_err(store_error)? {
            Some(Membership { status: StoredStatus::Joined, .. }) => Ok(()),
            Some(Membership { status: StoredStatus::Invited, .. }) => chat.accepted(room, caller, connection).await,
            None => match chat.store.join_public_room(room, caller, now_utc()).await.map_err(store_error)? {
                PublicJoin::Joined => chat.arrived(room, caller, connection).await,
                PublicJoin::AlreadyMember => Ok(()),
                // The same answer for a private room and for no room at all.
                PublicJoin::NotPublic => Err(forbidden("not invited to this room")),
            },
        }
    }

    async fn leave(rq: Secured<'_, C>, request: RoomRef) -> Result<(), ApiError> {
        let (chat, caller) = (rq.part::<Chat>(), rq.principal().user_id);
        let place = chat.member_of(request.room_id, caller).await?;
        let room =
            chat.store.room(request.room_id).await.map_err(store_error)?.ok_or_else(|| not_found("no such room"))?;
        // Declining an invitation is leaving; a direct room one joined stays.
        if room.kind == StoredKind::Direct && place.status == StoredStatus::Joined {
            return Err(forbidden("a direct room cannot be left"));
        }
        if !chat.store.leave_room(request.room_id, caller).await.map_err(store_error)? {
            return Ok(());
        }
        // An invited member declining was nobody's business.
        if place.status == StoredStatus::Joined {
            let members = chat.store.member_ids(request.room_id).await.map_err(store_error)?;
            let told = principals(members.into_iter().map(|(id, _)| id).chain([caller]));
            let event = RoomMemberChanged {
                room_id: request.room_id,
                user_id: caller,
                name: None,
                change: MembershipChange::Left,
            };
            chat.publisher.room_member_changed(Audience::principals(&told).except(rq.connection().id()), &event)?;
        }
        Ok(())
    }

    async fn discover(rq: Secured<'_, C>, request: RoomDiscoverPayload) -> Result<RoomDiscoverReply, ApiError> {
        let (chat, caller) = (rq.part::<Chat>(), rq.principal().user_id);
        // The schema holds `limit` to 1..=100; one more tells whether a next page exists.
        let limit = u32::try_from(request.limit.clamp(1, 100)).unwrap_or(100);
        let query = request.query.as_deref();
        let mut page =
            chat.store.discover_rooms(caller, query, request.before, limit + 1).await.map_err(store_error)?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let next_cursor = if more { page.last().map(|r| r.room.id) } else { None };
        let rooms = page
            .into_iter()
            .map(|found| PublicRoom { room: room_view(found.room), members: found.members, joined: found.joined })
            .collect();
        Ok(RoomDiscoverReply { rooms, next_cursor })
    }

    async fn members(rq: Secured<'_, C>, request: RoomRef) -> Result<RoomMembersReply, ApiError> {
        let (chat, caller) = (rq.part::<Chat>(), rq.principal().user_id);
        chat.member_of(request.room_id, caller).await?;
        let members = chat.store.members(request.room_id).await.map_err(store_error)?;
        let members = members
            .into_iter()
            .map(|m| {
                // An invited member is a number to the others until they accept.
                let shown = m.status == StoredStatus::Joined || m.user_id == caller;
                let sees_presence = m.user_id == caller || chat.presence.visibility() != Visibility::Nobody;
                RoomMember {
                    online: shown && sees_presence && chat.presence.is_online(m.user_id),
                    name: shown.then_some(m.name),
                    user_id: m.user_id,
                    role: match m.role {
                        MemberRole::Owner => RoomMemberRole::Owner,
                        MemberRole::Member => RoomMemberRole::Member,
                    },
                    status: member_status(m.status),
                }
            })
            .collect();
        Ok(RoomMembersReply { members })
    }
}

impl<C: ChatContext> MessageApi for ChatHandlers<C> {
    type Context = C;

    async fn send(rq: Secured<'_, C>, request: MessageSendPayload) -> Result<MessageSendReply, ApiError> {
        let (chat, caller, connection) = (rq.part::<Chat>(), rq.principal().user_id, rq.connection().id());
        let posted =
            Post { room: request.room_id, author: caller, text: request.text, client_msg_id: request.client_msg_id };
        let stored = chat.post(posted, connection).await?;
        Ok(MessageSendReply { message_id: stored.id, created_at: wire_time(stored.created_at) })
    }

    async fn history(rq: Secured<'_, C>, request: MessageHistoryPayload) -> Result<MessageHistoryReply, ApiError> {
        let (chat, caller) = (rq.part::<Chat>(), rq.principal().user_id);
        let place = chat.member_of(request.room_id, caller).await?;
        // The schema holds `limit` to 1..=100; one more tells whether a next page exists.
        let limit = u32::try_from(request.limit.clamp(1, 100)).unwrap_or(100);
        let (room, before, after) = (request.room_id, request.before, place.history_from);
        let mut page = chat.store.history(room, before, after, limit + 1).await.map_err(store_error)?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let next_cursor = if more { page.last().map(|m| m.id) } else { None };
        Ok(MessageHistoryReply { messages: page.into_iter().map(message_view).collect(), next_cursor })
    }

    async fn edit(rq: Secured<'_, C>, request: MessageEditPayload) -> Result<MessageEditReply, ApiError> {
        let (chat, caller, connection) = (rq.part::<Chat>(), rq.principal().user_id, rq.connection());
        let members = chat.store.member_ids(request.room_id).await.map_err(store_error)?;
        if !members.iter().any(|(id, _)| *id == caller) {
            return Err(forbidden("not a member of this room"));
        }
        let (room, message) = (request.room_id, request.message_id);
        match chat.store.edit_message(room, message, caller, &request.text).await.map_err(store_error)? {
            Edit::Edited => {}
            Edit::NotFound => return Err(not_found("no such message in this room")),
            Edit::NotAuthor => return Err(forbidden("only its author may edit a message")),
        }
        let edited_at = wire_time(now_utc());
        // Every member's connections but the editing one, which has the reply.
        let everyone = principals(members.into_iter().map(|(id, _)| id));
        let event =
            MessageEdited { room_id: room, message_id: message, text: request.text, edited_at: edited_at.clone() };
        chat.publisher.message_edited(Audience::principals(&everyone).except(connection.id()), &event)?;
        Ok(MessageEditReply { edited_at })
    }

    async fn mark_read(rq: Secured<'_, C>, request: MessageMarkReadPayload) -> Result<(), ApiError> {
        let (chat, caller, connection) = (rq.part::<Chat>(), rq.principal().user_id, rq.connection());
        let place = chat.member_of(request.room_id, caller).await?;
        let moved = chat.store.mark_read(request.room_id, caller, request.message_id).await.map_err(store_error)?;
        // An invited member's reading is not told: it would say they are there.
        if moved && place.status == StoredStatus::Joined {
            let members = chat.store.member_ids(request.room_id).await.map_err(store_error)?;
            let everyone = principals(members.into_iter().map(|(id, _)| id));
            let event = RoomRead { room_id: request.room_id, user_id: caller, message_id: request.message_id };
            chat.publisher.room_read(Audience::principals(&everyone).except(connection.id()), &event)?;
        }
        Ok(())
    }
}

/// A stored announcement as the wire shows it.
fn announcement_view(announcement: AnnouncementRecord) -> Announcement {
    Announcement {
        id: announcement.id,
        author_id: announcement.author_id,
        text: announcement.text,
        created_at: wire_time(announcement.created_at),
    }
}

impl<C: ChatContext> AnnouncementApi for ChatHandlers<C> {
    type Context = C;

    /// Seed 002's broadcast, for those `--announcers` names.
    async fn post(rq: Secured<'_, C>, request: AnnouncementPostPayload) -> Result<AnnouncementPostReply, ApiError> {
        let (chat, principal, connection) = (rq.part::<Chat>(), rq.principal(), rq.connection());
        let allowed = match chat.announcers {
            Announcers::Admins => principal.role == Role::Admin,
            Announcers::Everyone => true,
        };
        if !allowed || principal.is_client() {
            return Err(forbidden("only the operator's announcers may announce"));
        }
        let stored = chat.store.insert_announcement(principal.user_id, &request.text, now_utc()).await;
        let stored = stored.map_err(store_error)?;
        let reply = AnnouncementPostReply { announcement_id: stored.id, created_at: wire_time(stored.created_at) };
        let event = AnnouncementNew { announcement: announcement_view(stored) };
        chat.publisher.announcement_new(Audience::bound().except(connection.id()), &event)?;
        Ok(reply)
    }

    async fn history(
        rq: Secured<'_, C>,
        request: AnnouncementHistoryPayload,
    ) -> Result<AnnouncementHistoryReply, ApiError> {
        let chat = rq.part::<Chat>();
        // The schema holds `limit` to 1..=100; one more tells whether a next page exists.
        let limit = u32::try_from(request.limit.clamp(1, 100)).unwrap_or(100);
        let mut page = chat.store.announcements(request.before, limit + 1).await.map_err(store_error)?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let next_cursor = if more { page.last().map(|a| a.id) } else { None };
        Ok(AnnouncementHistoryReply { announcements: page.into_iter().map(announcement_view).collect(), next_cursor })
    }
}

impl<C: ChatContext> PresenceApi for ChatHandlers<C> {
    type Context = C;

    async fn list(rq: Secured<'_, C>, request: PresenceListPayload) -> Result<PresenceListReply, ApiError> {
        let (chat, caller) = (rq.part::<Chat>(), rq.principal().user_id);
        let visible = chat.presence.visible_to(caller, request.user_ids).await.map_err(store_error)?;
        let users =
            visible.into_iter().map(|user_id| Presence { user_id, online: chat.presence.is_online(user_id) }).collect();
        Ok(PresenceListReply { users })
    }

    async fn online(rq: Secured<'_, C>, _request: EmptyPayload) -> Result<PresenceOnlineReply, ApiError> {
        let (chat, caller) = (rq.part::<Chat>(), rq.principal().user_id);
        let (online, truncated) = chat.presence.online_for(caller).await.map_err(store_error)?;
        let users = online.into_iter().map(|(user_id, name)| OnlineUser { user_id, name }).collect();
        Ok(PresenceOnlineReply { users, truncated })
    }
}
