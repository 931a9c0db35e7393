//! `/api/v1/petitions…`: petitions, complaints and denunciations (đơn kiến nghị, phản ánh;
//! khiếu nại; tố cáo) for staff — list (most urgent first, with the urgency), file, show, and
//! the steps: accept, extend, transfer, forward (or guide), answer, close.
//!
//! Who may: every staff account reads the items of its agencies (the chair, the administrator
//! and an inspector of the whole city read all; an inspector of named agencies reads theirs);
//! the desk, agency officers and heads file an item (for any agency: the desk receives for all)
//! and transfer or forward the items of their agencies; agency officers and heads accept,
//! extend, answer and close them. The chair, the administrator and inspectors change nothing.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use motcua_core::petition::{
    self, Complexity, Item, ItemChannel, ItemCode, ItemEvent, ItemEventKind, ItemStatus, Kind,
};
use motcua_core::text::{REASON_MAX_CHARS, line, paragraph};
use motcua_core::{AgencyCode, Applicant, DossierCode};
use motcua_store::{ItemFilter, ItemRow, NewItem, PetitionStore, Role, StaffRow, Store};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Body, Path, Query};
use crate::auth::Principal;
use crate::problem::Problem;
use crate::routing::Routes;
use crate::shared::as_of;
use crate::state::AppState;

/// The longest text of an item or an answer (characters).
pub const TEXT_MAX_CHARS: usize = 10_000;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .get("/api/v1/petitions", list)
        .post("/api/v1/petitions", file)
        .get("/api/v1/petitions/{petition}", show)
        .post("/api/v1/petitions/{petition}/accept", accept)
        .post("/api/v1/petitions/{petition}/extend", extend)
        .post("/api/v1/petitions/{petition}/transfer", transfer)
        .post("/api/v1/petitions/{petition}/forward", forward)
        .post("/api/v1/petitions/{petition}/answer", answer)
        .post("/api/v1/petitions/{petition}/close", close)
        .post("/api/v1/lookup/petitions", file_public)
}

/// What a citizen files without logging in: about a dossier (its code and the applicant's ID
/// number, checked as the lookup checks them), or in general (the responsible agency named).
#[derive(Debug, Default, Deserialize)]
pub struct PublicFileBody {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub id_number: String,
    pub agency: Option<String>,
    /// petition (default), complaint or denunciation.
    pub kind: Option<String>,
    #[serde(default)]
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub text: String,
}

/// The items about a dossier as the lookup shows them to its applicant: code, kind, status,
/// the next step's due instant and the answer.
pub async fn for_lookup(state: &AppState, code: &DossierCode) -> Result<Vec<Value>, Problem> {
    let filter = ItemFilter { dossier: Some(code.clone()), limit: 50, ..ItemFilter::default() };
    let rows = state.store.items(&filter).await?;
    Ok(rows
        .iter()
        .map(|r| {
            json!({
                "code": r.code, "kind": r.kind.name(), "status": r.status.name(), "status_vi": r.status.name_vi(),
                "received_at": motcua_core::calendar::at_vn(r.received_at).to_rfc3339(),
                "next_step": r.next_step.map(|n| n.name()),
                "next_due_at": r.next_due_at.map(|d| motcua_core::calendar::at_vn(d).to_rfc3339()),
                "answer": r.answer,
            })
        })
        .collect())
}

/// `POST /api/v1/lookup/petitions`: public, rate limited like the lookup; a code and ID number
/// that do not match are the lookup's 404. 201 with the receipt code and the due instant of
/// the next step.
async fn file_public(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Body(b): Body<PublicFileBody>,
) -> Result<Response, Problem> {
    let ip = crate::shared::client_ip(&state.config.trusted_proxies, &headers, peer);
    if !state.limiter.allow(ip) {
        return Err(Problem::new(
            crate::problem::ProblemKind::RateLimited,
            "too many requests from this address; wait a minute",
        ));
    }
    let dossier = if b.code.trim().is_empty() {
        None
    } else {
        match crate::public::find(&state, &b.code, &b.id_number, crate::i18n::Lang::Vi).await? {
            Some(_) => Some(b.code.trim().parse::<DossierCode>()?),
            None => return Err(Problem::not_found(crate::public::NOT_FOUND_TEXT_EN)),
        }
    };
    if dossier.is_none() && b.agency.as_deref().is_none_or(|a| a.trim().is_empty()) {
        return Err(Problem::invalid("give the dossier's code and ID number, or the agency the item is for"));
    }
    let body = FileBody {
        kind: b.kind.clone().unwrap_or_else(|| "petition".into()),
        applicant: b.name.clone(),
        text: b.text.clone(),
        email: b.email.clone(),
        phone: b.phone.clone(),
        dossier: dossier.map(|d| d.to_string()),
        agency: if b.code.trim().is_empty() { b.agency.clone() } else { None },
        channel: Some("online".into()),
    };
    let item = file_item(&state, &body, None, ItemChannel::Online).await?;
    let next = item.next_step();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "code": item.code,
            "kind": item.kind.map(Kind::name),
            "status": item.status.map(ItemStatus::name),
            "next_step": next.map(|n| n.0.name()),
            "next_due_at": next.map(|n| motcua_core::calendar::at_vn(n.1).to_rfc3339()),
        })),
    )
        .into_response())
}

/// The steps of an item, by who may take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    File,
    Triage,
    Decide,
}

/// Does `role` allow `step`?
pub fn allowed(role: Role, step: Step) -> bool {
    match step {
        Step::File | Step::Triage => matches!(role, Role::Desk | Role::Agency | Role::Head),
        Step::Decide => matches!(role, Role::Agency | Role::Head),
    }
}

/// The agencies whose items the account reads: `None` for all.
pub fn read_scope(staff: &StaffRow) -> Option<Vec<AgencyCode>> {
    match staff.role {
        Role::Chair | Role::Admin => None,
        Role::Inspector if staff.agencies.is_empty() => None,
        _ => Some(staff.agencies.clone()),
    }
}

pub fn may_read(staff: &StaffRow, agency: &AgencyCode) -> bool {
    read_scope(staff).is_none_or(|a| a.contains(agency))
}

pub fn urgency(next_due: Option<DateTime<Utc>>, t: DateTime<Utc>) -> &'static str {
    match next_due {
        None => "none",
        Some(d) if petition::overdue(Some(d), t) => "overdue",
        Some(d) if d - t <= chrono::Duration::days(2) => "due_soon",
        Some(_) => "in_time",
    }
}

/// The agencies an item was with: the one it was filed with and every transfer's recipient.
pub fn item_held(item: &Item) -> Vec<AgencyCode> {
    item.filed_agency.iter().cloned().chain(item.transfers.iter().map(|(a, _)| a.clone())).collect()
}

/// The personal fields an item's applicant has, by name.
pub fn item_fields(a: &Applicant) -> Vec<String> {
    crate::privacy::fields(a)
}

/// Masks an item's applicant (and the filing event's copy).
pub fn mask_item(item: &mut Item, events: &mut [ItemEvent]) {
    item.applicant = Applicant { name: crate::privacy::MASK.to_string(), ..Applicant::default() };
    for e in events {
        if let ItemEventKind::Filed { intake } = &mut e.kind {
            intake.applicant = Applicant { name: crate::privacy::MASK.to_string(), ..Applicant::default() };
        }
    }
}

/// Applies the personal data rule to one item read whole (its page, its API answer): shown to
/// its own agencies; shown and written to the audit of reads (`personal_data_reads`, subject
/// `petition`) through an inspector's scope or the chair's city-wide role, before anything is
/// shown; masked otherwise.
pub async fn guard_item(
    state: &AppState,
    staff: &StaffRow,
    item: &mut Item,
    events: &mut [ItemEvent],
    route: &str,
) -> Result<crate::perm::PersonalData, Problem> {
    use crate::perm::PersonalData;
    let access = crate::perm::personal_data(staff, &item_held(item));
    match access {
        PersonalData::Own => {}
        PersonalData::Audited => {
            let code = item.code.clone().ok_or_else(|| Problem::internal("an item without a code"))?;
            let fields = item_fields(&item.applicant);
            crate::privacy::record(state, staff, [(motcua_store::ReadOf::Petition(code), fields)], route).await?;
        }
        PersonalData::Masked => mask_item(item, events),
    }
    Ok(access)
}

/// A row of a list: personal data shown only when one of the reader's own agencies has the
/// item (never for an inspector, nor the chair: they read an item's data one at a time, each
/// read audited).
pub fn list_row(staff: &StaffRow, mut r: ItemRow) -> (ItemRow, bool) {
    let own = crate::perm::personal_data(staff, std::slice::from_ref(&r.agency)) == crate::perm::PersonalData::Own;
    if !own {
        r.applicant_name = crate::privacy::MASK.to_string();
        r.applicant_email = None;
        r.applicant_phone = None;
    }
    (r, own)
}

fn row_json(r: &ItemRow, t: DateTime<Utc>) -> Result<Value, Problem> {
    let mut v = serde_json::to_value(r).map_err(Problem::internal)?;
    v["urgency"] = json!(urgency(r.next_due_at, t));
    v["links"] = json!({"self": format!("/api/v1/petitions/{}", r.code)});
    Ok(v)
}

fn item_json(item: &Item, t: DateTime<Utc>) -> Result<Value, Problem> {
    let next = item.next_step();
    let code = item.code.as_ref().map(ToString::to_string).unwrap_or_default();
    Ok(json!({
        "code": code,
        "kind": item.kind.map(Kind::name),
        "status": item.status.map(ItemStatus::name),
        "agency": item.agency,
        "rule_set": item.rules.map(|r| r.name()),
        "next_step": next.map(|n| n.0.name()),
        "next_due_at": next.map(|n| motcua_core::calendar::at_vn(n.1).to_rfc3339()),
        "urgency": urgency(next.map(|n| n.1), t),
        "decide_late": item.decide_late,
        "resolve_late": item.resolve_late,
        "answer": item.answer,
        "item": serde_json::to_value(item).map_err(Problem::internal)?,
        "links": {"self": format!("/api/v1/petitions/{code}")},
    }))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    agency: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    open: Option<bool>,
    dossier: Option<String>,
    limit: Option<u32>,
    as_of: Option<String>,
}

/// Items of the account's agencies (or all, for the city-wide roles): open ones most urgent
/// first, each with its urgency — the desk's work queue of items.
async fn list(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, Problem> {
    let t = as_of(&state, q.as_of.as_deref())?;
    let mut agencies = read_scope(&who.staff);
    if let Some(a) = q.agency.as_deref() {
        let a: AgencyCode = a.trim().parse()?;
        if !may_read(&who.staff, &a) {
            return Err(Problem::forbidden(format!("{} does not read the items of {a}", who.staff.username)));
        }
        agencies = Some(vec![a]);
    }
    let filter = ItemFilter {
        agencies,
        kind: q
            .kind
            .as_deref()
            .map(|k| Kind::parse(k).ok_or_else(|| Problem::invalid(format!("unknown kind {k:?}"))))
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|s| ItemStatus::parse(s).ok_or_else(|| Problem::invalid(format!("unknown status {s:?}"))))
            .transpose()?,
        open: q.open.unwrap_or(false),
        dossier: q.dossier.as_deref().map(|d| d.trim().parse::<DossierCode>()).transpose()?,
        limit: q.limit.unwrap_or(100).min(1000),
    };
    let rows = state.store.items(&filter).await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            let (r, own) = list_row(&who.staff, r);
            let mut v = row_json(&r, t)?;
            v["personal_data"] = json!(crate::privacy::label(own));
            Ok(v)
        })
        .collect::<Result<Vec<_>, Problem>>()?;
    Ok(Json(json!({"as_of": motcua_core::calendar::at_vn(t).to_rfc3339(), "petitions": rows})))
}

#[derive(Debug, Default, Deserialize)]
pub struct FileBody {
    pub kind: String,
    pub applicant: String,
    pub text: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub dossier: Option<String>,
    pub agency: Option<String>,
    pub channel: Option<String>,
}

/// The responsible agency of a new item: the one named, else the dossier's (the agency its
/// lateness is attributed to, else its lead agency).
pub async fn responsible(
    state: &AppState,
    agency: Option<&str>,
    dossier: Option<&DossierCode>,
    at: DateTime<Utc>,
) -> Result<AgencyCode, Problem> {
    if let Some(a) = agency {
        let a: AgencyCode = a.trim().parse()?;
        state.domain.agency(&a)?;
        return Ok(a);
    }
    let Some(code) = dossier else {
        return Err(Problem::invalid("give the responsible agency or the dossier the item is about"));
    };
    let events = state.store.events(code).await?;
    if events.is_empty() {
        return Err(Problem::not_found(format!("dossier {code} does not exist")));
    }
    let d = state.domain.replay_until(events.iter(), at)?;
    petition::route_for_dossier(&state.domain, &d, at)
        .ok_or_else(|| Problem::invalid(format!("dossier {code} has no responsible agency")))
}

/// Files an item: 201 with its code and the due instant of its next step.
pub async fn file_item(
    state: &AppState,
    b: &FileBody,
    by: Option<String>,
    default_channel: ItemChannel,
) -> Result<Item, Problem> {
    let kind = Kind::parse(b.kind.trim())
        .ok_or_else(|| Problem::invalid("kind: expected petition, complaint or denunciation"))?;
    let channel = match b.channel.as_deref() {
        Some(c) => ItemChannel::parse(c.trim())
            .ok_or_else(|| Problem::invalid("channel: expected in_person, phone, postal or online"))?,
        None => default_channel,
    };
    let applicant = Applicant {
        name: line(&b.applicant, "applicant", 200)?,
        email: b.email.as_deref().filter(|e| !e.trim().is_empty()).map(|e| e.trim().parse()).transpose()?,
        phone: b.phone.as_deref().filter(|p| !p.trim().is_empty()).map(|p| p.trim().parse()).transpose()?,
        id_number: None,
        address: None,
    };
    let text = paragraph(&b.text, "text", TEXT_MAX_CHARS)?;
    let dossier =
        b.dossier.as_deref().filter(|d| !d.trim().is_empty()).map(|d| d.trim().parse::<DossierCode>()).transpose()?;
    let now = state.now();
    let agency =
        responsible(state, b.agency.as_deref().filter(|a| !a.trim().is_empty()), dossier.as_ref(), now).await?;
    let new = NewItem { kind, agency, applicant, text, dossier, channel };
    Ok(state.store.file_item(&state.domain, new, now, by, now).await?)
}

async fn file(State(state): State<AppState>, who: Principal, Body(b): Body<FileBody>) -> Result<Response, Problem> {
    if !allowed(who.staff.role, Step::File) {
        return Err(Problem::forbidden(format!("the role {} may not file an item", who.staff.role)));
    }
    let item = file_item(&state, &b, Some(who.staff.username.clone()), ItemChannel::InPerson).await?;
    Ok((StatusCode::CREATED, Json(item_json(&item, state.now())?)).into_response())
}

fn parse_item_code(s: &str) -> Result<ItemCode, Problem> {
    Ok(s.trim().parse::<ItemCode>()?)
}

async fn show(State(state): State<AppState>, who: Principal, Path(code): Path<String>) -> Result<Json<Value>, Problem> {
    let code = parse_item_code(&code)?;
    let Some(row) = state.store.item_row(&code).await? else {
        return Err(Problem::not_found(format!("no item {code}")));
    };
    if !may_read(&who.staff, &row.agency) {
        return Err(Problem::forbidden(format!("item {code} is not with an agency of {}", who.staff.username)));
    }
    let mut events = state.store.item_events(&code).await?;
    let mut item = petition::replay(&state.domain, &events).map_err(Problem::internal)?;
    let access = guard_item(&state, &who.staff, &mut item, &mut events, "GET /api/v1/petitions/{petition}").await?;
    let mut v = item_json(&item, state.now())?;
    v["events"] = serde_json::to_value(&events).map_err(Problem::internal)?;
    v["personal_data"] = json!(crate::privacy::label(access != crate::perm::PersonalData::Masked));
    Ok(Json(v))
}

/// Records a step after both checks (the role, then the item's agency), 403 before anything
/// is written.
async fn step(
    state: &AppState,
    who: &Principal,
    code: &str,
    step: Step,
    kind: ItemEventKind,
) -> Result<Json<Value>, Problem> {
    let item = take_step(state, who, code, step, kind).await?;
    Ok(Json(item_json(&item, state.now())?))
}

/// Records a step (the API's and the pages'): the role, then the item's agency, checked
/// before anything is written.
pub async fn take_step(
    state: &AppState,
    who: &Principal,
    code: &str,
    step: Step,
    kind: ItemEventKind,
) -> Result<Item, Problem> {
    if !allowed(who.staff.role, step) {
        return Err(Problem::forbidden(format!("the role {} may not {}", who.staff.role, kind.name())));
    }
    let code = parse_item_code(code)?;
    let Some(row) = state.store.item_row(&code).await? else {
        return Err(Problem::not_found(format!("no item {code}")));
    };
    if !who.staff.agencies.contains(&row.agency) {
        return Err(Problem::forbidden(format!("item {code} is not with an agency of {}", who.staff.username)));
    }
    let now = state.now();
    let event = ItemEvent::new(now, Some(who.staff.username.clone()), kind);
    Ok(state.store.record_item(&state.domain, &code, event, now).await?)
}

pub fn reason(s: &str) -> Result<String, Problem> {
    Ok(paragraph(s, "reason", REASON_MAX_CHARS)?)
}

#[derive(Debug, Default, Deserialize)]
struct AcceptBody {
    complexity: Option<String>,
    remote: Option<bool>,
}

pub fn complexity(s: Option<&str>) -> Result<Option<Complexity>, Problem> {
    s.map(|c| {
        Complexity::parse(c.trim())
            .ok_or_else(|| Problem::invalid("complexity: expected ordinary, complex or especially_complex"))
    })
    .transpose()
}

async fn accept(
    State(state): State<AppState>,
    who: Principal,
    Path(code): Path<String>,
    Body(b): Body<AcceptBody>,
) -> Result<Json<Value>, Problem> {
    let kind = ItemEventKind::Accepted {
        complexity: complexity(b.complexity.as_deref())?.unwrap_or_default(),
        remote: b.remote.unwrap_or(false),
    };
    step(&state, &who, &code, Step::Decide, kind).await
}

#[derive(Debug, Default, Deserialize)]
struct ExtendBody {
    reason: String,
    complexity: Option<String>,
}

async fn extend(
    State(state): State<AppState>,
    who: Principal,
    Path(code): Path<String>,
    Body(b): Body<ExtendBody>,
) -> Result<Json<Value>, Problem> {
    let kind = ItemEventKind::Extended { reason: reason(&b.reason)?, complexity: complexity(b.complexity.as_deref())? };
    step(&state, &who, &code, Step::Decide, kind).await
}

#[derive(Debug, Default, Deserialize)]
struct TransferBody {
    to: String,
    reason: Option<String>,
}

async fn transfer(
    State(state): State<AppState>,
    who: Principal,
    Path(code): Path<String>,
    Body(b): Body<TransferBody>,
) -> Result<Json<Value>, Problem> {
    let to: AgencyCode = b.to.trim().parse()?;
    state.domain.agency(&to)?;
    let r = b.reason.as_deref().filter(|r| !r.trim().is_empty()).map(reason).transpose()?;
    step(&state, &who, &code, Step::Triage, ItemEventKind::Transferred { to, reason: r }).await
}

#[derive(Debug, Default, Deserialize)]
struct ForwardBody {
    to: String,
    reason: String,
    guide: Option<bool>,
}

async fn forward(
    State(state): State<AppState>,
    who: Principal,
    Path(code): Path<String>,
    Body(b): Body<ForwardBody>,
) -> Result<Json<Value>, Problem> {
    let to = line(&b.to, "to", 300)?;
    let r = reason(&b.reason)?;
    let kind = if b.guide.unwrap_or(false) {
        ItemEventKind::Guided { to, reason: r }
    } else {
        ItemEventKind::Forwarded { to, reason: r }
    };
    step(&state, &who, &code, Step::Triage, kind).await
}

#[derive(Debug, Default, Deserialize)]
struct AnswerBody {
    text: String,
}

async fn answer(
    State(state): State<AppState>,
    who: Principal,
    Path(code): Path<String>,
    Body(b): Body<AnswerBody>,
) -> Result<Json<Value>, Problem> {
    let text = paragraph(&b.text, "text", TEXT_MAX_CHARS)?;
    step(&state, &who, &code, Step::Decide, ItemEventKind::Answered { text }).await
}

#[derive(Debug, Default, Deserialize)]
struct CloseBody {
    outcome: String,
    reason: Option<String>,
}

async fn close(
    State(state): State<AppState>,
    who: Principal,
    Path(code): Path<String>,
    Body(b): Body<CloseBody>,
) -> Result<Json<Value>, Problem> {
    let kind = close_kind(&b.outcome, b.reason.as_deref())?;
    step(&state, &who, &code, Step::Decide, kind).await
}

/// The event of `close` with `outcome` (refused, archived, withdrawn, suspended, resumed,
/// terminated) and its reason, required but for a withdrawal and a resumption.
pub fn close_kind(outcome: &str, given: Option<&str>) -> Result<ItemEventKind, Problem> {
    let given = given.unwrap_or("");
    let needs = || -> Result<String, Problem> {
        if given.trim().is_empty() {
            return Err(Problem::invalid(format!("reason: required for the outcome {outcome}")));
        }
        reason(given)
    };
    let kind = match outcome.trim() {
        "refused" => ItemEventKind::Refused { reason: needs()? },
        "archived" => ItemEventKind::Archived { reason: needs()? },
        "withdrawn" => {
            ItemEventKind::Withdrawn { reason: if given.trim().is_empty() { String::new() } else { reason(given)? } }
        }
        "suspended" => ItemEventKind::Suspended { reason: needs()? },
        "resumed" => ItemEventKind::Resumed,
        "terminated" => ItemEventKind::Terminated { reason: needs()? },
        other => {
            return Err(Problem::invalid(format!(
                "outcome: unknown {other:?}: expected refused, archived, withdrawn, suspended, resumed or terminated"
            )));
        }
    };
    Ok(kind)
}
