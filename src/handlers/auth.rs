//! auth/register, auth/generateToken, auth/logout.

use std::net::{IpAddr, Ipv4Addr};

use super::{App, expiry, store_error, wire_time};
use crate::api::*;
use crate::security::audit::AuditEvent;
use crate::security::tokens;
use crate::store::{NewToken, NewUser, Store, now_utc};
use crate::wire::{ApiError, RequestContext};

impl<S: Store> AuthApi for App<S> {
    async fn register(
        &self,
        ctx: &RequestContext,
        request: AuthRegisterPayload,
    ) -> Result<AuthRegisterReply, ApiError> {
        self.limit_ip(ctx)?;
        let password_hash = self.passwords.hash(request.password).await?;
        let user = NewUser {
            name: request.name,
            email: request.email,
            password_hash: Some(password_hash),
            role: Role::User,
            created_by: None,
            now: now_utc(),
        };
        match self.store.create_user(user).await {
            Ok(id) => {
                self.audit(AuditEvent::Register, Some(id), Some(id), ctx, "success");
                Ok(AuthRegisterReply { user_id: id })
            }
            Err(error) => {
                self.audit(AuditEvent::Register, None, None, ctx, "failure");
                Err(store_error(error))
            }
        }
    }

    async fn generate_token(
        &self,
        ctx: &RequestContext,
        request: AuthGenerateTokenPayload,
    ) -> Result<AuthGenerateTokenReply, ApiError> {
        self.limit_ip(ctx)?;
        let account = request.email.to_lowercase();
        let ip = ctx.client_ip().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if !self.logins.may_attempt(&account, ip) {
            self.audit(AuditEvent::RateLimited, None, None, ctx, "login_failures");
            return Err(ApiError::rate_limited());
        }
        let user = self.store.user_by_email(&request.email).await.map_err(store_error)?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        // Same work and the same reply for an unknown email and a wrong password.
        let valid = self.passwords.verify(request.password, hash).await?;
        let Some(user) = user.filter(|_| valid) else {
            self.logins.failed(&account, ip);
            self.audit(AuditEvent::LoginFailure, None, None, ctx, "failure");
            return Err(ApiError::new(ErrorCode::Unauthorized, "invalid email or password"));
        };
        self.logins.succeeded(&account, ip);
        let (token, hash) = tokens::generate().map_err(ApiError::internal)?;
        let expires_at = expiry(self.config.token_ttl);
        let record = NewToken {
            user_id: user.id,
            hash,
            client_ip: ctx.client_ip().map(|ip| ip.to_string()),
            user_agent: ctx.user_agent().map(|ua| ua.chars().take(512).collect()),
            created_at: now_utc(),
            expires_at,
        };
        self.store.insert_token(record).await.map_err(store_error)?;
        self.audit(AuditEvent::LoginSuccess, Some(user.id), Some(user.id), ctx, "success");
        self.audit(AuditEvent::TokenIssued, Some(user.id), Some(user.id), ctx, "success");
        Ok(AuthGenerateTokenReply { token, expires_at: wire_time(expires_at) })
    }

    async fn logout(
        &self,
        ctx: &RequestContext,
        principal: &Principal,
        _request: AuthLogoutPayload,
    ) -> Result<AuthLogoutReply, ApiError> {
        self.store.revoke_token(principal.token_id, now_utc()).await.map_err(store_error)?;
        // After the write commits, so no concurrent load can cache the token again.
        self.tokens.revoke_token(principal.token_id);
        self.audit(AuditEvent::TokenRevoked, Some(principal.user_id), Some(principal.user_id), ctx, "logout");
        Ok(AuthLogoutReply {})
    }
}
