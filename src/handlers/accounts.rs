//! Accounts: users, passwords, log-ins and the tokens they issue, email
//! verification, and the throttles and audit lines around them.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use specserve_runtime::rate_limit::KeyedLimiter;
use specserve_runtime::{ApiError, ConnectionInfo};

use super::{AppConfig, expiry, forbidden, not_found, store_error, validated, wire_time};
use crate::api::{AuthGenerateTokenPayload, ErrorCode, RateClass, Role, UserCreatePayload};
use crate::mail::{Mail, Outbox};
use crate::security::Identity;
use crate::security::audit::AuditLog;
use crate::security::login_throttle::LoginThrottle;
use crate::security::passwords::Passwords;
use crate::security::{codes, tokens};
use crate::store::{Database, NewRefreshToken, NewToken, NewUser, StoreError, User, VerificationCode, now_utc};

/// The accounts part of the application.
#[derive(Debug)]
pub struct Accounts {
    pub(super) store: Database,
    pub(super) config: AppConfig,
    pub(super) passwords: Passwords,
    audit: Arc<AuditLog>,
    per_ip: KeyedLimiter<IpAddr>,
    logins: LoginThrottle,
    per_creator: KeyedLimiter<i64>,
    /// user/directory and room/discover, per caller.
    per_searcher: KeyedLimiter<i64>,
    pub(super) password_changes: KeyedLimiter<i64>,
    /// Mail sent after the reply, with email verification.
    outbox: Option<Outbox>,
    /// "Registered already" mails per address: one a minute at most, however
    /// often someone tries to register it.
    owner_notices: KeyedLimiter<String>,
}

impl Accounts {
    pub(super) fn new(store: Database, config: AppConfig, audit: Arc<AuditLog>) -> Result<Self, ApiError> {
        Ok(Accounts {
            passwords: Passwords::new(config.hash_threads)?,
            per_ip: KeyedLimiter::per_minute_with_third_burst(config.auth_per_ip_per_minute),
            logins: LoginThrottle::new(config.login_failures_per_minute, config.login_failures_per_account_per_minute),
            per_creator: KeyedLimiter::per_minute_with_third_burst(config.creates_per_minute),
            password_changes: KeyedLimiter::per_minute_with_third_burst(config.password_changes_per_minute),
            per_searcher: KeyedLimiter::per_minute_with_third_burst(config.searches_per_minute),
            outbox: config.email_verification.as_ref().map(|v| Outbox::new(v.mailer.clone())),
            owner_notices: KeyedLimiter::per_minute(1.0, 1.0),
            store,
            config,
            audit,
        })
    }

    /// The spec's rate-limit classes: `auth` per client IP, `create` per creator.
    pub(super) fn rate_limit(
        &self,
        class: RateClass,
        connection: &ConnectionInfo,
        principal: Option<&Identity>,
    ) -> Result<(), ApiError> {
        let allowed = match (class, principal) {
            (RateClass::Auth, _) => return self.auth_budget(connection),
            (RateClass::Create, Some(caller)) => self.per_creator.try_take(&caller.user_id),
            (RateClass::Search, Some(caller)) => self.per_searcher.try_take(&caller.user_id),
            // Secured: the dispatcher authenticated first, so a caller is there.
            (RateClass::Create | RateClass::Search, None) => true,
        };
        if allowed {
            return Ok(());
        }
        self.audit("rate_limited", principal.map(|p| p.user_id), None, connection, class.as_str());
        Err(ApiError::rate_limited())
    }

    /// Takes one of the client address's auth requests (`--auth-per-ip-per-minute`):
    /// every way to register or log in, frames and `POST /auth/login` alike.
    pub(super) fn auth_budget(&self, connection: &ConnectionInfo) -> Result<(), ApiError> {
        if connection.client_ip().is_none_or(|ip| self.per_ip.try_take(&ip)) {
            return Ok(());
        }
        self.audit("rate_limited", None, None, connection, "auth");
        Err(ApiError::rate_limited())
    }

    /// Records an event a handler knows of (beyond its operation's outcome,
    /// which the dispatcher records from the spec's `x-specserve-audit`).
    pub(super) fn audit(
        &self,
        event: &str,
        actor: Option<i64>,
        target: Option<i64>,
        connection: &ConnectionInfo,
        outcome: &str,
    ) {
        self.audit.record(event, actor, target, connection.client_ip(), outcome);
    }

    /// Loads `target` if `caller` may act on it (see [`may_act_on`]). Non-admins
    /// get `forbidden` for ids that do not exist too, so ids cannot be probed.
    pub(super) async fn authorized_target(
        &self,
        caller: &Identity,
        target: i64,
        connection: &ConnectionInfo,
    ) -> Result<User, ApiError> {
        let user = self.store.user_by_id(target).await.map_err(store_error)?;
        match user {
            Some(user) if may_act_on(caller, &user) => Ok(user),
            None if caller.role == Role::Admin => Err(not_found("no such user")),
            _ => {
                self.audit("authorization_denied", Some(caller.user_id), Some(target), connection, "forbidden");
                Err(forbidden("not allowed on this user"))
            }
        }
    }

    /// Checks a log-in (throttled; one reply for an unknown email and a wrong
    /// password; verified email when required) and issues its tokens: what
    /// auth/generateToken and the cookie log-in share.
    pub(super) async fn log_in(
        &self,
        request: AuthGenerateTokenPayload,
        connection: &ConnectionInfo,
    ) -> Result<LoggedIn, ApiError> {
        let account = request.email.to_lowercase();
        let ip = connection.client_ip().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if !self.logins.may_attempt(&account, ip) {
            self.audit("rate_limited", None, None, connection, "login_failures");
            return Err(ApiError::rate_limited());
        }
        let user = self.store.user_by_email(&request.email).await.map_err(store_error)?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        // Same work and the same reply for an unknown email and a wrong password.
        let valid = self.passwords.verify(request.password, hash).await?;
        let Some(user) = user.filter(|_| valid) else {
            self.logins.failed(&account, ip);
            return Err(ApiError::new(ErrorCode::Unauthorized, "invalid email or password"));
        };
        self.logins.succeeded(&account, ip);
        if self.config.email_verification.is_some() && self.store.is_unverified(user.id).await.map_err(store_error)? {
            return Err(ApiError::new(
                ErrorCode::EmailNotVerified,
                "verify your email first: auth/verifyEmail with the code mailed to you",
            ));
        }
        let refresh = request.refresh == Some(true);
        let ttl = if refresh { self.config.access_token_ttl } else { self.config.token_ttl };
        let access = self.issue_token(user.id, ttl, connection).await?;
        let refresh = if refresh { Some(self.issue_refresh_token(user.id, access.id, access.id).await?) } else { None };
        self.audit("token_issued", Some(user.id), Some(user.id), connection, "success");
        Ok(LoggedIn { user_id: user.id, access, refresh })
    }

    /// Creates a user on the operator's behalf (`specserve user create`), through
    /// the same checks as `user/create`: the request schema (email format, name
    /// rules, password length), hashing and an audit line (`actor: null`).
    /// Unverified unless the request says `emailVerified` (the operator's
    /// word for it, audited); such an account logs in under
    /// `--require-email-verification` only after a resent code.
    pub(super) async fn create_user_as_operator(&self, request: UserCreatePayload) -> Result<i64, ApiError> {
        let payload = serde_json::to_value(&request).map_err(ApiError::internal)?;
        let request: UserCreatePayload = validated("UserCreateRequest", "user/create", payload)?;
        let verified = request.email_verified.is_some();
        let id = self.insert_user(request, None, verified).await?;
        self.audit.record("user_created", None, Some(id), None, "operator");
        if verified {
            self.audit.record("email_marked_verified", None, Some(id), None, "operator");
        }
        Ok(id)
    }

    /// Hashes the password, if any, and stores the user: unverified (with a
    /// code, mailed when verification is on) unless `verified`.
    pub(super) async fn insert_user(
        &self,
        request: UserCreatePayload,
        created_by: Option<i64>,
        verified: bool,
    ) -> Result<i64, ApiError> {
        let password_hash = match request.password {
            Some(password) => Some(self.passwords.hash(password).await?),
            None => None,
        };
        let user = NewUser {
            name: request.name,
            email: request.email,
            password_hash,
            role: request.role.unwrap_or(Role::User),
            created_by,
            now: now_utc(),
        };
        if verified {
            return self.store.create_user(user).await.map_err(store_error);
        }
        self.create_unverified(user).await?.ok_or_else(|| store_error(StoreError::Conflict))
    }

    /// A new verification code for `email`: the digits to mail, the hash to
    /// store. With verification off, a code nobody can enter (an account
    /// made unverified by the CLI, say), for a resend to replace later.
    pub(super) fn verification_code(&self, email: &str) -> Result<(String, VerificationCode), ApiError> {
        let code = codes::generate().map_err(ApiError::internal)?;
        let hash = match &self.config.email_verification {
            Some(verification) => codes::hash(&verification.secret, email, &code),
            None => tokens::generate().map_err(ApiError::internal)?.1,
        };
        let stored =
            VerificationCode { hash, expires_at: expiry(self.config.verification_code_ttl), sent_at: now_utc() };
        Ok((code, stored))
    }

    /// Stores `user` unverified with a new code, and mails the code (after
    /// the reply); its id, or `None` when the email is taken.
    pub(super) async fn create_unverified(&self, user: NewUser) -> Result<Option<i64>, ApiError> {
        let (name, email) = (user.name.clone(), user.email.clone());
        let (code, stored) = self.verification_code(&email)?;
        match self.store.create_unverified_user(user, stored).await {
            Ok(id) => {
                let valid_for = self.config.verification_code_ttl;
                self.mail(Mail::VerificationCode { name: Some(name), email, code, valid_for });
                Ok(Some(id))
            }
            Err(StoreError::Conflict) => Ok(None),
            Err(error) => Err(store_error(error)),
        }
    }

    /// Someone tried to register `email`, which has an account: its owner is
    /// told (at most once a minute per address), the one who tried is not.
    pub(super) async fn tell_owner_of(&self, email: &str, connection: &ConnectionInfo) -> Result<(), ApiError> {
        let owner = self.store.user_by_email(email).await.map_err(store_error)?;
        if let Some(owner) = owner {
            self.audit("register_taken_email", None, Some(owner.id), connection, "owner_mailed");
            if self.owner_notices.try_take(&owner.email.to_lowercase()) {
                self.mail(Mail::AlreadyRegistered { name: owner.name, email: owner.email });
            }
        }
        Ok(())
    }

    /// Queues `mail` to go after the reply (nothing without verification, which is what mails).
    pub(super) fn mail(&self, mail: Mail) {
        if let Some(outbox) = &self.outbox {
            outbox.queue(mail);
        }
    }

    /// A new access token for `user_id`, living `ttl`, recorded with where it was asked from.
    async fn issue_token(
        &self,
        user_id: i64,
        ttl: std::time::Duration,
        connection: &ConnectionInfo,
    ) -> Result<Issued, ApiError> {
        let (token, record) = new_token(user_id, ttl, connection)?;
        let expires_at = record.expires_at;
        let id = self.store.insert_token(record).await.map_err(store_error)?;
        Ok(Issued { id, token, expires_at: wire_time(expires_at) })
    }

    /// A new refresh token of login `family_id`, issued with access token `access_token_id`.
    async fn issue_refresh_token(
        &self,
        user_id: i64,
        family_id: i64,
        access_token_id: i64,
    ) -> Result<Issued, ApiError> {
        let (token, hash) = tokens::generate().map_err(ApiError::internal)?;
        let expires_at = expiry(self.config.refresh_token_ttl);
        let record = NewRefreshToken { user_id, family_id, hash, access_token_id, created_at: now_utc(), expires_at };
        let id = self.store.insert_refresh_token(record).await.map_err(store_error)?;
        Ok(Issued { id, token, expires_at: wire_time(expires_at) })
    }
}

/// A successful log-in: its access token, and its refresh token if asked for.
pub(super) struct LoggedIn {
    pub(super) user_id: i64,
    pub(super) access: Issued,
    pub(super) refresh: Option<Issued>,
}

/// A token just issued: the secret for the client, the row id for the store.
pub(super) struct Issued {
    pub(super) id: i64,
    pub(super) token: String,
    pub(super) expires_at: String,
}

/// A new access token's secret and the row to store for it: `user_id`'s,
/// living `ttl`, recorded with where it was asked from.
pub(super) fn new_token(
    user_id: i64,
    ttl: std::time::Duration,
    connection: &ConnectionInfo,
) -> Result<(String, NewToken), ApiError> {
    let (token, hash) = tokens::generate().map_err(ApiError::internal)?;
    let record = NewToken {
        user_id,
        hash,
        client_ip: connection.client_ip().map(|ip| ip.to_string()),
        user_agent: recorded_agent(connection),
        created_at: now_utc(),
        expires_at: expiry(ttl),
    };
    Ok((token, record))
}

/// The client's `User-Agent` as stored with a token: at most 512 characters (the column).
pub(super) fn recorded_agent(connection: &ConnectionInfo) -> Option<String> {
    connection.user_agent().map(|agent| agent.chars().take(512).collect())
}

/// Whether `caller` may read, update or delete `target`: itself, anyone for an
/// admin, and the users it manages (created) unless their role is above its own:
/// a manager never reaches an account promoted past it.
fn may_act_on(caller: &Identity, target: &User) -> bool {
    caller.user_id == target.id
        || caller.role == Role::Admin
        || (target.created_by == Some(caller.user_id) && rank(target.role) <= rank(caller.role))
}

/// How far a role reaches; a role added to the spec must be ranked here.
fn rank(role: Role) -> u8 {
    match role {
        Role::User => 0,
        Role::Admin => 1,
    }
}
