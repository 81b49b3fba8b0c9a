// Calling a secured operation's handler with an anonymous request context.
use specserve::api::*;
use specserve_runtime::context::{Anonymous, RequestContext};
use specserve_runtime::ConnectionInfo;

async fn bypass<H: UserApi>(context: &H::Context, connection: &ConnectionInfo) {
    let anonymous = RequestContext::__new(context, connection, &(), &Anonymous);
    let _ = H::read(anonymous, UserRef { id: 1 }).await;
}

fn main() {}
