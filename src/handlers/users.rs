//! user/create, user/read, user/update, user/delete.

use specserve_runtime::hub::Audience;
use specserve_runtime::{ApiError, Secured};

use super::{App, forbidden, not_found, store_error, validated, wire_time};
use crate::api::*;
use crate::store::{NewUser, RevokeTokens, StoreError, UserChanges, now_utc};

impl App {
    /// Creates a user on the operator's behalf (`specserve user create`), through
    /// the same checks as `user/create`: the request schema (email format, name
    /// rules, password length), hashing and an audit line (`actor: null`).
    /// Unverified unless the request says `emailVerified` (the operator's
    /// word for it, audited); such an account logs in under
    /// `--require-email-verification` only after a resent code.
    pub async fn create_user_as_operator(&self, request: UserCreatePayload) -> Result<i64, ApiError> {
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
    async fn insert_user(
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
}

impl UserApi for App {
    type Context = Self;

    async fn create(rq: Secured<'_, Self>, request: UserCreatePayload) -> Result<UserCreateReply, ApiError> {
        let (app, principal) = (rq.context(), rq.principal());
        if request.role.is_some() && principal.role != Role::Admin {
            app.audit("authorization_denied", Some(principal.user_id), None, rq.connection(), "role requires admin");
            return Err(forbidden("only an admin may set a role"));
        }
        if request.role == Some(Role::Admin) && principal.is_client() {
            app.audit("authorization_denied", Some(principal.user_id), None, rq.connection(), "client token");
            return Err(forbidden("a client token cannot create an admin"));
        }
        let marked = request.email_verified.is_some();
        if marked && principal.role != Role::Admin {
            app.audit("authorization_denied", Some(principal.user_id), None, rq.connection(), "email requires admin");
            return Err(forbidden("only an admin may mark an email verified"));
        }
        // Without email verification every account counts as verified.
        let verified = marked || app.config.email_verification.is_none();
        let id = app.insert_user(request, Some(principal.user_id), verified).await?;
        if marked {
            app.audit("email_marked_verified", Some(principal.user_id), Some(id), rq.connection(), "success");
        }
        Ok(UserCreateReply { user_id: id })
    }

    async fn read(rq: Secured<'_, Self>, request: UserRef) -> Result<UserReadReply, ApiError> {
        let (app, principal) = (rq.context(), rq.principal());
        let user = app.authorized_target(principal, request.id, rq.connection()).await?;
        Ok(UserReadReply {
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            created_at: wire_time(user.created_at),
        })
    }

    async fn update(rq: Secured<'_, Self>, request: UserUpdatePayload) -> Result<(), ApiError> {
        let (app, principal, connection) = (rq.context(), rq.principal(), rq.connection());
        let target = app.authorized_target(principal, request.id, connection).await?;
        if request.role.is_some_and(|role| role != target.role) && principal.role != Role::Admin {
            app.audit(
                "authorization_denied",
                Some(principal.user_id),
                Some(target.id),
                connection,
                "role requires admin",
            );
            return Err(forbidden("only an admin may change a role"));
        }
        if request.email_verified.is_some() && principal.role != Role::Admin {
            app.audit(
                "authorization_denied",
                Some(principal.user_id),
                Some(target.id),
                connection,
                "email requires admin",
            );
            return Err(forbidden("only an admin may mark an email verified"));
        }
        let password_changed = request.password.is_some();
        if password_changed && !app.password_changes.try_take(&principal.user_id) {
            app.audit("rate_limited", Some(principal.user_id), Some(target.id), connection, "password_changes");
            return Err(ApiError::rate_limited());
        }
        let password_hash = match request.password {
            Some(password) => Some(app.passwords.hash(password).await?),
            None => None,
        };
        // A password change ends every other session of that user, in the same
        // transaction; the caller's own token survives when it changed its own password.
        let keep = (principal.user_id == target.id).then_some(principal.token_id);
        let revoke = password_changed.then_some(RevokeTokens { keep });
        let role_changed = request.role.is_some_and(|role| role != target.role);
        let changes = UserChanges { name: request.name, email: request.email, password_hash, role: request.role };
        let Some(revoked) = app.store.update_user(target.id, changes, revoke, now_utc()).await.map_err(store_error)?
        else {
            return Err(not_found("no such user"));
        };
        // After the commit: cached identities of that user are stale (tokens or role).
        if password_changed {
            // The revoked sessions' connections get no more of the user's events.
            app.end_user_sessions(target.id, keep).await;
        } else if role_changed {
            app.forget_user(target.id);
        }
        if revoked > 0 {
            app.audit("token_revoked", Some(principal.user_id), Some(target.id), connection, "password change");
        }
        if request.email_verified.is_some() && app.store.mark_email_verified(target.id).await.map_err(store_error)? {
            app.audit("email_marked_verified", Some(principal.user_id), Some(target.id), connection, "success");
        }
        Ok(())
    }

    async fn delete(rq: Secured<'_, Self>, request: UserRef) -> Result<(), ApiError> {
        let (app, principal) = (rq.context(), rq.principal());
        let target = app.authorized_target(principal, request.id, rq.connection()).await?;
        if target.role == Role::Admin && principal.is_client() {
            app.audit(
                "authorization_denied",
                Some(principal.user_id),
                Some(target.id),
                rq.connection(),
                "client token",
            );
            return Err(forbidden("a client token cannot delete an admin"));
        }
        // Read before the delete takes the user out of every room.
        let peers = app.store.peers_of(target.id).await.map_err(store_error)?;
        if !app.store.delete_user(target.id).await.map_err(store_error)? {
            return Err(not_found("no such user"));
        }
        let closed = app.remove_user(target.id);
        tracing::info!(user = target.id, connections = closed, "user deleted; its connections closed");
        if closed > 0 {
            let peers: Vec<String> = peers.iter().map(i64::to_string).collect();
            let gone = PresenceChanged { user_id: target.id, online: false };
            if let Err(error) = app.publisher.presence_changed(Audience::principals(&peers), &gone) {
                tracing::error!(%error, "presence event not sent");
            }
        }
        Ok(())
    }
}
