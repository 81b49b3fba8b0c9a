//! The facts of a request the application sees: the client's address
//! (behind trusted proxies), a connection id, its user agent, and the
//! credentials of the spec's schemes it presents.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use hyper::Request;
use hyper::header::{self, HeaderMap};

use super::super::Shared;
use crate::context::{ConnectionInfo, ConnectionLimits, CredentialSource};
use crate::service::Service;

/// The facts of `request` for the application. Cookies count only from an
/// `Origin` on the configured allowlist (the foreign-origins layer refused
/// every other before this).
pub(super) fn connection_info<S: Service, B>(
    shared: &Shared<S>,
    request: &Request<B>,
    client_ip: IpAddr,
) -> ConnectionInfo {
    let headers = request.headers();
    let id = shared.next_connection_id.fetch_add(1, Ordering::Relaxed);
    let limits = &shared.limits;
    let enforced = ConnectionLimits {
        max_message_bytes: limits.max_message_bytes,
        frames_per_second: limits.frames_per_second,
        frame_burst: limits.frame_burst,
        event_queue: limits.event_queue,
    };
    let mut info = ConnectionInfo::new(id, request.uri().path()).with_client_ip(client_ip).with_limits(enforced);
    if let Some(agent) = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        info = info.with_user_agent(agent);
    }
    let cookies_trusted = !shared.allowed_origins.is_empty() && headers.contains_key(header::ORIGIN);
    for source in shared.service.info().credentials {
        if matches!(source, CredentialSource::Cookie(_)) && !cookies_trusted {
            continue;
        }
        if let Some(value) = credential(*source, headers, request.uri().query()) {
            info = info.with_credential(*source, value);
        }
    }
    info
}

/// The credential the request presents at `source`, if any.
fn credential(source: CredentialSource, headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let value = match source {
        CredentialSource::Bearer => header(header::AUTHORIZATION.as_str())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|v| v.trim().to_owned()),
        CredentialSource::Basic => header(header::AUTHORIZATION.as_str()).and_then(basic_credential),
        CredentialSource::Header(name) => header(name).map(str::to_owned),
        CredentialSource::Query(name) => {
            crate::path::query_pairs(query).into_iter().find(|(key, _)| key == name).map(|(_, value)| value)
        }
        CredentialSource::Cookie(name) => headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
            .map(str::to_owned),
    };
    value.filter(|v| !v.is_empty())
}

/// `user:password` from an `Authorization: Basic` value (RFC 7617), if it
/// is one: the scheme name in any case, base64 of UTF-8 with a `:`.
fn basic_credential(value: &str) -> Option<String> {
    use base64::Engine as _;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    String::from_utf8(decoded).ok().filter(|pair| pair.contains(':'))
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which
/// case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub(super) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.7, 10.0.0.9"));
        assert_eq!(client_ip(proxy, &headers, &[proxy]), "203.0.113.7".parse::<IpAddr>().unwrap());
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(stranger, &headers, &[proxy]), stranger);
    }
}
