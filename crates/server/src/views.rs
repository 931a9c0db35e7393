//! What the API and the pages share: running a command for a staff member (authorise, build
//! the event with `motcua_core::commands`, record it through the store), loading a dossier's
//! view for a reader (its personal data shown, masked or audited by `privacy`), and the work
//! queue ordered by urgency.

use chrono::{DateTime, Utc};
use motcua_core::analysis::{OpenState, RemainingTimeModel, at_risk, open_state_of};
use motcua_core::backdate::Stating;
use motcua_core::calendar::to_local;
use motcua_core::view::{DossierView, LogLine, dossier_view};
use motcua_core::{AgencyCode, Dossier, DossierCode, Event, EventKind, Intake};
use motcua_store::{Capability, DossierRow, NewDossier, StaffRow, StaffStore, Store};
use serde::Serialize;

use crate::auth::Principal;
use crate::input::{self, ActionFields, IntakeFields, Stamp};
use crate::perm::{Action, PersonalData, authorize, authorize_intake};
use crate::privacy;
use crate::problem::Problem;
use crate::state::AppState;

/// `at` as given (or now) for an action at the desk of `agency`, by the honest-times rules
/// ([`input::stamp`] on the desk's calendar, the server's now and window): an account with the
/// paper-history capability may go beyond the window with a reason.
pub fn stated(
    state: &AppState,
    who: &Principal,
    agency: &AgencyCode,
    at: Option<&str>,
    reason: Option<&str>,
) -> Result<Stamp, Problem> {
    let stating = if who.staff.may(Capability::PaperHistory) { Stating::PaperHistory } else { Stating::Staff };
    let cal = state.domain.calendar_for(agency);
    input::stamp(cal, state.now(), state.config.backdate_window, stating, at, reason)
}

/// What a write answers with: the dossier after it, and the event just recorded with both of
/// its instants.
#[derive(Debug, Clone)]
pub struct Written {
    pub dossier: Dossier,
    pub event: LogLine,
}

fn written(state: &AppState, dossier: Dossier, event: &Event, now: DateTime<Utc>) -> Written {
    let cal = dossier.receiving_agency.as_ref().map_or(&state.domain.calendar, |a| state.domain.calendar_for(a));
    let event = LogLine::new(cal, dossier.event_count, event, now);
    Written { dossier, event }
}

pub fn parse_code(code: &str) -> Result<DossierCode, Problem> {
    code.trim().parse::<DossierCode>().map_err(|_| Problem::not_found(format!("no dossier {code}")))
}

/// Runs one transition for `who`: authorise (role and scope), build the event, record it.
pub async fn act(
    state: &AppState,
    who: &Principal,
    code: &str,
    action: Action,
    fields: &ActionFields,
) -> Result<Written, Problem> {
    let code = parse_code(code)?;
    let row = state.store.dossier_row(&code).await?.ok_or_else(|| Problem::not_found(format!("no dossier {code}")))?;
    authorize(&who.staff, action, Some(&row))?;
    let kind = fields.event_kind(&state.domain, action)?;
    let stamp = stated(state, who, &row.receiving_agency, fields.at.as_deref(), fields.backdate_reason.as_deref())?;
    let event = Event { at: stamp.at, by: Some(who.staff.username.clone()), backdate_reason: stamp.reason, kind };
    let d = state.store.record_stamped(&state.domain, &code, event.clone(), stamp.now).await?;
    Ok(written(state, d, &event, stamp.now))
}

/// Opens a dossier: at the desk (`Intake`, status 2) or from the portal (`Submit`, status 1).
pub async fn open(state: &AppState, who: &Principal, f: &IntakeFields, action: Action) -> Result<Written, Problem> {
    let online = action == Action::Submit;
    let checked = f.check(&state.domain, action)?;
    authorize_intake(&who.staff, action, &checked.agency)?;
    let stamp = stated(state, who, &checked.agency, f.at.as_deref(), f.backdate_reason.as_deref())?;
    let new = NewDossier {
        procedure: checked.procedure,
        agency: checked.agency,
        applicant: checked.applicant,
        channel: checked.channel,
        online,
    };
    let by = Some(who.staff.username.clone());
    let d =
        state.store.intake_stamped(&state.domain, new, stamp.at, by.clone(), stamp.reason.clone(), stamp.now).await?;
    // The receipt (or registration) event the store built, as its log line.
    let (Some(code), Some(procedure), Some(agency)) = (d.code.clone(), d.procedure.clone(), d.receiving_agency.clone())
    else {
        return Err(Problem::internal("an intake without its code, procedure or desk"));
    };
    let intake = Intake { code, procedure, agency, applicant: d.applicant.clone(), channel: d.channel };
    let kind = if online { EventKind::RegisteredOnline { intake } } else { EventKind::Received { intake } };
    Ok(written(state, d, &Event { at: stamp.at, by, backdate_reason: stamp.reason, kind }, stamp.now))
}

/// A dossier replayed up to `as_of`, its view and its log.
pub async fn load(state: &AppState, code: &DossierCode, as_of: DateTime<Utc>) -> Result<Loaded, Problem> {
    let logged = state.store.logged_events(code).await?;
    if logged.is_empty() {
        return Err(Problem::not_found(format!("no dossier {code}")));
    }
    let events: Vec<Event> = logged.iter().map(|l| l.event.clone()).collect();
    let dossier = state.domain.replay_until(events.iter(), as_of)?;
    if dossier.status.is_none() {
        return Err(Problem::not_found(format!("dossier {code} did not exist yet at {as_of}")));
    }
    let view = dossier_view(&state.domain, &dossier, as_of)?;
    let cal = dossier.receiving_agency.as_ref().map_or(&state.domain.calendar, |a| state.domain.calendar_for(a));
    let log = logged
        .iter()
        .filter(|l| l.event.at <= as_of)
        .map(|l| LogLine::new(cal, l.seq, &l.event, l.recorded_at))
        .collect();
    Ok(Loaded { dossier, view, events, log })
}

/// A dossier loaded for `staff` through `route` (as the audit names it): its personal data
/// shown, recorded as read through the city-wide role, or masked ([`privacy::guard_dossier`]).
pub async fn load_for(
    state: &AppState,
    staff: &StaffRow,
    code: &DossierCode,
    as_of: DateTime<Utc>,
    route: &str,
) -> Result<(Loaded, PersonalData), Problem> {
    let mut l = load(state, code, as_of).await?;
    let access = privacy::guard_dossier(state, staff, &mut l.dossier, Some(&mut l.view), &mut l.events, route).await?;
    Ok((l, access))
}

#[derive(Debug, Clone)]
pub struct Loaded {
    pub dossier: Dossier,
    pub view: DossierView,
    pub events: Vec<Event>,
    /// The log up to `as_of`, each event with its stated and recorded instants.
    pub log: Vec<LogLine>,
}

/// How urgent a queued dossier is, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Overdue,
    DueToday,
    AtRisk,
    Normal,
    /// Waiting for the citizen (supplement, payment): the agency's clock is stopped.
    Waiting,
}

impl Urgency {
    pub fn name(self) -> &'static str {
        match self {
            Self::Overdue => "overdue",
            Self::DueToday => "due_today",
            Self::AtRisk => "at_risk",
            Self::Normal => "normal",
            Self::Waiting => "waiting",
        }
    }
}

/// One line of a work queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub urgency: Urgency,
    #[serde(flatten)]
    pub row: DossierRow,
    pub remaining_working_minutes: Option<i64>,
    /// "shown", or "masked" when none of the reader's agencies received or held the dossier.
    pub personal_data: &'static str,
}

/// Dossiers queued at a work queue before the oldest are cut.
pub const QUEUE_LIMIT: u32 = 300;

/// The open dossiers held by `agencies`, ordered: overdue, due today, at risk, the rest by due
/// date, then those waiting for the citizen; as `staff` reads them (personal data masked on the
/// dossiers none of its agencies received or held, [`privacy::list`]).
pub async fn queue(state: &AppState, staff: &StaffRow, agencies: &[AgencyCode]) -> Result<Vec<QueueItem>, Problem> {
    let now = state.now();
    let today = to_local(now).date();
    let model = RemainingTimeModel::default();
    let mut out = Vec::new();
    for privacy::Listed { row, personal_data } in
        privacy::list(state, staff, state.store.held_by(agencies, QUEUE_LIMIT).await?).await?
    {
        let cal = state.domain.calendar_for(&row.receiving_agency);
        // While the citizen holds the dossier its clock is stopped at the request.
        let remaining =
            row.due_at.and_then(|due| cal.working_minutes_between(row.waiting_since.unwrap_or(now), due).ok());
        let open_state = row.due_at.map(|due| open_state_of(due, row.waiting_since, now));
        let urgency = match (row.due_at, open_state) {
            (_, Some(OpenState::WaitingForCitizen)) => Urgency::Waiting,
            (_, Some(OpenState::Overdue)) => Urgency::Overdue,
            (Some(due), _) if to_local(due).date() == today => Urgency::DueToday,
            _ => {
                let risky = match (state.store.events(&row.code).await, state.domain.procedure(&row.procedure)) {
                    (Ok(events), Ok(p)) => state
                        .domain
                        .replay(events.iter())
                        .ok()
                        .and_then(|d| at_risk(&d, p, cal, now, &model).ok())
                        .unwrap_or(false),
                    _ => false,
                };
                if risky { Urgency::AtRisk } else { Urgency::Normal }
            }
        };
        out.push(QueueItem { urgency, row, remaining_working_minutes: remaining, personal_data });
    }
    out.sort_by(|a, b| {
        a.urgency.cmp(&b.urgency).then(a.row.due_at.cmp(&b.row.due_at)).then(a.row.code.cmp(&b.row.code))
    });
    Ok(out)
}
