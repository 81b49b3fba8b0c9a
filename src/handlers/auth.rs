//! auth/register, auth/generateToken, auth/logout, auth/bind.

use std::net::{IpAddr, Ipv4Addr};

use specserve_runtime::{ApiError, Open, Secured};

use super::{App, expiry, store_error, wire_time};
use crate::api::*;
use crate::security::tokens;
use crate::store::{NewRefreshToken, NewToken, NewUser, NextTokens, RefreshClaim, Store, now_utc};

impl<S: Store> AuthApi for App<S> {
    type Context = Self;

    async fn register(rq: Open<'_, Self>, request: AuthRegisterPayload) -> Result<AuthRegisterReply, ApiError> {
        let app = rq.context();
        let password_hash = app.passwords.hash(request.password).await?;
        let user = NewUser {
            name: request.name,
            email: request.email,
            password_hash: Some(password_hash),
            role: Role::User,
            created_by: None,
            now: now_utc(),
        };
        let id = app.store.create_user(user).await.map_err(store_error)?;
        Ok(AuthRegisterReply { user_id: id })
    }

    async fn generate_token(
        rq: Open<'_, Self>,
        request: AuthGenerateTokenPayload,
    ) -> Result<AuthGenerateTokenReply, ApiError> {
        let (app, connection) = (rq.context(), rq.connection());
        let account = request.email.to_lowercase();
        let ip = connection.client_ip().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if !app.logins.may_attempt(&account, ip) {
            app.audit("rate_limited", None, None, connection, "login_failures");
            return Err(ApiError::rate_limited());
        }
        let user = app.store.user_by_email(&request.email).await.map_err(store_error)?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        // Same work and the same reply for an unknown email and a wrong password.
        let valid = app.passwords.verify(request.password, hash).await?;
        let Some(user) = user.filter(|_| valid) else {
            app.logins.failed(&account, ip);
            return Err(ApiError::new(ErrorCode::Unauthorized, "invalid email or password"));
        };
        app.logins.succeeded(&account, ip);
        let refresh = request.refresh == Some(true);
        let ttl = if refresh { app.config.access_token_ttl } else { app.config.token_ttl };
        let access = app.issue_token(user.id, ttl, connection).await?;
        let refresh = if refresh { Some(app.issue_refresh_token(user.id, access.id, access.id).await?) } else { None };
        app.audit("token_issued", Some(user.id), Some(user.id), connection, "success");
        Ok(AuthGenerateTokenReply {
            token: access.token,
            expires_at: access.expires_at,
            refresh_expires_at: refresh.as_ref().map(|r| r.expires_at.clone()),
            refresh_token: refresh.map(|r| r.token),
        })
    }

    async fn refresh(rq: Open<'_, Self>, request: AuthRefreshPayload) -> Result<AuthRefreshReply, ApiError> {
        let (app, connection) = (rq.context(), rq.connection());
        let (access_token, access_hash) = tokens::generate().map_err(ApiError::internal)?;
        let (refresh_token, refresh_hash) = tokens::generate().map_err(ApiError::internal)?;
        let (access_expires_at, refresh_expires_at) =
            (expiry(app.config.access_token_ttl), expiry(app.config.refresh_token_ttl));
        let next = NextTokens {
            access_hash,
            refresh_hash,
            client_ip: connection.client_ip().map(|ip| ip.to_string()),
            user_agent: recorded_agent(connection),
            created_at: now_utc(),
            access_expires_at,
            refresh_expires_at,
        };
        let presented = tokens::hash(&request.refresh_token);
        match app.store.claim_refresh_token(presented, next, now_utc()).await.map_err(store_error)? {
            RefreshClaim::Claimed { user_id, .. } => {
                app.audit("token_refreshed", Some(user_id), Some(user_id), connection, "success");
                Ok(AuthRefreshReply {
                    token: access_token,
                    expires_at: wire_time(access_expires_at),
                    refresh_token,
                    refresh_expires_at: wire_time(refresh_expires_at),
                })
            }
            RefreshClaim::Reused { user_id, revoked_access_tokens } => {
                for token_id in revoked_access_tokens {
                    app.end_session(user_id, token_id).await;
                }
                app.audit("refresh_token_reused", Some(user_id), Some(user_id), connection, "unauthorized");
                Err(ApiError::unauthorized())
            }
            RefreshClaim::Invalid => Err(ApiError::unauthorized()),
        }
    }

    async fn logout(rq: Secured<'_, Self>, _request: AuthLogoutPayload) -> Result<(), ApiError> {
        let (app, principal) = (rq.context(), rq.principal());
        app.store.revoke_token(principal.token_id, now_utc()).await.map_err(store_error)?;
        app.end_session(principal.user_id, principal.token_id).await;
        Ok(())
    }

    /// Authenticating bound the connection already (see `App::bind`).
    async fn bind(rq: Secured<'_, Self>, _request: EmptyPayload) -> Result<AuthBindReply, ApiError> {
        Ok(AuthBindReply { user_id: rq.principal().user_id })
    }
}

/// A token just issued: the secret for the client, the row id for the store.
struct Issued {
    id: i64,
    token: String,
    expires_at: String,
}

impl<S: Store> App<S> {
    /// A new access token for `user_id`, living `ttl`, recorded with where it was asked from.
    async fn issue_token(
        &self,
        user_id: i64,
        ttl: std::time::Duration,
        connection: &specserve_runtime::ConnectionInfo,
    ) -> Result<Issued, ApiError> {
        let (token, hash) = tokens::generate().map_err(ApiError::internal)?;
        let expires_at = expiry(ttl);
        let record = NewToken {
            user_id,
            hash,
            client_ip: connection.client_ip().map(|ip| ip.to_string()),
            user_agent: recorded_agent(connection),
            created_at: now_utc(),
            expires_at,
        };
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

/// The client's `User-Agent` as stored with a token: at most 512 characters (the column).
fn recorded_agent(connection: &specserve_runtime::ConnectionInfo) -> Option<String> {
    connection.user_agent().map(|agent| agent.chars().take(512).collect())
}
