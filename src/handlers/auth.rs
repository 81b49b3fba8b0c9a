//! auth/register, auth/verifyEmail, auth/resendVerification,
//! auth/generateToken, auth/refresh, auth/logout, auth/bind.

use std::net::{IpAddr, Ipv4Addr};

use specserve_runtime::{ApiError, Open, Secured};

use super::{App, VERIFICATION_ATTEMPTS, expiry, store_error, wire_time};
use crate::api::*;
use crate::security::{codes, tokens};
use crate::store::{
    NewRefreshToken, NewToken, NewUser, NextTokens, RefreshClaim, Store, Verification, VerificationCode, now_utc,
};

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
        let Some(mailer) = &app.config.email_verification else {
            let id = app.store.create_user(user).await.map_err(store_error)?;
            return Ok(AuthRegisterReply { user_id: id, email_verification_required: None });
        };
        let (name, email) = (user.name.clone(), user.email.clone());
        let (code, stored) = app.verification_code(&email)?;
        let id = app.store.create_unverified_user(user, stored).await.map_err(store_error)?;
        // The account exists either way: if the mail fails, auth/resendVerification
        // sends another once the resend interval has passed.
        if let Err(error) = mailer.send_verification_code(&name, &email, &code, app.config.verification_code_ttl).await
        {
            tracing::warn!(%error, user = id, "verification mail not sent");
        }
        Ok(AuthRegisterReply { user_id: id, email_verification_required: Some(true) })
    }

    async fn verify_email(
        rq: Open<'_, Self>,
        request: AuthVerifyEmailPayload,
    ) -> Result<AuthVerifyEmailReply, ApiError> {
        let app = rq.context();
        let wrong = || ApiError::new(ErrorCode::Unauthorized, "invalid verification code");
        let Some(user) = app.store.user_by_email(&request.email).await.map_err(store_error)? else {
            return Err(wrong());
        };
        let hash = codes::hash(&request.email, &request.code);
        match app.store.verify_email(user.id, hash, now_utc(), VERIFICATION_ATTEMPTS).await.map_err(store_error)? {
            Verification::Verified => Ok(AuthVerifyEmailReply { user_id: user.id }),
            Verification::Wrong | Verification::NotPending => Err(wrong()),
            Verification::Expired | Verification::Exhausted => Err(ApiError::new(
                ErrorCode::Unauthorized,
                "this code is no longer valid: ask for a new one with auth/resendVerification",
            )),
        }
    }

    async fn resend_verification(rq: Open<'_, Self>, request: AuthResendVerificationPayload) -> Result<(), ApiError> {
        let app = rq.context();
        let Some(mailer) = &app.config.email_verification else { return Ok(()) };
        let Some(user) = app.store.user_by_email(&request.email).await.map_err(store_error)? else { return Ok(()) };
        let (code, stored) = app.verification_code(&user.email)?;
        let sent_before = stored.sent_at - app.config.verification_resend_interval;
        // Only an account still awaiting verification, and at most once per interval.
        if app.store.renew_verification_code(user.id, stored, sent_before).await.map_err(store_error)? {
            let valid_for = app.config.verification_code_ttl;
            if let Err(error) = mailer.send_verification_code(&user.name, &user.email, &code, valid_for).await {
                tracing::warn!(%error, user = user.id, "verification mail not sent");
            }
        }
        Ok(())
    }

    async fn generate_token(
        rq: Open<'_, Self>,
        request: AuthGenerateTokenPayload,
    ) -> Result<AuthGenerateTokenReply, ApiError> {
        let logged_in = rq.context().log_in(request, rq.connection()).await?;
        Ok(AuthGenerateTokenReply {
            token: logged_in.access.token,
            expires_at: logged_in.access.expires_at,
            refresh_expires_at: logged_in.refresh.as_ref().map(|r| r.expires_at.clone()),
            refresh_token: logged_in.refresh.map(|r| r.token),
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

impl<S: Store> App<S> {
    /// Checks a log-in (throttled; one reply for an unknown email and a wrong
    /// password; verified email when required) and issues its tokens: what
    /// auth/generateToken and the cookie log-in share.
    pub(super) async fn log_in(
        &self,
        request: AuthGenerateTokenPayload,
        connection: &specserve_runtime::ConnectionInfo,
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

    /// A new verification code for `email`: the digits to mail, the hash to store.
    fn verification_code(&self, email: &str) -> Result<(String, VerificationCode), ApiError> {
        let code = codes::generate().map_err(ApiError::internal)?;
        let stored = VerificationCode {
            hash: codes::hash(email, &code),
            expires_at: expiry(self.config.verification_code_ttl),
            sent_at: now_utc(),
        };
        Ok((code, stored))
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

impl<S: Store> App<S> {
    /// A new access token for `user_id`, living `ttl`, recorded with where it was asked from.
    async fn issue_token(
        &self,
        user_id: i64,
        ttl: std::time::Duration,
        connection: &specserve_runtime::ConnectionInfo,
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

/// A new access token's secret and the row to store for it: `user_id`'s,
/// living `ttl`, recorded with where it was asked from.
pub(super) fn new_token(
    user_id: i64,
    ttl: std::time::Duration,
    connection: &specserve_runtime::ConnectionInfo,
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
fn recorded_agent(connection: &specserve_runtime::ConnectionInfo) -> Option<String> {
    connection.user_agent().map(|agent| agent.chars().take(512).collect())
}
