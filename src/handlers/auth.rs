//! auth/register, auth/generateToken, auth/logout, auth/bind.

use std::net::{IpAddr, Ipv4Addr};

use specserve_runtime::{ApiError, Open, Secured};

use super::{App, expiry, store_error, wire_time};
use crate::api::*;
use crate::security::tokens;
use crate::store::{NewToken, NewUser, Store, now_utc};

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
        let (token, hash) = tokens::generate().map_err(ApiError::internal)?;
        let expires_at = expiry(app.config.token_ttl);
        let record = NewToken {
            user_id: user.id,
            hash,
            client_ip: connection.client_ip().map(|ip| ip.to_string()),
            user_agent: connection.user_agent().map(|ua| ua.chars().take(512).collect()),
            created_at: now_utc(),
            expires_at,
        };
        app.store.insert_token(record).await.map_err(store_error)?;
        app.audit("token_issued", Some(user.id), Some(user.id), connection, "success");
        Ok(AuthGenerateTokenReply { token, expires_at: wire_time(expires_at) })
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
