//! The desk's web pages, server-rendered with askama: login, work queue, intake and the
//! printable receipt, the dossier page (control sheet, explanation, actions), the apology
//! letter, online submissions, the report, letters to print and the audit log. No JavaScript
//! framework; every form carries the session's CSRF token.

use askama::Template;
use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use motcua_core::calendar::to_local;
use motcua_core::clock::format_working_minutes;
use motcua_core::letters::{Letter, MessageKind};
use motcua_core::{AgencyCode, Dossier, EventKind, Status};
use motcua_store::{OutboxMessage, OutboxStatus, OutboxStore, Role, StaffStore, Store};
use serde::Deserialize;

use crate::auth::{self, Principal, Via};
use crate::i18n::{Lang, Tr};
use crate::page::{Page, error_page, html};
use crate::perm::{self, Action};
use crate::problem::{Problem, ProblemKind};
use crate::report::{ReportParams, build_report};
use crate::shared::{csv_response, local, local_opt, lookup_url};
use crate::state::AppState;
use crate::views::{self, ActionFields, IntakeFields, Loaded, QueueItem};

/// A logged-in staff member for a page, and the page's language. Without a live session the
/// browser is sent to the login page.
#[derive(Debug, Clone)]
pub struct Ui {
    pub who: Principal,
    pub tr: Tr,
}

fn query_lang(parts: &Parts) -> Option<String> {
    parts.uri.query()?.split('&').find_map(|kv| kv.strip_prefix("lang=")).map(str::to_string)
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let tr = Tr::new(Lang::of(&parts.headers, query_lang(parts).as_deref()));
        match auth::session_principal(state, &parts.headers).await {
            Ok(Some(who)) => Ok(Self { who, tr }),
            Ok(None) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
                Err(Redirect::to(&format!("/login?next={}", encode(&next))).into_response())
            }
            Err(p) => Err(error_page(tr, &p)),
        }
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only local paths are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/queue".to_string(),
    }
}

// ------------------------------------------------------------------------------------------
// Login

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    next: String,
    public_csrf: String,
    error: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

pub async fn login_form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let tr = Tr::new(Lang::of(&headers, q.lang.as_deref()));
    let (csrf, set) = auth::public_csrf(&state, &headers);
    let page = LoginPage {
        page: Page::public(tr, tr.t("login"), "/login"),
        next: safe_next(q.next.as_deref()),
        public_csrf: csrf,
        error: false,
    };
    let mut r = html(StatusCode::OK, &page);
    if let Some(c) = set.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn login_submit(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let tr = Tr::new(Lang::of(&headers, None));
    if let Err(p) = auth::check_public_csrf(&headers, &f.csrf) {
        return error_page(tr, &p);
    }
    let staff = match auth::check_login(&state, &f.username, &f.password).await {
        Ok(s) => s,
        Err(p) => return error_page(tr, &p),
    };
    let Some(staff) = staff else {
        let page = LoginPage {
            page: Page::public(tr, tr.t("login"), "/login"),
            next: safe_next(f.next.as_deref()),
            public_csrf: f.csrf.clone(),
            error: true,
        };
        return html(StatusCode::UNAUTHORIZED, &page);
    };
    match auth::open_session(&state, &staff).await {
        Ok((cookie, _)) => {
            let mut r = Redirect::to(&safe_next(f.next.as_deref())).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(p) => error_page(tr, &p),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn logout(State(state): State<AppState>, ui: Ui, Form(f): Form<CsrfForm>) -> Response {
    if let Err(p) = ui.who.check_csrf(&f.csrf) {
        return error_page(ui.tr, &p);
    }
    if let Via::Session { id_hash, .. } = &ui.who.via
        && let Err(e) = state.store.delete_session(id_hash).await
    {
        return error_page(ui.tr, &e.into());
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&state, auth::SESSION_COOKIE, "", Some(0))) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Redirect {
    match auth::session_principal(&state, &headers).await {
        Ok(Some(_)) => Redirect::to("/queue"),
        _ => Redirect::to("/login"),
    }
}

// ------------------------------------------------------------------------------------------
// Work queue and online submissions

/// One row of a list of dossiers.
#[derive(Debug, Clone)]
struct RowVm {
    code: String,
    procedure: String,
    applicant: String,
    status: String,
    due: String,
    remaining: String,
    urgency: &'static str,
    urgency_label: String,
    holder: String,
}

fn agency_name(state: &AppState, tr: Tr, code: &AgencyCode) -> String {
    state
        .domain
        .catalog
        .agency(code)
        .map(|a| if tr.en() { a.name_en.clone() } else { a.name.clone() })
        .unwrap_or_else(|| code.to_string())
}

fn procedure_name(state: &AppState, tr: Tr, code: &motcua_core::ProcedureCode) -> String {
    state
        .domain
        .catalog
        .procedure(code)
        .map(|p| if tr.en() { p.name_en.clone() } else { p.name.clone() })
        .unwrap_or_else(|| code.to_string())
}

fn status_label(tr: Tr, s: Status) -> String {
    if tr.en() { s.name().replace('_', " ") } else { s.name_vi().to_string() }
}

fn row_vm(state: &AppState, tr: Tr, item: &QueueItem) -> RowVm {
    let r = &item.row;
    RowVm {
        code: r.code.to_string(),
        procedure: procedure_name(state, tr, &r.procedure),
        applicant: r.applicant_name.clone(),
        status: status_label(tr, r.status),
        due: local_opt(r.due_at),
        remaining: item
            .remaining_working_minutes
            .map(|m| format_working_minutes(m, tr.lang.core()))
            .unwrap_or_default(),
        urgency: item.urgency.name(),
        urgency_label: tr.t(item.urgency.name()).to_string(),
        holder: r.holder.as_ref().map(|h| agency_name(state, tr, h)).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    page: Page,
    rows: Vec<RowVm>,
    agencies: Vec<(String, String)>,
    selected: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct AgencyQuery {
    agency: Option<String>,
}

fn chosen_agencies(state: &AppState, ui: &Ui, q: Option<&str>) -> Result<Vec<AgencyCode>, Problem> {
    match q.map(str::trim).filter(|s| !s.is_empty()) {
        Some(a) => {
            let a: AgencyCode = a.parse().map_err(|e: motcua_core::ParseError| Problem::invalid(e.to_string()))?;
            if ui.who.staff.agencies.contains(&a) || perm::sees_all_queues(ui.who.staff.role) {
                Ok(vec![a])
            } else {
                Err(Problem::forbidden("not an agency of this account"))
            }
        }
        None if perm::sees_all_queues(ui.who.staff.role) && ui.who.staff.agencies.is_empty() => {
            Ok(state.domain.catalog.agencies().map(|a| a.code.clone()).collect())
        }
        None => Ok(ui.who.staff.agencies.clone()),
    }
}

fn agency_options(state: &AppState, ui: &Ui) -> Vec<(String, String)> {
    let all = perm::sees_all_queues(ui.who.staff.role);
    state
        .domain
        .catalog
        .agencies()
        .filter(|a| all || ui.who.staff.agencies.contains(&a.code))
        .map(|a| (a.code.to_string(), agency_name(state, ui.tr, &a.code)))
        .collect()
}

pub async fn queue(State(state): State<AppState>, ui: Ui, Query(q): Query<AgencyQuery>) -> Response {
    let tr = ui.tr;
    let agencies = match chosen_agencies(&state, &ui, q.agency.as_deref()) {
        Ok(a) => a,
        Err(p) => return error_page(tr, &p),
    };
    let items = match views::queue(&state, &agencies).await {
        Ok(i) => i,
        Err(p) => return error_page(tr, &p),
    };
    let page = QueuePage {
        page: Page::staff(tr, tr.t("queue"), "/queue", &ui.who),
        rows: items.iter().map(|i| row_vm(&state, tr, i)).collect(),
        agencies: agency_options(&state, &ui),
        selected: q.agency.unwrap_or_default(),
    };
    html(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    page: Page,
    heading: String,
    intro: String,
    rows: Vec<RowVm>,
}

pub async fn online(State(state): State<AppState>, ui: Ui) -> Response {
    let tr = ui.tr;
    let agencies = match chosen_agencies(&state, &ui, None) {
        Ok(a) => a,
        Err(p) => return error_page(tr, &p),
    };
    let rows = match state.store.registered_online(&agencies, views::QUEUE_LIMIT).await {
        Ok(r) => r,
        Err(e) => return error_page(tr, &e.into()),
    };
    let rows = rows
        .into_iter()
        .map(|r| RowVm {
            code: r.code.to_string(),
            procedure: procedure_name(&state, tr, &r.procedure),
            applicant: r.applicant_name.clone(),
            status: status_label(tr, r.status),
            due: local_opt(r.registered_at),
            remaining: String::new(),
            urgency: "normal",
            urgency_label: String::new(),
            holder: agency_name(&state, tr, &r.receiving_agency),
        })
        .collect();
    let page = ListPage {
        page: Page::staff(tr, tr.t("online"), "/online", &ui.who),
        heading: tr.t("pending_online").to_string(),
        intro: String::new(),
        rows,
    };
    html(StatusCode::OK, &page)
}

/// One letter of the desk's print queue.
#[derive(Debug)]
struct DeskLetterVm {
    code: String,
    number: String,
    kind: String,
    applicant: String,
    procedure: String,
    issued: String,
    new_date: String,
    /// pending, sent or dead: the outbox row's status.
    state: &'static str,
    state_label: String,
    error: String,
}

#[derive(Template)]
#[template(path = "letters.html")]
struct LettersPage {
    page: Page,
    rows: Vec<DeskLetterVm>,
}

fn desk_letter_vm(tr: Tr, m: &OutboxMessage) -> DeskLetterVm {
    // The payload is core's letter as it was decided; a row that does not parse is still
    // listed (its code and status), never an error page.
    let letter = serde_json::from_str::<Letter>(&m.payload).ok();
    let facts = letter.as_ref().map(|l| &l.dossier);
    let kind = match MessageKind::from_str(&m.kind) {
        Ok(MessageKind::Apology) => tr.t("letter").to_string(),
        Ok(MessageKind::ApologyWithResult) => tr.t("letter_with_result").to_string(),
        _ => m.kind.clone(),
    };
    let (state_label, error) = match m.status {
        OutboxStatus::Pending => (tr.t("letter_pending"), String::new()),
        OutboxStatus::Sent => (tr.t("letter_queued"), String::new()),
        OutboxStatus::Dead => (tr.t("letter_failed"), m.last_error.clone().unwrap_or_default()),
    };
    DeskLetterVm {
        code: m.dossier_code.as_ref().map(ToString::to_string).unwrap_or_default(),
        number: letter.as_ref().and_then(|l| l.apology.as_ref()).map(|a| a.number.clone()).unwrap_or_default(),
        kind,
        applicant: facts.map(|f| f.applicant_name.clone()).unwrap_or_default(),
        procedure: facts
            .map(|f| if tr.en() { f.procedure_name_en.clone() } else { f.procedure_name.clone() })
            .unwrap_or_default(),
        issued: local(letter.as_ref().map_or(m.created_at, |l| l.issued_at)),
        new_date: local_opt(facts.and_then(|f| f.new_due_at)),
        state: m.status.name(),
        state_label: state_label.to_string(),
        error,
    }
}

/// Letters to print: the outbox rows the worker addresses to the account's desks (citizens
/// with no e-mail address), newest first — waiting for the worker, in the print queue, or
/// failed — each with a link to its printable page.
pub async fn outbox(State(state): State<AppState>, ui: Ui) -> Response {
    let tr = ui.tr;
    let agencies = match chosen_agencies(&state, &ui, None) {
        Ok(a) => a,
        Err(p) => return error_page(tr, &p),
    };
    let rows = match state.store.desk_letters(&agencies, views::QUEUE_LIMIT).await {
        Ok(r) => r,
        Err(e) => return error_page(tr, &e.into()),
    };
    let page = LettersPage {
        page: Page::staff(tr, tr.t("outbox"), "/outbox", &ui.who),
        rows: rows.iter().map(|m| desk_letter_vm(tr, m)).collect(),
    };
    html(StatusCode::OK, &page)
}

// ------------------------------------------------------------------------------------------
// Intake and receipt

#[derive(Template)]
#[template(path = "intake.html")]
struct IntakePage {
    page: Page,
    procedures: Vec<(String, String)>,
    agencies: Vec<(String, String)>,
    error: String,
    f: IntakeFields,
}

fn intake_page(state: &AppState, ui: &Ui, f: IntakeFields, error: String) -> IntakePage {
    let tr = ui.tr;
    IntakePage {
        page: Page::staff(tr, tr.t("intake"), "/intake", &ui.who),
        procedures: state
            .domain
            .catalog
            .procedures()
            .map(|p| (p.code.to_string(), format!("{} — {}", p.code, if tr.en() { &p.name_en } else { &p.name })))
            .collect(),
        agencies: ui.who.staff.agencies.iter().map(|a| (a.to_string(), agency_name(state, tr, a))).collect(),
        error,
        f,
    }
}

pub async fn intake_form(State(state): State<AppState>, ui: Ui) -> Response {
    if let Err(p) = perm::authorize(&ui.who.staff, Action::Intake, None) {
        return error_page(ui.tr, &p);
    }
    html(StatusCode::OK, &intake_page(&state, &ui, IntakeFields::default(), String::new()))
}

#[derive(Debug, Default, Deserialize)]
pub struct IntakeFormBody {
    #[serde(flatten)]
    fields: IntakeFields,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn intake_submit(State(state): State<AppState>, ui: Ui, Form(f): Form<IntakeFormBody>) -> Response {
    if let Err(p) = ui.who.check_csrf(&f.csrf) {
        return error_page(ui.tr, &p);
    }
    match views::open(&state, &ui.who, &f.fields, Action::Intake).await {
        Ok(d) => {
            let code = d.code.map(|c| c.to_string()).unwrap_or_default();
            Redirect::to(&format!("/dossiers/{code}/receipt")).into_response()
        }
        Err(p) if p.kind == ProblemKind::Forbidden => error_page(ui.tr, &p),
        Err(p) => html(p.status(), &intake_page(&state, &ui, f.fields, p.detail)),
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    page: Page,
    r: ReceiptVm,
}

#[derive(Debug, Clone)]
struct ReceiptVm {
    unit: String,
    unit_address: String,
    code: String,
    qr_svg: String,
    lookup_url: String,
    place_date: String,
    applicant: String,
    address: String,
    phone: String,
    email: String,
    id_number: String,
    procedure: String,
    documents: Vec<String>,
    time_limit: String,
    received_at: String,
    due_time: String,
    due_date: String,
    officer: String,
    online: bool,
}

fn time_limit_text(tr: Tr, t: motcua_core::TimeLimit) -> String {
    use motcua_core::TimeLimit as T;
    match (t, tr.en()) {
        (T::WorkingDays(n), false) => format!("{n} ngày làm việc"),
        (T::WorkingHours(n), false) => format!("{n} giờ làm việc"),
        (T::CalendarDays(n), false) => format!("{n} ngày"),
        (other, true) => other.to_string(),
    }
}

/// "Đà Nẵng, ngày 27 tháng 10 năm 2023".
fn place_date(state: &AppState, tr: Tr, at: DateTime<Utc>) -> String {
    let d = to_local(at).date();
    if tr.en() {
        format!("{}, {}", state.config.place, d.format("%d %B %Y"))
    } else {
        format!("{}, ngày {} tháng {} năm {}", state.config.place, d.format("%d"), d.format("%m"), d.format("%Y"))
    }
}

async fn display_name(state: &AppState, username: Option<&str>) -> String {
    match username {
        Some(u) => match state.store.staff_credentials(u).await {
            Ok(Some((s, _))) => s.display_name,
            _ => u.to_string(),
        },
        None => String::new(),
    }
}

async fn load_for_page(state: &AppState, ui: &Ui, code: &str) -> Result<Loaded, Response> {
    let parsed = views::parse_code(code).map_err(|p| error_page(ui.tr, &p))?;
    views::load(state, &parsed, state.now()).await.map_err(|p| error_page(ui.tr, &p))
}

pub async fn receipt(State(state): State<AppState>, ui: Ui, Path(code): Path<String>) -> Response {
    let tr = ui.tr;
    let loaded = match load_for_page(&state, &ui, &code).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let d = &loaded.dossier;
    let receiving = d.receiving_agency.clone();
    let agency = receiving.as_ref().and_then(|a| state.domain.catalog.agency(a));
    let procedure = d.procedure.as_ref().and_then(|p| state.domain.catalog.procedure(p));
    let intake_by = loaded
        .events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Received { .. } | EventKind::AcceptedOnline))
        .and_then(|e| e.by.clone());
    let url = lookup_url(&state, &code);
    let svg = crate::qr::svg(&url);
    let svg = svg.find("<svg").map(|i| svg[i..].to_string()).unwrap_or_default();
    let due = d.original_due_at.map(to_local);
    let r = ReceiptVm {
        unit: agency.map(|a| if tr.en() { a.name_en.clone() } else { a.name.clone() }).unwrap_or_default(),
        unit_address: agency.map(|a| a.address.clone()).unwrap_or_default(),
        code: code.clone(),
        qr_svg: svg,
        lookup_url: url,
        place_date: place_date(&state, tr, d.received_at.or(d.registered_at).unwrap_or_else(|| state.now())),
        applicant: d.applicant.name.clone(),
        address: d.applicant.address.clone().unwrap_or_default(),
        phone: d.applicant.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
        email: d.applicant.email.as_ref().map(ToString::to_string).unwrap_or_default(),
        id_number: d.applicant.id_number.clone().unwrap_or_default(),
        procedure: procedure
            .map(|p| format!("{} ({})", if tr.en() { &p.name_en } else { &p.name }, p.code))
            .unwrap_or_default(),
        documents: procedure.map(|p| p.documents.clone()).unwrap_or_default(),
        time_limit: procedure.map(|p| time_limit_text(tr, p.time_limit)).unwrap_or_default(),
        received_at: local_opt(d.received_at),
        due_time: due.map(|t| t.format("%H:%M").to_string()).unwrap_or_default(),
        due_date: due.map(|t| t.format("%d/%m/%Y").to_string()).unwrap_or_default(),
        officer: display_name(&state, intake_by.as_deref()).await,
        online: d.status == Some(Status::RegisteredOnline),
    };
    let page = ReceiptPage { page: Page::staff(tr, tr.t("receipt"), &format!("/dossiers/{code}/receipt"), &ui.who), r };
    html(StatusCode::OK, &page)
}

// ------------------------------------------------------------------------------------------
// The dossier page

#[derive(Debug, Clone)]
struct ControlRow {
    giver: String,
    giver_officer: String,
    receiver: String,
    receiver_officer: String,
    sent_at: String,
    accepted_at: String,
    result: String,
    result_class: String,
    note: String,
}

#[derive(Debug, Clone)]
struct StepRow {
    agency: String,
    from: String,
    until: String,
    used: String,
    budget: String,
    result: String,
    result_class: String,
    bounce: bool,
}

#[derive(Debug, Clone)]
struct EventRow {
    at: String,
    kind: String,
    by: String,
}

/// One action form offered on the dossier page.
#[derive(Debug, Clone)]
struct ActionVm {
    name: &'static str,
    label: String,
    to: bool,
    reason: bool,
    documents: bool,
    date: bool,
    refused: bool,
}

#[derive(Template)]
#[template(path = "dossier.html")]
struct DossierPage {
    page: Page,
    code: String,
    procedure: String,
    applicant: String,
    id_number: String,
    phone: String,
    status: String,
    status_code: u8,
    received_at: String,
    due_at: String,
    original_due_at: String,
    rescheduled_to: String,
    finished_at: String,
    returned_at: String,
    holder: String,
    remaining: String,
    timeliness: String,
    overdue: bool,
    at_risk: bool,
    explanation: Vec<String>,
    control: Vec<ControlRow>,
    steps: Vec<StepRow>,
    signals: Vec<String>,
    events: Vec<EventRow>,
    actions: Vec<ActionVm>,
    agencies: Vec<(String, String)>,
    has_letter: bool,
    error: String,
}

/// The actions a status allows, in the order a desk PC shows them.
fn actions_for(status: Status, pending_handoff: bool) -> Vec<Action> {
    use Action as A;
    match status {
        Status::RegisteredOnline => vec![A::AcceptOnline, A::RefuseOnline],
        Status::Received => vec![A::Accept, A::Transfer, A::Withdraw],
        Status::Processing if pending_handoff => vec![A::Accept],
        Status::Processing => {
            vec![A::Resolve, A::Transfer, A::RequestSupplement, A::RequestPayment, A::Reschedule, A::Withdraw, A::Stop]
        }
        Status::SupplementRequested => vec![A::Supplement, A::Withdraw, A::Stop],
        Status::PaymentRequested => vec![A::Paid, A::Withdraw],
        Status::Done => vec![A::Return],
        _ => vec![],
    }
}

fn timeliness_label(tr: Tr, t: Option<&str>) -> (String, String) {
    match t {
        Some(t) => (tr.t(t).to_string(), t.to_string()),
        None => (tr.t("holding").to_string(), "holding".to_string()),
    }
}

fn iso_local(s: &str) -> String {
    DateTime::parse_from_rfc3339(s).map(|t| local(t.with_timezone(&Utc))).unwrap_or_else(|_| s.to_string())
}

async fn dossier_page(state: &AppState, ui: &Ui, code: &str, error: String) -> Response {
    let tr = ui.tr;
    let loaded = match load_for_page(state, ui, code).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let (d, v) = (&loaded.dossier, &loaded.view);
    let Some(status) = d.status else { return error_page(tr, &Problem::not_found(code.to_string())) };
    // Officers of each handoff, from the log: who sent, who accepted.
    let mut senders = Vec::new();
    let mut acceptors = Vec::new();
    for e in &loaded.events {
        match &e.kind {
            EventKind::Transferred { .. } => senders.push(e.by.clone().unwrap_or_default()),
            EventKind::Accepted if senders.len() > acceptors.len() => acceptors.push(e.by.clone().unwrap_or_default()),
            _ => {}
        }
    }
    let control = v
        .handoffs
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (result, class) = timeliness_label(tr, v.dwell.get(i).and_then(|s| s.timeliness));
            ControlRow {
                giver: agency_name(state, tr, &h.from),
                giver_officer: senders.get(i).cloned().unwrap_or_default(),
                receiver: agency_name(state, tr, &h.to),
                receiver_officer: acceptors.get(i).cloned().unwrap_or_default(),
                sent_at: iso_local(&h.sent_at),
                accepted_at: h.accepted_at.as_deref().map(iso_local).unwrap_or_default(),
                result,
                result_class: class,
                note: if h.delay_working_minutes > 0 {
                    format!(
                        "{}: {}",
                        tr.t("handoff_delay"),
                        format_working_minutes(h.delay_working_minutes, tr.lang.core())
                    )
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let steps = v
        .dwell
        .iter()
        .map(|s| {
            let (result, class) = timeliness_label(tr, s.timeliness);
            StepRow {
                agency: agency_name(state, tr, &s.agency),
                from: iso_local(&s.from),
                until: s.until.as_deref().map(iso_local).unwrap_or_default(),
                used: format_working_minutes(s.working_minutes, tr.lang.core()),
                budget: format_working_minutes(s.budget_minutes, tr.lang.core()),
                result,
                result_class: class,
                bounce: s.bounce,
            }
        })
        .collect();
    let row = match state
        .store
        .dossier_row(&match views::parse_code(code) {
            Ok(c) => c,
            Err(p) => return error_page(tr, &p),
        })
        .await
    {
        Ok(Some(r)) => r,
        Ok(None) => return error_page(tr, &Problem::not_found(code.to_string())),
        Err(e) => return error_page(tr, &e.into()),
    };
    let actions = actions_for(status, d.pending_handoff().is_some())
        .into_iter()
        .filter(|a| perm::authorize(&ui.who.staff, *a, Some(&row)).is_ok())
        .map(|a| ActionVm {
            name: a.name(),
            label: tr.t(a.name()).to_string(),
            to: matches!(a, Action::Transfer),
            reason: matches!(
                a,
                Action::RefuseOnline
                    | Action::RequestSupplement
                    | Action::RequestPayment
                    | Action::Reschedule
                    | Action::Resolve
                    | Action::Withdraw
                    | Action::Stop
            ),
            documents: a == Action::RequestSupplement,
            date: a == Action::Reschedule,
            refused: a == Action::Resolve,
        })
        .collect();
    let events = loaded
        .events
        .iter()
        .map(|e| EventRow { at: local(e.at), kind: e.kind.name().to_string(), by: e.by.clone().unwrap_or_default() })
        .collect();
    let page = DossierPage {
        page: Page::staff(tr, code, &format!("/dossiers/{code}"), &ui.who),
        code: code.to_string(),
        procedure: format!("{} — {}", v.procedure, procedure_name(state, tr, &v.procedure)),
        applicant: d.applicant.name.clone(),
        id_number: d.applicant.id_number.clone().unwrap_or_default(),
        phone: d.applicant.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
        status: status_label(tr, status),
        status_code: status.code(),
        received_at: local_opt(d.received_at.or(d.registered_at)),
        due_at: local_opt(d.due_at),
        original_due_at: local_opt(d.original_due_at),
        rescheduled_to: local_opt(d.rescheduled_to()),
        finished_at: local_opt(d.finished_at),
        returned_at: local_opt(d.returned_at),
        holder: d.holder.as_ref().map(|h| agency_name(state, tr, h)).unwrap_or_default(),
        remaining: v.remaining_working_minutes.map(|m| format_working_minutes(m, tr.lang.core())).unwrap_or_default(),
        timeliness: v.timeliness.map(|t| tr.t(t).to_string()).unwrap_or_default(),
        overdue: v.overdue,
        at_risk: v.at_risk,
        explanation: if tr.en() { v.explanation_en.clone() } else { v.explanation.clone() },
        control,
        steps,
        signals: v.signals.iter().map(|s| s.text.clone()).collect(),
        events,
        actions,
        agencies: state
            .domain
            .catalog
            .agencies()
            .map(|a| (a.code.to_string(), agency_name(state, tr, &a.code)))
            .collect(),
        has_letter: !d.reschedules.is_empty() || v.timeliness == Some("late"),
        error,
    };
    html(if page.error.is_empty() { StatusCode::OK } else { StatusCode::CONFLICT }, &page)
}

pub async fn dossier(State(state): State<AppState>, ui: Ui, Path(code): Path<String>) -> Response {
    dossier_page(&state, &ui, &code, String::new()).await
}

/// An action form: every field a string, as browsers send them.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    documents: String,
    #[serde(default)]
    responsible: String,
    #[serde(default)]
    refused: String,
    #[serde(default)]
    override_second: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

impl ActionForm {
    fn fields(&self) -> ActionFields {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let yes = |s: &str| matches!(s, "on" | "true" | "1" | "yes");
        ActionFields {
            to: opt(&self.to),
            reason: opt(&self.reason),
            documents: self.documents.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect(),
            responsible: opt(&self.responsible),
            override_second: yes(&self.override_second),
            refused: yes(&self.refused),
            at: None,
        }
    }
}

pub async fn dossier_action(
    State(state): State<AppState>,
    ui: Ui,
    Path((code, action)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> Response {
    if let Err(p) = ui.who.check_csrf(&f.csrf) {
        return error_page(ui.tr, &p);
    }
    let Some(action) = Action::parse(&action).filter(|a| !matches!(a, Action::Intake | Action::Submit)) else {
        return error_page(ui.tr, &Problem::not_found(action));
    };
    match views::act(&state, &ui.who, &code, action, &f.fields()).await {
        Ok(_) if action == Action::Reschedule => Redirect::to(&format!("/dossiers/{code}/letter")).into_response(),
        Ok(_) => Redirect::to(&format!("/dossiers/{code}")).into_response(),
        Err(p) if matches!(p.kind, ProblemKind::Forbidden | ProblemKind::NotFound | ProblemKind::Internal) => {
            error_page(ui.tr, &p)
        }
        Err(p) => dossier_page(&state, &ui, &code, p.detail).await,
    }
}

// ------------------------------------------------------------------------------------------
// The apology letter (Mẫu 04)

#[derive(Template)]
#[template(path = "letter.html")]
struct LetterPage {
    page: Page,
    l: LetterVm,
}

#[derive(Debug, Clone)]
struct LetterVm {
    agency: String,
    agency_upper: String,
    number: String,
    place_date: String,
    applicant: String,
    address: String,
    phone: String,
    received_at: String,
    procedure: String,
    code: String,
    original_due: String,
    reason: String,
    responsible: String,
    new_date: String,
    head_title: String,
    head_name: String,
    desk: String,
}

fn letter_vm(state: &AppState, tr: Tr, code: &str, d: &Dossier) -> Option<LetterVm> {
    let last = d.reschedules.last();
    let responsible = last.and_then(|r| r.responsible.clone()).or_else(|| d.holder.clone())?;
    let agency = state.domain.catalog.agency(&responsible)?;
    let desk = d.receiving_agency.as_ref().map(|a| agency_name(state, tr, a)).unwrap_or_default();
    let seq = code.rsplit('-').next().unwrap_or("");
    let name = agency_name(state, tr, &responsible);
    Some(LetterVm {
        agency_upper: name.to_uppercase(),
        agency: name.clone(),
        number: format!("{seq}-{}/PXL", d.reschedules.len().max(1)),
        place_date: place_date(state, tr, last.map_or_else(|| state.now(), |r| r.at)),
        applicant: d.applicant.name.clone(),
        address: d.applicant.address.clone().unwrap_or_default(),
        phone: d.applicant.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
        received_at: local_opt(d.received_at),
        procedure: d.procedure.as_ref().map(|p| procedure_name(state, tr, p)).unwrap_or_default(),
        code: code.to_string(),
        original_due: local_opt(d.original_due_at),
        reason: last.map(|r| r.reason.clone()).unwrap_or_default(),
        responsible: name,
        new_date: local_opt(last.map(|r| r.to)),
        head_title: agency.head_title.clone(),
        head_name: agency.head_name.clone(),
        desk,
    })
}

pub async fn letter(State(state): State<AppState>, ui: Ui, Path(code): Path<String>) -> Response {
    let tr = ui.tr;
    let loaded = match load_for_page(&state, &ui, &code).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    match letter_vm(&state, tr, &code, &loaded.dossier) {
        Some(l) => html(
            StatusCode::OK,
            &LetterPage { page: Page::staff(tr, tr.t("letter"), &format!("/dossiers/{code}/letter"), &ui.who), l },
        ),
        None => error_page(tr, &Problem::not_found(format!("dossier {code} has no apology letter"))),
    }
}

// ------------------------------------------------------------------------------------------
// Report and audit log

#[derive(Debug, Clone)]
struct ReportRowVm {
    key: String,
    name: String,
    received: u64,
    finished: u64,
    early: u64,
    on_time: u64,
    late: u64,
    in_time: u64,
    overdue: u64,
    rate_resolved: String,
    rate_national: String,
    score: String,
}

fn report_row(key: &str, name: &str, c: &motcua_core::Counts) -> ReportRowVm {
    ReportRowVm {
        key: key.to_string(),
        name: name.to_string(),
        received: c.received,
        finished: c.finished,
        early: c.early,
        on_time: c.on_time,
        late: c.late,
        in_time: c.in_time,
        overdue: c.overdue,
        rate_resolved: c.resolved().percent(1.0),
        rate_national: c.national.percent(1.0),
        score: format!("{:.2}", c.progress_score()),
    }
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    page: Page,
    from: String,
    to: String,
    by: String,
    agency: String,
    agencies: Vec<(String, String)>,
    rows: Vec<ReportRowVm>,
    total: ReportRowVm,
    csv_link: String,
    error: String,
}

pub async fn report(State(state): State<AppState>, ui: Ui, Query(p): Query<ReportParams>) -> Response {
    let tr = ui.tr;
    let r = match build_report(&state, &p).await {
        Ok(r) => r,
        Err(e) if e.kind == ProblemKind::InvalidInput => {
            let page = ReportPage {
                page: Page::staff(tr, tr.t("report"), "/report", &ui.who),
                from: p.from.clone().unwrap_or_default(),
                to: p.to.clone().unwrap_or_default(),
                by: p.by.clone().unwrap_or_default(),
                agency: p.agency.clone().unwrap_or_default(),
                agencies: vec![],
                rows: vec![],
                total: report_row("total", "", &Default::default()),
                csv_link: String::new(),
                error: e.detail,
            };
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(e) => return error_page(tr, &e),
    };
    if p.format.as_deref() == Some("csv") {
        return csv_response(&format!("motcua-report-{}-{}.csv", r.from, r.to), r.to_csv());
    }
    let by = match r.by {
        motcua_store::report::GroupBy::Agency => "agency",
        motcua_store::report::GroupBy::Procedure => "procedure",
        motcua_store::report::GroupBy::Month => "month",
    };
    let agency = p.agency.clone().unwrap_or_default();
    let csv_link = format!("/report?from={}&to={}&by={by}&agency={}&format=csv", r.from, r.to, encode(&agency));
    let page = ReportPage {
        page: Page::staff(tr, tr.t("report"), "/report", &ui.who),
        from: r.from.to_string(),
        to: r.to.to_string(),
        by: by.to_string(),
        agency,
        agencies: state
            .domain
            .catalog
            .agencies()
            .map(|a| (a.code.to_string(), agency_name(&state, tr, &a.code)))
            .collect(),
        rows: r.rows.iter().map(|x| report_row(&x.key, &x.name, &x.counts)).collect(),
        total: report_row(tr.t("total"), "", &r.total),
        csv_link,
        error: String::new(),
    };
    html(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    rows: Vec<motcua_store::AuditRow>,
    next: Option<i64>,
}

impl AuditPage {
    fn when(&self, t: &DateTime<Utc>) -> String {
        local(*t)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

pub async fn audit(State(state): State<AppState>, ui: Ui, Query(q): Query<AuditQuery>) -> Response {
    if !perm::may_audit(ui.who.staff.role) {
        return error_page(ui.tr, &Problem::forbidden("the audit log is for chairs, inspectors and administrators"));
    }
    match state.store.audit(q.before, 200).await {
        Ok(rows) => {
            let next = if rows.len() == 200 { rows.last().map(|r| r.id) } else { None };
            html(
                StatusCode::OK,
                &AuditPage { page: Page::staff(ui.tr, ui.tr.t("audit"), "/audit", &ui.who), rows, next },
            )
        }
        Err(e) => error_page(ui.tr, &e.into()),
    }
}

/// Sets the language cookie when a page is asked for with `?lang=`.
pub async fn lang_cookie(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let lang =
        req.uri().query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang="))).and_then(Lang::parse);
    let mut r = next.run(req).await;
    if let Some(l) = lang
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            auth::LANG_COOKIE,
            l.code()
        ))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Role names for the header.
pub fn role_label(tr: Tr, r: Role) -> &'static str {
    match (r, tr.en()) {
        (Role::Desk, false) => "Cán bộ một cửa",
        (Role::Agency, false) => "Chuyên viên",
        (Role::Head, false) => "Lãnh đạo cơ quan",
        (Role::Chair, false) => "Chủ tịch / Thanh tra",
        (Role::Admin, false) => "Quản trị",
        (Role::Desk, true) => "Desk officer",
        (Role::Agency, true) => "Agency officer",
        (Role::Head, true) => "Head of agency",
        (Role::Chair, true) => "Chair / inspector",
        (Role::Admin, true) => "Administrator",
    }
}
