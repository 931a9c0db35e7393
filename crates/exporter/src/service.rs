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
//!   nationally on time + open now and not late by `national_on_time_facts` at now.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use motcua_core::analysis::{NationalFacts, is_overdue, national_on_time_facts};
use motcua_core::calendar::to_local;
use motcua_core::{Ratio, Status};
use motcua_store::CountValues;
use motcua_store::metrics::{Figures, WorkingTimeBucket};
use prometheus::proto::{Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType};

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

/// Service metric families, name → (type, help).
pub const SERVICE_METRICS: [(&str, MetricType, &str); 18] = [
    (
        "motcua_dossiers_open",
        MetricType::GAUGE,
        "Dossiers not finished, by lead agency and status (registered_online, received, processing, supplement_requested, payment_requested).",
    ),
    ("motcua_dossiers_overdue", MetricType::GAUGE, "Open dossiers past their due instant (qua han), by lead agency."),
    (
        "motcua_dossiers_overdue_without_apology",
        MetricType::GAUGE,
        "Open dossiers past their due instant with no apology letter yet, by lead agency.",
    ),
    (
        "motcua_dossiers_at_risk",
        MetricType::GAUGE,
        "Open dossiers at risk of missing their due date (remaining working time below the historical p90 of the rest of the route), by lead agency.",
    ),
    (
        "motcua_dossiers_received_total",
        MetricType::COUNTER,
        "Dossiers received (receipt issued, clock started), by lead agency and channel.",
    ),
    (
        "motcua_dossiers_finished_total",
        MetricType::COUNTER,
        "Dossiers finished (result ready, withdrawn or stopped), by lead agency, channel and timeliness (early, on_time, late).",
    ),
    (
        "motcua_dossiers_finished_national_on_time_total",
        MetricType::COUNTER,
        "Finished dossiers on time by the national rule (Decision 766 indicator 2.1, citizen waits subtracted), by lead agency and channel.",
    ),
    (
        "motcua_window_received_dossiers",
        MetricType::GAUGE,
        "Dossiers received in the window (local days ending today, up to now), by lead agency.",
    ),
    (
        "motcua_window_finished_dossiers",
        MetricType::GAUGE,
        "Dossiers finished in the window, by lead agency and timeliness: the denominator of the resolved-only on-time ratio.",
    ),
    (
        "motcua_national_population_dossiers",
        MetricType::GAUGE,
        "Decision 766 indicator 2.1 population for the window: dossiers finished in it plus dossiers open now, by lead agency.",
    ),
    (
        "motcua_national_on_time_dossiers",
        MetricType::GAUGE,
        "Decision 766 indicator 2.1 numerator for the window: population dossiers on time (open ones judged at now), by lead agency.",
    ),
    (
        "motcua_on_time_ratio",
        MetricType::GAUGE,
        "On-time ratio (0-1) over the window by lead agency; definition=national (Decision 766 2.1) or resolved ((early + on time) / finished); 1 when the denominator is 0.",
    ),
    (
        "motcua_handoff_delay_working_seconds",
        MetricType::HISTOGRAM,
        "Handoff delay: working time from sent to accepted, by receiving agency.",
    ),
    (
        "motcua_dwell_working_seconds",
        MetricType::HISTOGRAM,
        "Dwell: working time an agency held a dossier (citizen waits excluded), by agency, observed when it passed the dossier on or finished it.",
    ),
    ("motcua_outbox_messages", MetricType::GAUGE, "Outbox messages by kind and status (pending, sent, dead)."),
    (
        "motcua_outbox_oldest_pending_age_seconds",
        MetricType::GAUGE,
        "Age of the oldest pending outbox message (0 when none is pending).",
    ),
    (
        "motcua_working_time_queue_events",
        MetricType::GAUGE,
        "Handoff events recorded but not yet measured into the working-time histograms.",
    ),
    (
        "motcua_figures_read_duration_seconds",
        MetricType::GAUGE,
        "Time the last scrape took to read and measure its service figures.",
    ),
];

fn help_of(name: &str) -> (MetricType, &'static str) {
    SERVICE_METRICS.iter().find(|(n, _, _)| *n == name).map_or((MetricType::UNTYPED, ""), |(_, t, h)| (*t, *h))
}

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs
        .iter()
        .map(|(k, v)| {
            let mut l = LabelPair::default();
            l.set_name((*k).to_string());
            l.set_value((*v).to_string());
            l
        })
        .collect()
}

/// Builds families by name, in a stable order.
#[derive(Debug, Default)]
struct Families {
    by_name: BTreeMap<&'static str, Vec<Metric>>,
}

impl Families {
    fn push(&mut self, name: &'static str, pairs: &[(&str, &str)], fill: impl FnOnce(&mut Metric)) {
        let mut m = Metric::default();
        m.set_label(labels(pairs));
        fill(&mut m);
        self.by_name.entry(name).or_default().push(m);
    }

    fn gauge(&mut self, name: &'static str, pairs: &[(&str, &str)], v: f64) {
        self.push(name, pairs, |m| {
            let mut g = Gauge::default();
            g.set_value(v);
            m.set_gauge(g);
        });
    }

    fn counter(&mut self, name: &'static str, pairs: &[(&str, &str)], v: f64) {
        self.push(name, pairs, |m| {
            let mut c = Counter::default();
            c.set_value(v);
            m.set_counter(c);
        });
    }

    fn histogram(&mut self, name: &'static str, pairs: &[(&str, &str)], bounds: &[i64], cells: &[&WorkingTimeBucket]) {
        let count: u64 = cells.iter().map(|c| c.observations).sum();
        let sum: i64 = cells.iter().map(|c| c.seconds).sum();
        let buckets = bounds
            .iter()
            .map(|b| {
                let mut x = Bucket::default();
                x.set_upper_bound(*b as f64);
                // A stored bound that is not a current one counts in the next larger bound.
                x.set_cumulative_count(
                    cells.iter().filter(|c| c.le_seconds >= 0 && c.le_seconds <= *b).map(|c| c.observations).sum(),
                );
                x
            })
            .collect();
        self.push(name, pairs, |m| {
            let mut h = Histogram::default();
            h.set_sample_count(count);
            h.set_sample_sum(sum as f64);
            h.set_bucket(buckets);
            m.set_histogram(h);
        });
    }

    fn finish(self) -> Vec<MetricFamily> {
        self.by_name
            .into_iter()
            .filter(|(_, metrics)| !metrics.is_empty())
            .map(|(name, metrics)| {
                let (kind, help) = help_of(name);
                let mut f = MetricFamily::default();
                f.set_name(name.to_string());
                f.set_help(help.to_string());
                f.set_field_type(kind);
                f.set_metric(metrics);
                f
            })
            .collect()
    }
}

/// One agency's figures at the scrape instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyFigures {
    /// Non-terminal dossiers by status code.
    pub open_by_status: BTreeMap<u8, u64>,
    /// Open in the clock's sense (statuses 2, 4, 5, 6).
    pub open: u64,
    pub overdue: u64,
    pub overdue_without_apology: u64,
    /// Open dossiers late by the national rule at now.
    pub open_national_late: u64,
    pub at_risk: Option<u64>,
    /// Per configured window: its daily counts summed.
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

const OPEN_CLOCK: [u8; 4] = [2, 4, 5, 6];

/// The per-agency figures of a scrape. `agencies` are listed even with nothing to show.
pub fn agency_figures<'a>(
    f: &Figures,
    windows: usize,
    now: DateTime<Utc>,
    agencies: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, AgencyFigures> {
    let mut out: BTreeMap<String, AgencyFigures> = BTreeMap::new();
    let blank = || AgencyFigures { windows: vec![CountValues::default(); windows], ..AgencyFigures::default() };
    for a in agencies {
        out.entry(a.to_string()).or_insert_with(blank);
    }
    for o in &f.open {
        let a = out.entry(o.agency.clone()).or_insert_with(blank);
        let code = o.status.code();
        *a.open_by_status.entry(code).or_default() += o.dossiers;
        if OPEN_CLOCK.contains(&code) {
            a.open += o.dossiers;
        }
    }
    for (i, w) in f.windows.iter().enumerate() {
        for row in w {
            let a = out.entry(row.agency.clone()).or_insert_with(blank);
            if let Some(c) = a.windows.get_mut(i) {
                c.add_from(&row.counts);
            }
        }
    }
    for c in &f.late_candidates {
        let a = out.entry(c.agency.clone()).or_insert_with(blank);
        if c.due_at.is_some_and(|d| is_overdue(d, now)) {
            a.overdue += 1;
            if c.reschedule_count == 0 {
                a.overdue_without_apology += 1;
            }
        }
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
            a.open_national_late += 1;
        }
    }
    if let Some(at_risk) = &f.at_risk {
        for a in out.values_mut() {
            a.at_risk = Some(0);
        }
        for (agency, n) in at_risk {
            out.entry(agency.clone()).or_insert_with(blank).at_risk = Some(*n);
        }
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

fn status_label(code: u8) -> &'static str {
    Status::from_code(code).map_or("unknown", Status::name)
}

/// The service metric families of one scrape.
pub fn families(
    f: &Figures,
    per_agency: &BTreeMap<String, AgencyFigures>,
    windows: &[Window],
    now: DateTime<Utc>,
    read_seconds: f64,
) -> Vec<MetricFamily> {
    let mut fam = Families::default();
    let labels: Vec<String> = windows.iter().map(|w| w.label()).collect();
    for (agency, a) in per_agency {
        let ag = agency.as_str();
        for code in [1u8, 2, 4, 5, 6] {
            let n = a.open_by_status.get(&code).copied().unwrap_or(0);
            fam.gauge("motcua_dossiers_open", &[("agency", ag), ("status", status_label(code))], n as f64);
        }
        fam.gauge("motcua_dossiers_overdue", &[("agency", ag)], a.overdue as f64);
        fam.gauge("motcua_dossiers_overdue_without_apology", &[("agency", ag)], a.overdue_without_apology as f64);
        if let Some(n) = a.at_risk {
            fam.gauge("motcua_dossiers_at_risk", &[("agency", ag)], n as f64);
        }
        for (i, w) in labels.iter().enumerate() {
            let c = a.windows.get(i).copied().unwrap_or_default();
            let win = w.as_str();
            fam.gauge("motcua_window_received_dossiers", &[("agency", ag), ("window", win)], c.received as f64);
            for (t, v) in [("early", c.early), ("on_time", c.on_time), ("late", c.late)] {
                fam.gauge(
                    "motcua_window_finished_dossiers",
                    &[("agency", ag), ("timeliness", t), ("window", win)],
                    v as f64,
                );
            }
            let national = a.national(i);
            fam.gauge(
                "motcua_national_population_dossiers",
                &[("agency", ag), ("window", win)],
                national.denominator as f64,
            );
            fam.gauge(
                "motcua_national_on_time_dossiers",
                &[("agency", ag), ("window", win)],
                national.numerator as f64,
            );
            fam.gauge(
                "motcua_on_time_ratio",
                &[("agency", ag), ("definition", "national"), ("window", win)],
                national.value_or(1.0),
            );
            fam.gauge(
                "motcua_on_time_ratio",
                &[("agency", ag), ("definition", "resolved"), ("window", win)],
                a.resolved(i).value_or(1.0),
            );
        }
    }
    for t in &f.totals {
        let (ag, ch) = (t.agency.as_str(), t.channel.name());
        let c = t.counts;
        fam.counter("motcua_dossiers_received_total", &[("agency", ag), ("channel", ch)], c.received as f64);
        for (tl, v) in [("early", c.early), ("on_time", c.on_time), ("late", c.late)] {
            fam.counter(
                "motcua_dossiers_finished_total",
                &[("agency", ag), ("channel", ch), ("timeliness", tl)],
                v as f64,
            );
        }
        fam.counter(
            "motcua_dossiers_finished_national_on_time_total",
            &[("agency", ag), ("channel", ch)],
            c.national_on_time as f64,
        );
    }
    let mut cells: BTreeMap<(&str, &str), Vec<&WorkingTimeBucket>> = BTreeMap::new();
    for b in &f.working_time {
        cells.entry((b.metric.as_str(), b.agency.as_str())).or_default().push(b);
    }
    for ((metric, agency), v) in &cells {
        match *metric {
            "handoff_delay" => {
                fam.histogram("motcua_handoff_delay_working_seconds", &[("agency", agency)], &HANDOFF_BOUNDS, v)
            }
            "dwell" => fam.histogram("motcua_dwell_working_seconds", &[("agency", agency)], &DWELL_BOUNDS, v),
            _ => {}
        }
    }
    for o in &f.outbox {
        fam.gauge("motcua_outbox_messages", &[("kind", &o.kind), ("status", &o.status)], o.messages as f64);
    }
    let age = f.oldest_pending_message.map_or(0.0, |t| ((now - t).num_milliseconds().max(0) as f64) / 1000.0);
    fam.gauge("motcua_outbox_oldest_pending_age_seconds", &[], age);
    fam.gauge("motcua_working_time_queue_events", &[], f.handoff_queue as f64);
    fam.gauge("motcua_figures_read_duration_seconds", &[], read_seconds);
    fam.finish()
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
