//! Classification (trước hạn / đúng hạn / quá hạn), on-time rates (DOMAIN.md §5), and the
//! handoff, dwell and responsibility analysis of §6.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarError, to_local};
use crate::catalog::Procedure;
use crate::codes::AgencyCode;
use crate::deadlines::WaitKind;
use crate::dossier::{Dossier, Status};

/// Classification of a finished dossier or a finished step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    Early,
    OnTime,
    Late,
}

impl Timeliness {
    pub fn name(self) -> &'static str {
        match self {
            Self::Early => "early",
            Self::OnTime => "on_time",
            Self::Late => "late",
        }
    }
}

/// How finish and due instants are compared (local reports differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClassifyMode {
    /// motcua's default: late if finished after the due instant.
    #[default]
    DateTime,
    /// Late only if finished on a later local date than the due date.
    DateOnly,
}

/// Early / on time / late for a dossier finished at `finished`, due at `due`.
pub fn classify(finished: DateTime<Utc>, due: DateTime<Utc>, mode: ClassifyMode) -> Timeliness {
    let (fd, dd) = (to_local(finished).date(), to_local(due).date());
    let late = match mode {
        ClassifyMode::DateTime => finished > due,
        ClassifyMode::DateOnly => fd > dd,
    };
    if late {
        Timeliness::Late
    } else if fd < dd {
        Timeliness::Early
    } else {
        Timeliness::OnTime
    }
}

/// An open dossier at instant `t` whose clock runs: in time or overdue.
pub fn is_overdue(due: DateTime<Utc>, t: DateTime<Utc>) -> bool {
    t > due
}

/// What an open dossier is at an instant (DOMAIN.md §5), the one word every surface uses: `show`,
/// the queue, the report, the board, `/metrics`, the lookup and the scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenState {
    /// Đang xử lý trong hạn: the clock runs and the due instant is ahead.
    InTime,
    /// Đang xử lý quá hạn: past due, or waiting for the citizen after the clock had already run
    /// out.
    Overdue,
    /// Chờ công dân (bổ sung hồ sơ, thực hiện nghĩa vụ tài chính): the agency's clock is stopped,
    /// so the dossier is neither in time nor overdue.
    WaitingForCitizen,
}

impl OpenState {
    pub fn name(self) -> &'static str {
        match self {
            Self::InTime => "in_time",
            Self::Overdue => "overdue",
            Self::WaitingForCitizen => "waiting_for_citizen",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::InTime => "Trong hạn",
            Self::Overdue => "Quá hạn",
            Self::WaitingForCitizen => "Chờ công dân",
        }
    }
}

/// The rule on the facts a projection row carries: the due instant, since when the dossier has
/// waited for the citizen (`None` when its clock runs) and the instant `t` it is judged at. A
/// wait that began after the due instant does not stop an overdue clock. Only instants are
/// compared, so the store may apply the same rule in SQL.
pub fn open_state_of(due: DateTime<Utc>, waiting_since: Option<DateTime<Utc>>, t: DateTime<Utc>) -> OpenState {
    match waiting_since {
        Some(since) if since <= due => OpenState::WaitingForCitizen,
        _ if is_overdue(due, t) => OpenState::Overdue,
        _ => OpenState::InTime,
    }
}

/// Since when a dossier, replayed at least up to `t`, waited for the citizen at `t`.
pub fn waiting_since_at(d: &Dossier, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    d.waits.iter().rev().find(|w| w.requested_at <= t && w.completed_at.is_none_or(|c| c > t)).map(|w| w.requested_at)
}

/// [`open_state_of`] for a replayed dossier: `None` unless it is open at `t` with a due instant.
pub fn open_state(d: &Dossier, t: DateTime<Utc>) -> Option<OpenState> {
    let due = d.due_at?;
    let open = d.received_at.is_some_and(|r| r <= t) && d.finished_at.is_none_or(|f| f > t);
    open.then(|| open_state_of(due, waiting_since_at(d, t), t))
}

/// A count pair, kept as integers; the rate is computed only when shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ratio {
    pub numerator: u64,
    pub denominator: u64,
}

impl Ratio {
    pub fn new(numerator: u64, denominator: u64) -> Self {
        Self { numerator, denominator }
    }

    /// The rate in 0..=1; `empty` when the denominator is zero.
    pub fn value_or(self, empty: f64) -> f64 {
        if self.denominator == 0 { empty } else { self.numerator as f64 / self.denominator as f64 }
    }

    /// "99.99 %", rounded half-up to 2 decimals from the integer counts (no float drift).
    pub fn percent(self, empty: f64) -> String {
        if self.denominator == 0 {
            return format!("{:.2} %", empty * 100.0);
        }
        let n = u128::from(self.numerator) * 20_000 / u128::from(self.denominator);
        let hundredths = n.div_ceil(2); // round half up
        format!("{}.{:02} %", hundredths / 100, hundredths % 100)
    }
}

impl std::ops::AddAssign for Ratio {
    fn add_assign(&mut self, o: Self) {
        self.numerator += o.numerator;
        self.denominator += o.denominator;
    }
}

/// Counts for one row of a report. Rates derive from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub received: u64,
    pub finished: u64,
    pub early: u64,
    pub on_time: u64,
    pub late: u64,
    /// Open at the period's end (or `as_of`), not yet due ([`OpenState::InTime`]).
    pub in_time: u64,
    /// Open at the period's end (or `as_of`), past due ([`OpenState::Overdue`]).
    pub overdue: u64,
    /// Open at the period's end (or `as_of`), waiting for the citizen with the clock stopped
    /// ([`OpenState::WaitingForCitizen`]).
    #[serde(default)]
    pub waiting: u64,
    /// National indicator 2.1: population and those on time.
    pub national: Ratio,
}

impl Counts {
    /// Decision 766 indicator 2.1 rate (0–1); 1 when the population is empty.
    pub fn on_time_rate_national(&self) -> f64 {
        self.national.value_or(1.0)
    }

    /// Progress score (group 2, 20 points) = 20 × national rate.
    pub fn progress_score(&self) -> f64 {
        20.0 * self.on_time_rate_national()
    }

    /// (early + on time) ÷ finished; 1 when nothing finished.
    pub fn resolved(&self) -> Ratio {
        Ratio::new(self.early + self.on_time, self.finished)
    }

    pub fn on_time_rate_resolved(&self) -> f64 {
        self.resolved().value_or(1.0)
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.received += o.received;
        self.finished += o.finished;
        self.early += o.early;
        self.on_time += o.on_time;
        self.late += o.late;
        self.in_time += o.in_time;
        self.overdue += o.overdue;
        self.waiting += o.waiting;
        self.national += o.national;
    }
}

/// A dossier's facts as the rates need them (a projection row carries exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockFacts {
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub original_due_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl ClockFacts {
    pub fn of(d: &Dossier) -> Option<Self> {
        Some(Self {
            received_at: d.received_at?,
            due_at: d.due_at?,
            original_due_at: d.original_due_at?,
            finished_at: d.finished_at,
        })
    }
}

/// What the national metric needs to know about a dossier, as of an instant `t` (its state
/// after the events at or before `t`). A projection row carries exactly these fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NationalFacts {
    pub received_at: DateTime<Utc>,
    /// The receipt's appointment (ngày hẹn trả on the receipt).
    pub original_due_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub supplement_requests: u32,
    /// A wait for the citizen still open at `t`: its kind and since when.
    pub open_wait: Option<(WaitKind, DateTime<Utc>)>,
    /// Real seconds of the waits completed by `t`.
    pub waited_closed_seconds: i64,
}

impl NationalFacts {
    /// The facts of a replayed dossier as of `t` (events after `t` are ignored).
    pub fn of(d: &Dossier, t: DateTime<Utc>) -> Option<Self> {
        let mut facts = Self {
            received_at: d.received_at?,
            original_due_at: d.original_due_at?,
            finished_at: d.finished_at.filter(|f| *f <= t),
            supplement_requests: 0,
            open_wait: None,
            waited_closed_seconds: 0,
        };
        for w in d.waits.iter().filter(|w| w.requested_at <= t) {
            if w.kind == WaitKind::Supplement {
                facts.supplement_requests += 1;
            }
            match w.completed_at.filter(|c| *c <= t) {
                Some(c) => facts.waited_closed_seconds += (c - w.requested_at).num_seconds(),
                None => facts.open_wait = Some((w.kind, w.requested_at)),
            }
        }
        Some(facts)
    }
}

/// Decision 766 indicator 2.1 for one dossier over the period `[p0, p1]`, from its facts as of
/// `p1`: `None` if outside the population, else whether it counts as on time.
///
/// Population: received at or before `p1` and not finished before `p0`. End: the finish if by
/// `p1`, else `p1`; a dossier waiting for a supplement at `p1` ends at the request. The effective
/// end subtracts the time spent waiting for the citizen (supplements and payments) before the end;
/// it is compared with the receipt's due date. More than one supplement request counts late.
pub fn national_on_time_facts(f: &NationalFacts, p0: DateTime<Utc>, p1: DateTime<Utc>) -> Option<bool> {
    if f.received_at > p1 || f.finished_at.is_some_and(|x| x < p0) {
        return None;
    }
    if f.supplement_requests > 1 {
        return Some(false);
    }
    let closed = chrono::Duration::seconds(f.waited_closed_seconds);
    let effective = match (f.finished_at, f.open_wait) {
        (Some(finished), _) => finished - closed,
        (None, Some((WaitKind::Supplement, since))) => since - closed,
        (None, Some((WaitKind::Payment, since))) => p1 - closed - (p1 - since),
        (None, None) => p1 - closed,
    };
    Some(effective <= f.original_due_at)
}

/// [`national_on_time_facts`] for a replayed dossier.
pub fn national_on_time(d: &Dossier, p0: DateTime<Utc>, p1: DateTime<Utc>) -> Option<bool> {
    national_on_time_facts(&NationalFacts::of(d, p1)?, p0, p1)
}

/// Adds one dossier to period counts (`[p0, p1]`, open states read at `p1`).
pub fn count_dossier(c: &mut Counts, d: &Dossier, p0: DateTime<Utc>, p1: DateTime<Utc>, mode: ClassifyMode) {
    let (Some(received), Some(due)) = (d.received_at, d.due_at) else { return };
    if received >= p0 && received <= p1 {
        c.received += 1;
    }
    match d.finished_at {
        Some(f) if f >= p0 && f <= p1 => {
            c.finished += 1;
            match classify(f, due, mode) {
                Timeliness::Early => c.early += 1,
                Timeliness::OnTime => c.on_time += 1,
                Timeliness::Late => c.late += 1,
            }
        }
        Some(f) if f < p0 => {}
        _ if received <= p1 => match open_state_of(due, waiting_since_at(d, p1), p1) {
            OpenState::InTime => c.in_time += 1,
            OpenState::Overdue => c.overdue += 1,
            OpenState::WaitingForCitizen => c.waiting += 1,
        },
        _ => {}
    }
    if let Some(on_time) = national_on_time(d, p0, p1) {
        c.national.denominator += 1;
        c.national.numerator += u64::from(on_time);
    }
}

/// One agency's time with a dossier against its route budget (a control-sheet row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dwell {
    pub agency: AgencyCode,
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    /// Working minutes held, not counting time waiting for the citizen.
    pub working_minutes: i64,
    /// The route budget for this visit (0 for a visit the route does not have).
    pub budget_minutes: i64,
    pub overrun_minutes: i64,
    /// Against the step's own due instant; `None` while the agency still holds it.
    pub timeliness: Option<Timeliness>,
    /// A visit beyond those the route plans for this agency (ping-pong).
    pub bounce: bool,
}

/// A handoff with its delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoffRow {
    pub from: AgencyCode,
    pub to: AgencyCode,
    pub sent_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// Working minutes from sent to accepted (to `as_of` while pending).
    pub delay_minutes: i64,
}

/// Late working time attributed to an agency that overran its budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    pub agency: AgencyCode,
    pub late_minutes: i64,
    pub overrun_minutes: i64,
}

/// motcua's avoidance signals (inspired by Directive 34-CT/TU; not its own list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum Signal {
    /// The dossier came back to an agency that already held it.
    Bounce {
        agency: AgencyCode,
    },
    /// More handoffs than the route has.
    ExtraHandoffs {
        handoffs: usize,
        route_handoffs: usize,
    },
    /// The holder is over its budget with no event since.
    SilentHolder {
        agency: AgencyCode,
        working_minutes: i64,
        budget_minutes: i64,
    },
    SecondSupplement,
    /// A supplement asked for papers not in the procedure's list.
    UnlistedPapers {
        documents: Vec<String>,
    },
    LateWithoutApology,
    ApologyAfterDue,
    SecondReschedule,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bounce { agency } => write!(f, "bounce: returned to {agency}, which already held it"),
            Self::ExtraHandoffs { handoffs, route_handoffs } => {
                write!(f, "{handoffs} handoffs where the route has {route_handoffs}")
            }
            Self::SilentHolder { agency, working_minutes, budget_minutes } => {
                write!(
                    f,
                    "silent holder: {agency} has held it {working_minutes} working minutes (budget {budget_minutes})"
                )
            }
            Self::SecondSupplement => f.write_str("second supplement request"),
            Self::UnlistedPapers { documents } => {
                write!(f, "supplement asked for papers not in the procedure: {}", documents.join(", "))
            }
            Self::LateWithoutApology => f.write_str("late with no apology"),
            Self::ApologyAfterDue => f.write_str("apology issued after the due date"),
            Self::SecondReschedule => f.write_str("second new appointment date"),
        }
    }
}

/// Everything §6 says about one dossier, as of an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub as_of: DateTime<Utc>,
    pub timeliness: Option<Timeliness>,
    /// In time, overdue or waiting for the citizen; `None` when finished.
    pub state: Option<OpenState>,
    pub overdue: bool,
    /// Working minutes past due (finish or `as_of` minus due), 0 when not late.
    pub late_working_minutes: i64,
    /// Working minutes left until due (negative once overdue), frozen at the request while the
    /// dossier waits for the citizen; `None` when finished.
    pub remaining_working_minutes: Option<i64>,
    pub handoffs: Vec<HandoffRow>,
    pub dwell: Vec<Dwell>,
    pub attribution: Vec<Attribution>,
    pub bounces: usize,
    pub signals: Vec<Signal>,
}

/// Analyses a dossier as of `as_of` (events after it are assumed absent: replay up to it).
pub fn analyse(
    d: &Dossier,
    procedure: &Procedure,
    cal: &Calendar,
    as_of: DateTime<Utc>,
    mode: ClassifyMode,
) -> Result<Analysis, CalendarError> {
    let (Some(due), Some(receiving)) = (d.due_at, d.receiving_agency.as_ref()) else {
        return Ok(Analysis {
            as_of,
            timeliness: None,
            state: None,
            overdue: false,
            late_working_minutes: 0,
            remaining_working_minutes: None,
            handoffs: Vec::new(),
            dwell: Vec::new(),
            attribution: Vec::new(),
            bounces: 0,
            signals: Vec::new(),
        });
    };
    let timeliness = d.finished_at.map(|f| classify(f, due, mode));
    let open = d.status.is_some_and(Status::is_open);
    let waiting_since = if open { waiting_since_at(d, as_of) } else { None };
    let state = open.then(|| open_state_of(due, waiting_since, as_of));
    let overdue = state == Some(OpenState::Overdue);
    // While the dossier waits for the citizen its clock is stopped at the request.
    let end = d.finished_at.or(waiting_since).unwrap_or(as_of);
    let late_working_minutes = if end > due { cal.working_minutes_between(due, end)?.max(0) } else { 0 };
    let remaining_working_minutes = if open { Some(cal.working_minutes_between(end, due)?) } else { None };

    let handoffs = d
        .handoffs
        .iter()
        .map(|h| {
            Ok(HandoffRow {
                from: h.from.clone(),
                to: h.to.clone(),
                sent_at: h.sent_at,
                accepted_at: h.accepted_at,
                delay_minutes: cal.working_minutes_between(h.sent_at, h.accepted_at.unwrap_or(as_of))?.max(0),
            })
        })
        .collect::<Result<Vec<_>, CalendarError>>()?;

    let steps = route_steps(procedure, receiving, &d.holdings);
    let mut dwell = Vec::new();
    for (i, h) in d.holdings.iter().enumerate() {
        let until = h.until.unwrap_or(end);
        let (working_minutes, waited) = visit_time(d, h, until, cal)?;
        let budget = steps[i].map(|j| procedure.route[j].budget_minutes);
        let bounce = is_bounce(&steps, &d.holdings, i);
        let budget_minutes = budget.unwrap_or(0);
        let timeliness = match h.until {
            Some(u) => {
                let step_due = cal.add_working_seconds(h.from, (budget_minutes * 60) + waited)?;
                Some(classify(u, step_due, mode))
            }
            None => None,
        };
        dwell.push(Dwell {
            agency: h.agency.clone(),
            from: h.from,
            until: h.until,
            working_minutes,
            budget_minutes,
            overrun_minutes: (working_minutes - budget_minutes).max(0),
            timeliness,
            bounce,
        });
    }
    let bounces = dwell.iter().filter(|x| x.bounce).count();

    // Lateness attribution: largest overrun first, until the late time is covered.
    let mut per_agency: BTreeMap<&AgencyCode, i64> = BTreeMap::new();
    for x in &dwell {
        *per_agency.entry(&x.agency).or_default() += x.overrun_minutes;
    }
    let mut overruns: Vec<(&AgencyCode, i64)> = per_agency.into_iter().filter(|(_, o)| *o > 0).collect();
    overruns.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut left = late_working_minutes;
    let mut attribution = Vec::new();
    for (agency, overrun) in overruns {
        if left <= 0 {
            break;
        }
        let take = overrun.min(left);
        left -= take;
        attribution.push(Attribution { agency: agency.clone(), late_minutes: take, overrun_minutes: overrun });
    }

    let signals = signals(d, procedure, cal, as_of, mode)?.list;
    Ok(Analysis {
        as_of,
        timeliness,
        state,
        overdue,
        late_working_minutes,
        remaining_working_minutes,
        handoffs,
        dwell,
        attribution,
        bounces,
        signals,
    })
}

/// A dossier's avoidance signals as of an instant, and what they were judged on: the part of
/// [`analyse`] the watch list asks for at every event, without the control sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signals {
    /// In [`Analysis::signals`]' order.
    pub list: Vec<Signal>,
    /// Per visit (holding): a visit the route does not plan, to an agency that held it before.
    pub bounce: Vec<bool>,
    pub timeliness: Option<Timeliness>,
    pub overdue: bool,
    /// The route budget of the last visit (0 for a visit the route does not plan).
    pub last_budget_minutes: Option<i64>,
}

/// [`Analysis::signals`] of `d` as of `as_of` (events after it assumed absent), computed the
/// same way: [`analyse`] takes its signals from here.
pub fn signals(
    d: &Dossier,
    procedure: &Procedure,
    cal: &Calendar,
    as_of: DateTime<Utc>,
    mode: ClassifyMode,
) -> Result<Signals, CalendarError> {
    let (Some(due), Some(receiving)) = (d.due_at, d.receiving_agency.as_ref()) else {
        return Ok(Signals {
            list: Vec::new(),
            bounce: Vec::new(),
            timeliness: None,
            overdue: false,
            last_budget_minutes: None,
        });
    };
    let timeliness = d.finished_at.map(|f| classify(f, due, mode));
    let open = d.status.is_some_and(Status::is_open);
    let waiting_since = if open { waiting_since_at(d, as_of) } else { None };
    let overdue = open && open_state_of(due, waiting_since, as_of) == OpenState::Overdue;
    let steps = route_steps(procedure, receiving, &d.holdings);
    let bounce: Vec<bool> = (0..d.holdings.len()).map(|i| is_bounce(&steps, &d.holdings, i)).collect();
    let mut list: Vec<Signal> = d
        .holdings
        .iter()
        .zip(&bounce)
        .filter(|(_, b)| **b)
        .map(|(h, _)| Signal::Bounce { agency: h.agency.clone() })
        .collect();
    let route_handoffs = procedure.route.len().saturating_sub(1);
    if d.handoffs.len() > route_handoffs {
        list.push(Signal::ExtraHandoffs { handoffs: d.handoffs.len(), route_handoffs });
    }
    let last_budget_minutes =
        steps.last().map(|s| s.map_or(0, |j| procedure.route.get(j).map_or(0, |r| r.budget_minutes)));
    // Silent holder: the holder's budget ran out and nothing has happened since.
    if open
        && let (Some(last), Some(budget_minutes)) = (d.holdings.last(), last_budget_minutes)
        && last.until.is_none()
        && let Some(last_event) = d.last_event_at
        && last_event < cal.add_working_seconds(last.from, budget_minutes * 60)?
    {
        let end = d.finished_at.unwrap_or(as_of);
        let (working_minutes, _) = visit_time(d, last, end, cal)?;
        if working_minutes > budget_minutes {
            list.push(Signal::SilentHolder { agency: last.agency.clone(), working_minutes, budget_minutes });
        }
    }
    if d.supplement_count() > 1 {
        list.push(Signal::SecondSupplement);
    }
    let unlisted: Vec<String> = d
        .waits
        .iter()
        .flat_map(|w| w.documents.iter())
        .filter(|doc| !procedure.documents.iter().any(|p| p.eq_ignore_ascii_case(doc)))
        .cloned()
        .collect();
    if !unlisted.is_empty() {
        list.push(Signal::UnlistedPapers { documents: unlisted });
    }
    let late = timeliness == Some(Timeliness::Late) || overdue;
    if late && d.reschedules.is_empty() {
        list.push(Signal::LateWithoutApology);
    }
    if d.reschedules.iter().any(|r| r.after_due) {
        list.push(Signal::ApologyAfterDue);
    }
    if d.reschedules.len() > 1 {
        list.push(Signal::SecondReschedule);
    }
    Ok(Signals { list, bounce, timeliness, overdue, last_budget_minutes })
}

/// A visit's working minutes up to `until`, not counting time waiting for the citizen, and
/// those waited seconds.
fn visit_time(
    d: &Dossier,
    h: &crate::dossier::Holding,
    until: DateTime<Utc>,
    cal: &Calendar,
) -> Result<(i64, i64), CalendarError> {
    let held = cal.working_seconds_between(h.from, until)?;
    let mut waited = 0;
    for w in &d.waits {
        let a = w.requested_at.max(h.from);
        let b = w.completed_at.unwrap_or(until).min(until);
        if b > a {
            waited += cal.working_seconds_between(a, b)?;
        }
    }
    Ok((((held - waited) / 60).max(0), waited))
}

/// A visit the route does not plan, to an agency that held the dossier before.
fn is_bounce(steps: &[Option<usize>], holdings: &[crate::dossier::Holding], i: usize) -> bool {
    steps[i].is_none() && holdings[..i].iter().any(|x| x.agency == holdings[i].agency)
}

/// Matches each visit (holding) to the route step it performs, `None` for a visit the route does
/// not plan. The last visit performs the route's last step when the agencies agree (the return
/// to the desk is the final step even after a ping-pong); the other visits take the remaining
/// steps in order, each the first step of its agency at or after the previous match.
fn route_steps(
    procedure: &Procedure,
    receiving: &AgencyCode,
    holdings: &[crate::dossier::Holding],
) -> Vec<Option<usize>> {
    let route: Vec<&AgencyCode> = procedure.route.iter().map(|s| s.agency.resolve(receiving)).collect();
    let mut out = vec![None; holdings.len()];
    let (mut visits, mut steps) = (holdings.len(), route.len());
    if visits > 0 && steps > 0 && holdings[visits - 1].agency == *route[steps - 1] {
        out[visits - 1] = Some(steps - 1);
        visits -= 1;
        steps -= 1;
    }
    let mut next = 0;
    for (i, h) in holdings[..visits].iter().enumerate() {
        if let Some(j) = (next..steps).find(|&j| *route[j] == h.agency) {
            out[i] = Some(j);
            next = j + 1;
        }
    }
    out
}

/// The agency the route sends the dossier to next, for the transfer form to propose: the step
/// after the last one its visits (holdings) performed, each visit taking the first step of its
/// agency at or after the previous match; `None` when the route has no step left, or when that
/// step's agency is the one holding the dossier now (a dossier is never sent to its holder).
pub fn next_route_agency(d: &Dossier, procedure: &Procedure) -> Option<AgencyCode> {
    let receiving = d.receiving_agency.as_ref()?;
    let route: Vec<&AgencyCode> = procedure.route.iter().map(|s| s.agency.resolve(receiving)).collect();
    let mut next = 0;
    for h in &d.holdings {
        if let Some(j) = (next..route.len()).find(|&j| *route[j] == h.agency) {
            next = j + 1;
        }
    }
    let to = route.get(next)?;
    (d.holder.as_ref() != Some(*to)).then(|| (*to).clone())
}

/// Historical remaining-time samples per (procedure route position), for the at-risk flag:
/// how much working time finished dossiers still needed from entering step `i` to their finish.
#[derive(Debug, Clone, Default)]
pub struct RemainingTimeModel {
    samples: BTreeMap<(String, usize), Vec<i64>>,
}

impl RemainingTimeModel {
    /// Learns from a finished dossier's holdings.
    pub fn observe(&mut self, d: &Dossier, cal: &Calendar) -> Result<(), CalendarError> {
        let (Some(finished), Some(procedure)) = (d.finished_at, d.procedure.as_ref()) else { return Ok(()) };
        for (i, h) in d.holdings.iter().enumerate() {
            let m = cal.working_minutes_between(h.from, finished)?;
            self.samples.entry((procedure.to_string(), i)).or_default().push(m.max(0));
        }
        Ok(())
    }

    /// The 90th percentile (nearest rank) of remaining working minutes from step `i`.
    pub fn p90(&self, procedure: &str, step: usize) -> Option<i64> {
        let mut v = self.samples.get(&(procedure.to_string(), step))?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let rank = (v.len() * 9).div_ceil(10).max(1);
        Some(v[rank - 1])
    }
}

/// At risk: an open dossier whose remaining working time is less than the p90 of the time the
/// rest of its route has historically needed; with no history, less than the remaining budgets.
pub fn at_risk(
    d: &Dossier,
    procedure: &Procedure,
    cal: &Calendar,
    as_of: DateTime<Utc>,
    model: &RemainingTimeModel,
) -> Result<bool, CalendarError> {
    let (Some(due), true) = (d.due_at, d.status.is_some_and(Status::is_open)) else { return Ok(false) };
    if waiting_since_at(d, as_of).is_some() {
        return Ok(false); // the clock is stopped while the citizen holds the dossier
    }
    let remaining = cal.working_minutes_between(as_of, due)?;
    if remaining < 0 {
        return Ok(false); // already overdue, not "at risk"
    }
    let step = d.holdings.len().saturating_sub(1);
    let needed = match model.p90(procedure.code.as_str(), step) {
        Some(p) => {
            let spent = d.holdings.last().map(|h| cal.working_minutes_between(h.from, as_of)).transpose()?.unwrap_or(0);
            (p - spent).max(0)
        }
        None => {
            let spent = d.holdings.last().map(|h| cal.working_minutes_between(h.from, as_of)).transpose()?.unwrap_or(0);
            let rest: i64 = procedure.route.iter().skip(step).map(|s| s.budget_minutes).sum();
            (rest - spent).max(0)
        }
    };
    Ok(remaining < needed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::calendar::testdata::vn_calendar;
    use crate::catalog::{RouteAgency, WaitMode};
    use crate::deadlines::TimeLimit;
    use crate::dossier::tests::{CITY, DEPT, DESK, ag, at, ev, intake, procedure};
    use crate::dossier::{Event, EventKind, Outcome};

    #[test]
    fn classification_rules() {
        let due = at(2023, 11, 3, 9, 32);
        assert_eq!(classify(at(2023, 11, 2, 16, 0), due, ClassifyMode::DateTime), Timeliness::Early);
        assert_eq!(classify(at(2023, 11, 3, 8, 0), due, ClassifyMode::DateTime), Timeliness::OnTime);
        assert_eq!(classify(at(2023, 11, 3, 9, 32), due, ClassifyMode::DateTime), Timeliness::OnTime);
        assert_eq!(classify(at(2023, 11, 3, 9, 33), due, ClassifyMode::DateTime), Timeliness::Late);
        assert_eq!(classify(at(2023, 11, 3, 16, 0), due, ClassifyMode::DateOnly), Timeliness::OnTime);
        assert_eq!(classify(at(2023, 11, 6, 8, 0), due, ClassifyMode::DateOnly), Timeliness::Late);
        assert!(is_overdue(due, at(2023, 11, 3, 9, 33)));
        assert!(!is_overdue(due, due));
    }

    #[test]
    fn ratio_rounds_from_integers() {
        assert_eq!(Ratio::new(9999, 10000).percent(1.0), "99.99 %");
        assert_eq!(Ratio::new(99_985, 100_000).percent(1.0), "99.99 %", "half up");
        assert_eq!(Ratio::new(2, 3).percent(1.0), "66.67 %");
        assert_eq!(Ratio::new(0, 0).percent(1.0), "100.00 %");
        assert_eq!(Ratio::new(1, 1).percent(1.0), "100.00 %");
    }

    #[test]
    fn the_next_route_step_is_proposed_and_never_the_holder() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let mut events = vec![ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() })];
        let next = |events: &[Event]| next_route_agency(&Dossier::replay(events, &cal, &p).unwrap(), &p);
        assert_eq!(next(&events), Some(ag(DEPT)), "received at the desk: the department is next");
        events.push(ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }));
        events.push(ev(at(2023, 10, 27, 14, 0), EventKind::Accepted));
        assert_eq!(next(&events), Some(ag(DESK)), "at the department: back to the desk");
        events.push(ev(at(2023, 10, 30, 10, 0), EventKind::Transferred { to: ag(DESK) }));
        events.push(ev(at(2023, 10, 30, 10, 30), EventKind::Accepted));
        assert_eq!(next(&events), None, "back at the desk: the route has no step left");
        // A detour off the route: the city committee holds it, the route's next step is still the desk.
        let mut detour = events[..3].to_vec();
        detour.push(ev(at(2023, 10, 30, 10, 0), EventKind::Transferred { to: ag(CITY) }));
        detour.push(ev(at(2023, 10, 30, 10, 30), EventKind::Accepted));
        assert_eq!(next(&detour), Some(ag(DESK)));
        // A route whose next step is the holder proposes nothing.
        let mut same = p.clone();
        same.route[1].agency = RouteAgency::Receiving;
        assert_eq!(next_route_agency(&Dossier::replay(&events[..1], &cal, &same).unwrap(), &same), None);
    }

    fn late_dossier() -> (Dossier, Procedure) {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        // Desk 0.5 day, department 4 days, desk 0.5 day. Department holds 6 days.
        let events = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 14, 0), EventKind::Accepted),
            ev(at(2023, 11, 6, 10, 0), EventKind::Transferred { to: ag(DESK) }),
            ev(at(2023, 11, 6, 10, 30), EventKind::Accepted),
            ev(
                at(2023, 11, 6, 11, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        ];
        (Dossier::replay(&events, &cal, &p).unwrap(), p)
    }

    #[test]
    fn dwell_handoff_delay_and_attribution() {
        let cal = vn_calendar();
        let (d, p) = late_dossier();
        let a = analyse(&d, &p, &cal, at(2023, 11, 30, 0, 0), ClassifyMode::DateTime).unwrap();
        assert_eq!(a.timeliness, Some(Timeliness::Late));
        // Due Fri 3/11 09:32, finished Mon 6/11 11:00: 118 + 210 min Fri (lunch excluded) + 210 min Mon.
        assert_eq!(a.late_working_minutes, 328 + 210);
        // Handoff delay: 10:00 → 14:00 with the lunch break = 90 + 30 = 120.
        assert_eq!(a.handoffs[0].delay_minutes, 120);
        assert_eq!(a.handoffs[1].delay_minutes, 30);
        // Desk first visit: 09:32 → 10:00 = 28 min, within 225.
        assert_eq!(a.dwell[0].working_minutes, 28);
        assert_eq!(a.dwell[0].timeliness, Some(Timeliness::OnTime));
        // Department: Fri 27/10 10:00 → Mon 6/11 10:00 = 6 working days = 2700 min, budget 1800.
        assert_eq!(a.dwell[1].working_minutes, 2700);
        assert_eq!(a.dwell[1].overrun_minutes, 900);
        assert_eq!(a.dwell[1].timeliness, Some(Timeliness::Late));
        // The department is named for all the late time.
        assert_eq!(a.attribution, vec![Attribution { agency: ag(DEPT), late_minutes: 538, overrun_minutes: 900 }]);
        assert_eq!(a.bounces, 0);
        assert!(a.signals.contains(&Signal::LateWithoutApology));
    }

    #[test]
    fn bounce_and_extra_handoffs() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let events = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 10, 30), EventKind::Accepted),
            ev(at(2023, 10, 30, 10, 0), EventKind::Transferred { to: ag(CITY) }),
            ev(at(2023, 10, 30, 10, 30), EventKind::Accepted),
            ev(at(2023, 10, 31, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 31, 10, 30), EventKind::Accepted),
        ];
        let d = Dossier::replay(&events, &cal, &p).unwrap();
        let a = analyse(&d, &p, &cal, at(2023, 10, 31, 11, 0), ClassifyMode::DateTime).unwrap();
        assert_eq!(a.bounces, 1);
        assert!(a.signals.contains(&Signal::Bounce { agency: ag(DEPT) }));
        assert!(a.signals.contains(&Signal::ExtraHandoffs { handoffs: 3, route_handoffs: 2 }));
        assert_eq!(a.dwell[2].budget_minutes, 0, "the city committee is not on the route");
        assert_eq!(
            a.remaining_working_minutes,
            Some(cal.working_minutes_between(at(2023, 10, 31, 11, 0), at(2023, 11, 3, 9, 32)).unwrap())
        );
    }

    #[test]
    fn a_ping_pong_does_not_steal_the_final_steps_budget() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let hop = |d, h, to: &str| ev(at(2023, 10, d, h, 0), EventKind::Transferred { to: ag(to) });
        let acc = |d, h| ev(at(2023, 10, d, h, 30), EventKind::Accepted);
        let events = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() }),
            hop(27, 10, DEPT),
            acc(27, 10),
            hop(30, 9, DESK), // sent back to the desk: ping-pong
            acc(30, 9),
            hop(30, 14, DEPT),
            acc(30, 14),
            hop(31, 9, DESK), // the real return
            acc(31, 9),
            ev(
                at(2023, 10, 31, 10, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        ];
        let d = Dossier::replay(&events, &cal, &p).unwrap();
        let a = analyse(&d, &p, &cal, at(2023, 11, 30, 0, 0), ClassifyMode::DateTime).unwrap();
        let budgets: Vec<i64> = a.dwell.iter().map(|x| x.budget_minutes).collect();
        assert_eq!(budgets, vec![225, 1800, 0, 0, 225]);
        let bounces: Vec<bool> = a.dwell.iter().map(|x| x.bounce).collect();
        assert_eq!(bounces, vec![false, false, true, true, false]);
        assert_eq!(a.bounces, 2);
    }

    #[test]
    fn silent_holder_second_supplement_unlisted_papers_apology_after_due() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let sup = |docs: Vec<String>| EventKind::SupplementRequested {
            reason: "thiếu".into(),
            documents: docs,
            reason_code: None,
        };
        let events = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Accepted),
            ev(at(2023, 10, 27, 11, 0), sup(vec!["Tờ khai".into()])),
            ev(at(2023, 10, 27, 11, 10), EventKind::SupplementSupplied),
            ev(at(2023, 10, 27, 13, 30), sup(vec!["Sổ đỏ gốc".into()])),
            ev(at(2023, 10, 27, 13, 40), EventKind::SupplementSupplied),
            ev(
                at(2023, 11, 7, 9, 0),
                EventKind::Rescheduled {
                    to: at(2023, 11, 20, 17, 0),
                    reason: "x".into(),
                    responsible: None,
                    automatic: true,
                    override_second: false,
                    reason_code: None,
                },
            ),
        ];
        let d = Dossier::replay(&events, &cal, &p).unwrap();
        let a = analyse(&d, &p, &cal, at(2023, 11, 15, 9, 0), ClassifyMode::DateTime).unwrap();
        assert!(a.overdue);
        assert!(a.signals.contains(&Signal::SecondSupplement));
        assert!(a.signals.contains(&Signal::UnlistedPapers { documents: vec!["Sổ đỏ gốc".into()] }));
        assert!(a.signals.contains(&Signal::ApologyAfterDue));
        assert!(!a.signals.contains(&Signal::LateWithoutApology));
        // The apology is an event: the department is over budget but not silent.
        assert!(!a.signals.iter().any(|s| matches!(s, Signal::SilentHolder { .. })), "{:?}", a.signals);
    }

    #[test]
    fn a_dossier_waiting_for_the_citizen_is_neither_in_time_nor_overdue() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let sup =
            EventKind::SupplementRequested { reason: "thiếu tờ khai".into(), documents: vec![], reason_code: None };
        // Received Fri 27/10/2023 09:32, due Fri 3/11 09:32; supplement asked on Mon 30/10.
        let head = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Accepted),
        ];
        let mut waiting = head.to_vec();
        waiting.push(ev(at(2023, 10, 30, 9, 0), sup.clone()));
        let d = Dossier::replay(&waiting, &cal, &p).unwrap();
        let due = d.due_at.unwrap();
        let long_after = at(2023, 11, 20, 9, 0);
        assert!(long_after > due);
        assert_eq!(open_state(&d, long_after), Some(OpenState::WaitingForCitizen));
        let a = analyse(&d, &p, &cal, long_after, ClassifyMode::DateTime).unwrap();
        assert_eq!(a.state, Some(OpenState::WaitingForCitizen));
        assert!(!a.overdue);
        assert_eq!(a.late_working_minutes, 0);
        // Frozen at the request: Mon 30/10 09:00 → Fri 3/11 09:32 is 4 working days (7 h 30 min
        // each) and 32 minutes.
        assert_eq!(a.remaining_working_minutes, Some(4 * 450 + 32));
        assert!(!at_risk(&d, &p, &cal, long_after, &RemainingTimeModel::default()).unwrap());
        // Before the request it was simply in time.
        assert_eq!(open_state(&d, at(2023, 10, 27, 11, 0)), Some(OpenState::InTime));

        // Asked after the clock had run out: still overdue while waiting.
        let mut late = head.to_vec();
        late.push(ev(at(2023, 11, 6, 9, 0), sup));
        let d = Dossier::replay(&late, &cal, &p).unwrap();
        assert_eq!(open_state(&d, long_after), Some(OpenState::Overdue));
        let a = analyse(&d, &p, &cal, long_after, ClassifyMode::DateTime).unwrap();
        assert!(a.overdue);
        assert!(a.remaining_working_minutes.unwrap() < 0);

        // Supplied: the restarted clock runs again, in time.
        let mut supplied = waiting.clone();
        supplied.push(ev(at(2023, 11, 20, 8, 0), EventKind::SupplementSupplied));
        let d = Dossier::replay(&supplied, &cal, &p).unwrap();
        assert_eq!(open_state(&d, long_after), Some(OpenState::InTime));

        // The report counts each word once.
        let (p0, p1) = (at(2023, 10, 1, 0, 0), long_after);
        let mut c = Counts::default();
        for events in [&waiting, &late, &supplied] {
            count_dossier(&mut c, &Dossier::replay(events.iter(), &cal, &p).unwrap(), p0, p1, ClassifyMode::DateTime);
        }
        assert_eq!((c.in_time, c.overdue, c.waiting), (1, 1, 1));
    }

    #[test]
    fn national_rate_population_and_supplement_variant() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let (late, _) = late_dossier();
        let (p0, p1) = (at(2023, 11, 1, 0, 0), at(2023, 11, 30, 23, 59));
        assert_eq!(national_on_time(&late, p0, p1), Some(false));
        assert_eq!(national_on_time(&late, at(2023, 12, 1, 0, 0), at(2023, 12, 31, 0, 0)), None, "finished before p0");
        assert_eq!(national_on_time(&late, at(2023, 10, 1, 0, 0), at(2023, 10, 20, 0, 0)), None, "received after p1");
        // Still open at p1 = 1/11 (due 3/11) → on time at the period's end.
        assert_eq!(national_on_time(&late, at(2023, 10, 1, 0, 0), at(2023, 11, 1, 0, 0)), Some(true));

        // A supplement of 7 real days makes a motcua-on-time dossier nationally on time too.
        let events = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Accepted),
            ev(
                at(2023, 10, 30, 9, 0),
                EventKind::SupplementRequested { reason: "x".into(), documents: vec![], reason_code: None },
            ),
            ev(at(2023, 11, 6, 9, 0), EventKind::SupplementSupplied),
            ev(
                at(2023, 11, 9, 9, 0),
                EventKind::Resolved {
                    outcome: Outcome::Refused,
                    reason: Some("không đủ điều kiện".into()),
                    electronic: None,
                    reason_code: None,
                },
            ),
        ];
        let d = Dossier::replay(&events, &cal, &p).unwrap();
        assert_eq!(national_on_time(&d, p0, p1), Some(true));
        // Waiting for the supplement at p1 → the end is the request time.
        assert_eq!(national_on_time(&d, at(2023, 10, 1, 0, 0), at(2023, 11, 3, 12, 0)), Some(true));

        let mut c = Counts::default();
        count_dossier(&mut c, &late, p0, p1, ClassifyMode::DateTime);
        count_dossier(&mut c, &d, p0, p1, ClassifyMode::DateTime);
        assert_eq!((c.received, c.finished, c.late, c.early, c.on_time), (0, 2, 1, 1, 0));
        assert_eq!(c.national, Ratio::new(1, 2));
        assert!((c.progress_score() - 10.0).abs() < 1e-9);
        assert_eq!(c.resolved(), Ratio::new(1, 2));
        assert_eq!(Counts::default().on_time_rate_resolved(), 1.0);
    }

    #[test]
    fn at_risk_uses_history_or_budgets() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let events = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Accepted),
        ];
        let d = Dossier::replay(&events, &cal, &p).unwrap();
        let empty = RemainingTimeModel::default();
        // Right after the transfer, the remaining route budget (4.5 days) fits in the 4.9 days left.
        assert!(!at_risk(&d, &p, &cal, at(2023, 10, 27, 10, 30), &empty).unwrap());
        // History says the department step needs much longer: at risk.
        let (late, _) = late_dossier();
        let mut model = RemainingTimeModel::default();
        model.observe(&late, &cal).unwrap();
        assert!(model.p90("2.000488", 1).unwrap() > 2700);
        assert!(at_risk(&d, &p, &cal, at(2023, 10, 27, 10, 30), &model).unwrap());
        // Five days later with no event, the department has outrun its 4-day budget in silence.
        let a = analyse(&d, &p, &cal, at(2023, 11, 2, 15, 0), ClassifyMode::DateTime).unwrap();
        assert!(
            a.signals.contains(&Signal::SilentHolder { agency: ag(DEPT), working_minutes: 1980, budget_minutes: 1800 }),
            "{:?}",
            a.signals
        );
        assert!(!a.overdue);
    }
}
