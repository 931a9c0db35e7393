//! The JSON API under `/api/v1`: every desk command and read, online submissions, the public
//! lookup and board, errors as problem+json. Staff authenticate with a session (`POST
//! /api/v1/session`, then the cookie and `X-CSRF-Token` on writes) or an API token
//! (`Authorization: Bearer mct_…`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use motcua_store::{DeskList, StaffStore, Store};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::net::SocketAddr;

use crate::auth::{self, Principal, Via};
use crate::input::{self, ActionFields, IntakeFields, LoginBody, LookupBody, NewTokenBody};
use crate::perm::{self, Action, PersonalData};
use crate::privacy;
use crate::problem::{Problem, ProblemKind};
use crate::public;
use crate::report::{
    BackdatedParams, ReportParams, WatchDossiersParams, WatchParams, build_backdated, build_report,
    build_watch_dossiers, build_watchlist,
};
use crate::routing::Routes;
use crate::shared::{self, as_of, csv_response};
use crate::state::AppState;
use crate::views::{self, Written};

/// A JSON object body whose errors are problems, read by [`input::json_body`] (not JSON: 400;
/// another JSON value than an object, or a field of the wrong type: 422); an empty body is
/// `T::default()`.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(ProblemKind::PayloadTooLarge, e.body_text())
            } else {
                Problem::new(ProblemKind::BadRequest, e.body_text())
            }
        })?;
        input::json_body(&bytes).map(Body)
    }
}

/// A query string whose errors are problems: a parameter that does not parse (`limit=abc`) is
/// a 400 `bad-request` naming it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| Problem::new(ProblemKind::BadRequest, format!("invalid query string: {}", e.body_text())))
    }
}

/// Path parameters whose errors are problems: a segment that is not UTF-8 after
/// percent-decoding is a 400 `bad-request`.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| Problem::new(ProblemKind::BadRequest, format!("invalid path: {}", e.body_text())))
    }
}

/// The API's routes.
pub fn routes() -> Routes<AppState> {
    Routes::new()
        .get("/api/v1/openapi.json", openapi)
        .post("/api/v1/session", login)
        .delete("/api/v1/session", logout)
        .get("/api/v1/me", me)
        .post("/api/v1/tokens", create_token)
        .get("/api/v1/tokens", own_tokens)
        .delete("/api/v1/tokens/{id}", revoke_token)
        .get("/api/v1/catalog", catalog)
        .post("/api/v1/dossiers", intake)
        .get("/api/v1/dossiers", search)
        .post("/api/v1/submissions", submit)
        .get("/api/v1/submissions", submissions)
        .get("/api/v1/dossiers/{code}", show)
        .get("/api/v1/dossiers/{code}/events", events)
        .post("/api/v1/dossiers/{code}/{action}", transition)
        .get("/api/v1/queue", queue)
        .get("/api/v1/lists/sent", sent_list)
        .get("/api/v1/lists/ready", ready_list)
        .get("/api/v1/lists/waiting", waiting_list)
        .get("/api/v1/report", report_handler)
        .get("/api/v1/scorecard", scorecard)
        .get("/api/v1/audit", audit)
        .get("/api/v1/audit/personal-data", personal_data_reads)
        .get("/api/v1/backdated", backdated)
        .get("/api/v1/watchlist", watchlist)
        .get("/api/v1/watchlist/dossiers", watchlist_dossiers)
        .get("/api/v1/staff", staff)
        .post("/api/v1/staff/{username}/unlock", unlock_staff)
        .get("/api/v1/staff/{username}/tokens", staff_tokens)
        .post("/api/v1/lookup", lookup)
        .get("/api/v1/board", board)
}

async fn openapi(State(state): State<AppState>) -> Response {
    let mut r = Json(crate::openapi::document(&state.domain)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(b): Body<LoginBody>,
) -> Result<Response, Problem> {
    let client = shared::client_ip(&state.config.trusted_proxies, &headers, peer);
    let Some(staff) = auth::check_login(&state, &b.username, &b.password, client).await? else {
        return Err(Problem::new(ProblemKind::Unauthorized, "wrong username or password"));
    };
    let (cookie, csrf) = auth::open_session(&state, &staff).await?;
    let mut r = Json(json!({"staff": staff, "csrf_token": csrf})).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn logout(State(state): State<AppState>, who: Principal) -> Result<StatusCode, Problem> {
    if let Via::Session { id_hash, .. } = &who.via {
        state.store.delete_session(id_hash).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn me(who: Principal) -> Json<Value> {
    Json(json!({"staff": who.staff, "csrf_token": who.csrf()}))
}

/// A new API token for the authenticated account; its secret is in this answer only. Only a
/// person logged in with the password makes one: a token cannot make tokens, so a leaked token
/// cannot leave others behind that outlive its revocation.
async fn create_token(
    State(state): State<AppState>,
    who: Principal,
    Body(b): Body<NewTokenBody>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    if who.via == Via::Token {
        return Err(Problem::forbidden(
            "an API token cannot make tokens: log in with the password, or use `motcua staff token create`",
        ));
    }
    let t = auth::mint_token(&state.store, who.staff.id, &b.name, b.expires_in_days, state.now()).await?;
    let expires_at = motcua_core::calendar::at_vn(t.expires_at).to_rfc3339();
    Ok((StatusCode::CREATED, Json(json!({"id": t.id, "name": t.name, "expires_at": expires_at, "token": t.secret}))))
}

fn tokens_json(state: &AppState, tokens: &[motcua_store::TokenRow]) -> Json<Value> {
    let now = state.now();
    Json(json!({"tokens": tokens.iter().map(|t| auth::token_json(t, now)).collect::<Vec<_>>()}))
}

/// The authenticated account's tokens, revoked and expired ones included; never a secret.
async fn own_tokens(State(state): State<AppState>, who: Principal) -> Result<Json<Value>, Problem> {
    Ok(tokens_json(&state, &state.store.tokens(Some(who.staff.id)).await?))
}

/// Any account's tokens (administrator).
async fn staff_tokens(
    State(state): State<AppState>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Json<Value>, Problem> {
    if !perm::may_admin(who.staff.role) {
        return Err(Problem::forbidden("another account's tokens are for administrators"));
    }
    let Some((staff, _)) = state.store.staff_credentials(&username).await? else {
        return Err(Problem::not_found(format!("no account {username:?}")));
    };
    Ok(tokens_json(&state, &state.store.tokens(Some(staff.id)).await?))
}

/// Revokes one of the account's own tokens, or (an administrator) any account's. A token of
/// another account is "not found" to anyone else.
async fn revoke_token(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let not_found = || Problem::not_found(format!("no token {id:?} of this account"));
    let n: i64 = id.parse().map_err(|_| not_found())?;
    let owner = if perm::may_admin(who.staff.role) { None } else { Some(who.staff.id) };
    let Some(t) = state.store.revoke_token(n, owner, state.now()).await? else { return Err(not_found()) };
    Ok(Json(auth::token_json(&t, state.now())))
}

async fn catalog(State(state): State<AppState>, _who: Principal) -> Json<motcua_core::view::CatalogView> {
    Json(motcua_core::view::CatalogView::of(&state.domain.catalog))
}

/// The answer to a write: the dossier as it is now, the event just recorded (as stated and as
/// recorded), and where to see it.
fn written(state: &AppState, w: &Written, status: StatusCode) -> Result<Response, Problem> {
    let d = &w.dossier;
    let view = motcua_core::view::dossier_view(&state.domain, d, state.now().max(d.last_event_at.unwrap_or_default()))?;
    let code = d.code.as_ref().map(ToString::to_string).unwrap_or_default();
    let mut body = serde_json::to_value(&view).map_err(Problem::internal)?;
    body["event"] = serde_json::to_value(&w.event).map_err(Problem::internal)?;
    body["links"] = json!({
        "self": format!("/api/v1/dossiers/{code}"),
        "page": format!("/dossiers/{code}"),
        "receipt": format!("/dossiers/{code}/receipt"),
        "lookup": shared::lookup_url(state, &code),
    });
    let mut r = (status, Json(body)).into_response();
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/dossiers/{code}"))
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

async fn intake(
    State(state): State<AppState>,
    who: Principal,
    Body(b): Body<IntakeFields>,
) -> Result<Response, Problem> {
    let d = views::open(&state, &who, &b, Action::Intake).await?;
    written(&state, &d, StatusCode::CREATED)
}

async fn submit(
    State(state): State<AppState>,
    who: Principal,
    Body(b): Body<IntakeFields>,
) -> Result<Response, Problem> {
    let d = views::open(&state, &who, &b, Action::Submit).await?;
    written(&state, &d, StatusCode::CREATED)
}

/// Online submissions waiting at the account's desks (or at one it names; the chair's, with
/// none named, at every desk of the city), a page at a time with their count.
async fn submissions(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, Problem> {
    let whose = views::Whose::of(&state, &who.staff, q.agency.as_deref())?;
    let page =
        views::desk_list(&state, &who.staff, DeskList::Online, &whose, views::Paging::new(q.page, q.per_page)).await?;
    let mut body = place_json(&page.place);
    body["scope"] = json!(whose.name());
    body["agencies"] = json!(whose.agencies());
    body["submissions"] = serde_json::to_value(&page.rows).map_err(Problem::internal)?;
    Ok(Json(body))
}

#[derive(Debug, Default, Deserialize)]
struct AsOf {
    as_of: Option<String>,
}

/// The dossier; its personal data as [`perm::personal_data`] decides (`personal_data`:
/// "shown" or "masked").
async fn show(
    State(state): State<AppState>,
    who: Principal,
    Path(code): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Json<Value>, Problem> {
    let code = views::parse_code(&code)?;
    let as_of = as_of(&state, q.as_of.as_deref())?;
    let (loaded, access) = views::load_for(&state, &who.staff, &code, as_of, "GET /api/v1/dossiers/{code}").await?;
    let mut v = serde_json::to_value(&loaded.view).map_err(Problem::internal)?;
    v["applicant_details"] = serde_json::to_value(&loaded.dossier.applicant).map_err(Problem::internal)?;
    v["personal_data"] = json!(privacy::label(access != PersonalData::Masked));
    v["log"] = serde_json::to_value(&loaded.log).map_err(Problem::internal)?;
    Ok(Json(v))
}

async fn events(
    State(state): State<AppState>,
    who: Principal,
    Path(code): Path<String>,
) -> Result<Json<Value>, Problem> {
    let code = views::parse_code(&code)?;
    let mut events = state.store.events(&code).await?;
    if events.is_empty() {
        return Err(Problem::not_found(format!("no dossier {code}")));
    }
    let access = perm::personal_data(&who.staff, &motcua_store::agencies_that_held(&events));
    match access {
        PersonalData::Own => {}
        PersonalData::Audited => {
            let fields = events
                .iter()
                .find_map(|e| match &e.kind {
                    motcua_core::EventKind::Received { intake }
                    | motcua_core::EventKind::RegisteredOnline { intake } => Some(privacy::fields(&intake.applicant)),
                    _ => None,
                })
                .unwrap_or_default();
            privacy::record(&state, &who.staff, [(code.clone().into(), fields)], "GET /api/v1/dossiers/{code}/events")
                .await?;
        }
        PersonalData::Masked => privacy::mask_events(&mut events),
    }
    let shown = privacy::label(access != PersonalData::Masked);
    Ok(Json(json!({"code": code, "personal_data": shown, "events": events})))
}

#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    code: Option<String>,
    applicant: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
    /// The older name of `per_page`.
    limit: Option<u32>,
}

/// A page's place in its list, as the API says it.
fn place_json(p: &views::Place) -> Value {
    json!({"total": p.total, "page": p.page, "per_page": p.per_page, "first": p.first, "last": p.last})
}

/// The staff's search by free text (`q`: a code or its beginning, a part of a name, an ID
/// number or a phone number) or by `code`, `applicant`, `id_number` and `phone` (all given must
/// match): the dossiers one of the account's agencies received or held; with the city-wide
/// role, every dossier, each one shown recorded as a read of its personal data. A page at a
/// time, with the count of all found.
async fn search(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, Problem> {
    let term = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let terms = views::SearchTerms {
        q: term(q.q),
        code: term(q.code),
        applicant: term(q.applicant),
        id_number: term(q.id_number),
        phone: term(q.phone),
    };
    let search = terms.search()?;
    let paging = views::Paging::new(q.page, q.per_page.or(q.limit));
    let found = views::search(&state, &who.staff, &search, paging, "GET /api/v1/dossiers (search)").await?;
    let mut body = place_json(&found.place);
    body["scope"] = json!(found.scope);
    body["dossiers"] = serde_json::to_value(&found.rows).map_err(Problem::internal)?;
    Ok(Json(body))
}

async fn transition(
    State(state): State<AppState>,
    who: Principal,
    Path((code, action)): Path<(String, String)>,
    Body(fields): Body<ActionFields>,
) -> Result<Response, Problem> {
    let action = input::dossier_action(&action).ok_or_else(|| Problem::not_found(format!("no action {action:?}")))?;
    let d = views::act(&state, &who, &code, action, &fields).await?;
    written(&state, &d, StatusCode::OK)
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    agency: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// The work queue of the account's agencies (or of one it names; the chair's, with none named,
/// the whole city's), a page at a time, with the queue's length.
async fn queue(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, Problem> {
    let whose = views::Whose::of(&state, &who.staff, q.agency.as_deref())?;
    let page = views::queue(&state, &who.staff, &whose, views::Paging::new(q.page, q.per_page)).await?;
    let mut body = place_json(&page.place);
    body["scope"] = json!(whose.name());
    body["agencies"] = json!(whose.agencies());
    body["as_of"] = json!(motcua_core::calendar::at_vn(state.now()).to_rfc3339());
    body["dossiers"] = serde_json::to_value(&page.items).map_err(Problem::internal)?;
    Ok(Json(body))
}

/// One of the desk's lists ([`DeskList`]), scoped as the work queue, a page at a time.
async fn desk_list(state: AppState, who: Principal, list: DeskList, q: ListQuery) -> Result<Json<Value>, Problem> {
    let whose = views::Whose::of(&state, &who.staff, q.agency.as_deref())?;
    let page = views::desk_list(&state, &who.staff, list, &whose, views::Paging::new(q.page, q.per_page)).await?;
    let mut body = place_json(&page.place);
    body["list"] = json!(list.name());
    body["scope"] = json!(whose.name());
    body["agencies"] = json!(whose.agencies());
    body["dossiers"] = serde_json::to_value(&page.rows).map_err(Problem::internal)?;
    Ok(Json(body))
}

/// Transfers sent by the agencies, not yet accepted.
async fn sent_list(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, Problem> {
    desk_list(state, who, DeskList::Sent, q).await
}

/// Results ready to hand back to the citizen.
async fn ready_list(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, Problem> {
    desk_list(state, who, DeskList::Ready, q).await
}

/// Dossiers waiting for the citizen.
async fn waiting_list(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, Problem> {
    desk_list(state, who, DeskList::Waiting, q).await
}

async fn report_handler(
    State(state): State<AppState>,
    _who: Principal,
    Query(p): Query<ReportParams>,
) -> Result<Response, Problem> {
    if let Some(r) = crate::report::build_hall_wait(&state, &p).await? {
        return match p.format.as_deref() {
            Some("csv") => Ok(csv_response(&format!("motcua-hall-wait-{}-{}.csv", r.from, r.to), r.to_csv())),
            None | Some("json") => Ok(Json(r.to_json()).into_response()),
            Some(other) => Err(Problem::invalid(format!("unknown format {other:?}: expected json or csv"))),
        };
    }
    let r = build_report(&state, &p).await?;
    match p.format.as_deref() {
        Some("csv") => Ok(csv_response(&format!("motcua-report-{}-{}.csv", r.from, r.to), r.to_csv())),
        None | Some("json") => Ok(Json(r.to_json()).into_response()),
        Some(other) => Err(Problem::invalid(format!("unknown format {other:?}: expected json or csv"))),
    }
}

/// The chair's scorecard, JSON or CSV: for chairs, heads of agency and inspectors.
async fn scorecard(
    State(state): State<AppState>,
    who: Principal,
    Query(p): Query<crate::report::ScoreParams>,
) -> Result<Response, Problem> {
    if !perm::may_read_scorecard(who.staff.role) {
        return Err(Problem::forbidden("the scorecard is for chairs, heads of agency and inspectors"));
    }
    if !matches!(p.format.as_deref(), None | Some("json" | "csv")) {
        return Err(Problem::invalid(format!(
            "unknown format {:?}: expected json or csv",
            p.format.as_deref().unwrap_or("")
        )));
    }
    let card = crate::report::build_scorecard(&state, &p).await?;
    if p.format.as_deref() == Some("csv") {
        return Ok(csv_response(&format!("motcua-scorecard-{}-{}.csv", card.from, card.to), card.to_csv()));
    }
    Ok(Json(card.to_json()).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

async fn audit(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, Problem> {
    if !perm::may_audit(who.staff.role) {
        return Err(Problem::forbidden("the audit log is for chairs, inspectors and administrators"));
    }
    let within = perm::oversight_scope(&who.staff);
    let rows = state.store.audit(q.before, within, q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    let next = rows.last().map(|r| r.id);
    Ok(Json(json!({"events": rows, "next_before": next})))
}

/// The recorded reads of citizens' personal data (the chair's of other agencies' dossiers, every
/// inspector's), newest first (chair, inspector, administrator; an inspector with agencies:
/// the reads of their dossiers).
async fn personal_data_reads(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, Problem> {
    if !perm::may_audit(who.staff.role) {
        return Err(Problem::forbidden(
            "the audit of personal data reads is for chairs, inspectors and administrators",
        ));
    }
    let within = perm::oversight_scope(&who.staff);
    let rows = state.store.personal_data_reads(q.before, within, q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    let next = rows.last().map(|r| r.id);
    let reads: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "staff": r.staff,
                "code": r.code,
                "subject": r.code.subject(),
                "route": r.route,
                "fields": r.fields,
                "read_at": motcua_core::calendar::at_vn(r.read_at).to_rfc3339(),
            })
        })
        .collect();
    Ok(Json(json!({"reads": reads, "next_before": next})))
}

/// Backdated events recorded in a period (stated vs recorded, by whom, why, the gap in working
/// minutes) and their count per officer: for chairs, inspectors and administrators.
async fn backdated(
    State(state): State<AppState>,
    who: Principal,
    Query(p): Query<BackdatedParams>,
) -> Result<Json<Value>, Problem> {
    if !perm::may_audit(who.staff.role) {
        return Err(Problem::forbidden("the backdating report is for chairs, inspectors and administrators"));
    }
    let r = build_backdated(&state, &p, perm::oversight_scope(&who.staff)).await?;
    Ok(Json(serde_json::to_value(&r).map_err(Problem::internal)?))
}

/// The checks the watch list and its drill-down share: the role, then `format` and `by` as the
/// document lists them — when given, exactly one of the listed values (an empty one too is
/// refused; the page's form, not the API, reads a blank as the default).
fn watch_request<'a>(who: &Principal, format: Option<&'a str>, by: Option<&str>) -> Result<Option<&'a str>, Problem> {
    if !perm::may_audit(who.staff.role) {
        return Err(Problem::forbidden("the watch list is for chairs, inspectors and administrators"));
    }
    if !matches!(format, None | Some("json" | "csv")) {
        return Err(Problem::invalid(format!("unknown format {:?}: expected json or csv", format.unwrap_or(""))));
    }
    if let Some(by) = by
        && !matches!(by, "agency" | "officer")
    {
        return Err(Problem::invalid(format!("unknown grouping {by:?}: expected agency or officer"))
            .because(crate::problem::Cause::Words("err_watch_by")));
    }
    Ok(format)
}

/// The inspector's watch list (Directive 34-CT/TU), JSON or CSV: for chairs, inspectors and
/// administrators.
async fn watchlist(
    State(state): State<AppState>,
    who: Principal,
    Query(p): Query<WatchParams>,
) -> Result<Response, Problem> {
    let format = watch_request(&who, p.format.as_deref(), p.by.as_deref())?;
    let list = build_watchlist(&state, &p, perm::oversight_scope(&who.staff)).await?;
    if format == Some("csv") {
        let lang = crate::i18n::Lang::parse(p.lang.as_deref().unwrap_or("")).unwrap_or_default().core();
        let name = format!("motcua-watchlist-{}-{}.csv", list.from, list.to);
        return Ok(csv_response(&name, motcua_store::watchlist::to_csv(&list, lang)));
    }
    Ok(Json(serde_json::to_value(&list).map_err(Problem::internal)?).into_response())
}

/// The dossiers behind one count of the watch list, a page at a time (JSON or CSV): for the
/// same roles and scope as the list.
async fn watchlist_dossiers(
    State(state): State<AppState>,
    who: Principal,
    Query(p): Query<WatchDossiersParams>,
) -> Result<Response, Problem> {
    let format = watch_request(&who, p.format.as_deref(), p.by.as_deref())?;
    let page = build_watch_dossiers(&state, &p, perm::oversight_scope(&who.staff)).await?;
    if format == Some("csv") {
        let lang = crate::i18n::Lang::parse(p.lang.as_deref().unwrap_or("")).unwrap_or_default().core();
        let name = format!("motcua-watchlist-{}-{}-{}.csv", page.signal, page.from, page.to);
        return Ok(csv_response(&name, motcua_store::watchlist::dossiers_csv(&page.dossiers, lang)));
    }
    Ok(Json(serde_json::to_value(&page).map_err(Problem::internal)?).into_response())
}

async fn staff(State(state): State<AppState>, who: Principal) -> Result<Json<Value>, Problem> {
    if !perm::may_admin(who.staff.role) {
        return Err(Problem::forbidden("the staff list is for administrators"));
    }
    Ok(Json(json!({"staff": state.store.staff_list().await?})))
}

/// An administrator ends the lockout of an account name (after repeated wrong passwords).
async fn unlock_staff(
    State(state): State<AppState>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Json<Value>, Problem> {
    if !perm::may_admin(who.staff.role) {
        return Err(Problem::forbidden("unlocking an account is for administrators"));
    }
    let cleared = crate::login_guard::unlock(&state.store, &username).await?;
    Ok(Json(json!({"username": username, "cleared": cleared})))
}

async fn lookup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(b): Body<LookupBody>,
) -> Result<Json<Value>, Problem> {
    let ip = shared::client_ip(&state.config.trusted_proxies, &headers, peer);
    if !state.limiter.allow(ip) {
        return Err(Problem::new(ProblemKind::RateLimited, "too many lookups from this address; wait a minute"));
    }
    match public::find(&state, &b.code, &b.id_number, crate::i18n::Lang::parse(&b.lang).unwrap_or_default()).await? {
        Some(found) => {
            let mut v = serde_json::to_value(&found).map_err(Problem::internal)?;
            if let Ok(code) = b.code.trim().parse::<motcua_core::DossierCode>() {
                v["petitions"] = json!(crate::petitions::for_lookup(&state, &code).await?);
            }
            Ok(Json(v))
        }
        None => Err(Problem::not_found(public::NOT_FOUND_TEXT_EN)),
    }
}

async fn board(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    let b = public::board(&state).await?;
    Ok(Json(serde_json::to_value(&b).map_err(Problem::internal)?))
}
