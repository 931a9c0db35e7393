//! Reports (`motcua report`, the web report page): per agency, procedure or month, from the daily aggregates and the dossier
//! projection — never by scanning the event log (except to replay the few dossiers that changed
//! after the report's instant, when reporting on the past).
//!
//! For a period `[p0, p1]` (`p1` = the end of `--to`, or `--as-of` if earlier):
//! - whole days up to `p1` come from `daily_counts` (received, finished by classification, and
//!   the national on-time flag of each finished dossier);
//! - the partial day of `p1` comes from the projection (received / finished in `[day, p1]`);
//! - dossiers open at `p1` come from the projection: those with nothing after `p1` are counted
//!   per group in SQL (`open_tallies`: open, past due, appointment ahead — instant comparisons
//!   only, read from a covering index), the few whose national figure needs their waits are
//!   judged by core from their facts (`open_to_judge`), and those with events after `p1` are
//!   replayed up to `p1` by core.
//!
//! The figures equal core's `count_dossier` over every dossier replayed up to `p1` (tested).
//!
//! Agencies: a dossier is counted under its lead agency as it was (`agency` in the aggregates
//! and the projection). With `as_successors`, a ceased agency's rows are regrouped here, in
//! Rust, under the agency that succeeded it as of the report's instant
//! ([`motcua_core::Catalog::reporting_agency`]: whole dossiers to the successor with the
//! largest share). An agency filter narrows every grouping: by agency it keeps one row; by
//! procedure or month the aggregates are read per agency too and the other agencies' rows
//! are dropped before grouping.

use std::collections::BTreeMap;

use crate::{OpenFacts, Store, StoreError, Totals};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use motcua_core::analysis::{Counts, NationalFacts, count_dossier, national_on_time_facts};
use motcua_core::calendar::{at_vn, from_local, to_local};
use motcua_core::{AgencyCode, Domain, Lang, Timeliness};
use serde::Serialize;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Agency,
    Procedure,
    Month,
}

impl std::str::FromStr for GroupBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "agency" => Ok(Self::Agency),
            "procedure" => Ok(Self::Procedure),
            "month" => Ok(Self::Month),
            other => Err(format!("unknown grouping {other:?}: expected agency, procedure or month")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReportQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: GroupBy,
    pub as_of: DateTime<Utc>,
    /// Only the dossiers of this agency (their lead agency; with `as_successors`, the agency
    /// they are counted under as of `as_of`), in every grouping.
    pub agency: Option<AgencyCode>,
    /// Count a ceased agency's dossiers under its successor in force on the local day of
    /// `as_of` (`report --as-successors`); otherwise under the agencies as they were.
    pub as_successors: bool,
}

impl ReportQuery {
    /// A query with no agency filter, under the agencies as they were.
    pub fn new(from: NaiveDate, to: NaiveDate, by: GroupBy, as_of: DateTime<Utc>) -> Self {
        Self { from, to, by, as_of, agency: None, as_successors: false }
    }

    /// Checks the agency filter against the catalog: it exists, and with `as_successors` it is
    /// in force on the report's day (a ceased agency's dossiers are counted under its
    /// successors then, so it would be empty).
    pub fn check(&self, domain: &Domain) -> Result<(), String> {
        let Some(code) = &self.agency else { return Ok(()) };
        let Some(a) = domain.catalog.agency(code) else {
            return Err(format!("unknown agency {code}"));
        };
        let today = to_local(self.as_of).date();
        if self.as_successors && !a.in_force(today) {
            let to = domain.catalog.reporting_agency(code, today);
            return Err(format!(
                "agency {code} ({}) is not in force on {today}: as successors, its dossiers are counted under {to}; name {to} or drop the successor view",
                a.name
            ));
        }
        Ok(())
    }
}

/// How rows are regrouped by agency: the successor map and the filter.
struct Scope<'a> {
    domain: &'a Domain,
    /// The day whose agencies count (the report's as-of day).
    on: NaiveDate,
    as_successors: bool,
    agency: Option<&'a str>,
}

impl Scope<'_> {
    /// The agency a lead agency's figures are counted under, or None when the filter drops
    /// them.
    fn agency_of(&self, lead: &str) -> Option<String> {
        let mapped = match lead.parse::<AgencyCode>() {
            Ok(code) if self.as_successors => self.domain.catalog.reporting_agency(&code, self.on).to_string(),
            _ => lead.to_string(),
        };
        match self.agency {
            Some(only) if only != mapped => None,
            _ => Some(mapped),
        }
    }

    /// How to read the aggregates for `by`: per agency too whenever agencies are regrouped or
    /// filtered.
    fn totals(&self, by: GroupBy) -> Totals {
        match (by, self.agency.is_some()) {
            (GroupBy::Agency, _) => Totals::Agency,
            (GroupBy::Procedure, false) => Totals::Procedure,
            (GroupBy::Procedure, true) => Totals::AgencyProcedure,
            (GroupBy::Month, false) => Totals::All,
            (GroupBy::Month, true) => Totals::Agency,
        }
    }

    /// The report key of an aggregate row read with `totals`, or None when filtered out.
    fn regroup(&self, totals: Totals, by: GroupBy, key: &str, month: &str) -> Option<String> {
        let (agency, procedure) = match totals {
            Totals::Agency => (Some(key), ""),
            Totals::AgencyProcedure => {
                let (a, p) = key.split_once(' ')?;
                (Some(a), p)
            }
            Totals::Procedure => (None, key),
            Totals::All => (None, ""),
        };
        let agency = match agency {
            Some(a) => self.agency_of(a)?,
            None => String::new(),
        };
        Some(key_of(by, &agency, procedure, month))
    }

    /// The report key of one dossier (lead agency, procedure), or None when filtered out.
    fn key(&self, by: GroupBy, lead: &str, procedure: &str, month: &str) -> Option<String> {
        Some(key_of(by, &self.agency_of(lead)?, procedure, month))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub key: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub p0: DateTime<Utc>,
    pub p1: DateTime<Utc>,
    pub by: GroupBy,
    /// The agency filter, if any.
    pub agency: Option<AgencyCode>,
    /// With the successor view: the day whose agencies the figures are counted under.
    pub as_successors: Option<NaiveDate>,
    pub rows: Vec<ReportRow>,
    pub total: Counts,
}

/// The instant range of `[from, to]` cut at `as_of`: `from` 00:00 local to `to` 23:59:59 local.
pub fn period(from: NaiveDate, to: NaiveDate, as_of: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let p0 = from_local(from.and_time(NaiveTime::MIN));
    let end = from_local(to.and_hms_opt(23, 59, 59).unwrap_or(to.and_time(NaiveTime::MIN)));
    (p0, end.min(as_of))
}

fn key_of(by: GroupBy, agency: &str, procedure: &str, month: &str) -> String {
    match by {
        GroupBy::Agency => agency.to_string(),
        GroupBy::Procedure => procedure.to_string(),
        GroupBy::Month => month.to_string(),
    }
}

/// Counts for `[p0, p1]` grouped by `by` (months are grouped by the caller).
async fn period_counts<S: Store>(
    store: &S,
    scope: &Scope<'_>,
    p0: DateTime<Utc>,
    p1: DateTime<Utc>,
    by: GroupBy,
) -> Result<BTreeMap<String, Counts>, StoreError> {
    let domain = scope.domain;
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    if p1 < p0 {
        return Ok(out);
    }
    let month = to_local(p0).format("%Y-%m").to_string();
    let first_day = to_local(p0).date();
    let last = to_local(p1);
    // The last day is whole when p1 is its final second.
    let last_whole = if last.time() >= NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN) {
        last.date()
    } else {
        last.date() - Duration::days(1)
    };
    let totals = scope.totals(by);
    if last_whole >= first_day {
        for (key, v) in store.count_totals(first_day, last_whole, totals).await? {
            let Some(key) = scope.regroup(totals, by, &key, &month) else { continue };
            let c = out.entry(key).or_default();
            c.received += v.received as u64;
            c.finished += v.finished as u64;
            c.early += v.early as u64;
            c.on_time += v.on_time as u64;
            c.late += v.late as u64;
            c.national.denominator += v.finished as u64;
            c.national.numerator += v.national_on_time as u64;
        }
    }
    if last_whole < last.date() {
        let day_start = from_local(last.date().and_time(NaiveTime::MIN)).max(p0);
        // The store's ranges are half-open, `[a, b)`: one microsecond (its precision) past
        // `p1` makes this `[day_start, p1]`, so a dossier finished exactly at `p1` counts.
        let day_end = p1 + Duration::microseconds(1);
        for row in store.received_between(day_start, day_end).await? {
            let Some(key) = scope.key(by, row.lead_agency.as_str(), row.procedure.as_str(), &month) else { continue };
            out.entry(key).or_default().received += 1;
        }
        for row in store.finished_between(day_start, day_end).await? {
            let Some(key) = scope.key(by, row.lead_agency.as_str(), row.procedure.as_str(), &month) else { continue };
            let c = out.entry(key).or_default();
            c.finished += 1;
            match row.timeliness {
                Some(Timeliness::Early) => c.early += 1,
                Some(Timeliness::OnTime) => c.on_time += 1,
                Some(Timeliness::Late) => c.late += 1,
                None => {}
            }
            c.national.denominator += 1;
            c.national.numerator += u64::from(row.national_on_time == Some(true));
        }
    }
    // Open at p1, as the projection has them (nothing happened after p1): counted in SQL by
    // instant comparisons. Core's national rule makes such a dossier on time when its receipt
    // appointment is at or after p1 and it had at most one supplement request: its effective
    // end is at most p1 (waits only move it earlier). The others it judges below.
    for (key, t) in store.open_tallies(p1, totals).await? {
        let Some(key) = scope.regroup(totals, by, &key, &month) else { continue };
        let c = out.entry(key).or_default();
        let (open, past_due, waiting, ahead) = (
            t.open.max(0) as u64,
            t.past_due.max(0) as u64,
            t.waiting.max(0) as u64,
            t.appointment_ahead.max(0) as u64,
        );
        c.overdue += past_due;
        c.waiting += waiting;
        c.in_time += open.saturating_sub(past_due + waiting);
        c.national.denominator += open;
        c.national.numerator += ahead;
    }
    for f in store.open_to_judge(p1).await? {
        let Some(key) = scope.key(by, &f.lead_agency, &f.procedure, &month) else { continue };
        let c = out.entry(key).or_default();
        if f.last_event_at <= p1 {
            // In the tallies (counted and classified by due instant); core says whether it is
            // on time by the national rule.
            if let Some(on_time) = open_national(&f, p0, p1) {
                c.national.numerator += u64::from(on_time);
            }
        } else {
            // Something happened after p1: replay its log up to p1 for the state it had then.
            let events = store.events(&f.code).await?;
            let d = domain
                .replay_until(events.iter(), p1)
                .map_err(|source| StoreError::Unreplayable { code: f.code.clone(), source })?;
            count_dossier(c, &d, p0, p1, domain.classify);
            // count_dossier also counted its receipt, already in the aggregates above.
            if d.received_at.is_some_and(|r| r >= p0 && r <= p1) {
                c.received -= 1;
            }
        }
    }
    Ok(out)
}

/// Core's national rule for a dossier open at `p1` whose projection is its state then.
fn open_national(f: &OpenFacts, p0: DateTime<Utc>, p1: DateTime<Utc>) -> Option<bool> {
    let facts = NationalFacts {
        received_at: f.received_at?,
        original_due_at: f.original_due_at?,
        finished_at: None,
        supplement_requests: f.supplement_count,
        open_wait: f.waiting_kind.zip(f.waiting_since),
        waited_closed_seconds: f.waited_seconds_closed,
    };
    national_on_time_facts(&facts, p0, p1)
}

/// Builds the report.
pub async fn report<S: Store>(store: &S, domain: &Domain, q: &ReportQuery) -> Result<Report, StoreError> {
    let (p0, p1) = period(q.from, q.to, q.as_of);
    let scope = Scope {
        domain,
        on: to_local(q.as_of).date(),
        as_successors: q.as_successors,
        agency: q.agency.as_ref().map(AgencyCode::as_str),
    };
    let mut rows: Vec<ReportRow> = Vec::new();
    let mut total = Counts::default();
    if q.by == GroupBy::Month {
        let mut month_start = q.from;
        while month_start <= q.to {
            let next = NaiveDate::from_ymd_opt(
                if month_start.month() == 12 { month_start.year() + 1 } else { month_start.year() },
                if month_start.month() == 12 { 1 } else { month_start.month() + 1 },
                1,
            )
            .unwrap_or(NaiveDate::MAX);
            let month_end = (next - Duration::days(1)).min(q.to);
            let (m0, m1) = period(month_start, month_end, q.as_of);
            let mut c = Counts::default();
            for v in period_counts(store, &scope, m0, m1, GroupBy::Month).await?.into_values() {
                c += v;
            }
            let key = month_start.format("%Y-%m").to_string();
            rows.push(ReportRow { name: key.clone(), key, counts: c });
            month_start = next;
        }
        for v in period_counts(store, &scope, p0, p1, GroupBy::Month).await?.into_values() {
            total += v;
        }
    } else {
        for (key, counts) in period_counts(store, &scope, p0, p1, q.by).await? {
            total += counts;
            let name = match q.by {
                GroupBy::Agency => key.parse().ok().and_then(|a| domain.catalog.agency(&a)).map(|a| a.name.clone()),
                GroupBy::Procedure => {
                    key.parse().ok().and_then(|p| domain.catalog.procedure(&p)).map(|p| p.name.clone())
                }
                GroupBy::Month => None,
            }
            .unwrap_or_default();
            rows.push(ReportRow { key, name, counts });
        }
    }
    Ok(Report {
        from: q.from,
        to: q.to,
        p0,
        p1,
        by: q.by,
        agency: q.agency.clone(),
        as_successors: q.as_successors.then_some(scope.on),
        rows,
        total,
    })
}

fn show(at: DateTime<Utc>) -> String {
    at_vn(at).to_rfc3339()
}

/// The report's CSV columns: (English heading, Vietnamese heading).
const CSV_HEADINGS: [(&str, &str); 13] = [
    ("key", "Mã"),
    ("name", "Tên"),
    ("received", "Tiếp nhận"),
    ("finished", "Đã giải quyết"),
    ("early", "Trước hạn"),
    ("on_time", "Đúng hạn"),
    ("late", "Trễ hạn"),
    ("in_time", "Đang xử lý trong hạn"),
    ("overdue", "Đang xử lý quá hạn"),
    ("waiting_for_citizen", "Chờ công dân"),
    ("on_time_rate_national", "Tỷ lệ đúng hạn (QĐ 766)"),
    ("progress_score", "Điểm tiến độ"),
    ("on_time_rate_resolved", "Tỷ lệ đúng hạn (đã giải quyết)"),
];

impl Report {
    fn json_counts(c: &Counts) -> serde_json::Value {
        serde_json::json!({
            "received": c.received,
            "finished": c.finished,
            "early": c.early,
            "on_time": c.on_time,
            "late": c.late,
            "in_time": c.in_time,
            "overdue": c.overdue,
            "waiting_for_citizen": c.waiting,
            "national_population": c.national.denominator,
            "national_on_time": c.national.numerator,
            "on_time_rate_national": c.on_time_rate_national(),
            "progress_score": c.progress_score(),
            "on_time_rate_resolved": c.on_time_rate_resolved(),
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut v = Self::json_counts(&r.counts);
                v["key"] = r.key.clone().into();
                v["name"] = r.name.clone().into();
                v
            })
            .collect();
        serde_json::json!({
            "from": self.from, "to": self.to,
            "period_start": show(self.p0), "period_end": show(self.p1),
            "by": self.by,
            "agency_filter": self.agency,
            "as_successors": self.as_successors.is_some(),
            "agencies_as_of": self.as_successors,
            "definitions": {
                "on_time_rate_national": "Decision 766/QĐ-TTg indicator 2.1: on time ÷ (received by the period end and not finished before its start); supplement and payment waits subtracted; 1 when empty",
                "on_time_rate_resolved": "(early + on time) ÷ finished in the period; 1 when nothing finished",
                "waiting_for_citizen": "open at the period end and waiting for a supplement or a payment with the clock stopped: neither in time nor overdue (overdue if the wait began after the due instant)",
                "agency": if self.as_successors.is_some() {
                    "the dossier's lead agency (route step with the largest budget); a ceased agency's dossiers counted whole under its successor with the largest share of territory, as of agencies_as_of"
                } else {
                    "the dossier's lead agency (route step with the largest budget), as it was at the time"
                }
            },
            "rows": rows,
            "total": Self::json_counts(&self.total),
        })
    }

    /// The CSV as the CLI and the API give it: the documented English headings, no byte-order
    /// mark.
    pub fn to_csv(&self) -> String {
        self.csv(CSV_HEADINGS.map(|h| h.0), "total")
    }

    /// The CSV a page offers for a spreadsheet: a UTF-8 byte-order mark (so Excel reads the
    /// Vietnamese), then the headings and the total row's name in `lang` (the documented
    /// English headings for English).
    pub fn to_spreadsheet_csv(&self, lang: Lang) -> String {
        let body = match lang {
            Lang::Vi => self.csv(CSV_HEADINGS.map(|h| h.1), "Tổng cộng"),
            Lang::En => self.to_csv(),
        };
        format!("\u{feff}{body}")
    }

    fn csv(&self, headings: [&str; 13], total: &str) -> String {
        let heads: Vec<String> = headings.iter().map(|h| csv_field(h)).collect();
        let mut out = heads.join(",");
        out.push('\n');
        let line = |key: &str, name: &str, c: &Counts| {
            let counts: Vec<String> = tallies(c).iter().map(u64::to_string).collect();
            format!(
                "{},{},{},{:.6},{:.4},{:.6}\n",
                csv_field(key),
                csv_field(name),
                counts.join(","),
                c.on_time_rate_national(),
                c.progress_score(),
                c.on_time_rate_resolved()
            )
        };
        for r in &self.rows {
            out.push_str(&line(&r.key, &r.name, &r.counts));
        }
        out.push_str(&line(total, "", &self.total));
        out
    }

    pub fn to_table(&self) -> String {
        let mut out = format!(
            "report {} to {} (period {} – {}), by {:?}",
            self.from,
            self.to,
            show(self.p0),
            show(self.p1),
            self.by
        );
        if let Some(a) = &self.agency {
            out.push_str(&format!(", agency {a}"));
        }
        match self.as_successors {
            Some(day) => out.push_str(&format!(", ceased agencies under their successors of {day}\n")),
            None => out.push('\n'),
        }
        let header = format!(
            "{:<28} {:>9} {:>9} {:>8} {:>8} {:>6} {:>8} {:>8} {:>8} {:>10} {:>7} {:>10}\n",
            "key",
            "received",
            "finished",
            "early",
            "on_time",
            "late",
            "in_time",
            "overdue",
            "waiting",
            "national",
            "score",
            "resolved"
        );
        out.push_str(&header);
        let line = |key: &str, c: &Counts| {
            let mut line = format!("{key:<28}");
            for (n, width) in tallies(c).iter().zip(TALLY_WIDTHS) {
                line.push_str(&format!(" {n:>width$}"));
            }
            line + &format!(
                " {:>10} {:>7.2} {:>10}\n",
                c.national.percent(1.0),
                c.progress_score(),
                c.resolved().percent(1.0)
            )
        };
        for r in &self.rows {
            out.push_str(&line(&r.key, &r.counts));
        }
        out.push_str(&line("total", &self.total));
        out.push_str("national = Decision 766 indicator 2.1 (population: received by the period end, not finished before it); resolved = (early + on time) ÷ finished\n");
        out
    }
}

/// The plain tallies of a report row, in the order both the CSV and the table show them:
/// received, finished, early, on time, late, in time, overdue, waiting for the citizen.
fn tallies(c: &Counts) -> [u64; 8] {
    [c.received, c.finished, c.early, c.on_time, c.late, c.in_time, c.overdue, c.waiting]
}

/// The table's column widths for [`tallies`].
const TALLY_WIDTHS: [usize; 8] = [9, 9, 8, 8, 6, 8, 8, 8];

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

// ------------------------------------------------------------------------------------------
// The citizen's whole time: hall wait + processing

/// A median and a mean, in whole minutes (the mean to one decimal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Minutes {
    pub median: Option<i64>,
    pub mean: Option<f64>,
}

impl Minutes {
    fn of(v: Vec<i64>) -> Self {
        let s = motcua_core::hall::Spread::of(v);
        Self { median: s.p50, mean: s.mean.map(|m| (m * 10.0).round() / 10.0) }
    }

    fn text(&self) -> (String, String) {
        (
            self.median.map_or_else(|| "—".into(), |m| m.to_string()),
            self.mean.map_or_else(|| "—".into(), |m| format!("{m:.1}")),
        )
    }
}

/// One group of the hall-wait report: the dossiers finished in the period, how many of them
/// were received from a hall ticket, and for those the time in the hall (number → receipt),
/// the processing time (receipt → finish) and their sum per dossier (number → finish).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HallWaitRow {
    pub key: String,
    pub name: String,
    pub finished: u64,
    pub linked: u64,
    pub hall_wait_minutes: Minutes,
    pub processing_minutes: Minutes,
    pub whole_minutes: Minutes,
}

/// `report --hall-wait`: "hall wait + processing" per group, over the dossiers finished in
/// the period that were received from a hall ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HallWaitReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: GroupBy,
    pub agency: Option<AgencyCode>,
    pub rows: Vec<HallWaitRow>,
    pub total: HallWaitRow,
}

#[derive(Default)]
struct WaitTimes {
    hall: Vec<i64>,
    processing: Vec<i64>,
    whole: Vec<i64>,
}

impl WaitTimes {
    fn row(self, key: String, name: String, finished: u64) -> HallWaitRow {
        HallWaitRow {
            key,
            name,
            finished,
            linked: self.hall.len() as u64,
            hall_wait_minutes: Minutes::of(self.hall),
            processing_minutes: Minutes::of(self.processing),
            whole_minutes: Minutes::of(self.whole),
        }
    }
}

/// Builds the hall-wait report: the on-time report's finished counts per group, and the
/// linked dossiers' times (each dossier's hall wait from the first ticket of its chain, by
/// core's [`motcua_core::hall::hall_time`]). One computation for the CLI and the API.
pub async fn hall_wait<S: Store + crate::HallStore>(
    store: &S,
    domain: &Domain,
    q: &ReportQuery,
) -> Result<HallWaitReport, StoreError> {
    let base = report(store, domain, q).await?;
    let (p0, p1) = (base.p0, base.p1);
    let scope = Scope {
        domain,
        on: to_local(q.as_of).date(),
        as_successors: q.as_successors,
        agency: q.agency.as_ref().map(AgencyCode::as_str),
    };
    let mut groups: BTreeMap<String, WaitTimes> = BTreeMap::new();
    let mut total = WaitTimes::default();
    if p1 >= p0 {
        for l in store.linked_finished(p0, p1 + Duration::microseconds(1)).await? {
            let month = to_local(l.finished_at).format("%Y-%m").to_string();
            let Some(key) = scope.key(q.by, &l.lead_agency, &l.procedure, &month) else { continue };
            let origin = crate::hall::origin_ticket(store, l.ticket).await?;
            let hall = motcua_core::hall::hall_time(&origin, l.received_at).wait_to_receipt_minutes;
            let processing = (l.finished_at - l.received_at).num_minutes().max(0);
            for t in [groups.entry(key).or_default(), &mut total] {
                t.hall.push(hall);
                t.processing.push(processing);
                t.whole.push(hall + processing);
            }
        }
    }
    let rows = base
        .rows
        .iter()
        .map(|r| groups.remove(&r.key).unwrap_or_default().row(r.key.clone(), r.name.clone(), r.counts.finished))
        .collect();
    Ok(HallWaitReport {
        from: q.from,
        to: q.to,
        by: q.by,
        agency: q.agency.clone(),
        rows,
        total: total.row("total".into(), String::new(), base.total.finished),
    })
}

const HALL_WAIT_HEADINGS: [&str; 10] = [
    "key",
    "name",
    "finished",
    "linked",
    "hall_wait_median_minutes",
    "hall_wait_mean_minutes",
    "processing_median_minutes",
    "processing_mean_minutes",
    "whole_median_minutes",
    "whole_mean_minutes",
];

impl HallWaitReport {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "from": self.from, "to": self.to, "by": self.by, "agency_filter": self.agency,
            "definitions": {
                "linked": "dossiers finished in the period that were received from a hall ticket (intake --ticket); only they are counted in the times",
                "hall_wait_minutes": "from taking the queue number (the first ticket of a redirect chain) to the dossier's receipt, in whole minutes: time in the hall, not part of the statutory time limit",
                "processing_minutes": "from the receipt to the finish (the result), in whole calendar minutes",
                "whole_minutes": "hall wait + processing, per dossier: the citizen's whole time from taking the number to the result"
            },
            "rows": self.rows,
            "total": self.total,
        })
    }

    pub fn to_csv(&self) -> String {
        let mut out = HALL_WAIT_HEADINGS.join(",");
        out.push('\n');
        for r in self.rows.iter().chain(std::iter::once(&self.total)) {
            let (hm, ha) = r.hall_wait_minutes.text();
            let (pm, pa) = r.processing_minutes.text();
            let (wm, wa) = r.whole_minutes.text();
            out.push_str(&format!(
                "{},{},{},{},{hm},{ha},{pm},{pa},{wm},{wa}\n",
                csv_field(&r.key),
                csv_field(&r.name),
                r.finished,
                r.linked
            ));
        }
        out
    }

    pub fn to_table(&self) -> String {
        let mut out = format!(
            "hall wait + processing {} to {}, by {:?}: dossiers finished, those received from a hall ticket (linked) and their times in minutes (median / mean)\n",
            self.from, self.to, self.by
        );
        out.push_str(&format!(
            "{:<28} {:>8} {:>7} {:>17} {:>17} {:>17}\n",
            "key", "finished", "linked", "hall wait", "processing", "hall + processing"
        ));
        for r in self.rows.iter().chain(std::iter::once(&self.total)) {
            let cell = |m: &Minutes| {
                let (a, b) = m.text();
                format!("{a} / {b}")
            };
            out.push_str(&format!(
                "{:<28} {:>8} {:>7} {:>17} {:>17} {:>17}\n",
                r.key,
                r.finished,
                r.linked,
                cell(&r.hall_wait_minutes),
                cell(&r.processing_minutes),
                cell(&r.whole_minutes)
            ));
        }
        out
    }
}
