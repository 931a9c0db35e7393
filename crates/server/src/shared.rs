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

/// The client address the rate limiter keys on: the TCP peer. (Behind a reverse proxy, run
/// one limiter at the proxy; see docs/server.md.)
pub fn client_ip(_headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    peer.ip()
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
        Some(s) => motcua_core::commands::parse_instant(s)
            .ok_or_else(|| Problem::invalid(format!("invalid as_of {s:?}: expected RFC 3339"))),
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
