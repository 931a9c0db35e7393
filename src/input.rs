//! Parsing of values typed on the command line.

use anyhow::{Result, anyhow};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use motcua_core::calendar::{parse_hhmm, truncate_to_micros};
use motcua_core::commands::parse_instant;

/// An instant: RFC 3339 (`2025-01-24T16:40:00+07:00`), or local Vietnam time without an offset
/// (`2025-01-24T16:40`, `2025-01-24 16:40`), as core's [`parse_instant`] reads it, truncated to
/// the microseconds stored instants keep ([`truncate_to_micros`]).
pub fn instant(s: &str) -> Result<DateTime<Utc>> {
    parse_instant(s).map(truncate_to_micros).ok_or_else(|| {
        anyhow!(
            "invalid instant {:?}: expected RFC 3339 like 2025-01-24T16:40:00+07:00 (or local time 2025-01-24T16:40)",
            s.trim()
        )
    })
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
