//! One store conformance suite, run against SQLite always and against MySQL /
//! MariaDB when `SPECSERVE_TEST_MYSQL_URL` is set (CI sets it and requires it).
//! Every test gets its own database file or schema: no shared state.

mod common;

use common::db::{self, TestDb};
use specserve::api::Role;
use specserve::store::{
    Database, NewMessage, NewRefreshToken, NewToken, NewUser, NextTokens, RefreshClaim, RevokeTokens, StoreError,
    UserChanges, now_utc,
};

fn new_user(name: &str, email: &str) -> NewUser {
    NewUser {
        name: name.into(),
        email: email.into(),
        password_hash: Some("$argon2id$fake".into()),
        role: Role::User,
        created_by: None,
        now: now_utc(),
    }
}

fn new_token(user_id: i64, hash: u8) -> NewToken {
    let now = now_utc();
    NewToken {
        user_id,
        hash: [hash; 32],
        client_ip: Some("203.0.113.9".into()),
        user_agent: Some("test-agent/1".into()),
        created_at: now,
        expires_at: now + time::Duration::days(7),
    }
}

async fn users_round_trip_and_emails_are_unique_regardless_of_case(db: TestDb) {
    let store = db.store();
    let now = now_utc();
    let id = store.create_user(NewUser { now, ..new_user("Alice", "alice@example.com") }).await.unwrap();
    let alice = store.user_by_id(id).await.unwrap().expect("stored");
    assert_eq!((alice.name.as_str(), alice.email.as_str(), alice.role), ("Alice", "alice@example.com", Role::User));
    assert_eq!(alice.created_at, now, "times keep microseconds");
    assert_eq!(store.user_by_email("ALICE@example.com").await.unwrap().map(|u| u.id), Some(id));
    let duplicate = store.create_user(new_user("Other", "Alice@Example.com")).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict)), "{duplicate:?}");
    assert_eq!(store.user_by_id(id + 1000).await.unwrap(), None);
    db.drop().await;
}

async fn partial_updates_change_only_what_is_given(db: TestDb) {
    let store = db.store();
    let id = store.create_user(new_user("Bob", "bob@example.com")).await.unwrap();
    let other = store.create_user(new_user("Carol", "carol@example.com")).await.unwrap();
    let changes = UserChanges { name: Some("Bobby".into()), ..UserChanges::default() };
    assert_eq!(store.update_user(id, changes, None, now_utc()).await.unwrap(), Some(0));
    let bob = store.user_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        (bob.name.as_str(), bob.email.as_str(), bob.password_hash.as_deref()),
        ("Bobby", "bob@example.com", Some("$argon2id$fake"))
    );
    let role = UserChanges { role: Some(Role::Admin), ..UserChanges::default() };
    assert_eq!(store.update_user(id, role, None, now_utc()).await.unwrap(), Some(0));
    assert_eq!(store.user_by_id(id).await.unwrap().unwrap().role, Role::Admin);
    let taken = UserChanges { email: Some("CAROL@example.com".into()), ..UserChanges::default() };
    assert!(matches!(store.update_user(id, taken, None, now_utc()).await, Err(StoreError::Conflict)));
    assert_eq!(store.update_user(other + 1000, UserChanges::default(), None, now_utc()).await.unwrap(), None);
    db.drop().await;
}

async fn deleting_a_user_drops_its_tokens_and_unmanages_its_users(db: TestDb) {
    let store = db.store();
    let manager = store.create_user(new_user("Manager", "m@example.com")).await.unwrap();
    let managed =
        store.create_user(NewUser { created_by: Some(manager), ..new_user("Managed", "x@example.com") }).await.unwrap();
    store.insert_token(new_token(manager, 1)).await.unwrap();
    assert!(store.delete_user(manager).await.unwrap());
    assert_eq!(store.token_by_hash([1; 32]).await.unwrap(), None);
    assert_eq!(store.user_by_id(managed).await.unwrap().unwrap().created_by, None);
    assert!(!store.delete_user(manager).await.unwrap());
    db.drop().await;
}

async fn tokens_are_found_by_hash_and_revoked(db: TestDb) {
    let store = db.store();
    let user = store.create_user(NewUser { role: Role::Admin, ..new_user("T", "t@example.com") }).await.unwrap();
    let first = store.insert_token(new_token(user, 1)).await.unwrap();
    let second = store.insert_token(new_token(user, 2)).await.unwrap();
    let third = store.insert_token(new_token(user, 3)).await.unwrap();
    let found = store.token_by_hash([1; 32]).await.unwrap().expect("token");
    assert_eq!((found.id, found.user_id, found.role, found.revoked_at), (first, user, Role::Admin, None));
    store.touch_token(first, now_utc()).await.unwrap();
    assert!(store.revoke_token(first, now_utc()).await.unwrap());
    assert!(!store.revoke_token(first, now_utc()).await.unwrap(), "already revoked");
    assert!(store.token_by_hash([1; 32]).await.unwrap().unwrap().revoked_at.is_some());
    assert_eq!(store.revoke_user_tokens(user, Some(third), now_utc()).await.unwrap(), 1);
    assert!(store.token_by_hash([2; 32]).await.unwrap().unwrap().revoked_at.is_some());
    assert!(store.token_by_hash([3; 32]).await.unwrap().unwrap().revoked_at.is_none());
    let _ = second;
    assert_eq!(store.token_by_hash([9; 32]).await.unwrap(), None);
    db.drop().await;
}

fn new_password() -> UserChanges {
    UserChanges { password_hash: Some("$argon2id$changed".into()), ..UserChanges::default() }
}

async fn a_password_change_revokes_the_other_tokens_in_the_same_write(db: TestDb) {
    let store = db.store();
    let user = store.create_user(new_user("P", "p@example.com")).await.unwrap();
    let kept = store.insert_token(new_token(user, 1)).await.unwrap();
    store.insert_token(new_token(user, 2)).await.unwrap();
    store.insert_token(new_token(user, 3)).await.unwrap();
    let revoke = Some(RevokeTokens { keep: Some(kept) });
    assert_eq!(store.update_user(user, new_password(), revoke, now_utc()).await.unwrap(), Some(2));
    assert_eq!(store.user_by_id(user).await.unwrap().unwrap().password_hash.as_deref(), Some("$argon2id$changed"));
    assert!(store.token_by_hash([1; 32]).await.unwrap().unwrap().revoked_at.is_none());
    assert!(store.token_by_hash([2; 32]).await.unwrap().unwrap().revoked_at.is_some());
    db.drop().await;
}

async fn a_failed_revocation_rolls_back_the_password_change(db: TestDb) {
    let store = db.store();
    let user = store.create_user(new_user("P", "p@example.com")).await.unwrap();
    store.insert_token(new_token(user, 1)).await.unwrap();
    // Make the revocation itself fail, as a lost connection or a full disk would.
    db.execute(db.fail_token_updates()).await;
    let result = store.update_user(user, new_password(), Some(RevokeTokens { keep: None }), now_utc()).await;
    assert!(result.is_err(), "{result:?}");
    let stored = store.user_by_id(user).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some("$argon2id$fake"), "the password change was rolled back");
    assert!(store.token_by_hash([1; 32]).await.unwrap().unwrap().revoked_at.is_none());
    db.drop().await;
}

async fn unicode_and_sql_looking_text_round_trips_verbatim(db: TestDb) {
    let store = db.store();
    for (i, name) in ["Zoë 😀 🚀", "山田 太郎", "Robert'); DROP TABLE users;--", "a\"b\\c%_"].into_iter().enumerate()
    {
        let email = format!("u{i}@example.com");
        let id = store.create_user(new_user(name, &email)).await.unwrap();
        assert_eq!(store.user_by_id(id).await.unwrap().unwrap().name, name);
    }
    assert_eq!(store.list_users().await.unwrap().len(), 4);
    db.drop().await;
}

async fn live_tokens_list_only_the_owners_unrevoked_unexpired_tokens_newest_first(db: TestDb) {
    let store = db.store();
    let alice = store.create_user(new_user("Alice", "alice@example.com")).await.unwrap();
    let bob = store.create_user(new_user("Bob", "bob@example.com")).await.unwrap();
    let first = store.insert_token(new_token(alice, 1)).await.unwrap();
    let second = store.insert_token(new_token(alice, 2)).await.unwrap();
    let revoked = store.insert_token(new_token(alice, 3)).await.unwrap();
    let now = now_utc();
    let expired = NewToken { expires_at: now - time::Duration::seconds(1), ..new_token(alice, 4) };
    store.insert_token(expired).await.unwrap();
    let bobs = store.insert_token(new_token(bob, 5)).await.unwrap();
    assert!(store.revoke_token(revoked, now).await.unwrap());
    store.touch_token(first, now).await.unwrap();

    let live = store.live_tokens(alice, now_utc()).await.unwrap();
    assert_eq!(live.iter().map(|t| t.id).collect::<Vec<_>>(), vec![second, first], "newest first, live only");
    let listed = &live[1];
    assert_eq!(listed.client_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(listed.user_agent.as_deref(), Some("test-agent/1"));
    assert_eq!(listed.last_used_at, Some(now));
    assert_eq!(live[0].last_used_at, None, "never looked up");

    // Only the owner's live tokens can be revoked through it; the rest stay as they were.
    assert!(!store.revoke_user_token(alice, bobs, now).await.unwrap(), "Bob's token");
    assert!(store.token_by_hash([5; 32]).await.unwrap().unwrap().revoked_at.is_none(), "Bob's token untouched");
    assert!(!store.revoke_user_token(alice, revoked, now).await.unwrap(), "already revoked");
    assert!(!store.revoke_user_token(alice, i64::MAX, now).await.unwrap(), "no such token");
    assert!(store.revoke_user_token(alice, first, now).await.unwrap());
    assert!(!store.revoke_user_token(alice, first, now).await.unwrap(), "only once");
    assert_eq!(
        store.live_tokens(alice, now_utc()).await.unwrap().iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![second]
    );
}

/// A login that asked for a refresh token: access token `hash`, refresh token `hash + 100`.
async fn refresh_login(store: &Database, user_id: i64, hash: u8) -> i64 {
    let access = store.insert_token(new_token(user_id, hash)).await.unwrap();
    let now = now_utc();
    let refresh = NewRefreshToken {
        user_id,
        family_id: access,
        hash: [hash + 100; 32],
        access_token_id: access,
        created_at: now,
        expires_at: now + time::Duration::days(30),
    };
    store.insert_refresh_token(refresh).await.unwrap();
    access
}

fn next_tokens(hash: u8) -> NextTokens {
    let now = now_utc();
    NextTokens {
        access_hash: [hash; 32],
        refresh_hash: [hash + 100; 32],
        client_ip: None,
        user_agent: None,
        created_at: now,
        access_expires_at: now + time::Duration::minutes(15),
        refresh_expires_at: now + time::Duration::days(30),
    }
}

async fn revoked(store: &Database, hash: u8) -> bool {
    store.token_by_hash([hash; 32]).await.unwrap().expect("stored").revoked_at.is_some()
}

async fn a_refresh_token_is_used_once_and_its_reuse_ends_the_login(db: TestDb) {
    let store = db.store();
    let alice = store.create_user(new_user("Alice", "alice@example.com")).await.unwrap();
    let first = refresh_login(store, alice, 1).await;
    let other_login = refresh_login(store, alice, 2).await;

    let claim = store.claim_refresh_token([101; 32], next_tokens(3), now_utc()).await.unwrap();
    let RefreshClaim::Claimed { user_id, access_token_id } = claim else { panic!("{claim:?}") };
    assert_eq!(user_id, alice);
    assert_eq!(
        store.token_by_hash([3; 32]).await.unwrap().map(|t| t.id),
        Some(access_token_id),
        "next access token stored"
    );
    assert!(!revoked(store, 1).await, "the old access token lives until it expires");

    // The used token again: whoever presents it, the login is over.
    let reuse = store.claim_refresh_token([101; 32], next_tokens(4), now_utc()).await.unwrap();
    let RefreshClaim::Reused { user_id, mut revoked_access_tokens } = reuse else { panic!("{reuse:?}") };
    revoked_access_tokens.sort_unstable();
    assert_eq!((user_id, revoked_access_tokens), (alice, vec![first, access_token_id]));
    assert!(revoked(store, 1).await && revoked(store, 3).await);
    assert!(store.token_by_hash([4; 32]).await.unwrap().is_none(), "nothing issued on reuse");
    let next = store.claim_refresh_token([103; 32], next_tokens(5), now_utc()).await.unwrap();
    assert_eq!(next, RefreshClaim::Invalid, "the rotated token went with its login");

    // The other login is untouched; unknown and expired tokens are invalid.
    assert!(!revoked(store, 2).await);
    assert!(matches!(
        store.claim_refresh_token([102; 32], next_tokens(6), now_utc()).await.unwrap(),
        RefreshClaim::Claimed { .. }
    ));
    assert_eq!(store.claim_refresh_token([99; 32], next_tokens(7), now_utc()).await.unwrap(), RefreshClaim::Invalid);
    let later = now_utc() + time::Duration::days(31);
    assert_eq!(store.claim_refresh_token([106; 32], next_tokens(8), later).await.unwrap(), RefreshClaim::Invalid);
    let _ = other_login;
}

async fn logout_and_password_change_end_the_refresh_tokens_of_their_logins(db: TestDb) {
    let store = db.store();
    let alice = store.create_user(new_user("Alice", "alice@example.com")).await.unwrap();
    let laptop = refresh_login(store, alice, 1).await;
    let phone = refresh_login(store, alice, 2).await;
    let tablet = refresh_login(store, alice, 3).await;

    // Logging out of the laptop ends its refresh token, not the others'.
    assert!(store.revoke_token(laptop, now_utc()).await.unwrap());
    assert_eq!(store.claim_refresh_token([101; 32], next_tokens(4), now_utc()).await.unwrap(), RefreshClaim::Invalid);

    // A password change from the phone keeps the phone's login and ends the tablet's.
    store.revoke_user_tokens(alice, Some(phone), now_utc()).await.unwrap();
    assert_eq!(store.claim_refresh_token([103; 32], next_tokens(5), now_utc()).await.unwrap(), RefreshClaim::Invalid);
    assert!(matches!(
        store.claim_refresh_token([102; 32], next_tokens(6), now_utc()).await.unwrap(),
        RefreshClaim::Claimed { .. }
    ));
    let _ = tablet;
}

async fn two_presenters_of_one_refresh_token_leave_no_live_token_behind(db: TestDb) {
    let store = db.store();
    let alice = store.create_user(new_user("Alice", "alice@example.com")).await.unwrap();
    refresh_login(store, alice, 1).await;
    let (a, b) = tokio::join!(
        store.claim_refresh_token([101; 32], next_tokens(2), now_utc()),
        store.claim_refresh_token([101; 32], next_tokens(3), now_utc()),
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| matches!(o, RefreshClaim::Reused { .. }));
    assert!(
        matches!(outcomes[0], RefreshClaim::Claimed { .. }) && matches!(outcomes[1], RefreshClaim::Reused { .. }),
        "{outcomes:?}"
    );
    // The winner's new tokens went with the login: the race gives no one a session.
    let winner = if store.token_by_hash([2; 32]).await.unwrap().is_some() { 2 } else { 3 };
    assert!(revoked(store, winner).await, "the claimer's new access token is revoked");
    assert_eq!(
        store.claim_refresh_token([winner + 100; 32], next_tokens(9), now_utc()).await.unwrap(),
        RefreshClaim::Invalid
    );
}

async fn concurrent_registrations_of_one_email_store_exactly_one(db: TestDb) {
    let store = std::sync::Arc::new(db.store().clone());
    let attempts = (0..20).map(|i| {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move { store.create_user(new_user(&format!("racer {i}"), "race@example.com")).await })
    });
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let conflicts = results.iter().filter(|r| matches!(r, Ok(Err(StoreError::Conflict)))).count();
    assert_eq!((ok, conflicts), (1, 19));
    db.drop().await;
}

fn new_message(room_id: i64, author_id: i64, text: &str, linked: bool) -> NewMessage {
    NewMessage { room_id, author_id, text: text.into(), client_msg_id: Some(text.into()), now: now_utc(), linked }
}

/// What a cluster orders a room's events by: each linked insert names the
/// room's message before it, exactly, however many connections insert at once.
async fn linked_inserts_chain_a_rooms_messages_even_when_concurrent(db: TestDb) {
    let store = std::sync::Arc::new(db.store().clone());
    let alice = store.create_user(new_user("Alice", "alice@example.com")).await.unwrap();
    let bob = store.create_user(new_user("Bob", "bob@example.com")).await.unwrap();
    let (room, _) = store.direct_room(alice, bob, now_utc()).await.unwrap();
    let unlinked = store.insert_message(new_message(room.id, alice, "unlinked", false)).await.unwrap();
    assert_eq!(unlinked.previous, None, "not asked for");
    let writers = [alice, bob].map(|author| {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move {
            let mut inserted = Vec::new();
            for n in 0..15 {
                let message = new_message(room.id, author, &format!("{author}-{n}"), true);
                inserted.push(store.insert_message(message).await.unwrap());
            }
            inserted
        })
    });
    let mut chain: Vec<_> =
        futures_util::future::join_all(writers).await.into_iter().flat_map(Result::unwrap).collect();
    chain.sort_by_key(|m| m.record.id);
    let mut before = (unlinked.record.id, unlinked.record.created_at);
    for message in &chain {
        assert!(message.new);
        assert_eq!(message.previous, Some(before), "message {}", message.record.id);
        before = (message.record.id, message.record.created_at);
    }
    let retry = store.insert_message(new_message(room.id, alice, &format!("{alice}-0"), true)).await.unwrap();
    assert!(!retry.new && retry.previous.is_none(), "a retry returns the original: {retry:?}");
    assert_eq!(store.history(room.id, None, 0, 100).await.unwrap().len(), 31, "the retry stored nothing");
    db.drop().await;
}

/// A cluster's check of events' positions: one read for many, each answer in
/// its place, a message counted only in its own room.
async fn messages_are_confirmed_only_in_their_own_room(db: TestDb) {
    let store = db.store();
    let alice = store.create_user(new_user("Alice", "alice@example.com")).await.unwrap();
    let bob = store.create_user(new_user("Bob", "bob@example.com")).await.unwrap();
    let carol = store.create_user(new_user("Carol", "carol@example.com")).await.unwrap();
    let (ours, _) = store.direct_room(alice, bob, now_utc()).await.unwrap();
    let (theirs, _) = store.direct_room(alice, carol, now_utc()).await.unwrap();
    let first = store.insert_message(new_message(ours.id, alice, "one", false)).await.unwrap().record.id;
    let second = store.insert_message(new_message(ours.id, bob, "two", false)).await.unwrap().record.id;
    let elsewhere = store.insert_message(new_message(theirs.id, carol, "three", false)).await.unwrap().record.id;
    let asked = [
        (ours.id, second),
        (ours.id, elsewhere),
        (ours.id, 1 << 62),
        (theirs.id, elsewhere),
        (ours.id, first),
        (ours.id, first),
    ];
    let confirmed = store.messages_in_rooms(&asked).await.unwrap();
    assert_eq!(confirmed, [true, false, false, true, true, true]);
    assert!(store.messages_in_rooms(&[]).await.unwrap().is_empty());
    db.drop().await;
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::db::sqlite().await).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test]
                async fn $test() {
                    if let Some(db) = super::db::mysql().await {
                        super::$test(db).await;
                    }
                }
            )*
        }
    };
}

conformance!(
    users_round_trip_and_emails_are_unique_regardless_of_case,
    partial_updates_change_only_what_is_given,
    a_password_change_revokes_the_other_tokens_in_the_same_write,
    a_failed_revocation_rolls_back_the_password_change,
    deleting_a_user_drops_its_tokens_and_unmanages_its_users,
    tokens_are_found_by_hash_and_revoked,
    unicode_and_sql_looking_text_round_trips_verbatim,
    concurrent_registrations_of_one_email_store_exactly_one,
    live_tokens_list_only_the_owners_unrevoked_unexpired_tokens_newest_first,
    a_refresh_token_is_used_once_and_its_reuse_ends_the_login,
    logout_and_password_change_end_the_refresh_tokens_of_their_logins,
    two_presenters_of_one_refresh_token_leave_no_live_token_behind,
    linked_inserts_chain_a_rooms_messages_even_when_concurrent,
    messages_are_confirmed_only_in_their_own_room,
);

#[tokio::test]
async fn an_in_memory_database_is_one_database_for_every_connection() {
    let store = Database::connect("sqlite::memory:").await.unwrap();
    let id = store.create_user(new_user("M", "m@example.com")).await.unwrap();
    // Concurrent readers would each get their own empty database if the pool
    // opened one connection per `:memory:`.
    let reads = (0..16).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.user_by_id(id).await.map(|u| u.map(|u| u.name)) })
    });
    for read in futures_util::future::join_all(reads).await {
        assert_eq!(read.unwrap().unwrap().as_deref(), Some("M"));
    }
}

#[tokio::test]
async fn database_urls_that_would_lose_data_are_refused_with_the_reason() {
    for (url, says) in [
        ("", "DATABASE_URL is empty"),
        ("   ", "DATABASE_URL is empty"),
        ("postgres://u@localhost/db", "PostgreSQL is not supported"),
        ("redis://localhost", "`redis:` is not a supported database"),
        ("specserve.db", "a file is sqlite://specserve.db"),
        ("sqlite://", "names no SQLite file"),
    ] {
        match Database::connect(url).await {
            Err(StoreError::InvalidUrl(message)) => assert!(message.contains(says), "{url:?}: {message}"),
            other => panic!("{url:?} must be refused, got {other:?}"),
        }
    }
}

#[test]
fn mysql_runs_under_ci() {
    if std::env::var_os("CI").is_some() {
        assert!(
            std::env::var_os(db::MYSQL_URL_VAR).is_some(),
            "CI must set {} so the MySQL conformance run happens",
            db::MYSQL_URL_VAR
        );
    }
}

/// `schema.sql`, the MySQL tables in one file to read, is what the
/// migrations make: the same columns (type, nullability, default,
/// collation), keys and foreign keys, table by table, and the same stored
/// procedures, body for body.
#[tokio::test]
async fn schema_sql_is_what_the_migrations_make() {
    use sqlx::Connection;
    let Some(migrated) = db::mysql().await else { return };
    let Some(by_hand) = db::mysql_unmigrated(include_str!("../schema.sql")).await else { return };
    let describe = async |url: &str| -> Vec<String> {
        let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
        let queries = [
            "SELECT CONCAT_WS(' ', TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT, '-'),
                    IFNULL(COLLATION_NAME, '-'), EXTRA)
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> '_sqlx_migrations'
             ORDER BY TABLE_NAME, COLUMN_NAME",
            "SELECT CONCAT_WS(' ', TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME)
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> '_sqlx_migrations'
             ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            "SELECT CONCAT_WS(' ', k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME,
                    k.REFERENCED_COLUMN_NAME, r.DELETE_RULE)
             FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
             WHERE k.TABLE_SCHEMA = DATABASE() ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME",
            "SELECT CONCAT_WS(' ', ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION)
             FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME",
        ];
        let mut lines = Vec::new();
        for query in queries {
            let rows: Vec<(String,)> = sqlx::query_as(query).fetch_all(&mut conn).await.unwrap();
            lines.extend(rows.into_iter().map(|(line,)| line));
        }
        lines
    };
    let (from_migrations, from_file) = (describe(migrated.url()).await, describe(by_hand.url()).await);
    assert!(from_migrations.len() > 60, "{from_migrations:?}");
    let missing: Vec<&String> = from_migrations.iter().filter(|l| !from_file.contains(l)).collect();
    let extra: Vec<&String> = from_file.iter().filter(|l| !from_migrations.contains(l)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "schema.sql lacks {missing:#?}\nand has besides {extra:#?}");
    migrated.drop().await;
    by_hand.drop().await;
}
