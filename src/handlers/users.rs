//! user/create, user/read, user/update, user/delete.

use specserve_runtime::{ApiError, Secured};

use super::accounts::Accounts;
use super::sessions::Sessions;
use super::{AccountContext, AccountHandlers, forbidden, not_found, store_error, wire_time};
use crate::api::*;
use crate::presence::Presence;
use crate::store::{RevokeTokens, UserChanges, now_utc};

impl<C: AccountContext> UserApi for AccountHandlers<C> {
    type Context = C;

    /// Whom the caller may see is presence's policy (`--user-visibility`).
    async fn directory(rq: Secured<'_, C>, request: DirectoryPayload) -> Result<UserDirectoryReply, ApiError> {
        let (presence, caller) = (rq.part::<Presence>(), rq.principal().user_id);
        // The schema holds `limit` to 1..=100; one more tells whether a next page exists.
        let limit = u32::try_from(request.limit.clamp(1, 100)).unwrap_or(100);
        let after = request.after.unwrap_or(0);
        let query = request.query.as_deref();
        let mut page = presence.directory(caller, query, after, limit + 1).await.map_err(store_error)?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let next_cursor = if more { page.last().map(|(id, _, _)| *id) } else { None };
        let users = page.into_iter().map(|(user_id, name, online)| DirectoryEntry { user_id, name, online }).collect();
        Ok(UserDirectoryReply { users, next_cursor })
    }

    async fn create(rq: Secured<'_, C>, request: UserCreatePayload) -> Result<UserCreateReply, ApiError> {
        let (accounts, principal) = (rq.part::<Accounts>(), rq.principal());
        if request.role.is_some() && principal.role != Role::Admin {
            accounts.audit(
                "authorization_denied",
                Some(principal.user_id),
                None,
                rq.connection(),
                "role requires admin",
            );
            return Err(forbidden("only an admin may set a role"));
        }
        if request.role == Some(Role::Admin) && principal.is_client() {
            accounts.audit("authorization_denied", Some(principal.user_id), None, rq.connection(), "client token");
            return Err(forbidden("a client token cannot create an admin"));
        }
        let marked = request.email_verified.is_some();
        if marked && principal.role != Role::Admin {
            accounts.audit(
                "authorization_denied",
                Some(principal.user_id),
                None,
                rq.connection(),
                "email requires admin",
            );
            return Err(forbidden("only an admin may mark an email verified"));
        }
        // Without email verification every account counts as verified.
        let verified = marked || accounts.config.email_verification.is_none();
        let id = accounts.insert_user(request, Some(principal.user_id), verified).await?;
        if marked {
            accounts.audit("email_marked_verified", Some(principal.user_id), Some(id), rq.connection(), "success");
        }
        Ok(UserCreateReply { user_id: id })
    }

    async fn read(rq: Secured<'_, C>, request: UserRef) -> Result<UserReadReply, ApiError> {
        let (accounts, principal) = (rq.part::<Accounts>(), rq.principal());
        let user = accounts.authorized_target(principal, request.id, rq.connection()).await?;
        Ok(UserReadReply {
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            created_at: wire_time(user.created_at),
        })
    }

    async fn update(rq: Secured<'_, C>, request: UserUpdatePayload) -> Result<(), ApiError> {
        let (accounts, principal, connection) = (rq.part::<Accounts>(), rq.principal(), rq.connection());
        let target = accounts.authorized_target(principal, request.id, connection).await?;
        if request.role.is_some_and(|role| role != target.role) && principal.role != Role::Admin {
            accounts.audit(
                "authorization_denied",
                Some(principal.user_id),
                Some(target.id),
                connection,
                "role requires admin",
            );
            return Err(forbidden("only an admin may change a role"));
        }
        if request.email_verified.is_some() && principal.role != Role::Admin {
            accounts.audit(
                "authorization_denied",
                Some(principal.user_id),
                Some(target.id),
                connection,
                "email requires admin",
            );
            return Err(forbidden("only an admin may mark an email verified"));
        }
        let password_changed = request.password.is_some();
        if password_changed && !accounts.password_changes.try_take(&principal.user_id) {
            accounts.audit("rate_limited", Some(principal.user_id), Some(target.id), connection, "password_changes");
            return Err(ApiError::rate_limited());
        }
        let password_hash = match request.password {
            Some(password) => Some(accounts.passwords.hash(password).await?),
            None => None,
        };
        // A password change ends every other session of that user, in the same
        // transaction; the caller's own token survives when it changed its own password.
        let keep = (principal.user_id == target.id).then_some(principal.token_id);
        let revoke = password_changed.then_some(RevokeTokens { keep });
        let role_changed = request.role.is_some_and(|role| role != target.role);
        let changes = UserChanges { name: request.name, email: request.email, password_hash, role: request.role };
        let Some(revoked) =
            accounts.store.update_user(target.id, changes, revoke, now_utc()).await.map_err(store_error)?
        else {
            return Err(not_found("no such user"));
        };
        // After the commit: cached identities of that user are stale (tokens or role).
        if password_changed {
            // The revoked sessions' connections get no more of the user's events.
            rq.part::<Sessions>().end_user_sessions(target.id, keep).await;
        } else if role_changed {
            rq.part::<Sessions>().forget_user(target.id);
        }
        if revoked > 0 {
            accounts.audit("token_revoked", Some(principal.user_id), Some(target.id), connection, "password change");
        }
        if request.email_verified.is_some()
            && accounts.store.mark_email_verified(target.id).await.map_err(store_error)?
        {
            accounts.audit("email_marked_verified", Some(principal.user_id), Some(target.id), connection, "success");
        }
        Ok(())
    }

    async fn delete(rq: Secured<'_, C>, request: UserRef) -> Result<(), ApiError> {
        let (accounts, principal) = (rq.part::<Accounts>(), rq.principal());
        let target = accounts.authorized_target(principal, request.id, rq.connection()).await?;
        if target.role == Role::Admin && principal.is_client() {
            accounts.audit(
                "authorization_denied",
                Some(principal.user_id),
                Some(target.id),
                rq.connection(),
                "client token",
            );
            return Err(forbidden("a client token cannot delete an admin"));
        }
        // Read before the delete takes the user out of every room.
        let peers = accounts.store.peers_of(target.id).await.map_err(store_error)?;
        if !accounts.store.delete_user(target.id).await.map_err(store_error)? {
            return Err(not_found("no such user"));
        }
        let closed = rq.part::<Sessions>().remove_user(target.id, &peers);
        tracing::info!(user = target.id, connections = closed, "user deleted; its connections closed");
        Ok(())
    }
}
