//! Small helpers the JSON API, the desk pages and the public pages all use: the client address
//! the rate limiter keys on, the public lookup URL, instants shown in Vietnam's time, the
//! `as_of` query parameter and a CSV download.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use motcua_core::calendar::to_local;

use crate::problem::Problem;
use crate::state::AppState;

/// The client address the lookup's rate limit and the login throttle key on. `X-Forwarded-For`
/// is believed only when the TCP peer is one of `trusted` proxies (`--trusted-proxy`): then the
/// client is the right-most address in it that is not itself a trusted proxy. Otherwise, or when
/// the header says nothing usable, the client is the TCP peer — a spoofed header from anyone else
/// changes nothing.
pub fn client_ip(trusted: &[ipnet::IpNet], headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    let peer = peer.ip();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
}

/// The public lookup URL printed in the receipt's QR code.
pub fn lookup_url(state: &AppState, code: &str) -> String {
    format!("{}/tra-cuu?ma={code}", state.base_url())
}

/// "27/10/2023 09:32" at +07:00.
pub fn local(at: DateTime<Utc>) -> String {
    to_local(at).format("%d/%m/%Y %H:%M").to_string()
}

pub fn local_opt(at: Option<DateTime<Utc>>) -> String {
    at.map(local).unwrap_or_else(|| "—".into())
}

/// An RFC 3339 instant from the view, shown as local "dd/mm/yyyy HH:MM" (as given if it does
/// not parse).
pub fn iso_local(s: &str) -> String {
    DateTime::parse_from_rfc3339(s).map(|t| local(t.with_timezone(&Utc))).unwrap_or_else(|_| s.to_string())
}

/// `as_of` as given (RFC 3339), or now.
pub fn as_of(state: &AppState, s: Option<&str>) -> Result<DateTime<Utc>, Problem> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => motcua_core::commands::parse_instant(s).ok_or_else(|| {
            Problem::invalid(format!("invalid as_of {s:?}: expected RFC 3339"))
                .because(crate::problem::Cause::InvalidInstant { field: "as_of", value: s.to_string() })
        }),
        None => Ok(state.now()),
    }
}

/// A CSV download response.
pub fn csv_response(name: &str, body: String) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // From the proxy: the right-most address that is not a proxy.
        assert_eq!(client_ip(&trusted, &headers("198.51.100.7"), proxy), ip("198.51.100.7"));
        assert_eq!(client_ip(&trusted, &headers("1.2.3.4, 198.51.100.7, 10.0.0.3"), proxy), ip("198.51.100.7"));
        // Nothing usable: the proxy itself.
        assert_eq!(client_ip(&trusted, &headers("garbage"), proxy), ip("10.0.0.2"));
        assert_eq!(client_ip(&trusted, &HeaderMap::new(), proxy), ip("10.0.0.2"));
        // From anyone else, or with no proxy trusted: the header changes nothing.
        assert_eq!(client_ip(&trusted, &headers("198.51.100.7"), stranger), ip("203.0.113.9"));
        assert_eq!(client_ip(&[], &headers("198.51.100.7"), proxy), ip("10.0.0.2"));
    }
}
