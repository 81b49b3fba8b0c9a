//! Cookie log-in for browsers: `POST /auth/login` sets the httpOnly session
//! cookie the spec's `sessionCookie` scheme names, `POST /auth/logout` revokes
//! and clears it. A page's scripts never see the token. The server accepts the
//! cookie only from an allowed `Origin` (see `specserve_runtime::server::http`).

use serde_json::json;
use specserve_runtime::context::CredentialSource;
use specserve_runtime::{ApiError, Code, HttpPost, HttpReply};

use super::accounts::Accounts;
use super::sessions::Sessions;
use super::{store_error, validated};
use crate::api::AuthGenerateTokenPayload;
use crate::security::tokens;
use crate::store::now_utc;

/// The cookie's name, as the spec's `sessionCookie` scheme declares it. The
/// `__Host-` prefix makes browsers insist on `Secure`, `Path=/` and no `Domain`.
pub const SESSION_COOKIE: &str = "__Host-specserve-token";

/// The application's HTTP endpoints (`Context::http_post`).
pub(super) async fn http_post(accounts: &Accounts, sessions: &Sessions, request: HttpPost<'_>) -> Option<HttpReply> {
    match request.path {
        "/auth/login" => Some(log_in(accounts, request).await),
        "/auth/logout" => Some(log_out(accounts, sessions, request).await),
        _ => None,
    }
}

/// auth/generateToken's checks and token, delivered as a cookie. The body
/// is auth/generateToken's payload; `refresh` is refused, since the
/// cookie holds one token.
async fn log_in(accounts: &Accounts, request: HttpPost<'_>) -> HttpReply {
    let connection = request.connection;
    let outcome = async {
        // The same per-address budget as auth/generateToken's frames.
        accounts.auth_budget(connection)?;
        let payload = serde_json::from_slice(request.body)
            .map_err(|_| ApiError::new(Code::BAD_REQUEST, "the body is not JSON"))?;
        let payload: AuthGenerateTokenPayload = validated("AuthGenerateTokenRequest", "auth/generateToken", payload)?;
        if payload.refresh.is_some() {
            return Err(ApiError::new(Code::BAD_REQUEST, "a cookie log-in has no refresh token"));
        }
        accounts.log_in(payload, connection).await
    }
    .await;
    match outcome {
        Ok(logged_in) => {
            accounts.audit("login", Some(logged_in.user_id), Some(logged_in.user_id), connection, "success");
            let max_age = accounts.config.token_ttl.as_secs();
            HttpReply {
                status: 200,
                body: json!({"userId": logged_in.user_id, "expiresAt": logged_in.access.expires_at}).to_string(),
                set_cookies: vec![session_cookie(&logged_in.access.token, max_age)],
            }
        }
        Err(error) => {
            accounts.audit("login", None, None, connection, error.code().as_str());
            error_reply(&error, Vec::new())
        }
    }
}

/// Revokes the cookie's token, if live, and clears the cookie either way.
async fn log_out(accounts: &Accounts, sessions: &Sessions, request: HttpPost<'_>) -> HttpReply {
    let connection = request.connection;
    let cleared = vec![session_cookie("", 0)];
    let Some(token) = connection.credential(CredentialSource::Cookie(SESSION_COOKIE)) else {
        return error_reply(&ApiError::unauthorized(), cleared);
    };
    let now = now_utc();
    let record = match sessions.live_token(tokens::hash(token), now).await {
        Ok(record) => record,
        Err(error) => return error_reply(&error, Vec::new()),
    };
    if let Some(record) = record {
        if let Err(error) = accounts.store.revoke_token(record.id, now).await.map_err(store_error) {
            return error_reply(&error, Vec::new());
        }
        sessions.end_session(record.user_id, record.id).await;
        accounts.audit("logout", Some(record.user_id), Some(record.user_id), connection, "success");
    }
    HttpReply { status: 200, body: json!({"loggedOut": true}).to_string(), set_cookies: cleared }
}

/// The session cookie holding `token` for `max_age` seconds (0 clears it).
fn session_cookie(token: &str, max_age: u64) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// An error as JSON, `{"error": {code, message, details?}}`, with its HTTP status.
fn error_reply(error: &ApiError, set_cookies: Vec<String>) -> HttpReply {
    HttpReply { status: error.code().http_status(), body: json!({"error": error.body()}).to_string(), set_cookies }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_the_one_the_spec_declares() {
        let api = specserve_codegen::Api::from_yaml(crate::ASYNCAPI_YAML).expect("the spec loads");
        let scheme = api.security_schemes.iter().find(|s| s.key == "sessionCookie").expect("sessionCookie");
        assert_eq!(scheme.enforcement, specserve_codegen::model::Enforcement::Cookie(SESSION_COOKIE.into()));
    }
}
