// A UserApi implementation without `delete`: an operation in the spec with no handler.
use specserve::api::*;
use specserve::handlers::App;
use specserve_runtime::{ApiError, Secured};

struct Users;

impl UserApi for Users {
    type Context = App;

    async fn create(_: Secured<'_, Self::Context>, _: UserCreatePayload) -> Result<UserCreateReply, ApiError> {
        Err(ApiError::not_implemented("userCreate"))
    }
    async fn read(_: Secured<'_, Self::Context>, _: UserRef) -> Result<UserReadReply, ApiError> {
        Err(ApiError::not_implemented("userRead"))
    }
    async fn update(_: Secured<'_, Self::Context>, _: UserUpdatePayload) -> Result<(), ApiError> {
        Err(ApiError::not_implemented("userUpdate"))
    }
    async fn directory(_: Secured<'_, Self::Context>, _: DirectoryPayload) -> Result<UserDirectoryReply, ApiError> {
        Err(ApiError::not_implemented("userDirectory"))
    }
}

fn main() {}
