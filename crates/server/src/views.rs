//! What the API and the pages share: running a command for a staff member (authorise, build
//! the event with `motcua_core::commands`, record it through the store), loading a dossier's
//! view for a reader (its personal data shown, masked or audited by `privacy`), the work
//! queue ordered by urgency, the desk's lists and the staff's search, each a page at a time
//! with the length of the whole list.

use chrono::{DateTime, Utc};
use motcua_core::analysis::{OpenState, RemainingTimeModel, at_risk, open_state_of};
use motcua_core::backdate::Stating;
use motcua_core::calendar::to_local;
use motcua_core::text;
use motcua_core::view::{DossierView, LogLine, dossier_view};
use motcua_core::{AgencyCode, Dossier, DossierCode, Event, EventKind, Intake};
use motcua_store::{
    Capability, DeskList, DossierRow, DossierSearch, NewDossier, Scope, StaffRow, StaffStore, Store, Window,
};
use serde::Serialize;

use crate::auth::Principal;
use crate::input::{self, ActionFields, IntakeFields, Stamp};
use crate::perm::{
    Action, PersonalData, authorize, authorize_intake, every_read_audited, search_scope, sees_all_queues,
};
use crate::privacy;
use crate::problem::{Cause, Problem};
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

/// No dossier with this code (as typed).
pub fn no_dossier(code: &str) -> Problem {
    Problem::not_found(format!("no dossier {code}")).because(Cause::NoDossier(code.to_string()))
}

pub fn parse_code(code: &str) -> Result<DossierCode, Problem> {
    code.trim().parse::<DossierCode>().map_err(|_| no_dossier(code))
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
    let row = state.store.dossier_row(&code).await?.ok_or_else(|| no_dossier(code.as_str()))?;
    authorize(&who.staff, action, Some(&row))?;
    let kind = fields.event_kind(&state.domain, action)?;
    let digitised = fields.digitised_kind(&state.domain, action)?;
    let stamp = stated(state, who, &row.receiving_agency, fields.at.as_deref(), fields.backdate_reason.as_deref())?;
    let by = Some(who.staff.username.clone());
    let event = Event { at: stamp.at, by: by.clone(), backdate_reason: stamp.reason.clone(), kind };
    let Some(digitised) = digitised else {
        let d = state.store.record_stamped(&state.domain, &code, event.clone(), stamp.now).await?;
        return Ok(written(state, d, &event, stamp.now));
    };
    // An acceptance with the papers digitised at it: both events or neither, each paper one
    // of the dossier's checklist.
    let d = state.store.logged_events(&code).await?;
    let d = state.domain.replay(d.iter().map(|l| &l.event))?;
    if let EventKind::Digitised { documents } = &digitised {
        motcua_core::commands::digitised_in_checklist(&d.documents, documents)?;
    }
    let second = Event { at: stamp.at, by, backdate_reason: stamp.reason, kind: digitised };
    let d = state.store.record_all(&state.domain, &code, vec![event.clone(), second], stamp.now).await?;
    Ok(written_pair(state, d, &event, stamp.now))
}

/// [`written`] for an action recorded with a second event after it (the acceptance and its
/// digitised papers): the answer names the action's own event.
fn written_pair(state: &AppState, dossier: Dossier, event: &Event, now: DateTime<Utc>) -> Written {
    let cal = dossier.receiving_agency.as_ref().map_or(&state.domain.calendar, |a| state.domain.calendar_for(a));
    let event = LogLine::new(cal, dossier.event_count.saturating_sub(1), event, now);
    Written { dossier, event }
}

/// Checks one transition for `who` as [`act`] would run it — authorise, build the event, apply
/// it to the dossier replayed from its log — and writes nothing: what a confirmation step asks
/// before the confirmed request runs [`act`]. The dossier as it stands (before the action).
pub async fn check_act(
    state: &AppState,
    who: &Principal,
    code: &str,
    action: Action,
    fields: &ActionFields,
) -> Result<Dossier, Problem> {
    let code = parse_code(code)?;
    let row = state.store.dossier_row(&code).await?.ok_or_else(|| Problem::not_found(format!("no dossier {code}")))?;
    authorize(&who.staff, action, Some(&row))?;
    let kind = fields.event_kind(&state.domain, action)?;
    let digitised = fields.digitised_kind(&state.domain, action)?;
    let stamp = stated(state, who, &row.receiving_agency, fields.at.as_deref(), fields.backdate_reason.as_deref())?;
    let event = Event { at: stamp.at, by: Some(who.staff.username.clone()), backdate_reason: stamp.reason, kind };
    let logged = state.store.logged_events(&code).await?;
    let before = state.domain.replay(logged.iter().map(|l| &l.event))?;
    let mut after = before.clone();
    state.domain.apply(&mut after, &event)?;
    if let Some(kind) = digitised {
        if let EventKind::Digitised { documents } = &kind {
            motcua_core::commands::digitised_in_checklist(&before.documents, documents)?;
        }
        state.domain.apply(&mut after, &Event { kind, ..event })?;
    }
    Ok(before)
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
        documents: checked.documents,
        digitised: checked.digitised,
    };
    let ticket = match f.ticket.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(_) if online => return Err(Problem::invalid("ticket: an online submission has no hall ticket")),
        Some(t) => {
            let day = to_local(stamp.at).date();
            Some(
                motcua_store::hall::ticket_for_intake(&state.store, &state.domain, t, None, new.agency.as_str(), day)
                    .await?,
            )
        }
        None => None,
    };
    let by = Some(who.staff.username.clone());
    let d =
        state.store.intake_stamped(&state.domain, new, stamp.at, by.clone(), stamp.reason.clone(), stamp.now).await?;
    if let (Some(t), Some(code)) = (&ticket, &d.code) {
        motcua_store::hall::link_intake(&state.store, &state.domain, t, code, stamp.at, by.clone(), stamp.now).await?;
        state.hall_hub.written(&t.id.hall);
    }
    // The receipt (or registration) event the store built, as its log line.
    let (Some(code), Some(procedure), Some(agency)) = (d.code.clone(), d.procedure.clone(), d.receiving_agency.clone())
    else {
        return Err(Problem::internal("an intake without its code, procedure or desk"));
    };
    let intake = Intake {
        code,
        procedure,
        agency,
        applicant: d.applicant.clone(),
        channel: d.channel,
        documents: d.documents.clone(),
        digitised: (d.digitised.is_some()).then(|| d.digitised_documents.clone()),
    };
    let kind = if online { EventKind::RegisteredOnline { intake } } else { EventKind::Received { intake } };
    Ok(written(state, d, &Event { at: stamp.at, by, backdate_reason: stamp.reason, kind }, stamp.now))
}

/// A dossier replayed up to `as_of`, its view and its log.
pub async fn load(state: &AppState, code: &DossierCode, as_of: DateTime<Utc>) -> Result<Loaded, Problem> {
    let logged = state.store.logged_events(code).await?;
    if logged.is_empty() {
        return Err(no_dossier(code.as_str()));
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

/// Rows per page of a paged list when the request does not say, and at most.
pub const PER_PAGE: u32 = 50;
pub const PER_PAGE_MAX: u32 = 200;

/// Which page of a list to show: `page` from 1, `per_page` rows (1 to [`PER_PAGE_MAX`];
/// values outside are taken to the nearest bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Self {
        Self { page: page.unwrap_or(1).max(1), per_page: per_page.unwrap_or(PER_PAGE).clamp(1, PER_PAGE_MAX) }
    }

    pub fn window(self) -> Window {
        Window::page(self.page, self.per_page)
    }

    /// Where a page of `shown` rows out of `total` sits: the first and last row (from 1), and
    /// whether there are pages before and after it.
    pub fn place(self, shown: usize, total: u64) -> Place {
        let first = self.window().offset + 1;
        let shown = shown as u64;
        Place {
            page: self.page,
            per_page: self.per_page,
            total,
            first: if shown == 0 { 0 } else { first },
            last: if shown == 0 { 0 } else { first + shown - 1 },
            previous: self.page > 1,
            next: self.window().offset + shown < total,
        }
    }
}

/// A page's place in its list ([`Paging::place`]): what "1–50 of 312" says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Place {
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
    /// The first and last row shown (from 1); 0 when none is.
    pub first: u64,
    pub last: u64,
    #[serde(skip)]
    pub previous: bool,
    #[serde(skip)]
    pub next: bool,
}

/// Whose work a request lists: some agencies', or the whole city's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whose {
    Agencies(Vec<AgencyCode>),
    City,
}

impl Whose {
    /// The account's own agencies, or one it names (an officer or an inspector with agencies:
    /// one of its own; the chair, the administrator and an inspector of the whole city: any
    /// agency); with none named, the city-wide roles with no agency of their own oversee the
    /// whole city.
    pub fn of(state: &AppState, staff: &StaffRow, agency: Option<&str>) -> Result<Self, Problem> {
        match agency.map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => {
                let a: AgencyCode = a.parse().map_err(Problem::from)?;
                state.domain.agency(&a)?;
                if staff.agencies.contains(&a) || sees_all_queues(staff) {
                    Ok(Self::Agencies(vec![a]))
                } else {
                    Err(Problem::forbidden(format!("{} does not work at {a}", staff.username)))
                }
            }
            None if sees_all_queues(staff) && staff.agencies.is_empty() => Ok(Self::City),
            None => Ok(Self::Agencies(staff.agencies.clone())),
        }
    }

    pub fn scope(&self) -> Scope<'_> {
        match self {
            Self::Agencies(a) => Scope::Agencies(a),
            Self::City => Scope::City,
        }
    }

    /// The agencies listed (none for the city), and "agencies" or "city".
    pub fn agencies(&self) -> &[AgencyCode] {
        match self {
            Self::Agencies(a) => a,
            Self::City => &[],
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Agencies(_) => "agencies",
            Self::City => "city",
        }
    }
}

/// A page of the work queue and the queue's length.
#[derive(Debug, Clone)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    pub place: Place,
}

/// One page of the open dossiers held by the agencies of `whose`, ordered: overdue, due today,
/// the rest by due date (the store's order, earliest due first), then those waiting for the
/// citizen; "at risk" is judged for the rows of the page, now. As `staff` reads them (personal
/// data masked on the dossiers none of its agencies received or held, [`privacy::list`]).
pub async fn queue(state: &AppState, staff: &StaffRow, whose: &Whose, paging: Paging) -> Result<QueuePage, Problem> {
    let now = state.now();
    let today = to_local(now).date();
    let model = RemainingTimeModel::default();
    let page = state.store.work_queue(whose.scope(), paging.window()).await?;
    let place = paging.place(page.rows.len(), page.total);
    let mut items = Vec::with_capacity(page.rows.len());
    for privacy::Listed { row, personal_data } in privacy::list(state, staff, page.rows).await? {
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
                let risky = match state.store.events(&row.code).await {
                    Ok(events) => state
                        .domain
                        .replay(events.iter())
                        .ok()
                        .and_then(|d| at_risk(&d, state.domain.procedure_of(&d).ok()?, cal, now, &model).ok())
                        .unwrap_or(false),
                    _ => false,
                };
                if risky { Urgency::AtRisk } else { Urgency::Normal }
            }
        };
        items.push(QueueItem { urgency, row, remaining_working_minutes: remaining, personal_data });
    }
    Ok(QueuePage { items, place })
}

/// A page of a list of dossiers and its place in the list.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub rows: Vec<privacy::Listed>,
    pub place: Place,
}

/// One page of one of the desk's lists over the agencies of `whose`, as `staff` reads it
/// (personal data as in the work queue).
pub async fn desk_list(
    state: &AppState,
    staff: &StaffRow,
    list: DeskList,
    whose: &Whose,
    paging: Paging,
) -> Result<ListPage, Problem> {
    let page = state.store.desk_list(list, whose.scope(), paging.window()).await?;
    let place = paging.place(page.rows.len(), page.total);
    Ok(ListPage { rows: privacy::list(state, staff, page.rows).await?, place })
}

/// The longest ID number, name (or free text) and phone number the search takes (characters).
pub const SEARCH_ID_MAX: usize = 20;
pub const SEARCH_TEXT_MAX: usize = 200;
pub const SEARCH_PHONE_MAX: usize = 20;

/// The terms of a search as typed, checked: free text (`q`), a code, a part of a name, an ID
/// number, a phone number. Surrounding spaces are ignored, an empty term is no term.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchTerms {
    pub q: Option<String>,
    pub code: Option<String>,
    pub applicant: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

impl SearchTerms {
    /// The store's search: the free text (any of what it can be) and the other terms (all of
    /// them) together.
    pub fn search(&self) -> Result<DossierSearch, Problem> {
        // No control character in any term (PostgreSQL refuses NUL in text; none belongs in a
        // name, a code or a number).
        for (field, v) in [
            ("q", &self.q),
            ("code", &self.code),
            ("applicant", &self.applicant),
            ("id_number", &self.id_number),
            ("phone", &self.phone),
        ] {
            if let Some(v) = v {
                text::line(v, field, usize::MAX)?;
            }
        }
        let long = |v: &Option<String>, max: usize| v.as_ref().is_some_and(|v| v.chars().count() > max);
        if let Some(q) = &self.q {
            if q.chars().count() < 2 || q.chars().count() > SEARCH_TEXT_MAX {
                return Err(Problem::invalid(format!("the text to search has 2 to {SEARCH_TEXT_MAX} characters")));
            }
            if [&self.code, &self.applicant, &self.id_number, &self.phone].iter().any(|t| t.is_some()) {
                return Err(Problem::invalid("search by q alone, or by code, applicant, id_number and phone"));
            }
            return Ok(DossierSearch::free_text(q));
        }
        if long(&self.id_number, SEARCH_ID_MAX) {
            return Err(Problem::invalid(format!("an ID number has at most {SEARCH_ID_MAX} characters")));
        }
        if self.applicant.as_ref().is_some_and(|a| text::fold(a).chars().count() < 2)
            || long(&self.applicant, SEARCH_TEXT_MAX)
        {
            return Err(Problem::invalid(format!("a name to search has 2 to {SEARCH_TEXT_MAX} characters")));
        }
        if long(&self.code, SEARCH_TEXT_MAX) {
            return Err(Problem::invalid(format!("a code to search has at most {SEARCH_TEXT_MAX} characters")));
        }
        if long(&self.phone, SEARCH_PHONE_MAX)
            || self.phone.as_deref().is_some_and(|p| motcua_core::Phone::search_key(p).is_none())
        {
            return Err(Problem::invalid("a phone number to search is a whole number: 10 digits from 0, or +84 and 9"));
        }
        let s = DossierSearch {
            code: self.code.clone(),
            id_number: self.id_number.clone(),
            applicant: self.applicant.clone(),
            phone: self.phone.clone(),
            any: false,
        };
        if s.is_empty() {
            return Err(Problem::invalid(
                "search by q (a code, a name, an ID number or a phone number), code, applicant, id_number or phone",
            ));
        }
        Ok(s)
    }
}

/// What a search found: whose dossiers it looked in, and one page of them.
#[derive(Debug, Clone)]
pub struct Found {
    /// "own_agencies", or "city" through the city-wide role (the chair, an inspector with no
    /// agency of its own).
    pub scope: &'static str,
    pub rows: Vec<privacy::Listed>,
    pub place: Place,
}

/// The staff's search: the dossiers one of the account's agencies received or held, their
/// personal data shown; for the chair every dossier, each one its agencies neither received
/// nor held recorded as a read of its personal data (through `route`) before it is shown; for
/// an inspector the dossiers of its scope (the whole city with no agency of its own), each one
/// shown recorded.
pub async fn search(
    state: &AppState,
    staff: &StaffRow,
    search: &DossierSearch,
    paging: Paging,
    route: &str,
) -> Result<Found, Problem> {
    let within = search_scope(staff);
    let page = state.store.search_dossiers(search, within, paging.window()).await?;
    if within.is_none() || every_read_audited(staff.role) {
        let mut reads = Vec::new();
        for r in &page.rows {
            if !privacy::own_row(state, staff, r).await? {
                let applicant = motcua_core::Applicant {
                    name: r.applicant_name.clone(),
                    email: r.applicant_email.clone(),
                    phone: r.applicant_phone.clone(),
                    id_number: r.applicant_id_number.clone(),
                    address: r.applicant_address.clone(),
                };
                reads.push((r.code.clone().into(), privacy::fields(&applicant)));
            }
        }
        privacy::record(state, staff, reads, route).await?;
    }
    let place = paging.place(page.rows.len(), page.total);
    let rows = page.rows.into_iter().map(|row| privacy::Listed { row, personal_data: privacy::label(true) }).collect();
    Ok(Found { scope: if within.is_none() { "city" } else { "own_agencies" }, rows, place })
}
