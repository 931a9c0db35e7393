//! Parsing of values typed on the command line.

use anyhow::{Result, anyhow};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use motcua_core::calendar::{from_local, parse_hhmm};

/// An instant: RFC 3339 (`2025-01-24T16:40:00+07:00`), or local Vietnam time without an offset
/// (`2025-01-24T16:40`, `2025-01-24 16:40`).
/// Stored instants keep microseconds (PostgreSQL's precision); input is truncated to them so the
/// log, the projection and a replay agree exactly.
pub fn instant(s: &str) -> Result<DateTime<Utc>> {
    parse_instant(s).map(micros)
}

/// Truncates to whole microseconds.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    chrono::DurationRound::duration_trunc(t, chrono::Duration::microseconds(1)).unwrap_or(t)
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%:z") {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(from_local(t));
        }
    }
    Err(anyhow!(
        "invalid instant {s:?}: expected RFC 3339 like 2025-01-24T16:40:00+07:00 (or local time 2025-01-24T16:40)"
    ))
}

/// A local date `YYYY-MM-DD`.
pub fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| anyhow!("invalid date {s:?}: expected YYYY-MM-DD"))
}

/// A time of day `HH:MM`.
pub fn time_of_day(s: &str) -> Result<NaiveTime> {
    parse_hhmm(s).ok_or_else(|| anyhow!("invalid time {s:?}: expected HH:MM, e.g. 15:00"))
}

/// An instant shown at +07:00 in RFC 3339.
pub fn show(at: DateTime<Utc>) -> String {
    motcua_core::calendar::at_vn(at).to_rfc3339()
}
