//! The chair's scorecard: the indicators of the national index of Decision 766/QĐ-TTg
//! (23/6/2022) that a one-stop shop's own data can compute, with Da Nang's targets beside them
//! (docs/scorecard.md has each definition and its source).
//!
//! # What is counted, and when
//!
//! Every indicator is a ratio of integer counts. A dossier adds to the counts on the local day
//! (+07:00) of the instant that puts it in a population ([`cells`]):
//!
//! | day of | counts |
//! |---|---|
//! | the receipt | received, received online, synced to the national portal, digitised (or not recorded) |
//! | the finish | finished, finished late (with or without an apology, per delay reason code), working days taken; resolved with a result: issued electronically (or not recorded) |
//! | the payment | paid with a fee above zero, paid online, the fee collected; a payment with no amount or no method is "unknown" |
//! | the first apology | apologies, apologies at least one working day before the due date |
//!
//! A dossier's cells are a function of its events alone (never of "now"), so the store keeps
//! them summed per day, agency and delay reason in the write transaction, and a period's
//! figures are sums over its days. What depends on the instant the scorecard is read at —
//! the dossiers open and overdue then ([`open_late`]), the on-time rate 2.1 (the report's
//! figure, [`crate::analysis::count_dossier`]), ratings and complaints — is added by the reader.
//! [`replay`] computes the same figures from dossiers replayed up to the period's end; the
//! store's figures equal it (tested).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::analysis::{OpenState, Ratio, Timeliness, classify, national_on_time, open_state_of, waiting_since_at};
use crate::calendar::{CalendarError, to_local};
use crate::delay::{Cause, DelayReasons};
use crate::domain::{Domain, DomainError};
use crate::dossier::{Channel, Dossier, PaymentMethod};
use crate::petition::Item;

/// Why a dossier's cells cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

/// The sums kept per day, agency and delay reason (all signed: a write adds a dossier's new
/// cells and takes away its old ones). Cells keyed by a delay reason hold only
/// `finished_late`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScoreCounts {
    pub received: i64,
    pub received_online: i64,
    pub synced: i64,
    pub digitised: i64,
    pub digitised_unknown: i64,
    pub finished: i64,
    pub finished_late: i64,
    pub late_apologised: i64,
    pub working_days: i64,
    pub resolved: i64,
    pub electronic: i64,
    pub electronic_unknown: i64,
    pub paid: i64,
    pub paid_online: i64,
    pub paid_unknown: i64,
    pub fees_vnd: i64,
    pub apologies: i64,
    pub apologies_on_time: i64,
}

/// The columns of [`ScoreCounts`], in declaration order (the store's table columns).
pub const SCORE_COLUMNS: [&str; 18] = [
    "received",
    "received_online",
    "synced",
    "digitised",
    "digitised_unknown",
    "finished",
    "finished_late",
    "late_apologised",
    "working_days",
    "resolved",
    "electronic",
    "electronic_unknown",
    "paid",
    "paid_online",
    "paid_unknown",
    "fees_vnd",
    "apologies",
    "apologies_on_time",
];

impl ScoreCounts {
    /// The values in [`SCORE_COLUMNS`] order.
    pub fn values(&self) -> [i64; 18] {
        [
            self.received,
            self.received_online,
            self.synced,
            self.digitised,
            self.digitised_unknown,
            self.finished,
            self.finished_late,
            self.late_apologised,
            self.working_days,
            self.resolved,
            self.electronic,
            self.electronic_unknown,
            self.paid,
            self.paid_online,
            self.paid_unknown,
            self.fees_vnd,
            self.apologies,
            self.apologies_on_time,
        ]
    }

    /// The inverse of [`Self::values`].
    pub fn from_values(v: [i64; 18]) -> Self {
        Self {
            received: v[0],
            received_online: v[1],
            synced: v[2],
            digitised: v[3],
            digitised_unknown: v[4],
            finished: v[5],
            finished_late: v[6],
            late_apologised: v[7],
            working_days: v[8],
            resolved: v[9],
            electronic: v[10],
            electronic_unknown: v[11],
            paid: v[12],
            paid_online: v[13],
            paid_unknown: v[14],
            fees_vnd: v[15],
            apologies: v[16],
            apologies_on_time: v[17],
        }
    }

    /// Adds `sign` × `o`.
    pub fn add(&mut self, o: &Self, sign: i64) {
        let mut v = self.values();
        for (a, b) in v.iter_mut().zip(o.values()) {
            *a += sign * b;
        }
        *self = Self::from_values(v);
    }

    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }
}

/// Where a cell is summed: the local day, the dossier's lead agency and, for the late
/// dossiers of a delay reason, its code (`""` for every other cell).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScoreKey {
    pub day: NaiveDate,
    pub agency: String,
    pub cause: String,
}

/// A dossier's cells.
pub type ScoreCells = Vec<(ScoreKey, ScoreCounts)>;

/// What the desk recorded for the indicators (fees, methods, electronic results,
/// digitisation, sync marks, delay reasons).
struct Recorded {
    synced: bool,
    digitised: Option<u32>,
    electronic: Option<bool>,
    paid_at: Option<DateTime<Utc>>,
    /// (fee above zero and not exempt, paid online, fee); None when the amount or the method
    /// was not recorded.
    payment: Option<(bool, bool, u64)>,
    reason: Option<String>,
}

fn recorded(d: &Dossier) -> Recorded {
    Recorded {
        synced: d.synced_at.is_some(),
        digitised: d.digitised,
        electronic: d.electronic_result,
        paid_at: d.paid_at,
        payment: match (d.fee_vnd, d.payment_method) {
            (Some(fee), Some(method)) => {
                Some((fee > 0 && method != PaymentMethod::Exempt, method == PaymentMethod::Online, fee))
            }
            _ => None,
        },
        reason: d.delay_reason.clone(),
    }
}

/// The cells a dossier adds to (see the module's table); none before its receipt.
pub fn cells(domain: &Domain, d: &Dossier) -> Result<ScoreCells, ScoreError> {
    let (Some(received), Some(receiving)) = (d.received_at, &d.receiving_agency) else {
        return Ok(Vec::new());
    };
    let procedure = domain.procedure_of(d)?;
    let agency = domain.lead_agency(procedure, receiving).to_string();
    let cal = domain.calendar_for(receiving);
    let rec = recorded(d);
    let mut out: BTreeMap<ScoreKey, ScoreCounts> = BTreeMap::new();
    let key = |t: DateTime<Utc>, cause: &str| ScoreKey {
        day: to_local(t).date(),
        agency: agency.clone(),
        cause: cause.to_string(),
    };
    macro_rules! at {
        ($t:expr, $cause:expr) => {
            out.entry(key($t, $cause)).or_default()
        };
    }
    {
        let c = at!(received, "");
        c.received = 1;
        c.received_online = i64::from(d.channel == Channel::Online);
        c.synced = i64::from(rec.synced);
        match rec.digitised {
            Some(n) => c.digitised = i64::from(n > 0),
            None => c.digitised_unknown = 1,
        }
    }
    if let (Some(f), Some(due)) = (d.finished_at, d.due_at) {
        let late = classify(f, due, domain.classify) == Timeliness::Late;
        let days = cal.working_days_between(to_local(received).date(), to_local(f).date())?;
        let c = at!(f, "");
        c.finished = 1;
        c.working_days = days.max(0);
        if late {
            c.finished_late = 1;
            c.late_apologised = i64::from(apologised_by(d, f));
        }
        if d.outcome.is_some() {
            c.resolved = 1;
            match rec.electronic {
                Some(e) => c.electronic = i64::from(e),
                None => c.electronic_unknown = 1,
            }
        }
        if late && let Some(code) = rec.reason.as_deref() {
            at!(f, code).finished_late = 1;
        }
    }
    if let Some(paid) = rec.paid_at {
        let c = at!(paid, "");
        match rec.payment {
            Some((charged, online, fee)) => {
                if charged {
                    c.paid = 1;
                    c.paid_online = i64::from(online);
                    c.fees_vnd = i64::try_from(fee).unwrap_or(i64::MAX);
                }
            }
            None => c.paid_unknown = 1,
        }
    }
    if let Some(first) = first_apology(d) {
        let on_time = match d.due_at {
            Some(due) => cal.working_days_between(to_local(first).date(), to_local(due).date())? >= 1,
            None => false,
        };
        let c = at!(first, "");
        c.apologies = 1;
        c.apologies_on_time = i64::from(on_time);
    }
    Ok(out.into_iter().filter(|(_, v)| !v.is_zero()).collect())
}

/// When the dossier's first apology was issued (a new appointment date, or the apology
/// recorded with a late result).
pub fn first_apology(d: &Dossier) -> Option<DateTime<Utc>> {
    let rescheduled = d.reschedules.first().map(|r| r.at);
    match (rescheduled, d.apologised_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether an apology was issued at or before `t`.
fn apologised_by(d: &Dossier, t: DateTime<Utc>) -> bool {
    first_apology(d).is_some_and(|a| a <= t)
}

/// A dossier open and overdue at an instant (DOMAIN.md §5's rule): late, though not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLate {
    pub agency: String,
    /// An apology was issued at or before the instant.
    pub apologised: bool,
    /// The delay reason code of its latest wait, reschedule or stop that carried one.
    pub reason: Option<String>,
}

/// The dossier, replayed up to `t`, if it is open and overdue at `t`.
pub fn open_late(domain: &Domain, d: &Dossier, t: DateTime<Utc>) -> Result<Option<OpenLate>, ScoreError> {
    let (Some(received), Some(due), Some(receiving)) = (d.received_at, d.due_at, &d.receiving_agency) else {
        return Ok(None);
    };
    if received > t || d.finished_at.is_some_and(|f| f <= t) {
        return Ok(None);
    }
    if open_state_of(due, waiting_since_at(d, t), t) != OpenState::Overdue {
        return Ok(None);
    }
    let agency = domain.lead_agency(domain.procedure_of(d)?, receiving).to_string();
    Ok(Some(OpenLate { agency, apologised: apologised_by(d, t), reason: recorded(d).reason }))
}

/// Everything one row of the scorecard is computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// The sums of the period's days.
    pub counts: ScoreCounts,
    /// Late dossiers (finished late in the period, or open and overdue at its end) per delay
    /// reason code.
    pub late_by_code: BTreeMap<String, u64>,
    /// Open and overdue at the period's end, and those of them with an apology.
    pub open_late: u64,
    pub open_late_apologised: u64,
    /// Indicator 2.1's population and numerator (the report's).
    pub national: Ratio,
    /// Ratings of 1 or 2 stars given in the period, and complaints or petitions about a
    /// dossier filed in it.
    pub dislikes: u64,
    /// Indicator 5.2: petitions and complaints within competence answered on time ÷ those
    /// due (answered in the period, or owing the answer past its due instant at its end).
    pub petitions_on_time: Ratio,
    /// Indicator 5.3: answered in the period and neither late nor rated "not satisfied" ÷
    /// answered in the period.
    pub petitions_satisfied: Ratio,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        self.counts.add(&o.counts, 1);
        for (k, n) in &o.late_by_code {
            *self.late_by_code.entry(k.clone()).or_default() += n;
        }
        self.open_late += o.open_late;
        self.open_late_apologised += o.open_late_apologised;
        self.national += o.national;
        self.dislikes += o.dislikes;
        self.petitions_on_time += o.petitions_on_time;
        self.petitions_satisfied += o.petitions_satisfied;
    }

    /// Adds one cell of the stored sums.
    pub fn add_cell(&mut self, cause: &str, v: &ScoreCounts) {
        if cause.is_empty() {
            self.counts.add(v, 1);
        } else if v.finished_late != 0 {
            *self.late_by_code.entry(cause.to_string()).or_default() += u64::try_from(v.finished_late).unwrap_or(0);
        }
    }

    /// Adds a dossier open and overdue at the period's end.
    pub fn add_open_late(&mut self, o: &OpenLate) {
        self.open_late += 1;
        self.open_late_apologised += u64::from(o.apologised);
        if let Some(code) = &o.reason {
            *self.late_by_code.entry(code.clone()).or_default() += 1;
        }
    }

    /// All late dossiers: finished late in the period, and open and overdue at its end.
    pub fn late(&self) -> u64 {
        count(self.counts.finished_late) + self.open_late
    }
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// How an indicator turns its value into points: `max` points, reached at `full_at` and
/// linear below it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scoring {
    max: f64,
    full_at: f64,
}

/// A target as an exact fraction `numerator / denominator` (compared in integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target(u64, u64);

impl Target {
    fn value(self) -> f64 {
        self.0 as f64 / self.1 as f64
    }
    fn met(self, r: Ratio) -> Option<bool> {
        (r.denominator > 0)
            .then(|| u128::from(r.numerator) * u128::from(self.1) >= u128::from(self.0) * u128::from(r.denominator))
    }
}

/// One indicator of one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub numerator: u64,
    pub denominator: u64,
    /// The ratio in 0–1 (`average_days_2_2`: working days; `fees_collected_vnd`: VND); null
    /// when the denominator is 0.
    pub value: Option<f64>,
    pub points: Option<f64>,
    pub max_points: Option<f64>,
    pub target: Option<f64>,
    pub meets: Option<bool>,
}

impl Indicator {
    fn ratio(r: Ratio, scoring: Option<Scoring>, target: Option<Target>) -> Self {
        let value = (r.denominator > 0).then(|| r.numerator as f64 / r.denominator as f64);
        let points = match (scoring, value) {
            (Some(s), Some(v)) => Some(round2(s.max * (v / s.full_at).min(1.0))),
            _ => None,
        };
        Self {
            numerator: r.numerator,
            denominator: r.denominator,
            value,
            points,
            max_points: scoring.map(|s| s.max),
            target: target.map(Target::value),
            meets: target.and_then(|t| t.met(r)),
        }
    }

    /// The value as a percentage with 2 decimals, rounded half-up from the integers ("–"
    /// when the denominator is 0).
    pub fn percent(&self) -> String {
        if self.denominator == 0 {
            return "–".into();
        }
        Ratio::new(self.numerator, self.denominator).percent(0.0)
    }
}

/// Points are shown with 2 decimals; they are kept rounded to them.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The indicators' keys, in the order they are shown.
pub const INDICATORS: [&str; 14] = [
    "on_time_2_1",
    "average_days_2_2",
    "synced_1_4",
    "online_submission_3_3",
    "online_payment",
    "electronic_results_4_1",
    "digitised_4_2",
    "satisfaction_5_4",
    "complaints_on_time_5_2",
    "complaints_satisfaction_5_3",
    "apology_coverage",
    "apology_on_time",
    "late_by_cause",
    "fees_collected_vnd",
];

/// Indicators that are ratios with a target (the alert rules and the page's ✓/✗).
pub fn is_rate(key: &str) -> bool {
    !matches!(key, "average_days_2_2" | "fees_collected_vnd" | "late_by_cause")
}

/// Late dossiers by who caused the delay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LateByCause {
    pub citizen: u64,
    pub agency: u64,
    /// Late with no reason code (recorded before reason codes existed, or none given).
    pub unknown: u64,
    pub by_code: BTreeMap<String, u64>,
}

/// A row's indicators, in [`INDICATORS`] order, and its late dossiers by cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicators {
    pub list: Vec<(&'static str, Indicator)>,
    pub late_by_cause: LateByCause,
    pub unknown: Unknown,
}

impl Indicators {
    pub fn get(&self, key: &str) -> Option<&Indicator> {
        self.list.iter().find(|(k, _)| *k == key).map(|(_, i)| i)
    }
}

/// Dossiers of a population whose data was not recorded (counted apart: never as zero, never
/// as online).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Unknown {
    /// Received with no record of digitisation.
    pub digitised: u64,
    /// Resolved with no record of whether the result was electronic.
    pub electronic_result: u64,
    /// Paid with no amount or no method.
    pub payment: u64,
    /// Late with no delay reason code.
    pub delay_reason: u64,
}

impl Unknown {
    pub fn add(&mut self, o: &Unknown) {
        self.digitised += o.digitised;
        self.electronic_result += o.electronic_result;
        self.payment += o.payment;
        self.delay_reason += o.delay_reason;
    }
}

/// The scorecard of one row. The configured list of delay reasons says who caused the delay of
/// each code; a code no longer in it counts under `agency` (the agency answers for a delay it
/// cannot show the citizen caused).
pub fn indicators(t: &Tally, reasons: &DelayReasons) -> Indicators {
    let c = &t.counts;
    let r = |n: i64, d: i64| Ratio::new(count(n), count(d));
    let pct = |n: u64| Target(n, 100);
    let late = t.late();
    let coded: u64 = t.late_by_code.values().sum();
    let mut by_cause =
        LateByCause { unknown: late.saturating_sub(coded), by_code: t.late_by_code.clone(), ..LateByCause::default() };
    for (code, n) in &t.late_by_code {
        match reasons.cause_of(code) {
            Some(Cause::Citizen) => by_cause.citizen += n,
            _ => by_cause.agency += n,
        }
    }
    let finished = count(c.finished);
    let unhappy = count(c.finished_late) + t.dislikes;
    let list = vec![
        ("on_time_2_1", Indicator::ratio(t.national, Some(Scoring { max: 20.0, full_at: 1.0 }), Some(pct(99)))),
        ("average_days_2_2", {
            let mut i = Indicator::ratio(r(c.working_days, c.finished), None, None);
            i.value = (c.finished > 0).then(|| round2(c.working_days as f64 / c.finished as f64));
            i
        }),
        (
            "synced_1_4",
            Indicator::ratio(r(c.synced, c.received), Some(Scoring { max: 4.0, full_at: 1.0 }), Some(pct(100))),
        ),
        (
            "online_submission_3_3",
            Indicator::ratio(r(c.received_online, c.received), Some(Scoring { max: 4.0, full_at: 0.5 }), Some(pct(80))),
        ),
        (
            "online_payment",
            Indicator::ratio(r(c.paid_online, c.paid), Some(Scoring { max: 10.0, full_at: 1.0 }), Some(pct(60))),
        ),
        (
            "electronic_results_4_1",
            Indicator::ratio(
                r(c.electronic, c.resolved - c.electronic_unknown),
                Some(Scoring { max: 11.0, full_at: 0.8 }),
                Some(pct(80)),
            ),
        ),
        (
            "digitised_4_2",
            Indicator::ratio(
                r(c.digitised, c.received - c.digitised_unknown),
                Some(Scoring { max: 11.0, full_at: 0.8 }),
                Some(pct(80)),
            ),
        ),
        (
            "satisfaction_5_4",
            Indicator::ratio(
                Ratio::new(finished.saturating_sub(unhappy), finished),
                Some(Scoring { max: 6.0, full_at: 0.9 }),
                Some(pct(90)),
            ),
        ),
        (
            "complaints_on_time_5_2",
            Indicator::ratio(t.petitions_on_time, Some(Scoring { max: 6.0, full_at: 1.0 }), Some(pct(100))),
        ),
        (
            "complaints_satisfaction_5_3",
            Indicator::ratio(t.petitions_satisfied, Some(Scoring { max: 6.0, full_at: 1.0 }), Some(pct(90))),
        ),
        (
            "apology_coverage",
            Indicator::ratio(Ratio::new(count(c.late_apologised) + t.open_late_apologised, late), None, Some(pct(100))),
        ),
        ("apology_on_time", Indicator::ratio(r(c.apologies_on_time, c.apologies), None, Some(pct(100)))),
        ("late_by_cause", Indicator::ratio(Ratio::new(by_cause.agency, late), None, None)),
        ("fees_collected_vnd", {
            let mut i = Indicator::ratio(r(c.fees_vnd, c.paid), None, None);
            i.value = Some(c.fees_vnd as f64);
            i
        }),
    ];
    let unknown = Unknown {
        digitised: count(c.digitised_unknown),
        electronic_result: count(c.electronic_unknown),
        payment: count(c.paid_unknown),
        delay_reason: by_cause.unknown,
    };
    Indicators { list, late_by_cause: by_cause, unknown }
}

/// Adds a petition, complaint or denunciation as it stood at `p1` (replayed up to it) to
/// indicators 5.2 and 5.3, and to the dislikes of 5.4 when it is about a dossier and was filed
/// in `[p0, p1]`.
///
/// - 5.2: an item accepted within competence (thụ lý) is due in the period when it was answered
///   in it, or still owes its answer and its answer was due in it; on time when answered and
///   not late.
/// - 5.3: the items answered in the period, less those answered late or rated "not satisfied".
pub fn add_item(t: &mut Tally, i: &Item, p0: DateTime<Utc>, p1: DateTime<Utc>) {
    let within = |x: DateTime<Utc>| x >= p0 && x <= p1;
    if i.dossier.is_some() && i.received_at.is_some_and(within) {
        t.dislikes += 1;
    }
    if i.accepted_at.is_none() {
        return;
    }
    match i.resolved_at {
        Some(r) if within(r) => {
            let late = i.resolve_late == Some(true);
            t.petitions_on_time.denominator += 1;
            t.petitions_on_time.numerator += u64::from(!late);
            t.petitions_satisfied.denominator += 1;
            t.petitions_satisfied.numerator += u64::from(!late && i.satisfied != Some(false));
        }
        None if i.status.is_some_and(|s| s.is_open()) && i.resolve_due_at.is_some_and(within) => {
            t.petitions_on_time.denominator += 1;
        }
        _ => {}
    }
}

/// How a period's rows are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreBy {
    Agency,
    Month,
}

impl std::str::FromStr for ScoreBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "agency" => Ok(Self::Agency),
            "month" => Ok(Self::Month),
            other => Err(format!("unknown grouping {other:?}: expected agency or month")),
        }
    }
}

/// The scorecard's dossier figures computed by replaying every dossier: `dossiers` replayed up
/// to `p1` (their events at or before it), the period `[p0, p1]` whose local days are
/// `from..=p1`'s day, per lead agency. Ratings, complaints and petitions are the caller's.
pub fn replay<'a>(
    domain: &Domain,
    dossiers: impl IntoIterator<Item = &'a Dossier>,
    p0: DateTime<Utc>,
    p1: DateTime<Utc>,
) -> Result<BTreeMap<String, Tally>, ScoreError> {
    let (first, last) = (to_local(p0).date(), to_local(p1).date());
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    if p1 < p0 {
        // Read before the period began: nothing to count.
        return Ok(out);
    }
    for d in dossiers {
        for (k, v) in cells(domain, d)? {
            if k.day >= first && k.day <= last {
                out.entry(k.agency.clone()).or_default().add_cell(&k.cause, &v);
            }
        }
        if let Some(o) = open_late(domain, d, p1)? {
            out.entry(o.agency.clone()).or_default().add_open_late(&o);
        }
        if let (Some(on_time), Some(receiving)) = (national_on_time(d, p0, p1), &d.receiving_agency) {
            let agency = domain.lead_agency(domain.procedure_of(d)?, receiving).to_string();
            let n = &mut out.entry(agency).or_default().national;
            n.denominator += 1;
            n.numerator += u64::from(on_time);
        }
    }
    Ok(out)
}
