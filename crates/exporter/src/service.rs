//! Service figures: what the district chair watches, computed at scrape time from the figures
//! the store reads (maintained counters, daily aggregates, the few open dossiers past their
//! appointment). Classification and the national on-time rule come from motcua-core.
//!
//! The windowed on-time figures are defined so that they equal `motcua report --by agency` for
//! the period `[first day 00:00, now]`, where the first day of an `Nd` window is the local day
//! N − 1 days before now's local day:
//! - finished, early, on time, late, national on time among the finished: the window's days of
//!   `daily_counts` (the current day counts up to now, since no event is stamped after now);
//! - national population = finished in the window + open now; national on time = finished
//!   nationally on time + open now and not late by `national_on_time_facts` at now, asked of
//!   the only open dossiers that can be late (past the receipt's appointment, or a second
//!   supplement request).
//!
//! Overdue dossiers are counted per agency by the store as `due_at < now` among those whose
//! clock is not stopped by a wait for the citizen that began by the due instant, which is all
//! that core's `analysis::open_state_of` compares.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use motcua_core::analysis::{NationalFacts, national_on_time_facts};
use motcua_core::calendar::to_local;
use motcua_core::{Ratio, vocab};
use motcua_store::CountValues;
use motcua_store::metrics::Figures;

use crate::text::{Exposition, label};

/// A window of local days ending with the scrape's day: `30d` is today and the 29 days before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub days: u32,
}

impl Window {
    pub const DEFAULT: [Window; 3] = [Window { days: 1 }, Window { days: 7 }, Window { days: 30 }];

    /// The label value: `30d`.
    pub fn label(self) -> String {
        format!("{}d", self.days)
    }

    /// The window's local days (inclusive) as of `now`.
    pub fn days_at(self, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
        let today = to_local(now).date();
        (today - Duration::days(i64::from(self.days.saturating_sub(1))), today)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}d", self.days)
    }
}

impl FromStr for Window {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let n =
            s.trim().strip_suffix('d').ok_or_else(|| format!("window {s:?}: expected a number of days, e.g. 30d"))?;
        match n.parse::<u32>() {
            Ok(days) if (1..=366).contains(&days) => Ok(Self { days }),
            _ => Err(format!("window {s:?}: expected 1d to 366d")),
        }
    }
}

/// Upper bounds of the handoff-delay buckets, in working seconds: 15 min … 10 working days
/// (a working day is 7.5 h of office time).
pub const HANDOFF_BOUNDS: [i64; 11] =
    [900, 1800, 3600, 7200, 13_500, 27_000, 54_000, 81_000, 135_000, 270_000, 540_000];
/// Upper bounds of the dwell buckets, in working seconds: 1 h … 30 working days.
pub const DWELL_BOUNDS: [i64; 11] =
    [3600, 13_500, 27_000, 54_000, 81_000, 135_000, 270_000, 405_000, 540_000, 810_000, 1_215_000];

/// The bucket a working time falls in: its first bound at or above it, or -1 (+Inf).
pub fn bucket_of(bounds: &[i64], seconds: i64) -> i64 {
    bounds.iter().copied().find(|b| seconds <= *b).unwrap_or(-1)
}

/// The histogram family of a stored working-time metric, and its bucket bounds.
fn histogram_family(metric: &str) -> Option<(&'static str, &'static [i64])> {
    match metric {
        "handoff_delay" => Some(("motcua_handoff_delay_working_seconds", &HANDOFF_BOUNDS)),
        "dwell" => Some(("motcua_dwell_working_seconds", &DWELL_BOUNDS)),
        _ => None,
    }
}

/// One agency's histogram of one working-time metric: its stored cells, bucket bound (`-1` =
/// +Inf) → (observations, seconds), and its sample lines, written once and kept until a cell
/// changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Histogram {
    cells: BTreeMap<i64, (u64, i64)>,
    text: String,
}

/// Every histogram, by (metric, agency).
pub(crate) type Histograms = BTreeMap<(String, String), Arc<Histogram>>;

impl Histogram {
    /// `None` for a metric that has no family.
    pub(crate) fn new(metric: &str, agency: &str, cells: BTreeMap<i64, (u64, i64)>) -> Option<Self> {
        let (name, bounds) = histogram_family(metric)?;
        let mut x = Exposition::default();
        let ag = label("agency", agency);
        let count: u64 = cells.values().map(|c| c.0).sum();
        let sum: i64 = cells.values().map(|c| c.1).sum();
        // A stored bound that is not a current one counts in the next larger bound.
        for b in bounds {
            let n: u64 = cells.range(0..=*b).map(|(_, c)| c.0).sum();
            x.sample(name, "_bucket", &[&ag, &label("le", &b.to_string())], n);
        }
        x.sample(name, "_bucket", &[&ag, "le=\"+Inf\""], count);
        x.sample(name, "_sum", &[&ag], sum);
        x.sample(name, "_count", &[&ag], count);
        Some(Self { cells, text: x.out })
    }

    pub(crate) fn cells(&self) -> &BTreeMap<i64, (u64, i64)> {
        &self.cells
    }
}

/// Service metric families: name, type, help.
pub const SERVICE_METRICS: [(&str, &str, &str); 18] = [
    (
        "motcua_dossiers_open",
        "gauge",
        "Dossiers not finished, by lead agency and status (registered_online, received, processing, supplement_requested, payment_requested).",
    ),
    (
        "motcua_dossiers_overdue",
        "gauge",
        "Open dossiers past their due instant (qua han), by lead agency; a dossier waiting for the citizen (supplement, payment) is not overdue unless the wait began after its due instant.",
    ),
    (
        "motcua_dossiers_overdue_without_apology",
        "gauge",
        "Open dossiers past their due instant with no apology letter yet, by lead agency.",
    ),
    (
        "motcua_dossiers_at_risk",
        "gauge",
        "Open dossiers at risk of missing their due date (remaining working time below the historical p90 of the rest of the route), by lead agency.",
    ),
    (
        "motcua_dossiers_received_total",
        "counter",
        "Dossiers received (receipt issued, clock started), by lead agency and channel.",
    ),
    (
        "motcua_dossiers_finished_total",
        "counter",
        "Dossiers finished (result ready, withdrawn or stopped), by lead agency, channel and timeliness (early, on_time, late).",
    ),
    (
        "motcua_dossiers_finished_national_on_time_total",
        "counter",
        "Finished dossiers on time by the national rule (Decision 766 indicator 2.1, citizen waits subtracted), by lead agency and channel.",
    ),
    (
        "motcua_window_received_dossiers",
        "gauge",
        "Dossiers received in the window (local days ending today, up to now), by lead agency.",
    ),
    (
        "motcua_window_finished_dossiers",
        "gauge",
        "Dossiers finished in the window, by lead agency and timeliness: the denominator of the resolved-only on-time ratio.",
    ),
    (
        "motcua_national_population_dossiers",
        "gauge",
        "Decision 766 indicator 2.1 population for the window: dossiers finished in it plus dossiers open now, by lead agency.",
    ),
    (
        "motcua_national_on_time_dossiers",
        "gauge",
        "Decision 766 indicator 2.1 numerator for the window: population dossiers on time (open ones judged at now), by lead agency.",
    ),
    (
        "motcua_on_time_ratio",
        "gauge",
        "On-time ratio (0-1) over the window by lead agency; definition=national (Decision 766 2.1) or resolved ((early + on time) / finished); 1 when the denominator is 0.",
    ),
    (
        "motcua_handoff_delay_working_seconds",
        "histogram",
        "Handoff delay: working time from sent to accepted, by receiving agency.",
    ),
    (
        "motcua_dwell_working_seconds",
        "histogram",
        "Dwell: working time an agency held a dossier (citizen waits excluded), by agency, observed when it passed the dossier on or finished it.",
    ),
    ("motcua_outbox_messages", "gauge", "Outbox messages by kind and status (pending, sent, dead)."),
    (
        "motcua_outbox_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest pending outbox message (0 when none is pending).",
    ),
    (
        "motcua_working_time_queue_events",
        "gauge",
        "Handoff events recorded but not yet measured into the working-time histograms.",
    ),
    (
        "motcua_figures_read_duration_seconds",
        "gauge",
        "Time the last scrape took to read and measure its service figures.",
    ),
];

/// One agency's figures at the scrape instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyFigures {
    /// Non-terminal dossiers by status code.
    pub open_by_status: BTreeMap<u8, u64>,
    /// Open in the clock's sense ([`vocab::OPEN`]).
    pub open: u64,
    pub overdue: u64,
    pub overdue_without_apology: u64,
    /// Open dossiers late by the national rule at now.
    pub open_national_late: u64,
    pub at_risk: u64,
    /// Per configured window: its daily counts summed (past days and today).
    pub windows: Vec<CountValues>,
}

impl AgencyFigures {
    /// Decision 766 indicator 2.1 over window `i`, as `motcua report` counts it.
    pub fn national(&self, i: usize) -> Ratio {
        let w = self.windows.get(i).copied().unwrap_or_default();
        let finished = u64::try_from(w.finished).unwrap_or(0);
        let on_time = u64::try_from(w.national_on_time).unwrap_or(0);
        Ratio::new(on_time + self.open.saturating_sub(self.open_national_late), finished + self.open)
    }

    /// (early + on time) ÷ finished over window `i`.
    pub fn resolved(&self, i: usize) -> Ratio {
        let w = self.windows.get(i).copied().unwrap_or_default();
        Ratio::new(u64::try_from(w.early + w.on_time).unwrap_or(0), u64::try_from(w.finished).unwrap_or(0))
    }
}

/// An agency's entry, created on its first row (a code not in the catalog still shows).
fn slot<'m>(out: &'m mut BTreeMap<String, AgencyFigures>, blank: &AgencyFigures, a: &str) -> &'m mut AgencyFigures {
    out.entry(a.to_string()).or_insert_with(|| blank.clone())
}

/// The per-agency figures of a scrape: `past` holds each agency's sums over each window's days
/// before today (what the exporter keeps between scrapes), to which today's cells are added.
/// `agencies` are listed even with nothing to show.
pub fn agency_figures<'a>(
    f: &Figures,
    past: &BTreeMap<String, Vec<CountValues>>,
    windows: usize,
    now: DateTime<Utc>,
    agencies: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, AgencyFigures> {
    let blank = AgencyFigures { windows: vec![CountValues::default(); windows], ..AgencyFigures::default() };
    let mut out: BTreeMap<String, AgencyFigures> =
        agencies.into_iter().map(|a| (a.to_string(), blank.clone())).collect();
    for o in &f.open {
        let a = slot(&mut out, &blank, &o.agency);
        let code = o.status.code();
        *a.open_by_status.entry(code).or_default() += o.dossiers;
        if vocab::OPEN.contains(o.status) {
            a.open += o.dossiers;
        }
    }
    for (agency, sums) in past {
        for (c, s) in slot(&mut out, &blank, agency).windows.iter_mut().zip(sums) {
            c.add_from(s);
        }
    }
    for t in &f.today {
        for c in &mut slot(&mut out, &blank, &t.agency).windows {
            c.add_from(&t.counts);
        }
    }
    for o in &f.overdue {
        let a = slot(&mut out, &blank, &o.agency);
        a.overdue += o.overdue;
        a.overdue_without_apology += o.without_apology;
    }
    for c in &f.national_candidates {
        let (Some(received_at), Some(original_due_at)) = (c.received_at, c.original_due_at) else { continue };
        let facts = NationalFacts {
            received_at,
            original_due_at,
            finished_at: None,
            supplement_requests: c.supplement_count,
            open_wait: c.waiting_kind.zip(c.waiting_since),
            waited_closed_seconds: c.waited_seconds_closed,
        };
        if national_on_time_facts(&facts, now, now) == Some(false) {
            slot(&mut out, &blank, &c.agency).open_national_late += 1;
        }
    }
    for (agency, n) in &f.at_risk {
        slot(&mut out, &blank, agency).at_risk += n;
    }
    out
}

trait AddFrom {
    fn add_from(&mut self, o: &Self);
}

impl AddFrom for CountValues {
    fn add_from(&mut self, o: &Self) {
        self.received += o.received;
        self.finished += o.finished;
        self.early += o.early;
        self.on_time += o.on_time;
        self.late += o.late;
        self.national_on_time += o.national_on_time;
    }
}

/// What one scrape writes: its figures, with every label written once.
pub(crate) struct Scrape<'a> {
    figures: &'a Figures,
    histograms: &'a Histograms,
    /// Each agency with its `agency="…"` label.
    agencies: Vec<(String, &'a AgencyFigures)>,
    /// Each window's `window="…"` label.
    windows: Vec<String>,
    /// The `status="…"` label of each status of `motcua_dossiers_open`: every one not
    /// finished ([`vocab::NOT_FINISHED`]).
    statuses: Vec<(u8, String)>,
    now: DateTime<Utc>,
    read_seconds: f64,
}

impl<'a> Scrape<'a> {
    pub(crate) fn new(
        figures: &'a Figures,
        histograms: &'a Histograms,
        per_agency: &'a BTreeMap<String, AgencyFigures>,
        windows: &[Window],
        now: DateTime<Utc>,
        read_seconds: f64,
    ) -> Self {
        Self {
            figures,
            histograms,
            agencies: per_agency.iter().map(|(a, f)| (label("agency", a), f)).collect(),
            windows: windows.iter().map(|w| label("window", &w.label())).collect(),
            statuses: vocab::NOT_FINISHED.statuses().iter().map(|s| (s.code(), label("status", s.name()))).collect(),
            now,
            read_seconds,
        }
    }

    /// Writes the family `name` (one of [`SERVICE_METRICS`]); nothing when it has no series.
    pub(crate) fn write(&self, x: &mut Exposition, name: &str, kind: &str, help: &str) {
        let start = x.out.len();
        x.header(name, kind, help);
        let header = x.out.len();
        self.samples(x, name);
        if x.out.len() == header {
            x.out.truncate(start);
        }
    }

    fn samples(&self, x: &mut Exposition, name: &str) {
        let f = self.figures;
        match name {
            "motcua_dossiers_open" => {
                for (ag, a) in &self.agencies {
                    for (code, status) in &self.statuses {
                        let n = a.open_by_status.get(code).copied().unwrap_or(0);
                        x.sample(name, "", &[ag, status], n);
                    }
                }
            }
            "motcua_dossiers_overdue" => self.per_agency(x, name, |a| a.overdue),
            "motcua_dossiers_overdue_without_apology" => self.per_agency(x, name, |a| a.overdue_without_apology),
            "motcua_dossiers_at_risk" => self.per_agency(x, name, |a| a.at_risk),
            "motcua_dossiers_received_total" => {
                for t in &f.totals {
                    let (ag, ch) = (label("agency", &t.agency), label("channel", t.channel.name()));
                    x.sample(name, "", &[&ag, &ch], t.counts.received);
                }
            }
            "motcua_dossiers_finished_total" => {
                for t in &f.totals {
                    let (ag, ch) = (label("agency", &t.agency), label("channel", t.channel.name()));
                    let c = t.counts;
                    for (tl, v) in [("timeliness=\"early\"", c.early), ("timeliness=\"on_time\"", c.on_time)] {
                        x.sample(name, "", &[&ag, &ch, tl], v);
                    }
                    x.sample(name, "", &[&ag, &ch, "timeliness=\"late\""], c.late);
                }
            }
            "motcua_dossiers_finished_national_on_time_total" => {
                for t in &f.totals {
                    let (ag, ch) = (label("agency", &t.agency), label("channel", t.channel.name()));
                    x.sample(name, "", &[&ag, &ch], t.counts.national_on_time);
                }
            }
            "motcua_window_received_dossiers" => {
                self.per_window(x, |x, ag, win, c, _, _| x.sample(name, "", &[ag, win], c.received))
            }
            "motcua_window_finished_dossiers" => self.per_window(x, |x, ag, win, c, _, _| {
                x.sample(name, "", &[ag, "timeliness=\"early\"", win], c.early);
                x.sample(name, "", &[ag, "timeliness=\"on_time\"", win], c.on_time);
                x.sample(name, "", &[ag, "timeliness=\"late\"", win], c.late);
            }),
            "motcua_national_population_dossiers" => {
                self.per_window(x, |x, ag, win, _, a, i| x.sample(name, "", &[ag, win], a.national(i).denominator))
            }
            "motcua_national_on_time_dossiers" => {
                self.per_window(x, |x, ag, win, _, a, i| x.sample(name, "", &[ag, win], a.national(i).numerator))
            }
            "motcua_on_time_ratio" => self.per_window(x, |x, ag, win, _, a, i| {
                x.sample(name, "", &[ag, "definition=\"national\"", win], a.national(i).value_or(1.0));
                x.sample(name, "", &[ag, "definition=\"resolved\"", win], a.resolved(i).value_or(1.0));
            }),
            "motcua_handoff_delay_working_seconds" => self.histograms(x, "handoff_delay"),
            "motcua_dwell_working_seconds" => self.histograms(x, "dwell"),
            "motcua_outbox_messages" => {
                for o in &f.outbox {
                    x.sample(name, "", &[&label("kind", &o.kind), &label("status", &o.status)], o.messages);
                }
            }
            "motcua_outbox_oldest_pending_age_seconds" => {
                let age = f
                    .oldest_pending_message
                    .map_or(0.0, |t| ((self.now - t).num_milliseconds().max(0) as f64) / 1000.0);
                x.sample(name, "", &[], age);
            }
            "motcua_working_time_queue_events" => x.sample(name, "", &[], f.handoff_queue),
            "motcua_figures_read_duration_seconds" => x.sample(name, "", &[], self.read_seconds),
            _ => {}
        }
    }

    fn per_agency(&self, x: &mut Exposition, name: &str, value: impl Fn(&AgencyFigures) -> u64) {
        for (ag, a) in &self.agencies {
            x.sample(name, "", &[ag], value(a));
        }
    }

    /// Calls `each` with (agency label, window label, window counts, agency, window index),
    /// agency by agency, window by window.
    fn per_window(
        &self,
        x: &mut Exposition,
        mut each: impl FnMut(&mut Exposition, &str, &str, CountValues, &AgencyFigures, usize),
    ) {
        for (ag, a) in &self.agencies {
            for (i, win) in self.windows.iter().enumerate() {
                each(x, ag, win, a.windows.get(i).copied().unwrap_or_default(), a, i);
            }
        }
    }

    /// The histograms of `metric`, agency by agency.
    fn histograms(&self, x: &mut Exposition, metric: &str) {
        let from = (metric.to_string(), String::new());
        for (_, h) in self.histograms.range(from..).take_while(|((m, _), _)| m == metric) {
            x.out.push_str(&h.text);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_span_local_days() {
        assert_eq!("30d".parse::<Window>().unwrap(), Window { days: 30 });
        assert!("0d".parse::<Window>().is_err());
        assert!("30".parse::<Window>().is_err());
        // 2025-03-05 23:30 +07:00 is 16:30 UTC: the local day is the 5th.
        let now = DateTime::parse_from_rfc3339("2025-03-05T23:30:00+07:00").unwrap().with_timezone(&Utc);
        let (a, b) = Window { days: 30 }.days_at(now);
        assert_eq!((a.to_string(), b.to_string()), ("2025-02-04".to_string(), "2025-03-05".to_string()));
        assert_eq!(Window { days: 1 }.days_at(now), (b, b));
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket_of(&HANDOFF_BOUNDS, 0), 900);
        assert_eq!(bucket_of(&HANDOFF_BOUNDS, 900), 900);
        assert_eq!(bucket_of(&HANDOFF_BOUNDS, 901), 1800);
        assert_eq!(bucket_of(&HANDOFF_BOUNDS, 10_000_000), -1);
    }

    #[test]
    fn national_counts_open_dossiers_once_per_window() {
        let a = AgencyFigures {
            open: 10,
            open_national_late: 2,
            windows: vec![CountValues { finished: 5, national_on_time: 4, early: 1, on_time: 3, late: 1, received: 0 }],
            ..AgencyFigures::default()
        };
        assert_eq!(a.national(0), Ratio::new(12, 15));
        assert_eq!(a.resolved(0), Ratio::new(4, 5));
        assert_eq!(a.national(1), Ratio::new(8, 10), "a window with no finished dossier still has the open ones");
    }
}
