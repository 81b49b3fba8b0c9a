//! An in-memory implementation of the generated handler traits, so the
//! generated dispatcher and client can be tested without a database.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use specserve::api::*;
use specserve::security::{Authenticate, Identity};
use specserve::wire::{ApiError, RequestContext};

/// The token of the admin every [`Memory`] starts with (user 1).
pub const ADMIN_TOKEN: &str = "admin-token";

/// Users and tokens in a mutex: just enough behaviour to exercise every path.
pub struct Memory {
    state: Mutex<State>,
}

struct State {
    users: HashMap<i64, (String, String, Role)>,
    tokens: HashMap<String, i64>,
    next_id: i64,
}

impl Default for Memory {
    fn default() -> Self {
        let mut users = HashMap::new();
        users.insert(1, ("Root".to_owned(), "root@example.com".to_owned(), Role::Admin));
        let tokens = HashMap::from([(ADMIN_TOKEN.to_owned(), 1)]);
        Memory { state: Mutex::new(State { users, tokens, next_id: 2 }) }
    }
}

impl Memory {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("test state lock")
    }
}

impl Authenticate for Memory {
    async fn authenticate(&self, token: &str, _ctx: &RequestContext) -> Result<Identity, ApiError> {
        let state = self.state();
        let user_id = *state.tokens.get(token).ok_or_else(ApiError::unauthorized)?;
        let role = state.users.get(&user_id).map(|u| u.2).ok_or_else(ApiError::unauthorized)?;
        Ok(Identity { user_id, role, token_id: 0 })
    }
}

impl AuthApi for Memory {
    async fn register(
        &self,
        _ctx: &RequestContext,
        request: AuthRegisterPayload,
    ) -> Result<AuthRegisterReply, ApiError> {
        let mut state = self.state();
        if state.users.values().any(|u| u.1.eq_ignore_ascii_case(&request.email)) {
            return Err(ApiError::conflict("email is already registered"));
        }
        let id = state.next_id;
        state.next_id += 1;
        state.users.insert(id, (request.name, request.email, Role::User));
        Ok(AuthRegisterReply { user_id: id })
    }

    async fn generate_token(
        &self,
        _ctx: &RequestContext,
        request: AuthGenerateTokenPayload,
    ) -> Result<AuthGenerateTokenReply, ApiError> {
        let mut state = self.state();
        let id = state.users.iter().find(|(_, u)| u.1 == request.email).map(|(id, _)| *id);
        let id = id.ok_or_else(ApiError::unauthorized)?;
        let token = format!("token-{id}");
        state.tokens.insert(token.clone(), id);
        Ok(AuthGenerateTokenReply { token, expires_at: "2030-01-01T00:00:00Z".into() })
    }

    async fn logout(
        &self,
        _ctx: &RequestContext,
        principal: &Principal,
        _request: AuthLogoutPayload,
    ) -> Result<AuthLogoutReply, ApiError> {
        self.state().tokens.retain(|_, user| *user != principal.user_id);
        Ok(AuthLogoutReply {})
    }
}

impl UserApi for Memory {
    async fn create(
        &self,
        _ctx: &RequestContext,
        _principal: &Principal,
        request: UserCreatePayload,
    ) -> Result<UserCreateReply, ApiError> {
        let mut state = self.state();
        let id = state.next_id;
        state.next_id += 1;
        state.users.insert(id, (request.name, request.email, request.role.unwrap_or(Role::User)));
        Ok(UserCreateReply { user_id: id })
    }

    async fn read(
        &self,
        _ctx: &RequestContext,
        _principal: &Principal,
        request: UserRef,
    ) -> Result<UserReadReply, ApiError> {
        let state = self.state();
        let (name, email, role) = state.users.get(&request.id).cloned().ok_or(ApiError::not_found("no such user"))?;
        Ok(UserReadReply { id: request.id, name, email, role, created_at: "2025-05-15T12:30:00Z".into() })
    }

    async fn update(
        &self,
        _ctx: &RequestContext,
        principal: &Principal,
        request: UserUpdatePayload,
    ) -> Result<UserUpdateReply, ApiError> {
        if principal.role != Role::Admin && principal.user_id != request.id {
            return Err(ApiError::forbidden("not allowed on this user"));
        }
        let mut state = self.state();
        let user = state.users.get_mut(&request.id).ok_or(ApiError::not_found("no such user"))?;
        if let Some(name) = request.name {
            user.0 = name;
        }
        if let Some(email) = request.email {
            user.1 = email;
        }
        Ok(UserUpdateReply {})
    }

    async fn delete(
        &self,
        _ctx: &RequestContext,
        _principal: &Principal,
        request: UserRef,
    ) -> Result<UserDeleteReply, ApiError> {
        if request.id == 999 {
            return Err(ApiError::internal(std::io::Error::other("disk on fire at /var/lib/secret")));
        }
        self.state().users.remove(&request.id).ok_or(ApiError::not_found("no such user"))?;
        Ok(UserDeleteReply {})
    }
}
