// A UserApi implementation without `delete`: a route in the spec with no handler.
use specserve::api::*;
use specserve::wire::{ApiError, RequestContext};

struct Handlers;

impl UserApi for Handlers {
    async fn create(&self, _: &RequestContext, _: &Principal, _: UserCreatePayload) -> Result<UserCreateReply, ApiError> {
        Err(ApiError::forbidden("no"))
    }
    async fn read(&self, _: &RequestContext, _: &Principal, _: UserRef) -> Result<UserReadReply, ApiError> {
        Err(ApiError::forbidden("no"))
    }
    async fn update(&self, _: &RequestContext, _: &Principal, _: UserUpdatePayload) -> Result<UserUpdateReply, ApiError> {
        Err(ApiError::forbidden("no"))
    }
}

fn main() {}
