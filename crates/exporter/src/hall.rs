//! The reception hall as Prometheus series: per hall and area, the tickets waiting now, the
//! waiting-time (ticket → first call) and service-time (last call → finish) histograms and the
//! no-shows; per hall and counter, the calls; per hall, its waiting target.
//!
//! The series are those of the scrape's local day (+07:00), read through
//! [`HallStore::hall_figures`]: the database sums, per hall and area, the waiting and service
//! times core stored with each of the day's tickets (the `hall_tickets` projection of the hall's
//! log, by issue instant) under each bucket bound, and counts the day's `called` events of the
//! log per counter — a few rows per hall, whatever the number of tickets. The counters and
//! histograms only grow within a day and start again from 0 at local midnight — a counter
//! reset, which `rate()` and `increase()` handle (halls are closed at midnight, so no window of
//! an open hall spans it). Numbers run per area and day and calls only ever look at the current
//! day, so no ticket of another day changes them.
//!
//! The read still scans the day's tickets and calls (about 0.6 s in the database for a city's
//! day of 120,000 tickets on SQLite), so it is done again only when the scrape's instant has
//! moved by the refresh interval (30 s by default) since the series were read, like the
//! scorecard; scrapes in between write the text kept, and `motcua_hall_as_of_timestamp_seconds`
//! says the instant it was read at.
//!
//! Labels are bounded by the catalog: `hall` (its code), `area` (a letter), `counter` (a
//! number) — never a ticket, a number, a citizen or an officer. Every area and counter in force
//! has its series, at 0 before its first ticket. The area of the histograms and the no-shows is
//! the area of the ticket's number (its issue area, which a transfer does not change), so a
//! transfer never moves an observation from one series to another; the tickets waiting now are
//! counted in the area they wait in.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use motcua_core::Domain;
use motcua_core::calendar::{from_local, to_local};
use motcua_store::{Buckets, HallStore, StoreError};

use crate::text::{Exposition, KeptFamilies, label};

/// How often the hall series are read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HallSeries {
    /// Series read at an instant are written again by scrapes whose instant is less than this
    /// after it (and not before it).
    pub refresh: Duration,
}

impl Default for HallSeries {
    fn default() -> Self {
        Self { refresh: Duration::seconds(30) }
    }
}

/// Upper bounds of the waiting and service buckets, in seconds: 1 min … 2 h.
pub use motcua_store::HALL_BOUNDS;

/// Hall metric families: name, type, help.
pub const HALL_METRICS: [(&str, &str, &str); 7] = [
    (
        "motcua_hall_as_of_timestamp_seconds",
        "gauge",
        "The instant (Unix seconds) the hall series were read at; they cover the local day (+07:00) of that instant.",
    ),
    (
        "motcua_hall_calls_total",
        "counter",
        "Calls of the local day (recalls not counted), by hall and counter; starts again from 0 at local midnight.",
    ),
    (
        "motcua_hall_no_shows_total",
        "counter",
        "Tickets of the local day marked no-show, by hall and the area of their number; starts again from 0 at local midnight.",
    ),
    (
        "motcua_hall_service_seconds",
        "histogram",
        "Service time (last call to finish) of the local day's finished tickets, by hall and the area of their number; starts again from 0 at local midnight.",
    ),
    (
        "motcua_hall_tickets_waiting",
        "gauge",
        "Tickets waiting now (issued and not yet called, or transferred and waiting again), by hall and the area they wait in.",
    ),
    (
        "motcua_hall_waiting_seconds",
        "histogram",
        "Waiting time (ticket to first call) of the local day's called tickets, by hall and the area of their number; starts again from 0 at local midnight.",
    ),
    (
        "motcua_hall_waiting_target_seconds",
        "gauge",
        "The hall's waiting target (waiting_target_minutes of the catalog, 30 by default), ticket to call, in seconds.",
    ),
];

/// Every hall family name.
pub fn names() -> impl Iterator<Item = &'static str> {
    HALL_METRICS.iter().map(|(n, _, _)| *n)
}

/// One (hall, area)'s figures of the day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct AreaDay {
    waiting_now: u64,
    waiting: Buckets,
    service: Buckets,
    no_shows: u64,
}

/// The figures of the day at `now`, per (hall, area) and per (hall, counter), with each hall's
/// waiting target.
#[derive(Debug, Default)]
struct HallDay {
    areas: BTreeMap<(String, char), AreaDay>,
    calls: BTreeMap<(String, u16), u64>,
    targets: BTreeMap<String, u32>,
}

/// Reads the day of `now`: a few sums per hall, area and counter.
pub(crate) async fn read<S: HallStore>(
    store: &S,
    domain: &Domain,
    now: DateTime<Utc>,
) -> Result<KeptFamilies, StoreError> {
    let today = to_local(now).date();
    let start = |d: chrono::NaiveDate| from_local(d.and_time(NaiveTime::MIN));
    let (a, b) = (start(today), start(today.succ_opt().unwrap_or(today)));
    let mut day = HallDay::default();
    // Every area and counter in force has its series, at 0 before its first ticket.
    for h in domain.halls.halls_on(today) {
        let code = h.code.to_string();
        day.targets.insert(code.clone(), h.waiting_target_minutes);
        for area in h.areas_on(today) {
            day.areas.entry((code.clone(), area.letter)).or_default();
        }
        for c in h.counters_on(today) {
            day.calls.entry((code.clone(), c.number)).or_insert(0);
        }
    }
    let f = store.hall_figures(a, b).await?;
    for x in f.areas {
        let cell = day.areas.entry((x.hall.to_string(), x.area)).or_default();
        cell.waiting = x.waits;
        cell.service = x.services;
        cell.no_shows = x.no_shows;
    }
    for (hall, area, n) in f.waiting {
        day.areas.entry((hall.to_string(), area)).or_default().waiting_now = n;
    }
    for (hall, counter, n) in f.calls {
        *day.calls.entry((hall.to_string(), counter)).or_insert(0) += n;
    }
    Ok(render(&day, now))
}

/// A histogram's sample lines from its cumulative counts under [`HALL_BOUNDS`] (0 for bounds
/// not read: an area with no ticket).
fn histogram(x: &mut Exposition, name: &str, labels: &[&str], o: &Buckets) {
    for (i, bound) in HALL_BOUNDS.iter().enumerate() {
        let le = label("le", &bound.to_string());
        let mut with = labels.to_vec();
        with.push(&le);
        x.sample(name, "_bucket", &with, o.le.get(i).copied().unwrap_or(0));
    }
    let mut with = labels.to_vec();
    with.push("le=\"+Inf\"");
    x.sample(name, "_bucket", &with, o.count);
    x.sample(name, "_sum", labels, o.sum);
    x.sample(name, "_count", labels, o.count);
}

fn render(day: &HallDay, now: DateTime<Utc>) -> KeptFamilies {
    let areas: Vec<(String, String, &AreaDay)> =
        day.areas.iter().map(|((h, a), d)| (label("hall", h), label("area", &a.to_string()), d)).collect();
    let mut families = Vec::new();
    for (name, kind, help) in HALL_METRICS {
        let mut x = Exposition::default();
        x.header(name, kind, help);
        match name {
            "motcua_hall_as_of_timestamp_seconds" => x.sample(name, "", &[], now.timestamp_millis() as f64 / 1000.0),
            "motcua_hall_calls_total" => {
                for ((h, c), n) in &day.calls {
                    x.sample(name, "", &[&label("hall", h), &label("counter", &c.to_string())], *n);
                }
            }
            "motcua_hall_no_shows_total" => {
                for (h, a, d) in &areas {
                    x.sample(name, "", &[h, a], d.no_shows);
                }
            }
            "motcua_hall_service_seconds" => {
                for (h, a, d) in &areas {
                    histogram(&mut x, name, &[h, a], &d.service);
                }
            }
            "motcua_hall_tickets_waiting" => {
                for (h, a, d) in &areas {
                    x.sample(name, "", &[h, a], d.waiting_now);
                }
            }
            "motcua_hall_waiting_seconds" => {
                for (h, a, d) in &areas {
                    histogram(&mut x, name, &[h, a], &d.waiting);
                }
            }
            "motcua_hall_waiting_target_seconds" => {
                for (h, m) in &day.targets {
                    x.sample(name, "", &[&label("hall", h)], u64::from(*m) * 60);
                }
            }
            _ => {}
        }
        families.push((name, x.out));
    }
    KeptFamilies { at: now, families }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_written_cumulative_with_inf_sum_and_count() {
        let o = Buckets { le: vec![2, 3, 3, 3, 3, 4, 4, 4, 4, 5], count: 6, sum: 16322 };
        let mut x = Exposition::default();
        histogram(&mut x, "m", &["hall=\"H\""], &o);
        assert!(
            x.out.starts_with("m_bucket{hall=\"H\",le=\"60\"} 2\nm_bucket{hall=\"H\",le=\"300\"} 3\n"),
            "{}",
            x.out
        );
        assert!(x.out.contains("m_bucket{hall=\"H\",le=\"1800\"} 4\n"));
        assert!(x.out.contains("m_bucket{hall=\"H\",le=\"7200\"} 5\nm_bucket{hall=\"H\",le=\"+Inf\"} 6\nm_sum{hall=\"H\"} 16322\nm_count{hall=\"H\"} 6\n"));
        // An area with no ticket: every bucket 0.
        let mut x = Exposition::default();
        histogram(&mut x, "m", &[], &Buckets::default());
        assert_eq!(x.out.lines().filter(|l| l.ends_with(" 0")).count(), HALL_BOUNDS.len() + 3);
    }
}
