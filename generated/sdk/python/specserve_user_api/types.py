"""The types of specserve user API 0.1.0, generated from its AsyncAPI document: do not edit.

Objects are dataclasses (wire names in each field's metadata), enums and
constants `Literal`s, unions `Union`s; `_wire.decode` and `_wire.encode`
convert them from and to JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

from ._wire import Tagged


UserName = str
# A display name, 1 to 100 characters, without control characters (they would reach operators' terminals and logs).
#
# Constraints: 1 to 100 characters, matches `^[^\u0000-\u001F\u007F-\u009F]*$`.


Email = str
# An email address, unique per account regardless of case.
#
# Constraints: at most 254 characters, format `email`.


Password = str
# A password, 8 to 128 characters, never returned and never logged.
#
# Constraints: 8 to 128 characters.


@dataclass
class AuthRegisterPayload:
    """A new account."""

    name: UserName = field(metadata={"json": "name"})
    """A display name, 1 to 100 characters, without control characters (they would reach operators' terminals and logs)."""
    email: Email = field(metadata={"json": "email"})
    """An email address, unique per account regardless of case."""
    password: Password = field(metadata={"json": "password"})
    """A password, 8 to 128 characters, never returned and never logged."""


@dataclass
class AuthRegisterRequest:
    """A new account's name, email and password."""

    payload: AuthRegisterPayload = field(metadata={"json": "payload"})
    """A new account."""


@dataclass
class AuthGenerateTokenPayload:
    """Log-in credentials."""

    email: Email = field(metadata={"json": "email"})
    """An email address, unique per account regardless of case."""
    password: Password = field(metadata={"json": "password"})
    """A password, 8 to 128 characters, never returned and never logged."""
    refresh: Optional[bool] = field(default=None, metadata={"json": "refresh"})
    """A short-lived access token plus a refresh token, instead of one long-lived token."""


@dataclass
class AuthGenerateTokenRequest:
    """The account's email and password."""

    payload: AuthGenerateTokenPayload = field(metadata={"json": "payload"})
    """Log-in credentials."""


ApiToken = str
# An API token from `auth/generateToken`.
#
# Constraints: 1 to 256 characters.


@dataclass
class AuthRefreshPayload:
    """The refresh token to use up."""

    refresh_token: ApiToken = field(metadata={"json": "refreshToken"})
    """An API token from `auth/generateToken`."""


@dataclass
class AuthRefreshRequest:
    """The refresh token from auth/generateToken or the last auth/refresh."""

    payload: AuthRefreshPayload = field(metadata={"json": "payload"})
    """The refresh token to use up."""


VerificationCode = str
# The 6-digit code from the verification mail.
#
# Constraints: matches `^[0-9]{6}$`.


@dataclass
class AuthVerifyEmailPayload:
    """The account and its code."""

    email: Email = field(metadata={"json": "email"})
    """An email address, unique per account regardless of case."""
    code: VerificationCode = field(metadata={"json": "code"})
    """The 6-digit code from the verification mail."""


@dataclass
class AuthVerifyEmailRequest:
    """The account's email and the 6-digit code mailed to it."""

    payload: AuthVerifyEmailPayload = field(metadata={"json": "payload"})
    """The account and its code."""


@dataclass
class AuthResendVerificationPayload:
    """The account to mail a new code to."""

    email: Email = field(metadata={"json": "email"})
    """An email address, unique per account regardless of case."""


@dataclass
class AuthResendVerificationRequest:
    """The email of the unverified account."""

    payload: AuthResendVerificationPayload = field(metadata={"json": "payload"})
    """The account to mail a new code to."""


@dataclass
class AuthLogoutPayload:
    """Empty; the token to revoke is the one the frame is authenticated with."""



@dataclass
class AuthLogoutRequest:
    """No fields; the token to revoke is the one the frame is authenticated with."""

    payload: AuthLogoutPayload = field(metadata={"json": "payload"})
    """Empty; the token to revoke is the one the frame is authenticated with."""


Role = Literal["user", "admin"]
# What a user may do. An `admin` may read, update and delete anyone.


EmailVerified = Literal[True]
# An admin's word that the user owns this email: with
# `--require-email-verification`, the account logs in without a mailed
# code. Admins only (`forbidden` otherwise); audited.
#
# Constraints: always `true`.


@dataclass
class UserCreatePayload:
    """A new user, managed by its creator."""

    name: UserName = field(metadata={"json": "name"})
    """A display name, 1 to 100 characters, without control characters (they would reach operators' terminals and logs)."""
    email: Email = field(metadata={"json": "email"})
    """An email address, unique per account regardless of case."""
    password: Optional[Password] = field(default=None, metadata={"json": "password"})
    """A password, 8 to 128 characters, never returned and never logged."""
    role: Optional[Role] = field(default=None, metadata={"json": "role"})
    """What a user may do. An `admin` may read, update and delete anyone."""
    email_verified: Optional[EmailVerified] = field(default=None, metadata={"json": "emailVerified"})
    """An admin's word that the user owns this email: with"""


@dataclass
class UserCreateRequest:
    """The new user's name and email, and optionally a password and role."""

    payload: UserCreatePayload = field(metadata={"json": "payload"})
    """A new user, managed by its creator."""


UserId = int
# A user's id.
#
# Constraints: at least 1.


@dataclass
class UserRef:
    """Names one user by id."""

    id: UserId = field(metadata={"json": "id"})
    """A user's id."""


@dataclass
class UserReadRequest:
    """The id of the user to read."""

    payload: UserRef = field(metadata={"json": "payload"})
    """Names one user by id."""


@dataclass
class UserUpdatePayload:
    """The user to change and the fields to change; absent fields stay as they are."""

    id: UserId = field(metadata={"json": "id"})
    """A user's id."""
    name: Optional[UserName] = field(default=None, metadata={"json": "name"})
    """A display name, 1 to 100 characters, without control characters (they would reach operators' terminals and logs)."""
    email: Optional[Email] = field(default=None, metadata={"json": "email"})
    """An email address, unique per account regardless of case."""
    password: Optional[Password] = field(default=None, metadata={"json": "password"})
    """A password, 8 to 128 characters, never returned and never logged."""
    role: Optional[Role] = field(default=None, metadata={"json": "role"})
    """What a user may do. An `admin` may read, update and delete anyone."""
    email_verified: Optional[EmailVerified] = field(default=None, metadata={"json": "emailVerified"})
    """An admin's word that the user owns this email: with"""


@dataclass
class UserUpdateRequest:
    """The user's id and the fields to change."""

    payload: UserUpdatePayload = field(metadata={"json": "payload"})
    """The user to change and the fields to change; absent fields stay as they are."""


@dataclass
class UserDeleteRequest:
    """The id of the user to delete."""

    payload: UserRef = field(metadata={"json": "payload"})
    """Names one user by id."""


@dataclass
class DirectoryPayload:
    """What to look for, and where the page starts."""

    query: Optional[str] = field(default=None, metadata={"json": "query"})
    """Text the name contains, in any case."""
    after: Optional[UserId] = field(default=None, metadata={"json": "after"})
    """A user's id."""
    limit: int = field(default=50, metadata={"json": "limit"})
    """How many users at most."""


@dataclass
class UserDirectoryRequest:
    """Users the caller may see whose name contains a text, by id, a page at a time."""

    payload: DirectoryPayload = field(metadata={"json": "payload"})
    """What to look for, and where the page starts."""


MessageId = int
# A message's id; ids grow with time, in every room.
#
# Constraints: at least 1.


@dataclass
class AuthBindPayload:
    """Optionally, where the client's view of its rooms ends."""

    since: Optional[MessageId] = field(default=None, metadata={"json": "since"})
    """The id of the newest message the client saw (for `missed`)."""


@dataclass
class AuthBindRequest:
    """Bind this connection to the caller, so the caller's events reach it."""

    payload: AuthBindPayload = field(metadata={"json": "payload"})
    """Optionally, where the client's view of its rooms ends."""


RoomName = str
# A group room's name, 1 to 100 characters, without control characters.
#
# Constraints: 1 to 100 characters, matches `^[^\u0000-\u001F\u007F-\u009F]*$`.


RoomVisibility = Literal["private", "public"]
# `private`: joined by invitation only (direct rooms are); `public`:
# listed by `room/discover` and joinable by anyone.


RoomHistory = Literal["all", "sinceJoin"]
# Which messages a member reads: `all` of the room's, or those stored
# since they became a member (`sinceJoin`).


@dataclass
class RoomCreatePayload:
    """`otherUserId` for the direct room with that user, or `name` (and `memberIds`) for a new group room."""

    other_user_id: Optional[UserId] = field(default=None, metadata={"json": "otherUserId"})
    """A user's id."""
    name: Optional[RoomName] = field(default=None, metadata={"json": "name"})
    """A group room's name, 1 to 100 characters, without control characters."""
    member_ids: Optional[list[UserId]] = field(default=None, metadata={"json": "memberIds"})
    """The group room's first members besides the caller."""
    visibility: Optional[RoomVisibility] = field(default=None, metadata={"json": "visibility"})
    """A group room's visibility (`private` unless given)."""
    history: Optional[RoomHistory] = field(default=None, metadata={"json": "history"})
    """Which messages a group room's members read (`all` unless given)."""


@dataclass
class RoomCreateRequest:
    """Open the direct room with another user, or create a group room."""

    payload: RoomCreatePayload = field(metadata={"json": "payload"})
    """`otherUserId` for the direct room with that user, or `name` (and `memberIds`) for a new group room."""


@dataclass
class EmptyPayload:
    """No fields."""



@dataclass
class RoomListRequest:
    """The caller's rooms, most recently active first, with the last message and the unread count."""

    payload: EmptyPayload = field(metadata={"json": "payload"})
    """No fields."""


RoomId = int
# A room's id.
#
# Constraints: at least 1.


@dataclass
class RoomMemberPayload:
    """A room and a user."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""


@dataclass
class RoomAddMemberRequest:
    """Add a user to a group room the caller owns."""

    payload: RoomMemberPayload = field(metadata={"json": "payload"})
    """A room and a user."""


@dataclass
class RoomRef:
    """Names one room."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""


@dataclass
class RoomLeaveRequest:
    """Leave a group room."""

    payload: RoomRef = field(metadata={"json": "payload"})
    """Names one room."""


@dataclass
class RoomJoinRequest:
    """Join a room the caller was invited to."""

    payload: RoomRef = field(metadata={"json": "payload"})
    """Names one room."""


@dataclass
class RoomMembersRequest:
    """A room's members, their role and whether they are online."""

    payload: RoomRef = field(metadata={"json": "payload"})
    """Names one room."""


@dataclass
class RoomDiscoverPayload:
    """What to look for, and where the page ends."""

    query: Optional[str] = field(default=None, metadata={"json": "query"})
    """Text the name contains, in any case."""
    before: Optional[RoomId] = field(default=None, metadata={"json": "before"})
    """A room's id."""
    limit: int = field(default=50, metadata={"json": "limit"})
    """How many rooms at most."""


@dataclass
class RoomDiscoverRequest:
    """Public rooms whose name contains a text, newest first, a page at a time."""

    payload: RoomDiscoverPayload = field(metadata={"json": "payload"})
    """What to look for, and where the page ends."""


MessageText = str
# A message's text, 1 to 4000 characters; tabs and line breaks allowed, other control characters not.
#
# Constraints: 1 to 4000 characters, matches `^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$`.


ClientMsgId = str
# Chosen by the sender; the same id from the same sender is the same message.
#
# Constraints: 1 to 64 characters.


@dataclass
class MessageSendPayload:
    """The message to send."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    text: MessageText = field(metadata={"json": "text"})
    """A message's text, 1 to 4000 characters; tabs and line breaks allowed, other control characters not."""
    client_msg_id: Optional[ClientMsgId] = field(default=None, metadata={"json": "clientMsgId"})
    """Chosen by the sender; the same id from the same sender is the same message."""


@dataclass
class MessageSendRequest:
    """Store a message in a room and push it to the room's members."""

    payload: MessageSendPayload = field(metadata={"json": "payload"})
    """The message to send."""


@dataclass
class MessageHistoryPayload:
    """Which room, and where the page ends."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    before: Optional[MessageId] = field(default=None, metadata={"json": "before"})
    """A message's id; ids grow with time, in every room."""
    limit: int = field(default=50, metadata={"json": "limit"})
    """How many messages at most."""


@dataclass
class MessageHistoryRequest:
    """A room's messages, newest first, a page at a time."""

    payload: MessageHistoryPayload = field(metadata={"json": "payload"})
    """Which room, and where the page ends."""


@dataclass
class MessageMarkReadPayload:
    """The room and the newest message the caller has read."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    message_id: MessageId = field(metadata={"json": "messageId"})
    """A message's id; ids grow with time, in every room."""


@dataclass
class MessageMarkReadRequest:
    """Move the caller's last-read pointer in a room forward."""

    payload: MessageMarkReadPayload = field(metadata={"json": "payload"})
    """The room and the newest message the caller has read."""


@dataclass
class MessageEditPayload:
    """The message and its new text."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    message_id: MessageId = field(metadata={"json": "messageId"})
    """A message's id; ids grow with time, in every room."""
    text: MessageText = field(metadata={"json": "text"})
    """A message's text, 1 to 4000 characters; tabs and line breaks allowed, other control characters not."""


@dataclass
class MessageEditRequest:
    """Replace the text of a message the caller sent."""

    payload: MessageEditPayload = field(metadata={"json": "payload"})
    """The message and its new text."""


@dataclass
class PresenceListPayload:
    """The users to ask about."""

    user_ids: list[UserId] = field(metadata={"json": "userIds"})
    """Constraints: 1 to 100 items, items unique."""


@dataclass
class PresenceListRequest:
    """Whether users who share a room with the caller are online."""

    payload: PresenceListPayload = field(metadata={"json": "payload"})
    """The users to ask about."""


@dataclass
class PresenceOnlineRequest:
    """The users online now whom the caller may see."""

    payload: EmptyPayload = field(metadata={"json": "payload"})
    """No fields."""


@dataclass
class AnnouncementPostPayload:
    """The announcement."""

    text: MessageText = field(metadata={"json": "text"})
    """A message's text, 1 to 4000 characters; tabs and line breaks allowed, other control characters not."""


@dataclass
class AnnouncementPostRequest:
    """Post a message to everyone; every signed-in connection hears it."""

    payload: AnnouncementPostPayload = field(metadata={"json": "payload"})
    """The announcement."""


AnnouncementId = int
# An announcement's id; ids grow with time.
#
# Constraints: at least 1.


@dataclass
class AnnouncementHistoryPayload:
    """Where the page ends."""

    before: Optional[AnnouncementId] = field(default=None, metadata={"json": "before"})
    """An announcement's id; ids grow with time."""
    limit: int = field(default=50, metadata={"json": "limit"})
    """How many announcements at most."""


@dataclass
class AnnouncementHistoryRequest:
    """Announcements, newest first, a page at a time."""

    payload: AnnouncementHistoryPayload = field(metadata={"json": "payload"})
    """Where the page ends."""


@dataclass
class TokenListRequest:
    """No fields; the caller's sessions."""

    payload: EmptyPayload = field(metadata={"json": "payload"})
    """No fields."""


TokenId = int
# A token's id (not the token).
#
# Constraints: at least 1.


@dataclass
class TokenRevokePayload:
    """The session to end."""

    token_id: TokenId = field(metadata={"json": "tokenId"})
    """A token's id (not the token)."""


@dataclass
class TokenRevokeRequest:
    """The id of the token to revoke, from token/list."""

    payload: TokenRevokePayload = field(metadata={"json": "payload"})
    """The session to end."""


ClientTokenName = str
# What a client token is for, as its admin named it.
#
# Constraints: 1 to 100 characters.


Scope = Literal["users:create", "users:read", "users:delete"]
# What a client token may do: each scope is required by one security
# scheme (`clientUsersCreate`, `clientUsersRead`, `clientUsersDelete`),
# and an operation that lists that scheme accepts the token.


Scopes = list["Scope"]
# A client token's scopes.
#
# Constraints: 1 to 3 items, items unique.


@dataclass
class TokenCreateClientPayload:
    """A new client token."""

    name: ClientTokenName = field(metadata={"json": "name"})
    """What a client token is for, as its admin named it."""
    scopes: Scopes = field(metadata={"json": "scopes"})
    """A client token's scopes."""
    expires_in_days: int = field(default=90, metadata={"json": "expiresInDays"})
    """Days until it expires."""


@dataclass
class TokenCreateClientRequest:
    """What the token is for, its scopes and lifetime."""

    payload: TokenCreateClientPayload = field(metadata={"json": "payload"})
    """A new client token."""


@dataclass
class RoomSay:
    """A message for this socket's room."""

    content: MessageText = field(metadata={"json": "content"})
    """A message's text, 1 to 4000 characters; tabs and line breaks allowed, other control characters not."""


@dataclass
class AuthRegisterReply:
    """The new account's id."""

    user_id: Optional[UserId] = field(default=None, metadata={"json": "userId"})
    """The new account's id; absent with email verification (auth/verifyEmail returns it)."""
    email_verification_required: Optional[bool] = field(default=None, metadata={"json": "emailVerificationRequired"})
    """Present (true) when the server requires email verification: a code"""


Timestamp = str
# An instant in UTC, ISO-8601.
#
# Constraints: format `date-time`.


@dataclass
class AuthGenerateTokenReply:
    """A new API token and when it expires."""

    token: ApiToken = field(metadata={"json": "token"})
    """An API token from `auth/generateToken`."""
    expires_at: Timestamp = field(metadata={"json": "expires_at"})
    """An instant in UTC, ISO-8601."""
    refresh_token: Optional[ApiToken] = field(default=None, metadata={"json": "refresh_token"})
    """An API token from `auth/generateToken`."""
    refresh_expires_at: Optional[Timestamp] = field(default=None, metadata={"json": "refresh_expires_at"})
    """An instant in UTC, ISO-8601."""


@dataclass
class AuthRefreshReply:
    """A new access token and a new refresh token; the old refresh token is used up."""

    token: ApiToken = field(metadata={"json": "token"})
    """An API token from `auth/generateToken`."""
    expires_at: Timestamp = field(metadata={"json": "expires_at"})
    """An instant in UTC, ISO-8601."""
    refresh_token: ApiToken = field(metadata={"json": "refresh_token"})
    """An API token from `auth/generateToken`."""
    refresh_expires_at: Timestamp = field(metadata={"json": "refresh_expires_at"})
    """An instant in UTC, ISO-8601."""


@dataclass
class AuthVerifyEmailReply:
    """The account is verified and may log in."""

    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""


@dataclass
class UserCreateReply:
    """The new user's id."""

    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""


@dataclass
class UserReadReply:
    """The user, as the bare object of the seed README plus its role."""

    id: UserId = field(metadata={"json": "id"})
    """A user's id."""
    name: UserName = field(metadata={"json": "name"})
    """A display name, 1 to 100 characters, without control characters (they would reach operators' terminals and logs)."""
    email: Email = field(metadata={"json": "email"})
    """An email address, unique per account regardless of case."""
    role: Role = field(metadata={"json": "role"})
    """What a user may do. An `admin` may read, update and delete anyone."""
    created_at: Timestamp = field(metadata={"json": "created_at"})
    """An instant in UTC, ISO-8601."""


@dataclass
class ConnectionLimits:
    """What the server enforces on this connection."""

    max_message_bytes: int = field(metadata={"json": "maxMessageBytes"})
    """The largest message the server accepts; a larger one closes the connection 1009."""
    frames_per_second: float = field(metadata={"json": "framesPerSecond"})
    """Frames a connection may send per second, sustained; more are refused `rate_limited`."""
    frame_burst: float = field(metadata={"json": "frameBurst"})
    """Frames a connection may send in a burst."""
    event_queue: int = field(metadata={"json": "eventQueue"})
    """Events waiting for a connection that does not read before it is closed 1008."""


@dataclass
class BoundSession:
    """Who the server believes a connection is, and its limits."""

    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""
    role: Role = field(metadata={"json": "role"})
    """What a user may do. An `admin` may read, update and delete anyone."""
    token_id: TokenId = field(metadata={"json": "tokenId"})
    """The token (session) it was bound through, as token/list shows it."""
    limits: ConnectionLimits = field(metadata={"json": "limits"})
    """What the server enforces on this connection."""


@dataclass
class Message:
    """A message of a room."""

    id: MessageId = field(metadata={"json": "id"})
    """A message's id; ids grow with time, in every room."""
    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    text: MessageText = field(metadata={"json": "text"})
    """A message's text, 1 to 4000 characters; tabs and line breaks allowed, other control characters not."""
    created_at: Timestamp = field(metadata={"json": "createdAt"})
    """An instant in UTC, ISO-8601."""
    author_id: Optional[UserId] = field(default=None, metadata={"json": "authorId"})
    """The sender; absent once the sender's account is deleted."""
    client_msg_id: Optional[ClientMsgId] = field(default=None, metadata={"json": "clientMsgId"})
    """Chosen by the sender; the same id from the same sender is the same message."""


@dataclass
class MissedMessage:
    """A message the client missed, as `message/new` carries it."""

    message: Message = field(metadata={"json": "message"})
    """A message of a room."""


@dataclass
class AuthBindReply:
    """Bind reply"""

    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""
    session: BoundSession = field(metadata={"json": "session"})
    """Who the server believes a connection is, and its limits."""
    missed: Optional[list[MissedMessage]] = field(default=None, metadata={"json": "missed"})
    """With `since`, the messages stored after it, oldest first, each as `message/new` carries it."""
    resync: Optional[bool] = field(default=None, metadata={"json": "resync"})
    """With `since`, more than 500 messages came after it; none are listed, reload history."""


RoomKind = Literal["direct", "group"]
# A `direct` room is two users' own; a `group` room has a name and an owner.


@dataclass
class Room:
    """A room."""

    id: RoomId = field(metadata={"json": "id"})
    """A room's id."""
    kind: RoomKind = field(metadata={"json": "kind"})
    """A `direct` room is two users' own; a `group` room has a name and an owner."""
    visibility: RoomVisibility = field(metadata={"json": "visibility"})
    """`private`: joined by invitation only (direct rooms are); `public`:"""
    history: RoomHistory = field(metadata={"json": "history"})
    """Which messages a member reads: `all` of the room's, or those stored"""
    created_at: Timestamp = field(metadata={"json": "createdAt"})
    """An instant in UTC, ISO-8601."""
    name: Optional[RoomName] = field(default=None, metadata={"json": "name"})
    """A group room's name, 1 to 100 characters, without control characters."""


@dataclass
class RoomCreateReply:
    """Create a room reply"""

    room: Room = field(metadata={"json": "room"})
    """A room."""


MemberStatus = Literal["invited", "joined"]
# `invited`: added by someone else and not accepted yet (`room/join`);
# `joined`: in the room by their own act.


@dataclass
class RoomSummary:
    """One of the caller's rooms, its last message and how many the caller has not read."""

    room: Room = field(metadata={"json": "room"})
    """A room."""
    status: MemberStatus = field(metadata={"json": "status"})
    """`invited`: added by someone else and not accepted yet (`room/join`);"""
    unread: int = field(metadata={"json": "unread"})
    """Messages after the caller's last-read pointer that others wrote."""
    last_message: Optional[Message] = field(default=None, metadata={"json": "lastMessage"})
    """A message of a room."""


@dataclass
class RoomListReply:
    """List rooms reply"""

    rooms: list[RoomSummary] = field(metadata={"json": "rooms"})
    """Constraints: at most 1000 items."""


RoomMemberRole = Literal["owner", "member"]
# The owner of a group room adds members; direct rooms have two members.


@dataclass
class RoomMember:
    """A member of a room."""

    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""
    role: RoomMemberRole = field(metadata={"json": "role"})
    """The owner of a group room adds members; direct rooms have two members."""
    status: MemberStatus = field(metadata={"json": "status"})
    """`invited`: added by someone else and not accepted yet (`room/join`);"""
    online: bool = field(metadata={"json": "online"})
    """Whether at least one of the user's connections is bound; always false"""
    name: Optional[UserName] = field(default=None, metadata={"json": "name"})
    """The member's name; absent while they are invited (to everyone but themselves)."""


@dataclass
class RoomMembersReply:
    """List members reply"""

    members: list[RoomMember] = field(metadata={"json": "members"})
    """Constraints: at most 10000 items."""


@dataclass
class PublicRoom:
    """A public room as `room/discover` lists it."""

    room: Room = field(metadata={"json": "room"})
    """A room."""
    members: int = field(metadata={"json": "members"})
    """How many joined it."""
    joined: bool = field(metadata={"json": "joined"})
    """Whether the caller is one of them."""


@dataclass
class RoomDiscoverReply:
    """Find public rooms reply"""

    rooms: list[PublicRoom] = field(metadata={"json": "rooms"})
    """Constraints: at most 100 items."""
    next_cursor: Optional[RoomId] = field(default=None, metadata={"json": "nextCursor"})
    """A room's id."""


@dataclass
class MessageSendReply:
    """Send a message reply"""

    message_id: MessageId = field(metadata={"json": "messageId"})
    """A message's id; ids grow with time, in every room."""
    created_at: Timestamp = field(metadata={"json": "createdAt"})
    """An instant in UTC, ISO-8601."""


@dataclass
class MessageHistoryReply:
    """Read history reply"""

    messages: list[Message] = field(metadata={"json": "messages"})
    """Constraints: at most 100 items."""
    next_cursor: Optional[MessageId] = field(default=None, metadata={"json": "nextCursor"})
    """A message's id; ids grow with time, in every room."""


@dataclass
class MessageEditReply:
    """Edit a message reply"""

    edited_at: Timestamp = field(metadata={"json": "editedAt"})
    """An instant in UTC, ISO-8601."""


@dataclass
class Presence:
    """Whether a user is online."""

    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""
    online: bool = field(metadata={"json": "online"})
    """Whether at least one of the user's connections is bound."""


@dataclass
class PresenceListReply:
    """Who is online reply"""

    users: list[Presence] = field(metadata={"json": "users"})
    """Constraints: at most 100 items."""


SessionKind = Literal["user", "client"]
# `user`: a login; `client`: a client token made with token/createClient.


@dataclass
class Session:
    """One live token of the caller, never its secret."""

    token_id: TokenId = field(metadata={"json": "tokenId"})
    """A token's id (not the token)."""
    kind: SessionKind = field(metadata={"json": "kind"})
    """`user`: a login; `client`: a client token made with token/createClient."""
    current: bool = field(metadata={"json": "current"})
    """Whether this request was authenticated with this token."""
    created_at: Timestamp = field(metadata={"json": "createdAt"})
    """An instant in UTC, ISO-8601."""
    expires_at: Timestamp = field(metadata={"json": "expiresAt"})
    """An instant in UTC, ISO-8601."""
    name: Optional[ClientTokenName] = field(default=None, metadata={"json": "name"})
    """What a client token is for, as its admin named it."""
    scopes: Optional[Scopes] = field(default=None, metadata={"json": "scopes"})
    """A client token's scopes."""
    client_ip: Optional[str] = field(default=None, metadata={"json": "clientIp"})
    """The client's address at login."""
    user_agent: Optional[str] = field(default=None, metadata={"json": "userAgent"})
    """The client's `User-Agent` at login."""
    last_used_at: Optional[Timestamp] = field(default=None, metadata={"json": "lastUsedAt"})
    """An instant in UTC, ISO-8601."""


@dataclass
class TokenListReply:
    """Sessions reply"""

    sessions: list[Session] = field(metadata={"json": "sessions"})
    """Constraints: at most 100 items."""


@dataclass
class TokenCreateClientReply:
    """The token (shown once), its id and expiry."""

    token_id: TokenId = field(metadata={"json": "tokenId"})
    """A token's id (not the token)."""
    token: ApiToken = field(metadata={"json": "token"})
    """An API token from `auth/generateToken`."""
    scopes: Scopes = field(metadata={"json": "scopes"})
    """A client token's scopes."""
    expires_at: Timestamp = field(metadata={"json": "expiresAt"})
    """An instant in UTC, ISO-8601."""


@dataclass
class DirectoryEntry:
    """A user the caller may see."""

    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""
    name: UserName = field(metadata={"json": "name"})
    """A display name, 1 to 100 characters, without control characters (they would reach operators' terminals and logs)."""
    online: bool = field(metadata={"json": "online"})
    """Whether at least one of the user's connections is bound."""


@dataclass
class UserDirectoryReply:
    """Find users reply"""

    users: list[DirectoryEntry] = field(metadata={"json": "users"})
    """Constraints: at most 100 items."""
    next_cursor: Optional[UserId] = field(default=None, metadata={"json": "nextCursor"})
    """A user's id."""


@dataclass
class OnlineUser:
    """A user who is online."""

    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""
    name: UserName = field(metadata={"json": "name"})
    """A display name, 1 to 100 characters, without control characters (they would reach operators' terminals and logs)."""


@dataclass
class PresenceOnlineReply:
    """Online users reply"""

    users: list[OnlineUser] = field(metadata={"json": "users"})
    """Constraints: at most 1000 items."""
    truncated: bool = field(metadata={"json": "truncated"})
    """More users are online than listed."""


@dataclass
class AnnouncementPostReply:
    """Announce reply"""

    announcement_id: AnnouncementId = field(metadata={"json": "announcementId"})
    """An announcement's id; ids grow with time."""
    created_at: Timestamp = field(metadata={"json": "createdAt"})
    """An instant in UTC, ISO-8601."""


@dataclass
class Announcement:
    """A message to everyone."""

    id: AnnouncementId = field(metadata={"json": "id"})
    """An announcement's id; ids grow with time."""
    text: MessageText = field(metadata={"json": "text"})
    """A message's text, 1 to 4000 characters; tabs and line breaks allowed, other control characters not."""
    created_at: Timestamp = field(metadata={"json": "createdAt"})
    """An instant in UTC, ISO-8601."""
    author_id: Optional[UserId] = field(default=None, metadata={"json": "authorId"})
    """Who posted it; absent once their account is deleted."""


@dataclass
class AnnouncementHistoryReply:
    """Read announcements reply"""

    announcements: list[Announcement] = field(metadata={"json": "announcements"})
    """Constraints: at most 100 items."""
    next_cursor: Optional[AnnouncementId] = field(default=None, metadata={"json": "nextCursor"})
    """An announcement's id; ids grow with time."""


@dataclass
class MessageNew:
    """A message was sent in one of the user's rooms."""

    message: Message = field(metadata={"json": "message"})
    """A message of a room."""


@dataclass
class MessageDelivered:
    """A message the user sent was handed to another member's connection."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    message_id: MessageId = field(metadata={"json": "messageId"})
    """A message's id; ids grow with time, in every room."""


@dataclass
class MessageEdited:
    """A message in one of the user's rooms was edited."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    message_id: MessageId = field(metadata={"json": "messageId"})
    """A message's id; ids grow with time, in every room."""
    text: MessageText = field(metadata={"json": "text"})
    """A message's text, 1 to 4000 characters; tabs and line breaks allowed, other control characters not."""
    edited_at: Timestamp = field(metadata={"json": "editedAt"})
    """An instant in UTC, ISO-8601."""


@dataclass
class RoomRead:
    """A member read a room up to a message."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""
    message_id: MessageId = field(metadata={"json": "messageId"})
    """A message's id; ids grow with time, in every room."""


@dataclass
class PresenceChanged:
    """A user who shares a room with this one came online or went offline."""

    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""
    online: bool = field(metadata={"json": "online"})
    """Whether at least one of the user's connections is bound."""


MembershipChange = Literal["joined", "left"]
# Whether a user joined a room or left it.


@dataclass
class RoomMemberChanged:
    """Someone joined one of the user's rooms, or left it."""

    room_id: RoomId = field(metadata={"json": "roomId"})
    """A room's id."""
    user_id: UserId = field(metadata={"json": "userId"})
    """A user's id."""
    change: MembershipChange = field(metadata={"json": "change"})
    """Whether a user joined a room or left it."""
    name: Optional[UserName] = field(default=None, metadata={"json": "name"})
    """The member's name, when they joined."""


@dataclass
class SessionWelcome:
    """A connection bound on its upgrade hears who the server believes it is."""

    session: BoundSession = field(metadata={"json": "session"})
    """Who the server believes a connection is, and its limits."""


@dataclass
class AnnouncementNew:
    """Someone announced something to everyone."""

    announcement: Announcement = field(metadata={"json": "announcement"})
    """A message to everyone."""


@dataclass
class RoomMessageData:
    """A new message, as seed 001's clients read it."""

    id: MessageId = field(metadata={"json": "id"})
    """A message's id; ids grow with time, in every room."""
    content: MessageText = field(metadata={"json": "content"})
    """A message's text, 1 to 4000 characters; tabs and line breaks allowed, other control characters not."""
    sender_id: UserId = field(metadata={"json": "senderId"})
    """A user's id."""
    created_at: Timestamp = field(metadata={"json": "createdAt"})
    """An instant in UTC, ISO-8601."""


@dataclass
class RoomNewMessage:
    """Another member wrote in this socket's room."""

    data: RoomMessageData = field(metadata={"json": "data"})
    """A new message, as seed 001's clients read it."""


ErrorCode = Literal["bad_request", "validation_failed", "unknown_channel", "unauthorized", "email_not_verified", "forbidden", "not_found", "conflict", "rate_limited", "too_large", "internal", "unavailable"]
# The closed set of error codes:
# `bad_request` (not a JSON object, or no channel),
# `validation_failed` (the frame breaks its schema),
# `unknown_channel` (no route has this channel),
# `unauthorized` (missing, invalid, expired or revoked token; failed log-in;
# a wrong or dead verification code),
# `email_not_verified` (log-in to an account whose email is not verified yet),
# `forbidden` (the caller may not do this, or a client token lacks the scope),
# `not_found` (the target does not exist),
# `conflict` (for example an email already registered),
# `rate_limited` (too many requests; retry later),
# `too_large` (the frame exceeds the size limit),
# `internal` (a server fault; nothing about it is disclosed),
# `unavailable` (the database is unreachable; retry later).


@dataclass
class ErrorDetail:
    """One schema violation."""

    pointer: str = field(metadata={"json": "pointer"})
    """JSON pointer to the offending value in the frame, such as `/payload/email`."""
    keyword: str = field(metadata={"json": "keyword"})
    """The JSON Schema keyword that failed, such as `format` or `required`."""
    message: str = field(metadata={"json": "message"})
    """What is wrong, without echoing the value."""


@dataclass
class ApiErrorBody:
    """What went wrong."""

    code: ErrorCode = field(metadata={"json": "code"})
    """The closed set of error codes:"""
    message: str = field(metadata={"json": "message"})
    """A fixed, human-readable text for the code; never echoes secrets."""
    details: Optional[list[ErrorDetail]] = field(default=None, metadata={"json": "details"})
    """For `validation_failed`, one entry per schema violation."""

