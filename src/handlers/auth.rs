//! auth/register, auth/verifyEmail, auth/resendVerification,
//! auth/generateToken, auth/refresh, auth/logout, auth/bind.

use specserve_runtime::{ApiError, Open, Secured};

use super::accounts::{Accounts, recorded_agent};
use super::sessions::Sessions;
use super::{AccountContext, AccountHandlers, VERIFICATION_ATTEMPTS, expiry, message_view, store_error, wire_time};
use crate::api::*;
use crate::mail::Mail;
use crate::security::{codes, tokens};
use crate::store::{NewUser, NextTokens, RefreshClaim, Verification, now_utc};

/// The most messages `auth/bind` catches up; with more, it answers `resync`.
pub const CATCH_UP_MAX: u32 = 500;

impl<C: AccountContext> AuthApi for AccountHandlers<C> {
    type Context = C;

    async fn register(rq: Open<'_, C>, request: AuthRegisterPayload) -> Result<AuthRegisterReply, ApiError> {
        let accounts = rq.part::<Accounts>();
        let password_hash = accounts.passwords.hash(request.password).await?;
        let user = NewUser {
            name: request.name,
            email: request.email,
            password_hash: Some(password_hash),
            role: Role::User,
            created_by: None,
            now: now_utc(),
        };
        if accounts.config.email_verification.is_none() {
            // Seed 000's flow: the account is usable at once, so a taken email is `conflict`.
            let id = accounts.store.create_user(user).await.map_err(store_error)?;
            return Ok(AuthRegisterReply { user_id: Some(id), email_verification_required: None });
        }
        // The same reply, after the same work, for a new and a taken email:
        // the new account gets its code, a taken one's owner hears of the try.
        let email = user.email.clone();
        if accounts.create_unverified(user).await?.is_none() {
            accounts.tell_owner_of(&email, rq.connection()).await?;
        }
        Ok(AuthRegisterReply { user_id: None, email_verification_required: Some(true) })
    }

    async fn verify_email(rq: Open<'_, C>, request: AuthVerifyEmailPayload) -> Result<AuthVerifyEmailReply, ApiError> {
        let accounts = rq.part::<Accounts>();
        // One refusal for every failure (wrong, expired, spent, unknown,
        // verified already), so none tells an account exists or awaits verification.
        let refused = || {
            ApiError::new(
                ErrorCode::Unauthorized,
                "invalid or expired verification code: check it, or ask for a new one with auth/resendVerification",
            )
        };
        let Some(verification) = &accounts.config.email_verification else { return Err(refused()) };
        let Some(user) = accounts.store.user_by_email(&request.email).await.map_err(store_error)? else {
            return Err(refused());
        };
        let hash = codes::hash(&verification.secret, &request.email, &request.code);
        match accounts.store.verify_email(user.id, hash, now_utc(), VERIFICATION_ATTEMPTS).await.map_err(store_error)? {
            Verification::Verified => Ok(AuthVerifyEmailReply { user_id: user.id }),
            Verification::Wrong | Verification::NotPending | Verification::Expired | Verification::Exhausted => {
                Err(refused())
            }
        }
    }

    async fn resend_verification(rq: Open<'_, C>, request: AuthResendVerificationPayload) -> Result<(), ApiError> {
        let accounts = rq.part::<Accounts>();
        if accounts.config.email_verification.is_none() {
            return Ok(());
        }
        let (code, stored) = accounts.verification_code(&request.email)?;
        let sent_before = stored.sent_at - accounts.config.verification_resend_interval;
        // Only an account still awaiting verification, at most once per
        // interval; one statement whatever the email, and the mail goes later.
        if accounts.store.renew_verification_code(&request.email, stored, sent_before).await.map_err(store_error)? {
            accounts.mail(Mail::VerificationCode {
                name: None,
                email: request.email,
                code,
                valid_for: accounts.config.verification_code_ttl,
            });
        }
        Ok(())
    }

    async fn generate_token(
        rq: Open<'_, C>,
        request: AuthGenerateTokenPayload,
    ) -> Result<AuthGenerateTokenReply, ApiError> {
        let logged_in = rq.part::<Accounts>().log_in(request, rq.connection()).await?;
        Ok(AuthGenerateTokenReply {
            token: logged_in.access.token,
            expires_at: logged_in.access.expires_at,
            refresh_expires_at: logged_in.refresh.as_ref().map(|r| r.expires_at.clone()),
            refresh_token: logged_in.refresh.map(|r| r.token),
        })
    }

    async fn refresh(rq: Open<'_, C>, request: AuthRefreshPayload) -> Result<AuthRefreshReply, ApiError> {
        let (accounts, connection) = (rq.part::<Accounts>(), rq.connection());
        let (access_token, access_hash) = tokens::generate().map_err(ApiError::internal)?;
        let (refresh_token, refresh_hash) = tokens::generate().map_err(ApiError::internal)?;
        let (access_expires_at, refresh_expires_at) =
            (expiry(accounts.config.access_token_ttl), expiry(accounts.config.refresh_token_ttl));
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
        match accounts.store.claim_refresh_token(presented, next, now_utc()).await.map_err(store_error)? {
            RefreshClaim::Claimed { user_id, .. } => {
                accounts.audit("token_refreshed", Some(user_id), Some(user_id), connection, "success");
                Ok(AuthRefreshReply {
                    token: access_token,
                    expires_at: wire_time(access_expires_at),
                    refresh_token,
                    refresh_expires_at: wire_time(refresh_expires_at),
                })
            }
            RefreshClaim::Reused { user_id, revoked_access_tokens } => {
                for token_id in revoked_access_tokens {
                    rq.part::<Sessions>().end_session(user_id, token_id).await;
                }
                accounts.audit("refresh_token_reused", Some(user_id), Some(user_id), connection, "unauthorized");
                Err(ApiError::unauthorized())
            }
            RefreshClaim::Invalid => Err(ApiError::unauthorized()),
        }
    }

    async fn logout(rq: Secured<'_, C>, _request: AuthLogoutPayload) -> Result<(), ApiError> {
        let principal = rq.principal();
        rq.part::<Accounts>().store.revoke_token(principal.token_id, now_utc()).await.map_err(store_error)?;
        rq.part::<Sessions>().end_session(principal.user_id, principal.token_id).await;
        Ok(())
    }

    /// Authenticating bound the connection already (see `Sessions::bind`):
    /// this says who to, and catches up what a reconnecting client missed.
    async fn bind(rq: Secured<'_, C>, request: AuthBindPayload) -> Result<AuthBindReply, ApiError> {
        let (principal, connection) = (rq.principal(), rq.connection());
        let session = rq.part::<Sessions>().session_of(principal, connection);
        let (mut missed, mut resync) = (None, None);
        if let Some(since) = request.since {
            // Bound first, read second: whatever is stored after this read is pushed live.
            let store = &rq.part::<Accounts>().store;
            let mut found =
                store.messages_since(principal.user_id, since, CATCH_UP_MAX + 1).await.map_err(store_error)?;
            let over = found.len() > CATCH_UP_MAX as usize;
            found.truncate(if over { 0 } else { found.len() });
            missed = Some(found.into_iter().map(|m| MissedMessage { message: message_view(m) }).collect());
            resync = Some(over);
        }
        Ok(AuthBindReply { user_id: principal.user_id, session, missed, resync })
    }
}
