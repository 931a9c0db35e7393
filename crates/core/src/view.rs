//! The dossier as a citizen, a desk officer or an API client sees it as of an instant: state,
//! clocks, control sheet, responsibility, signals and the due-date explanation. Instants are
//! shown in RFC 3339 at +07:00. Used by `motcua show`, the API and the web pages alike.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::analysis::{RemainingTimeModel, analyse, at_risk};
use crate::calendar::at_vn;
use crate::catalog::{AgencyKind, Catalog, Fee, Level, RouteAgency, WaitMode};
use crate::codes::{AgencyCode, DossierCode, ProcedureCode};
use crate::deadlines::{Lang, STANDARD_DAY_MINUTES, TimeLimit, explain};
use crate::domain::{Domain, DomainError};
use crate::dossier::{Dossier, Event, Outcome};

fn show(at: DateTime<Utc>) -> String {
    at_vn(at).to_rfc3339()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoffView {
    pub from: AgencyCode,
    pub to: AgencyCode,
    pub sent_at: String,
    pub accepted_at: Option<String>,
    pub delay_working_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DwellView {
    pub agency: AgencyCode,
    pub agency_name: String,
    pub from: String,
    pub until: Option<String>,
    pub working_minutes: i64,
    pub budget_minutes: i64,
    pub overrun_minutes: i64,
    /// `early` / `on_time` / `late` against the step's own due instant; `None` while held.
    pub timeliness: Option<&'static str>,
    pub bounce: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributionView {
    pub agency: AgencyCode,
    pub late_working_minutes: i64,
    pub overrun_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalView {
    pub signal: String,
    pub text: String,
    /// The signal as data (its agency, counts and papers), for a reader to word in its own
    /// language; not part of the JSON.
    #[serde(skip)]
    pub data: crate::analysis::Signal,
}

/// Everything `show` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DossierView {
    pub code: Option<DossierCode>,
    pub procedure: ProcedureCode,
    pub procedure_name: String,
    pub receiving_agency: AgencyCode,
    pub applicant: String,
    pub channel: &'static str,
    /// National status code (§3).
    pub status: u8,
    pub status_name: &'static str,
    pub status_name_vi: &'static str,
    pub as_of: String,
    pub registered_at: Option<String>,
    pub received_at: Option<String>,
    pub start_at: Option<String>,
    /// The deadline used for classification (after supplement restarts and pauses).
    pub due_at: Option<String>,
    /// The appointment printed on the receipt.
    pub original_due_at: Option<String>,
    pub rescheduled_to: Option<String>,
    pub finished_at: Option<String>,
    pub outcome: Option<Outcome>,
    pub returned_at: Option<String>,
    pub timeliness: Option<&'static str>,
    /// While open: `in_time`, `overdue` or `waiting_for_citizen` ([`crate::analysis::OpenState`]).
    pub state: Option<&'static str>,
    pub state_vi: Option<&'static str>,
    pub overdue: bool,
    pub at_risk: bool,
    pub late_working_minutes: i64,
    pub remaining_working_minutes: Option<i64>,
    pub holder: Option<AgencyCode>,
    pub supplement_count: usize,
    pub handoffs: Vec<HandoffView>,
    pub dwell: Vec<DwellView>,
    pub attribution: Vec<AttributionView>,
    pub bounces: usize,
    pub signals: Vec<SignalView>,
    pub explanation: Vec<String>,
    pub explanation_en: Vec<String>,
}

/// One event of a dossier's log as readers see it, with both of its instants: when it is stated
/// to have happened (`at`) and when it was written to the log (`recorded_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// 1, 2, … within the dossier.
    pub seq: u32,
    pub kind: &'static str,
    pub by: Option<String>,
    /// As stated.
    pub at: String,
    /// As recorded.
    pub recorded_at: String,
    /// Stated earlier than recorded.
    pub backdated: bool,
    /// Working minutes from `at` to `recorded_at` on the desk's calendar (0 when not
    /// backdated; `None` outside the calendar's coverage).
    pub backdated_working_minutes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backdate_reason: Option<String>,
}

impl LogLine {
    /// The line of event number `seq`, recorded at `recorded_at`; `cal` is the receiving desk's
    /// calendar.
    pub fn new(cal: &crate::calendar::Calendar, seq: u32, event: &Event, recorded_at: DateTime<Utc>) -> Self {
        Self {
            seq,
            kind: event.kind.name(),
            by: event.by.clone(),
            at: show(event.at),
            recorded_at: show(recorded_at),
            backdated: event.at < recorded_at,
            backdated_working_minutes: crate::backdate::gap_minutes(cal, event.at, recorded_at),
            backdate_reason: event.backdate_reason.clone(),
        }
    }
}

/// The view of a replayed dossier as of `as_of` (replay only the events up to `as_of`).
pub fn dossier_view(domain: &Domain, d: &Dossier, as_of: DateTime<Utc>) -> Result<DossierView, DomainError> {
    d.procedure.as_ref().ok_or(DomainError::NoIntake)?;
    let procedure = domain.procedure_of(d)?;
    let receiving = d.receiving_agency.clone().ok_or(DomainError::NoIntake)?;
    let status = d.status.ok_or(DomainError::NoIntake)?;
    let cal = domain.calendar_for(&receiving);
    let calendar_error = |e| DomainError::Dossier(crate::dossier::DossierError::Calendar(e));
    let a = analyse(d, procedure, cal, as_of, domain.classify).map_err(calendar_error)?;
    let risky = at_risk(d, procedure, cal, as_of, &RemainingTimeModel::default()).map_err(calendar_error)?;
    let agency_name = |code: &AgencyCode| domain.catalog.agency(code).map(|a| a.name.clone()).unwrap_or_default();
    Ok(DossierView {
        code: d.code.clone(),
        procedure: procedure.code.clone(),
        procedure_name: procedure.name.clone(),
        receiving_agency: receiving.clone(),
        applicant: d.applicant.name.clone(),
        channel: d.channel.name(),
        status: status.code(),
        status_name: status.name(),
        status_name_vi: status.name_vi(),
        as_of: show(as_of),
        registered_at: d.registered_at.map(show),
        received_at: d.received_at.map(show),
        start_at: d.start_at.map(show),
        due_at: d.due_at.map(show),
        original_due_at: d.original_due_at.map(show),
        rescheduled_to: d.rescheduled_to().map(show),
        finished_at: d.finished_at.map(show),
        outcome: d.outcome,
        returned_at: d.returned_at.map(show),
        timeliness: a.timeliness.map(|t| t.name()),
        state: a.state.map(|s| s.name()),
        state_vi: a.state.map(|s| s.name_vi()),
        overdue: a.overdue,
        at_risk: risky,
        late_working_minutes: a.late_working_minutes,
        remaining_working_minutes: a.remaining_working_minutes,
        holder: d.holder.clone(),
        supplement_count: d.supplement_count(),
        handoffs: a
            .handoffs
            .iter()
            .map(|h| HandoffView {
                from: h.from.clone(),
                to: h.to.clone(),
                sent_at: show(h.sent_at),
                accepted_at: h.accepted_at.map(show),
                delay_working_minutes: h.delay_minutes,
            })
            .collect(),
        dwell: a
            .dwell
            .iter()
            .map(|x| DwellView {
                agency: x.agency.clone(),
                agency_name: agency_name(&x.agency),
                from: show(x.from),
                until: x.until.map(show),
                working_minutes: x.working_minutes,
                budget_minutes: x.budget_minutes,
                overrun_minutes: x.overrun_minutes,
                timeliness: x.timeliness.map(|t| t.name()),
                bounce: x.bounce,
            })
            .collect(),
        attribution: a
            .attribution
            .iter()
            .map(|x| AttributionView {
                agency: x.agency.clone(),
                late_working_minutes: x.late_minutes,
                overrun_minutes: x.overrun_minutes,
            })
            .collect(),
        bounces: a.bounces,
        signals: a
            .signals
            .iter()
            .map(|s| SignalView {
                signal: serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.get("signal").and_then(|x| x.as_str()).map(str::to_string))
                    .unwrap_or_default(),
                text: s.to_string(),
                data: s.clone(),
            })
            .collect(),
        explanation: explain(&d.steps, Lang::Vi),
        explanation_en: explain(&d.steps, Lang::En),
    })
}

/// A time limit as the catalog's readers see it: `{"working_days": 10}`, `{"working_hours": 8}`
/// or `{"calendar_days": 30}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeLimitView {
    WorkingDays(u32),
    WorkingHours(u32),
    CalendarDays(u32),
}

/// A route step's budget: whole standard working days, or hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetView {
    WorkingDays(i64),
    WorkingHours(f64),
}

impl BudgetView {
    fn of_minutes(m: i64) -> Self {
        if m % STANDARD_DAY_MINUTES == 0 {
            Self::WorkingDays(m / STANDARD_DAY_MINUTES)
        } else {
            Self::WorkingHours(m as f64 / 60.0)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteStepView {
    /// An agency code, or `@receiving` for whichever agency received the dossier.
    pub agency: String,
    pub budget: BudgetView,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcedureView {
    pub code: ProcedureCode,
    pub name: String,
    pub name_en: String,
    pub level: Level,
    pub time_limit: TimeLimitView,
    /// `HH:MM`: receipts at or after it count from the next working day.
    pub cutoff: Option<String>,
    /// `restart` or `pause`.
    pub supplement_mode: &'static str,
    pub documents: Vec<String>,
    pub route: Vec<RouteStepView>,
    /// The fee schedule in VND (phí, lệ phí): `{"kind": "fixed", "vnd": 50000}` (zero allowed)
    /// or `{"kind": "options", "options": [{"name": …, "vnd": …}, …]}`; null when the catalog
    /// does not say (never read as zero).
    pub fee: Option<Fee>,
    /// The legal text that sets the fee, when the catalog names it.
    pub fee_basis: Option<String>,
    /// The days of receipt this version applies to (absent: open-ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<chrono::NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<chrono::NaiveDate>,
}

/// A successor of a ceased agency and its share of the territory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuccessorView {
    pub code: AgencyCode,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyView {
    pub code: AgencyCode,
    pub name: String,
    pub name_en: String,
    pub kind: AgencyKind,
    pub parent: Option<AgencyCode>,
    /// The first and last day the agency existed (absent: open-ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<chrono::NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<chrono::NaiveDate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successors: Vec<SuccessorView>,
}

/// The catalog as `motcua catalog --json` and `GET /api/v1/catalog` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogView {
    pub agencies: Vec<AgencyView>,
    pub procedures: Vec<ProcedureView>,
}

impl CatalogView {
    pub fn of(catalog: &Catalog) -> Self {
        let agencies = catalog
            .agencies()
            .map(|a| AgencyView {
                code: a.code.clone(),
                name: a.name.clone(),
                name_en: a.name_en.clone(),
                kind: a.kind,
                parent: a.parent.clone(),
                valid_from: a.valid_from,
                valid_until: a.valid_until,
                successors: a
                    .successors
                    .iter()
                    .map(|s| SuccessorView { code: s.code.clone(), share: s.share })
                    .collect(),
            })
            .collect();
        let procedures = catalog
            .every_procedure_version()
            .map(|p| ProcedureView {
                code: p.code.clone(),
                name: p.name.clone(),
                name_en: p.name_en.clone(),
                level: p.level,
                time_limit: match p.time_limit {
                    TimeLimit::WorkingDays(n) => TimeLimitView::WorkingDays(n),
                    TimeLimit::WorkingHours(n) => TimeLimitView::WorkingHours(n),
                    TimeLimit::CalendarDays(n) => TimeLimitView::CalendarDays(n),
                },
                cutoff: p.cutoff.map(|c| c.format("%H:%M").to_string()),
                supplement_mode: match p.supplement_mode {
                    WaitMode::Restart => "restart",
                    WaitMode::Pause => "pause",
                },
                documents: p.documents.clone(),
                route: p
                    .route
                    .iter()
                    .map(|s| RouteStepView {
                        agency: match &s.agency {
                            RouteAgency::Receiving => "@receiving".to_string(),
                            RouteAgency::Agency(a) => a.to_string(),
                        },
                        budget: BudgetView::of_minutes(s.budget_minutes),
                    })
                    .collect(),
                fee: p.fee.clone(),
                fee_basis: p.fee_basis.clone(),
                valid_from: p.valid_from,
                valid_until: p.valid_until,
            })
            .collect();
        Self { agencies, procedures }
    }
}
