// A Principal cannot be built outside the dispatcher's token check.
use specserve::api::Principal;
use specserve::api::Role;
use specserve::security::Identity;

fn main() {
    let identity = Identity { user_id: 1, role: Role::Admin, token_id: 1 };
    let _forged = Principal { identity };
}
