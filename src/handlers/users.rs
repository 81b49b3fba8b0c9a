//! user/create, user/read, user/update, user/delete.

use super::{App, store_error, wire_time};
use crate::api::*;
use crate::security::audit::AuditEvent;
use crate::store::{NewUser, Store, UserChanges, now_utc};
use crate::wire::{ApiError, RequestContext};

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
        let password_hash = match request.password {
            Some(password) => Some(self.passwords.hash(password).await?),
            None => None,
        };
        let user = NewUser {
            name: request.name,
            email: request.email,
            password_hash,
            role: request.role.unwrap_or(Role::User),
            created_by: Some(principal.user_id),
            now: now_utc(),
        };
        let id = self.store.create_user(user).await.map_err(store_error)?;
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
        let password_hash = match request.password {
            Some(password) => Some(self.passwords.hash(password).await?),
            None => None,
        };
        let changes = UserChanges { name: request.name, email: request.email, password_hash, role: request.role };
        if !self.store.update_user(target.id, changes, now_utc()).await.map_err(store_error)? {
            return Err(ApiError::not_found("no such user"));
        }
        if let Some(role) = request.role {
            self.tokens.set_role(target.id, role);
        }
        if password_changed {
            // Every other session of that user ends; the caller's own token survives
            // when it changed its own password.
            let keep = (principal.user_id == target.id).then_some(principal.token_id);
            self.tokens.forget_user(target.id, keep);
            let revoked = self.store.revoke_user_tokens(target.id, keep, now_utc()).await.map_err(store_error)?;
            if revoked > 0 {
                self.audit(AuditEvent::TokenRevoked, Some(principal.user_id), Some(target.id), ctx, "password change");
            }
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
        self.tokens.forget_user(target.id, None);
        if !self.store.delete_user(target.id).await.map_err(store_error)? {
            return Err(ApiError::not_found("no such user"));
        }
        let closed = self.sessions.close_user(target.id);
        tracing::info!(user = target.id, connections = closed, "user deleted; its connections closed");
        self.audit(AuditEvent::UserDeleted, Some(principal.user_id), Some(target.id), ctx, "success");
        self.audit(AuditEvent::TokenRevoked, Some(principal.user_id), Some(target.id), ctx, "user deleted");
        Ok(UserDeleteReply {})
    }
}
