//! user/create, user/read, user/update, user/delete.

use super::{App, store_error, wire_time};
use crate::api::*;
use crate::security::audit::AuditEvent;
use crate::store::{NewUser, RevokeTokens, Store, UserChanges, now_utc};
use crate::wire::{ApiError, RequestContext};

impl<S: Store> App<S> {
    /// Creates a user on the operator's behalf (`specserve user create`), through
    /// the same checks as `user/create`: the request schema (email format, name
    /// rules, password length), hashing and an audit line (`actor: null`).
    pub async fn create_user_as_operator(&self, request: UserCreatePayload) -> Result<i64, ApiError> {
        let payload = serde_json::to_value(&request).map_err(ApiError::internal)?;
        let frame = serde_json::json!({ "channel": Route::UserCreate.channel(), "payload": payload });
        crate::wire::Frame::from_value(frame)?.validate(Route::UserCreate.request_validator())?;
        let id = self.insert_user(request, None).await?;
        self.audit.record(AuditEvent::UserCreated, None, Some(id), None, "operator");
        Ok(id)
    }

    /// Hashes the password, if any, and stores the user.
    async fn insert_user(&self, request: UserCreatePayload, created_by: Option<i64>) -> Result<i64, ApiError> {
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
        self.store.create_user(user).await.map_err(store_error)
    }
}

impl<S: Store> UserApi for App<S> {
    async fn create(
        &self,
        ctx: &RequestContext,
        principal: &Principal,
        request: UserCreatePayload,
    ) -> Result<UserCreateReply, ApiError> {
        if !self.per_creator.try_take(&principal.user_id) {
            self.audit(AuditEvent::RateLimited, Some(principal.user_id), None, ctx, "per_creator");
            return Err(ApiError::rate_limited());
        }
        if request.role.is_some() && principal.role != Role::Admin {
            self.audit(AuditEvent::AuthorizationDenied, Some(principal.user_id), None, ctx, "role requires admin");
            return Err(ApiError::forbidden("only an admin may set a role"));
        }
        let id = self.insert_user(request, Some(principal.user_id)).await?;
        self.audit(AuditEvent::UserCreated, Some(principal.user_id), Some(id), ctx, "success");
        Ok(UserCreateReply { user_id: id })
    }

    async fn read(
        &self,
        ctx: &RequestContext,
        principal: &Principal,
        request: UserRef,
    ) -> Result<UserReadReply, ApiError> {
        let user = self.authorized_target(principal, request.id, ctx).await?;
        Ok(UserReadReply {
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            created_at: wire_time(user.created_at),
        })
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        principal: &Principal,
        request: UserUpdatePayload,
    ) -> Result<UserUpdateReply, ApiError> {
        let target = self.authorized_target(principal, request.id, ctx).await?;
        if request.role.is_some_and(|role| role != target.role) && principal.role != Role::Admin {
            self.audit(
                AuditEvent::AuthorizationDenied,
                Some(principal.user_id),
                Some(target.id),
                ctx,
                "role requires admin",
            );
            return Err(ApiError::forbidden("only an admin may change a role"));
        }
        let password_changed = request.password.is_some();
        if password_changed && !self.password_changes.try_take(&principal.user_id) {
            self.audit(AuditEvent::RateLimited, Some(principal.user_id), Some(target.id), ctx, "password_changes");
            return Err(ApiError::rate_limited());
        }
        let password_hash = match request.password {
            Some(password) => Some(self.passwords.hash(password).await?),
            None => None,
        };
        // A password change ends every other session of that user, in the same
        // transaction; the caller's own token survives when it changed its own password.
        let keep = (principal.user_id == target.id).then_some(principal.token_id);
        let revoke = password_changed.then_some(RevokeTokens { keep });
        let role_changed = request.role.is_some_and(|role| role != target.role);
        let changes = UserChanges { name: request.name, email: request.email, password_hash, role: request.role };
        let Some(revoked) = self.store.update_user(target.id, changes, revoke, now_utc()).await.map_err(store_error)?
        else {
            return Err(ApiError::not_found("no such user"));
        };
        // After the commit: cached identities of that user are stale (tokens or role).
        if password_changed {
            self.tokens.revoke_user(target.id, keep);
        } else if role_changed {
            self.tokens.revoke_user(target.id, None);
        }
        if revoked > 0 {
            self.audit(AuditEvent::TokenRevoked, Some(principal.user_id), Some(target.id), ctx, "password change");
        }
        self.audit(AuditEvent::UserUpdated, Some(principal.user_id), Some(target.id), ctx, "success");
        Ok(UserUpdateReply {})
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        principal: &Principal,
        request: UserRef,
    ) -> Result<UserDeleteReply, ApiError> {
        let target = self.authorized_target(principal, request.id, ctx).await?;
        if !self.store.delete_user(target.id).await.map_err(store_error)? {
            return Err(ApiError::not_found("no such user"));
        }
        self.tokens.revoke_user(target.id, None);
        let closed = self.sessions.close_user(target.id);
        tracing::info!(user = target.id, connections = closed, "user deleted; its connections closed");
        self.audit(AuditEvent::UserDeleted, Some(principal.user_id), Some(target.id), ctx, "success");
        self.audit(AuditEvent::TokenRevoked, Some(principal.user_id), Some(target.id), ctx, "user deleted");
        Ok(UserDeleteReply {})
    }
}
