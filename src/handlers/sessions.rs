//! token/list and token/revoke: a user's sessions (one per login), seen and
//! ended from any of them.

use specserve_runtime::{ApiError, Secured};

use super::{App, not_found, store_error, wire_time};
use crate::api::*;
use crate::store::{Store, now_utc};

impl<S: Store> TokenApi for App<S> {
    type Context = Self;

    async fn list(rq: Secured<'_, Self>, _request: EmptyPayload) -> Result<TokenListReply, ApiError> {
        let (app, principal) = (rq.context(), rq.principal());
        let live = app.store.live_tokens(principal.user_id, now_utc()).await.map_err(store_error)?;
        let sessions = live
            .into_iter()
            .map(|token| Session {
                token_id: token.id,
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

    async fn revoke(rq: Secured<'_, Self>, request: TokenRevokePayload) -> Result<(), ApiError> {
        let (app, principal, connection) = (rq.context(), rq.principal(), rq.connection());
        let user_id = principal.user_id;
        if !app.store.revoke_user_token(user_id, request.token_id, now_utc()).await.map_err(store_error)? {
            return Err(not_found("no such session"));
        }
        app.end_session(user_id, request.token_id).await;
        app.audit("token_revoked", Some(user_id), Some(user_id), connection, "success");
        Ok(())
    }
}
