//! The citizen's pages for petitions, complaints and denunciations, no login: file one — about
//! a dossier (after the lookup's code + ID-number check) or in general (name, contact, text,
//! optional dossier code) — and get its receipt code and the due date of the next step; look
//! an item up by its code and the contact given at filing, read its state and the answer, and
//! rate the answer once (satisfied / not satisfied).
//!
//! Every POST checks the public CSRF token and is rate limited per client IP like the lookup.
//! An item's lookup reveals nothing on a mismatch: an unknown code and a wrong contact get the
//! same "not found" answer.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use motcua_core::petition::{ItemChannel, ItemCode, ItemEvent, ItemEventKind, ItemStatus, Kind, NextStep};
use motcua_store::{ItemFilter, ItemRow, PetitionStore, StoreError};
use serde::Deserialize;

use crate::auth::{check_public_csrf, public_csrf};
use crate::i18n::{Lang, Tr};
use crate::page::{Form, Page, html};
use crate::petitions::{FileBody, file_item};
use crate::problem::Problem;
use crate::routing::Routes;
use crate::shared::{client_ip, local, local_opt};
use crate::state::AppState;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .get("/tra-cuu/don", form_page)
        .post("/tra-cuu/don", file_submit)
        .post("/tra-cuu/don/xem", lookup_submit)
        .post("/tra-cuu/don/danh-gia", rate_submit)
}

/// An item as the citizen sees it.
#[derive(Debug, Clone)]
pub struct PublicItem {
    pub code: String,
    pub kind: String,
    pub status: String,
    pub received_at: String,
    /// What is owed next and by when (empty once closed).
    pub next_step: String,
    pub next_due: String,
    pub answer: Option<String>,
    pub answered_at: String,
    /// Forwarded or guided to.
    pub sent_to: Option<String>,
    pub reason: Option<String>,
    pub can_rate: bool,
    pub satisfied: Option<bool>,
}

fn kind_label(tr: Tr, k: Kind) -> String {
    if tr.en() { k.name().to_string() } else { k.name_vi().to_string() }
}

fn status_label(tr: Tr, s: ItemStatus) -> String {
    if tr.en() { s.name().replace('_', " ") } else { s.name_vi().to_string() }
}

fn step_label(tr: Tr, s: NextStep) -> String {
    tr.t(match s {
        NextStep::Decide => "petition_step_decide",
        NextStep::Resolve => "petition_step_resolve",
    })
    .to_string()
}

impl PublicItem {
    pub fn of(tr: Tr, r: &ItemRow) -> Self {
        Self {
            code: r.code.to_string(),
            kind: kind_label(tr, r.kind),
            status: status_label(tr, r.status),
            received_at: local(r.received_at),
            next_step: r.next_step.map(|s| step_label(tr, s)).unwrap_or_default(),
            next_due: local_opt(r.next_due_at),
            answer: r.answer.clone(),
            answered_at: if r.answer.is_some() { local_opt(r.resolved_at) } else { String::new() },
            sent_to: r.sent_to.clone(),
            reason: r.reason.clone().filter(|_| r.status != ItemStatus::Answered),
            can_rate: r.status == ItemStatus::Answered && r.satisfied.is_none(),
            satisfied: r.satisfied,
        }
    }
}

/// The items about a dossier, for its lookup page.
pub async fn for_dossier(
    state: &AppState,
    tr: Tr,
    code: &motcua_core::DossierCode,
) -> Result<Vec<PublicItem>, Problem> {
    let filter = ItemFilter { dossier: Some(code.clone()), limit: 50, ..ItemFilter::default() };
    Ok(state.store.items(&filter).await?.iter().map(|r| PublicItem::of(tr, r)).collect())
}

/// The receipt of a filing.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub code: String,
    pub kind: String,
    pub agency: String,
    pub next_step: String,
    pub next_due: String,
}

#[derive(Template)]
#[template(path = "petition_public.html")]
struct PetitionPage {
    page: Page,
    public_csrf: String,
    /// The dossier code to prefill.
    dossier: String,
    agencies: Vec<(String, String)>,
    message: String,
    ok: bool,
    receipt: Option<Receipt>,
    found: Option<PublicItem>,
    contact: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct FormQuery {
    ma: Option<String>,
    lang: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FileForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    text: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ItemLookupForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    satisfied: Option<String>,
}

fn with_cookie(mut r: Response, cookie: Option<String>) -> Response {
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

fn page_for(state: &AppState, headers: &HeaderMap, lang: Option<&str>) -> (PetitionPage, Option<String>) {
    let tr = Tr::new(Lang::of(headers, lang));
    let (csrf, set) = public_csrf(state, headers);
    let today = motcua_core::calendar::to_local(state.now()).date();
    let agencies = state
        .domain
        .catalog
        .agencies_in_force(today)
        .map(|a| (a.code.to_string(), if tr.en() { a.name_en.clone() } else { a.name.clone() }))
        .collect();
    let page = PetitionPage {
        page: Page::public(tr, tr.t("petition_public"), "/tra-cuu/don"),
        public_csrf: csrf,
        dossier: String::new(),
        agencies,
        message: String::new(),
        ok: false,
        receipt: None,
        found: None,
        contact: String::new(),
    };
    (page, set)
}

pub async fn form_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<FormQuery>) -> Response {
    let (mut page, set) = page_for(&state, &headers, q.lang.as_deref());
    page.dossier = q.ma.unwrap_or_default().trim().chars().take(40).collect();
    with_cookie(html(StatusCode::OK, &page), set)
}

/// The CSRF and rate checks every POST passes first; the answer to send when one fails.
fn refused(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    csrf: &str,
    page: &mut PetitionPage,
) -> Option<StatusCode> {
    let tr = page.page.tr;
    if check_public_csrf(headers, csrf).is_err() {
        page.message = tr.t("error").to_string();
        return Some(StatusCode::FORBIDDEN);
    }
    if !state.limiter.allow(client_ip(&state.config.trusted_proxies, headers, peer)) {
        page.message = tr.t("rate_limited").to_string();
        return Some(StatusCode::TOO_MANY_REQUESTS);
    }
    None
}

fn blank(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

pub async fn file_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<FileForm>,
) -> Response {
    let (mut page, set) = page_for(&state, &headers, None);
    let tr = page.page.tr;
    page.dossier = f.code.trim().chars().take(40).collect();
    if let Some(status) = refused(&state, &headers, peer, &f.csrf, &mut page) {
        return with_cookie(html(status, &page), set);
    }
    let fail = |mut page: PetitionPage, status: StatusCode, message: String| {
        page.message = message;
        with_cookie(html(status, &page), set.clone())
    };
    if blank(&f.email).is_none() && blank(&f.phone).is_none() {
        return fail(page, StatusCode::UNPROCESSABLE_ENTITY, tr.t("petition_needs_contact").to_string());
    }
    // About a dossier: the lookup's check of the code and the applicant's ID number first.
    let dossier = match blank(&f.code) {
        None => None,
        Some(code) => match crate::public::find(&state, &code, &f.id_number, tr.lang).await {
            Ok(Some(_)) => Some(code),
            Ok(None) => return fail(page, StatusCode::NOT_FOUND, tr.t("lookup_not_found").to_string()),
            Err(p) => return fail(page, p.status(), p.detail.clone()),
        },
    };
    if dossier.is_none() && blank(&f.agency).is_none() {
        return fail(page, StatusCode::UNPROCESSABLE_ENTITY, tr.t("petition_needs_agency").to_string());
    }
    let body = FileBody {
        kind: blank(&f.kind).unwrap_or_else(|| "petition".into()),
        applicant: f.name.clone(),
        text: f.text.clone(),
        email: blank(&f.email),
        phone: blank(&f.phone),
        agency: if dossier.is_some() { None } else { blank(&f.agency) },
        dossier,
        channel: Some(ItemChannel::Online.name().into()),
    };
    let item = match file_item(&state, &body, None, ItemChannel::Online).await {
        Ok(i) => i,
        Err(p) => return fail(page, p.status(), p.detail.clone()),
    };
    let next = item.next_step();
    page.receipt = Some(Receipt {
        code: item.code.as_ref().map(ToString::to_string).unwrap_or_default(),
        kind: item.kind.map(|k| kind_label(tr, k)).unwrap_or_default(),
        agency: item
            .agency
            .as_ref()
            .map(|a| {
                state
                    .domain
                    .catalog
                    .agency(a)
                    .map(|x| if tr.en() { x.name_en.clone() } else { x.name.clone() })
                    .unwrap_or_else(|| a.to_string())
            })
            .unwrap_or_default(),
        next_step: next.map(|n| step_label(tr, n.0)).unwrap_or_default(),
        next_due: local_opt(next.map(|n| n.1)),
    });
    page.ok = true;
    page.message = tr.t("petition_filed").to_string();
    page.dossier = String::new();
    with_cookie(html(StatusCode::CREATED, &page), set)
}

/// The item with this code whose applicant gave this contact (e-mail, or phone compared by its
/// digits), or `None` — the same for an unknown code, a malformed one and a wrong contact.
async fn find_item(state: &AppState, code: &str, contact: &str) -> Result<Option<ItemRow>, Problem> {
    let Ok(code) = code.trim().parse::<ItemCode>() else { return Ok(None) };
    let Some(row) = state.store.item_row(&code).await? else { return Ok(None) };
    let typed = contact.trim();
    let by_email = row.applicant_email.as_deref().is_some_and(|e| !typed.is_empty() && e.eq_ignore_ascii_case(typed));
    let by_phone = motcua_core::Phone::search_key(typed).is_some_and(|t| {
        row.applicant_phone.as_deref().and_then(motcua_core::Phone::search_key).is_some_and(|p| p == t)
    });
    Ok((by_email || by_phone).then_some(row))
}

async fn lookup_answer(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    f: &ItemLookupForm,
    rating: bool,
) -> Response {
    let (mut page, set) = page_for(state, headers, None);
    let tr = page.page.tr;
    if let Some(status) = refused(state, headers, peer, &f.csrf, &mut page) {
        return with_cookie(html(status, &page), set);
    }
    let row = match find_item(state, &f.code, &f.contact).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            page.message = tr.t("petition_not_found").to_string();
            return with_cookie(html(StatusCode::NOT_FOUND, &page), set);
        }
        Err(p) => {
            page.message = p.detail.clone();
            return with_cookie(html(p.status(), &page), set);
        }
    };
    let mut row = row;
    let mut status = StatusCode::OK;
    if rating {
        let satisfied = match f.satisfied.as_deref().map(str::trim) {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        };
        match satisfied {
            None => {
                page.message = tr.t("petition_rating_needs_choice").to_string();
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Some(satisfied) => {
                let now = state.now();
                let event = ItemEvent::new(now, None, ItemEventKind::Rated { satisfied });
                match state.store.record_item(&state.domain, &row.code, event, now).await {
                    Ok(_) => {
                        page.ok = true;
                        page.message = tr.t("thanks_rating").to_string();
                        row.satisfied = Some(satisfied);
                    }
                    Err(StoreError::ItemRejected(_)) => {
                        page.message = tr.t("petition_already_rated").to_string();
                        status = StatusCode::CONFLICT;
                    }
                    Err(e) => {
                        let p: Problem = e.into();
                        page.message = p.detail.clone();
                        return with_cookie(html(p.status(), &page), set);
                    }
                }
            }
        }
    }
    page.contact = f.contact.trim().to_string();
    page.found = Some(PublicItem::of(tr, &row));
    with_cookie(html(status, &page), set)
}

pub async fn lookup_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<ItemLookupForm>,
) -> Response {
    lookup_answer(&state, &headers, peer, &f, false).await
}

pub async fn rate_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<ItemLookupForm>,
) -> Response {
    lookup_answer(&state, &headers, peer, &f, true).await
}
