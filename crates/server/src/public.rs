//! The public pages, no login: the citizen's lookup by dossier code and ID number (with the
//! rating once the result is returned) and the on-time board for the desk's TV.
//!
//! The lookup reveals nothing on a mismatch: an unknown code, a malformed code and a wrong ID
//! number all get the same "not found" answer after the same work (the same one-row database
//! read, malformed code or not, and a constant-time comparison of digests), and lookups are
//! rate limited per client IP.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use motcua_core::analysis::OpenState;
use motcua_core::calendar::to_local;
use motcua_core::deadlines::format_working_minutes;
use motcua_core::{AgencyCode, DossierCode, Status};
use motcua_store::report::{GroupBy, ReportQuery, period, report};
use motcua_store::{Rating, StaffStore, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{check_public_csrf, public_csrf};
use crate::i18n::{Lang, Tr};
use crate::input::LookupForm;
use crate::page::{Form, Page, error_page, html};
use crate::problem::Problem;
use crate::routing::Routes;
use crate::shared::{client_ip, iso_local, local, local_opt};
use crate::state::AppState;
use crate::views;

pub const NOT_FOUND_TEXT_EN: &str = "no dossier matches this code and ID number";

/// One step of the dossier as the citizen sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicStep {
    pub unit: String,
    pub action: String,
    pub from: String,
    pub until: String,
    pub timeliness: String,
    /// "còn 0 ngày 1 giờ 0 phút" while the unit holds the dossier.
    pub remaining: String,
}

/// The papers a dossier waiting for a supplement is asked for, and why (the lookup and the
/// dossier page).
#[derive(Debug, Clone, Serialize)]
pub struct SupplementAsked {
    /// When it was asked, `dd/mm/yyyy HH:MM` at +07:00.
    pub requested_at: String,
    pub reason: String,
    pub documents: Vec<String>,
}

impl SupplementAsked {
    /// The supplement `d` waits for, from its log; `None` unless it waits for one.
    pub fn of(state: &AppState, d: &motcua_core::Dossier, events: &[motcua_core::Event]) -> Option<Self> {
        motcua_core::letters::pending_supplement(&state.domain, d, events).map(|s| Self {
            requested_at: local(s.requested_at),
            reason: s.reason,
            documents: s.documents,
        })
    }
}

/// Why an open dossier waits or is late, as its latest reason code says: a citizen-caused wait
/// is shown as the citizen's ("Chờ công dân bổ sung"), an agency-caused one as the agency's.
#[derive(Debug, Clone, Serialize)]
pub struct PublicDelay {
    /// The reason code (`citizen_incomplete`, `agency_workload`, …).
    pub code: String,
    /// `citizen` or `agency`.
    pub cause: String,
    /// The code's words in the page's language.
    pub reason: String,
    /// The phrase shown: "Chờ công dân bổ sung", "Chậm do công dân", "Chậm do cơ quan giải quyết".
    pub text: String,
}

impl PublicDelay {
    fn of(state: &AppState, d: &motcua_core::Dossier, lang: Lang) -> Option<Self> {
        if !d.status.is_some_and(Status::is_open) {
            return None;
        }
        let code = d.delay_reason.as_deref()?;
        let reason = state.domain.delay_reasons.get(code).ok()?;
        let tr = crate::i18n::Tr::new(lang);
        let key = match reason.cause {
            motcua_core::Cause::Citizen if d.status == Some(Status::SupplementRequested) => "delay_citizen_supplement",
            motcua_core::Cause::Citizen => "delay_citizen",
            motcua_core::Cause::Agency => "delay_agency",
        };
        Some(Self {
            code: code.to_string(),
            cause: reason.cause.name().to_string(),
            reason: reason.label(lang.core()).to_string(),
            text: tr.t(key).to_string(),
        })
    }
}

/// The citizen's time in the hall before the dossier was received (from the ticket it was
/// received from): a separate figure, the statutory clock starts at the receipt.
#[derive(Debug, Clone, Serialize)]
pub struct PublicHallTime {
    /// The ticket id (`HCC-260310-A-023`) and the number the citizen held (`A-023`).
    pub ticket: String,
    pub number: String,
    /// `dd/mm/yyyy HH:MM` at +07:00.
    pub issued_at: String,
    pub called_at: String,
    pub received_at: String,
    /// Whole minutes from the number to the first call (`None`: never called).
    pub wait_to_call_minutes: Option<i64>,
    /// Whole minutes from the number to the receipt.
    pub wait_to_receipt_minutes: i64,
    /// That the figure is not part of the statutory time limit, in the page's language.
    pub note: String,
}

impl PublicHallTime {
    pub fn of(h: &motcua_core::hall::HallTime, tr: Tr) -> Self {
        Self {
            ticket: h.ticket.to_string(),
            number: h.number.clone(),
            issued_at: local(h.issued_at),
            called_at: local_opt(h.called_at),
            received_at: local(h.received_at),
            wait_to_call_minutes: h.wait_to_call_minutes,
            wait_to_receipt_minutes: h.wait_to_receipt_minutes,
            note: tr.t("hall_time_note").to_string(),
        }
    }
}

/// What the lookup shows.
#[derive(Debug, Clone, Serialize)]
pub struct PublicDossier {
    pub code: String,
    pub procedure: String,
    pub procedure_name: String,
    pub receiving_unit: String,
    pub status: u8,
    pub status_name: String,
    pub received_at: String,
    pub due_at: String,
    pub original_due_at: String,
    pub rescheduled_to: String,
    pub finished_at: String,
    pub returned_at: String,
    pub overdue: bool,
    /// Waiting for the citizen (supplement, payment): the clock is stopped and `remaining` is
    /// what was left when it stopped.
    pub waiting_for_citizen: bool,
    pub remaining: String,
    /// While the dossier waits for a supplement: what is asked and why.
    pub supplement: Option<SupplementAsked>,
    /// While the dossier is open and its latest delay carried a reason code: who caused it.
    pub delay: Option<PublicDelay>,
    pub steps: Vec<PublicStep>,
    pub explanation: Vec<String>,
    pub can_rate: bool,
    pub rating: Option<u8>,
    /// Received from a hall ticket: the time waited in the hall before the clock started.
    pub hall_time: Option<PublicHallTime>,
}

/// Whether `typed` is the applicant's ID number `stored`, in a time that depends on neither:
/// both, padded to 12 digits with leading zeros as before, are hashed (SHA-256) and the digests
/// compared byte by byte without stopping at the first difference. With nothing stored the
/// typed number is compared all the same, and the answer is no.
fn same_id_number(stored: Option<&str>, typed: &str) -> bool {
    let digest = |s: &str| Sha256::digest(format!("{s:0>12}").as_bytes());
    let (want, got) = (digest(stored.unwrap_or("")), digest(typed));
    let same = want.iter().zip(got.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    same && stored.is_some_and(|s| !s.is_empty())
}

/// The dossier with this code whose applicant has this ID number, as the public sees it.
///
/// A malformed code, an unknown code and a right code with a wrong ID number do the same work
/// and get the same answer (`None`): the code is looked up as typed, malformed or not (one row
/// either way, see `lookup_id_number`), and the ID numbers are compared in constant time
/// ([`same_id_number`]); only a match goes on to load the dossier.
pub async fn find(state: &AppState, code: &str, id_number: &str, lang: Lang) -> Result<Option<PublicDossier>, Problem> {
    let tr = Tr::new(lang);
    let typed = code.trim();
    let stored = state.store.lookup_id_number(typed).await?;
    if !same_id_number(stored.as_deref(), id_number.trim()) {
        return Ok(None);
    }
    let Ok(code) = typed.parse::<DossierCode>() else { return Ok(None) };
    let loaded = views::load(state, &code, state.now()).await?;
    let (d, v) = (&loaded.dossier, &loaded.view);
    let name_of = |a: &AgencyCode| {
        state
            .domain
            .catalog
            .agency(a)
            .map(|x| if lang == Lang::En { x.name_en.clone() } else { x.name.clone() })
            .unwrap_or_else(|| a.to_string())
    };
    let steps = v
        .dwell
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let action = if i == 0 {
                tr.t("step_receive").to_string()
            } else {
                format!(
                    "{} {}",
                    tr.t("step_handoff"),
                    v.dwell.get(i - 1).map(|p| name_of(&p.agency)).unwrap_or_default()
                )
            };
            let remaining = if s.until.is_none() && d.status.is_some_and(Status::is_open) {
                format_working_minutes(s.budget_minutes - s.working_minutes, lang.core())
            } else {
                String::new()
            };
            PublicStep {
                unit: name_of(&s.agency),
                action,
                from: iso_local(&s.from),
                until: s.until.as_deref().map(iso_local).unwrap_or_default(),
                timeliness: s.timeliness.map(|t| tr.t(t).to_string()).unwrap_or_else(|| tr.t("holding").to_string()),
                remaining,
            }
        })
        .collect();
    let rating = state.store.rating(&code).await?;
    let hall_time = motcua_store::hall::dossier_hall_time(&state.store, &code, d.received_at).await?;
    Ok(Some(PublicDossier {
        code: code.to_string(),
        procedure: v.procedure.to_string(),
        procedure_name: state
            .domain
            .catalog
            .procedure(&v.procedure)
            .map(|p| if lang == Lang::En { p.name_en.clone() } else { p.name.clone() })
            .unwrap_or_default(),
        receiving_unit: name_of(&v.receiving_agency),
        status: v.status,
        status_name: if lang == Lang::En { v.status_name.replace('_', " ") } else { v.status_name_vi.to_string() },
        received_at: local_opt(d.received_at),
        due_at: local_opt(d.due_at),
        original_due_at: local_opt(d.original_due_at),
        rescheduled_to: local_opt(d.rescheduled_to()),
        finished_at: local_opt(d.finished_at),
        returned_at: local_opt(d.returned_at),
        overdue: v.overdue,
        waiting_for_citizen: v.state == Some(OpenState::WaitingForCitizen.name()),
        remaining: v.remaining_working_minutes.map(|m| format_working_minutes(m, lang.core())).unwrap_or_default(),
        supplement: SupplementAsked::of(state, d, &loaded.events),
        delay: PublicDelay::of(state, d, lang),
        steps,
        explanation: if lang == Lang::En { v.explanation_en.clone() } else { v.explanation.clone() },
        can_rate: d.status == Some(Status::Returned) && rating.is_none(),
        rating: rating.map(|r| r.score),
        hall_time: hall_time.as_ref().map(|h| PublicHallTime::of(h, tr)),
    }))
}

/// One agency on the board.
#[derive(Debug, Clone, Serialize)]
pub struct BoardRow {
    pub agency: String,
    pub name: String,
    pub received: u64,
    pub finished: u64,
    pub on_time: u64,
    pub late: u64,
    pub overdue: u64,
    /// Waiting for the citizen (supplement, payment) with the clock stopped: not the agency's
    /// delay.
    pub waiting_for_citizen: u64,
    /// (early + on time) ÷ finished, percent with 2 decimals.
    pub on_time_rate: String,
    /// Decision 766 indicator 2.1, percent.
    pub national_rate: String,
    pub ratings: u64,
    /// 4–5 stars ÷ ratings, percent ("—" with no rating).
    pub satisfaction: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: String,
    pub rows: Vec<BoardRow>,
    pub total: BoardRow,
}

fn pct(n: u64, d: u64) -> String {
    if d == 0 { "—".into() } else { format!("{:.2} %", n as f64 * 100.0 / d as f64) }
}

/// This month's figures per agency, from the report read model and the ratings.
pub async fn board(state: &AppState) -> Result<Board, Problem> {
    let now = state.now();
    let today = to_local(now).date();
    let from = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let r = report(&state.store, &state.domain, &ReportQuery::new(from, today, GroupBy::Agency, now)).await?;
    let (p0, p1) = period(from, today, now);
    let ratings = state.store.rating_counts(p0, p1 + Duration::seconds(1)).await?;
    let mut total_ratings = motcua_store::RatingCounts::default();
    let row = |key: &str, name: String, c: &motcua_core::Counts, rc: Option<&motcua_store::RatingCounts>| BoardRow {
        agency: key.to_string(),
        name,
        received: c.received,
        finished: c.finished,
        on_time: c.early + c.on_time,
        late: c.late,
        overdue: c.overdue,
        waiting_for_citizen: c.waiting,
        on_time_rate: pct(c.early + c.on_time, c.finished),
        national_rate: pct(c.national.numerator, c.national.denominator),
        ratings: rc.map_or(0, |r| r.ratings),
        satisfaction: rc.map_or_else(|| "—".into(), |r| pct(r.satisfied, r.ratings)),
    };
    let mut rows = Vec::new();
    for rr in &r.rows {
        let rc = ratings.iter().find(|(a, _)| a.as_str() == rr.key).map(|(_, c)| c);
        if let Some(c) = rc {
            total_ratings.ratings += c.ratings;
            total_ratings.satisfied += c.satisfied;
            total_ratings.dissatisfied += c.dissatisfied;
            total_ratings.score_sum += c.score_sum;
        }
        rows.push(row(&rr.key, rr.name.clone(), &rr.counts, rc));
    }
    let total = row("total", String::new(), &r.total, Some(&total_ratings));
    Ok(Board { from, to: today, as_of: local(now), rows, total })
}

// ------------------------------------------------------------------------------------------
// Pages

/// The public pages: the lookup with its rating form, and the board.
pub fn routes() -> Routes<AppState> {
    Routes::new()
        .get("/tra-cuu", lookup_form)
        .post("/tra-cuu", lookup_submit)
        .post("/tra-cuu/danh-gia", rate_submit)
        .get("/bang-tin", board_page)
}

#[derive(Debug, Default, Deserialize)]
pub struct LookupQuery {
    ma: Option<String>,
    lang: Option<String>,
}

#[derive(Template)]
#[template(path = "lookup.html")]
struct LookupPage {
    page: Page,
    code: String,
    public_csrf: String,
    result: Option<PublicDossier>,
    id_number: String,
    message: String,
    rated: bool,
    /// Petitions, complaints and denunciations about the dossier, with their answers.
    items: Vec<crate::public_items::PublicItem>,
}

fn with_cookie(mut r: Response, cookie: Option<String>) -> Response {
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

pub async fn lookup_form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LookupQuery>) -> Response {
    let tr = Tr::new(Lang::of(&headers, q.lang.as_deref()));
    let (csrf, set) = public_csrf(&state, &headers);
    let page = LookupPage {
        page: Page::public(tr, tr.t("lookup"), "/tra-cuu"),
        code: q.ma.unwrap_or_default().trim().to_string(),
        public_csrf: csrf,
        result: None,
        id_number: String::new(),
        message: String::new(),
        rated: false,
        items: Vec::new(),
    };
    with_cookie(html(StatusCode::OK, &page), set)
}

async fn lookup_answer(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    f: &LookupForm,
    rating: bool,
) -> Response {
    let tr = Tr::new(Lang::of(headers, None));
    let (csrf, set) = public_csrf(state, headers);
    let mut page = LookupPage {
        page: Page::public(tr, tr.t("lookup"), "/tra-cuu"),
        code: f.code.trim().to_string(),
        public_csrf: csrf,
        result: None,
        id_number: String::new(),
        message: String::new(),
        rated: false,
        items: Vec::new(),
    };
    if check_public_csrf(headers, &f.csrf).is_err() {
        page.message = tr.t("error").to_string();
        return with_cookie(html(StatusCode::FORBIDDEN, &page), set);
    }
    if !state.limiter.allow(client_ip(&state.config.trusted_proxies, headers, peer)) {
        page.message = tr.t("rate_limited").to_string();
        return with_cookie(html(StatusCode::TOO_MANY_REQUESTS, &page), set);
    }
    let found = match find(state, &f.code, &f.id_number, tr.lang).await {
        Ok(found) => found,
        Err(p) => return error_page(tr, &p),
    };
    let Some(mut found) = found else {
        page.message = tr.t("lookup_not_found").to_string();
        return with_cookie(html(StatusCode::NOT_FOUND, &page), set);
    };
    let mut status = StatusCode::OK;
    if rating {
        match (f.score(), found.can_rate, found.code.parse::<DossierCode>()) {
            (Some(score), true, Ok(code)) => {
                let rating = Rating { code, score, comment: f.comment(), rated_at: state.now() };
                match state.store.rate(&rating).await {
                    Ok(true) => {
                        page.rated = true;
                        page.message = tr.t("thanks_rating").to_string();
                        found.can_rate = false;
                        found.rating = Some(score);
                    }
                    Ok(false) => page.message = tr.t("already_rated").to_string(),
                    Err(e) => return error_page(tr, &e.into()),
                }
            }
            (_, false, _) => page.message = tr.t("already_rated").to_string(),
            _ => {
                // No star chosen (the form has no default): nothing is written, the form is
                // shown again with what to do.
                page.message = tr.t("rating_needs_stars").to_string();
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
        }
    }
    page.id_number = f.id_number.trim().to_string();
    if let Ok(code) = found.code.parse::<DossierCode>() {
        match crate::public_items::for_dossier(state, tr, &code).await {
            Ok(items) => page.items = items,
            Err(p) => return error_page(tr, &p),
        }
    }
    page.result = Some(found);
    with_cookie(html(status, &page), set)
}

pub async fn lookup_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LookupForm>,
) -> Response {
    lookup_answer(&state, &headers, peer, &f, false).await
}

pub async fn rate_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LookupForm>,
) -> Response {
    lookup_answer(&state, &headers, peer, &f, true).await
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    page: Page,
    board: Board,
    period: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

pub async fn board_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let tr = Tr::new(Lang::of(&headers, q.lang.as_deref()));
    match board(&state).await {
        Ok(b) => {
            let period = format!("{} – {}", b.from.format("%d/%m/%Y"), b.to.format("%d/%m/%Y"));
            html(
                StatusCode::OK,
                &BoardPage { page: Page::public(tr, tr.t("board_title"), "/bang-tin"), board: b, period },
            )
        }
        Err(p) => error_page(tr, &p),
    }
}

impl IntoResponse for Board {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}
