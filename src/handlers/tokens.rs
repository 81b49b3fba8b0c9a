//! token/list and token/revoke: a user's sessions (one per login, and the
//! client tokens an admin made), seen and ended from any of them; and
//! token/createClient.

use std::time::Duration;

use specserve_runtime::{ApiError, Secured};

use super::accounts::{Accounts, new_token};
use super::sessions::Sessions;
use super::{AccountContext, AccountHandlers, forbidden, not_found, store_error, wire_time};
use crate::api::*;
use crate::store::{ClientToken, now_utc};

impl<C: AccountContext> TokenApi for AccountHandlers<C> {
    type Context = C;

    async fn list(rq: Secured<'_, C>, _request: EmptyPayload) -> Result<TokenListReply, ApiError> {
        let (accounts, principal) = (rq.part::<Accounts>(), rq.principal());
        let live = accounts.store.live_tokens(principal.user_id, now_utc()).await.map_err(store_error)?;
        let sessions = live
            .into_iter()
            .map(|token| Session {
                token_id: token.id,
                kind: if token.client.is_some() { SessionKind::Client } else { SessionKind::User },
                name: token.client.as_ref().map(|c| c.name.clone()),
                scopes: token
                    .client
                    .map(|c| c.scopes.iter().filter_map(|s| Scope::from_wire(s)).collect::<Vec<_>>())
                    .filter(|scopes| !scopes.is_empty()),
                current: token.id == principal.token_id,
                client_ip: token.client_ip,
                user_agent: token.user_agent,
                created_at: wire_time(token.created_at),
                expires_at: wire_time(token.expires_at),
                last_used_at: token.last_used_at.map(wire_time),
            })
            .collect();
        Ok(TokenListReply { sessions })
    }

    async fn create_client(
        rq: Secured<'_, C>,
        request: TokenCreateClientPayload,
    ) -> Result<TokenCreateClientReply, ApiError> {
        let (accounts, principal, connection) = (rq.part::<Accounts>(), rq.principal(), rq.connection());
        if principal.role != Role::Admin {
            return Err(forbidden("only an admin may create client tokens"));
        }
        let days = u64::try_from(request.expires_in_days).unwrap_or(90);
        let (token, record) = new_token(principal.user_id, Duration::from_secs(days * 24 * 3600), connection)?;
        let expires_at = record.expires_at;
        let client =
            ClientToken { name: request.name, scopes: request.scopes.iter().map(|s| s.as_str().to_owned()).collect() };
        let token_id = accounts.store.insert_client_token(record, client).await.map_err(store_error)?;
        Ok(TokenCreateClientReply { token_id, token, scopes: request.scopes, expires_at: wire_time(expires_at) })
    }

    async fn revoke(rq: Secured<'_, C>, request: TokenRevokePayload) -> Result<(), ApiError> {
        let (accounts, principal, connection) = (rq.part::<Accounts>(), rq.principal(), rq.connection());
        let user_id = principal.user_id;
        if !accounts.store.revoke_user_token(user_id, request.token_id, now_utc()).await.map_err(store_error)? {
            return Err(not_found("no such session"));
        }
        rq.part::<Sessions>().end_session(user_id, request.token_id).await;
        accounts.audit("token_revoked", Some(user_id), Some(user_id), connection, "success");
        Ok(())
    }
}
