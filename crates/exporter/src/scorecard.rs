//! The chair's scorecard as Prometheus series: each indicator of
//! [`motcua_core::scorecard::INDICATORS`], per lead agency, over a window of local days ending
//! with the scrape's day (30 by default), as of the scrape's instant — the figures of
//! `motcua scorecard --by agency --from <today − 29> --to <today> --as-of <instant>` (and of
//! `GET /api/v1/scorecard` and the chair's page for the same query).
//!
//! The figures come from the store's scorecard ([`motcua_store::scorecard::scorecard`]), read
//! from the sums the write path keeps. That read costs more than the rest of a scrape (it
//! judges the dossiers open and overdue at the instant and reads the petitions), so it is done
//! again only when the scrape's instant has moved by the refresh interval (60 s by default)
//! since the figures were read; in between the scrape writes the figures it kept, and
//! `motcua_scorecard_as_of_timestamp_seconds` says the instant they are as of.
//!
//! Labels are bounded: `agency` (the catalog's agencies, and any lead agency with figures),
//! `indicator` (the fourteen keys), `field` (the four kinds of unrecorded data) and `cause`
//! (citizen, agency, unknown).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use motcua_core::Domain;
use motcua_core::calendar::from_local;
use motcua_core::scorecard::{INDICATORS, Indicator, Indicators, ScoreBy, Tally, indicators};
use motcua_store::scorecard::{ScoreQuery, Scorecard, ScorecardStore, scorecard};
use motcua_store::{PetitionStore, StaffStore, Store, StoreError};

use crate::service::Window;
use crate::text::{Exposition, KeptFamilies, label};

/// What the scorecard series cover and how often they are read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScorecardSeries {
    /// The local days the scorecard covers, ending with the scrape's day.
    pub window: Window,
    /// Figures read at an instant are written again by scrapes whose instant is less than this
    /// after it (and not before it).
    pub refresh: Duration,
}

impl Default for ScorecardSeries {
    fn default() -> Self {
        Self { window: Window { days: 30 }, refresh: Duration::seconds(60) }
    }
}

/// Scorecard metric families: name, type, help.
pub const SCORECARD_METRICS: [(&str, &str, &str); 10] = [
    (
        "motcua_scorecard_as_of_timestamp_seconds",
        "gauge",
        "The instant (Unix seconds) the scorecard series are as of: the scrape that last read them.",
    ),
    (
        "motcua_scorecard_period_start_timestamp_seconds",
        "gauge",
        "The start (Unix seconds, local midnight) of the scorecard's window of local days, which ends at its as-of instant.",
    ),
    (
        "motcua_scorecard_numerator",
        "gauge",
        "Scorecard indicator numerator over the window, by lead agency and indicator (docs/scorecard.md); average_days_2_2: working days of the finished dossiers; fees_collected_vnd: VND.",
    ),
    (
        "motcua_scorecard_denominator",
        "gauge",
        "Scorecard indicator denominator (its population) over the window, by lead agency and indicator; 0 when there is nothing to judge.",
    ),
    (
        "motcua_scorecard_value",
        "gauge",
        "Scorecard indicator value over the window, by lead agency and indicator: a ratio 0-1, except average_days_2_2 (working days) and fees_collected_vnd (VND); absent when the denominator is 0.",
    ),
    (
        "motcua_scorecard_points",
        "gauge",
        "Decision 766 points of a scored indicator over the window, by lead agency and indicator (2 decimals); absent when the denominator is 0.",
    ),
    (
        "motcua_scorecard_meets_target",
        "gauge",
        "1 when the indicator meets its target over the window, 0 when it does not (compared in integers), by lead agency and indicator; absent without a target or a denominator.",
    ),
    ("motcua_scorecard_target", "gauge", "The target of an indicator (0-1): Decision 766's or Da Nang's own."),
    ("motcua_scorecard_max_points", "gauge", "The most points a scored indicator gives (Decision 766)."),
    (
        "motcua_scorecard_unknown_dossiers",
        "gauge",
        "Dossiers of the window whose data was not recorded, by lead agency and field (digitised, electronic_result, payment, delay_reason): left out of the rates, never counted as zero.",
    ),
];

/// The late dossiers by cause are one more family, with the `cause` label.
pub const LATE_BY_CAUSE_METRIC: (&str, &str, &str) = (
    "motcua_scorecard_late_dossiers",
    "gauge",
    "Late dossiers of the window (finished late, or open and overdue at its end), by lead agency and the cause of their delay reason code (citizen, agency, unknown when none was recorded).",
);

/// Every scorecard family name.
pub fn names() -> impl Iterator<Item = &'static str> {
    SCORECARD_METRICS.iter().map(|(n, _, _)| *n).chain(std::iter::once(LATE_BY_CAUSE_METRIC.0))
}

/// The query the series answer at `now`.
pub fn query_at(series: ScorecardSeries, now: DateTime<Utc>) -> ScoreQuery {
    let (from, to) = series.window.days_at(now);
    ScoreQuery::new(from, to, ScoreBy::Agency, now)
}

/// Reads the scorecard at `now` and renders its families; `agencies` get their series even with
/// nothing to count.
pub(crate) async fn read<S>(
    store: &S,
    domain: &Domain,
    series: ScorecardSeries,
    agencies: &[String],
    now: DateTime<Utc>,
) -> Result<KeptFamilies, StoreError>
where
    S: Store + ScorecardStore + StaffStore + PetitionStore,
{
    let card = scorecard(store, domain, &query_at(series, now)).await?;
    Ok(render(&card, domain, agencies, now))
}

/// Each agency's indicators: the scorecard's rows, and the listed agencies with none.
fn rows<'a>(
    card: &'a Scorecard,
    domain: &Domain,
    agencies: &[String],
) -> BTreeMap<String, std::borrow::Cow<'a, Indicators>> {
    let mut out: BTreeMap<String, std::borrow::Cow<'a, Indicators>> =
        card.rows.iter().map(|r| (r.key.clone(), std::borrow::Cow::Borrowed(&r.indicators))).collect();
    let empty = indicators(&Tally::default(), &domain.delay_reasons);
    for a in agencies {
        out.entry(a.clone()).or_insert_with(|| std::borrow::Cow::Owned(empty.clone()));
    }
    out
}

fn render(card: &Scorecard, domain: &Domain, agencies: &[String], now: DateTime<Utc>) -> KeptFamilies {
    let rows = rows(card, domain, agencies);
    let labelled: Vec<(String, &Indicators)> = rows.iter().map(|(a, i)| (label("agency", a), i.as_ref())).collect();
    let keys: Vec<(&'static str, String)> = INDICATORS.iter().map(|k| (*k, label("indicator", k))).collect();
    // The targets and maximum points are the same in every row: taken from the rule itself.
    let rule = indicators(&Tally::default(), &domain.delay_reasons);
    let start = from_local(card.from.and_time(NaiveTime::MIN));
    let mut families = Vec::new();
    for (name, kind, help) in SCORECARD_METRICS.iter().chain(std::iter::once(&LATE_BY_CAUSE_METRIC)) {
        let mut x = Exposition::default();
        x.header(name, kind, help);
        let each = |x: &mut Exposition, f: &dyn Fn(&Indicator) -> Option<f64>| {
            for (ag, ind) in &labelled {
                for (k, kl) in &keys {
                    if let Some(v) = ind.get(k).and_then(f) {
                        x.sample(name, "", &[ag, kl], v);
                    }
                }
            }
        };
        match *name {
            "motcua_scorecard_as_of_timestamp_seconds" => x.sample(name, "", &[], seconds(now)),
            "motcua_scorecard_period_start_timestamp_seconds" => x.sample(name, "", &[], seconds(start)),
            "motcua_scorecard_numerator" => each(&mut x, &|i| Some(i.numerator as f64)),
            "motcua_scorecard_denominator" => each(&mut x, &|i| Some(i.denominator as f64)),
            "motcua_scorecard_value" => each(&mut x, &|i| i.value),
            "motcua_scorecard_points" => each(&mut x, &|i| i.points),
            "motcua_scorecard_meets_target" => each(&mut x, &|i| i.meets.map(|m| if m { 1.0 } else { 0.0 })),
            "motcua_scorecard_target" | "motcua_scorecard_max_points" => {
                for (k, kl) in &keys {
                    let i = rule.get(k);
                    let v = if *name == "motcua_scorecard_target" {
                        i.and_then(|i| i.target)
                    } else {
                        i.and_then(|i| i.max_points)
                    };
                    if let Some(v) = v {
                        x.sample(name, "", &[kl], v);
                    }
                }
            }
            "motcua_scorecard_unknown_dossiers" => {
                for (ag, ind) in &labelled {
                    let u = ind.unknown;
                    for (field, n) in [
                        ("digitised", u.digitised),
                        ("electronic_result", u.electronic_result),
                        ("payment", u.payment),
                        ("delay_reason", u.delay_reason),
                    ] {
                        x.sample(name, "", &[ag, &format!("field=\"{field}\"")], n);
                    }
                }
            }
            "motcua_scorecard_late_dossiers" => {
                for (ag, ind) in &labelled {
                    let c = &ind.late_by_cause;
                    for (cause, n) in [("citizen", c.citizen), ("agency", c.agency), ("unknown", c.unknown)] {
                        x.sample(name, "", &[ag, &format!("cause=\"{cause}\"")], n);
                    }
                }
            }
            _ => {}
        }
        families.push((*name, x.out));
    }
    KeptFamilies { at: now, families }
}

/// An instant as Unix seconds, to the millisecond.
fn seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_written_again_within_the_refresh_only() {
        let at = DateTime::parse_from_rfc3339("2025-03-05T10:00:00+07:00").unwrap().with_timezone(&Utc);
        let t = KeptFamilies { at, families: Vec::new() };
        let refresh = Duration::seconds(60);
        assert!(t.fresh_at(at, refresh));
        assert!(t.fresh_at(at + Duration::seconds(59), refresh));
        assert!(!t.fresh_at(at + Duration::seconds(60), refresh));
        assert!(!t.fresh_at(at - Duration::seconds(1), refresh), "a scrape before the figures reads again");
        assert!(!t.fresh_at(at, Duration::zero()), "no refresh interval: every scrape reads");
    }

    #[test]
    fn the_window_ends_with_the_scrapes_day() {
        let now = DateTime::parse_from_rfc3339("2025-03-05T23:30:00+07:00").unwrap().with_timezone(&Utc);
        let q = query_at(ScorecardSeries::default(), now);
        assert_eq!((q.from.to_string(), q.to.to_string()), ("2025-02-04".into(), "2025-03-05".into()));
        assert_eq!(q.as_of, now);
        assert_eq!(q.by, ScoreBy::Agency);
    }
}
