//! auth/register, auth/verifyEmail, auth/resendVerification,
//! auth/generateToken, auth/refresh, auth/logout, auth/bind.

use std::net::{IpAddr, Ipv4Addr};

use specserve_runtime::{ApiError, Open, Secured};

use super::{App, VERIFICATION_ATTEMPTS, expiry, store_error, wire_time};
use crate::api::*;
use crate::mail::Mail;
use crate::security::{codes, tokens};
use crate::store::{
    NewRefreshToken, NewToken, NewUser, NextTokens, RefreshClaim, StoreError, Verification, VerificationCode, now_utc,
};

impl AuthApi for App {
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
        if app.config.email_verification.is_none() {
            // Seed 000's flow: the account is usable at once, so a taken email is `conflict`.
            let id = app.store.create_user(user).await.map_err(store_error)?;
            return Ok(AuthRegisterReply { user_id: Some(id), email_verification_required: None });
        }
        // The same reply, after the same work, for a new and a taken email:
        // the new account gets its code, a taken one's owner hears of the try.
        let email = user.email.clone();
        if app.create_unverified(user).await?.is_none() {
            app.tell_owner_of(&email, rq.connection()).await?;
        }
        Ok(AuthRegisterReply { user_id: None, email_verification_required: Some(true) })
    }

    async fn verify_email(
        rq: Open<'_, Self>,
        request: AuthVerifyEmailPayload,
    ) -> Result<AuthVerifyEmailReply, ApiError> {
        let app = rq.context();
        // One refusal for every failure (wrong, expired, spent, unknown,
        // verified already), so none tells an account exists or awaits verification.
        let refused = || {
            ApiError::new(
                ErrorCode::Unauthorized,
                "invalid or expired verification code: check it, or ask for a new one with auth/resendVerification",
            )
        };
        let Some(verification) = &app.config.email_verification else { return Err(refused()) };
        let Some(user) = app.store.user_by_email(&request.email).await.map_err(store_error)? else {
            return Err(refused());
        };
        let hash = codes::hash(&verification.secret, &request.email, &request.code);
        match app.store.verify_email(user.id, hash, now_utc(), VERIFICATION_ATTEMPTS).await.map_err(store_error)? {
            Verification::Verified => Ok(AuthVerifyEmailReply { user_id: user.id }),
            Verification::Wrong | Verification::NotPending | Verification::Expired | Verification::Exhausted => {
                Err(refused())
            }
        }
    }

    async fn resend_verification(rq: Open<'_, Self>, request: AuthResendVerificationPayload) -> Result<(), ApiError> {
        let app = rq.context();
        if app.config.email_verification.is_none() {
            return Ok(());
        }
        let (code, stored) = app.verification_code(&request.email)?;
        let sent_before = stored.sent_at - app.config.verification_resend_interval;
        // Only an account still awaiting verification, at most once per
        // interval; one statement whatever the email, and the mail goes later.
        if app.store.renew_verification_code(&request.email, stored, sent_before).await.map_err(store_error)? {
            app.mail(Mail::VerificationCode {
                name: None,
                email: request.email,
                code,
                valid_for: app.config.verification_code_ttl,
            });
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

impl App {
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

    /// A new verification code for `email`: the digits to mail, the hash to
    /// store. With verification off, a code nobody can enter (an account
    /// made unverified by the CLI, say), for a resend to replace later.
    fn verification_code(&self, email: &str) -> Result<(String, VerificationCode), ApiError> {
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
    async fn tell_owner_of(&self, email: &str, connection: &specserve_runtime::ConnectionInfo) -> Result<(), ApiError> {
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
    fn mail(&self, mail: Mail) {
        if let Some(outbox) = &self.outbox {
            outbox.queue(mail);
        }
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

impl App {
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
