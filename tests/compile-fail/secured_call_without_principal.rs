// Calling a secured route's handler without the Principal only dispatch can make.
use specserve::api::*;
use specserve::wire::RequestContext;

async fn bypass<H: UserApi>(handlers: &H) {
    let _ = handlers.read(&RequestContext::new(1), UserRef { id: 1 }).await;
}

fn main() {}
