// ... and its constructor is the runtime's own.
use specserve::api::Role;
use specserve::security::Identity;
use specserve_runtime::context::Authenticated;

fn main() {
    let _forged = Authenticated::new(Identity { user_id: 1, role: Role::Admin, token_id: 1, scopes: None });
}
