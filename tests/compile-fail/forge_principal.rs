// An authenticated request context cannot be made without the dispatcher's
// credential check: `Authenticated`'s field is private...
use specserve::api::Role;
use specserve::security::Identity;
use specserve_runtime::context::Authenticated;

fn main() {
    let identity = Identity { user_id: 1, role: Role::Admin, token_id: 1, scopes: None };
    let _forged = Authenticated { principal: identity };
}
