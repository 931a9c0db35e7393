//! The desk's official papers on the web: `/dossiers/{code}/forms/{kind}` (receipt,
//! supplement, refusal, apology, control) and `/forms/book` (the tracking book of a desk for
//! a period, printable or `format=csv`), each rendered by [`crate::forms`] exactly as
//! `motcua form` prints it.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use motcua_core::forms::FormKind;
use motcua_core::{AgencyCode, EventKind};
use motcua_store::StaffStore;

use super::common::{Ui, chosen_agencies, load_for_page};
use crate::forms::{self, BookFacts, FormError, Paper};
use crate::page::{error_page, rendered};
use crate::problem::Problem;
use crate::shared::lookup_url;
use crate::state::AppState;

/// The display name of the account `username` (the name itself when unknown).
pub(super) async fn display_name(state: &AppState, username: Option<&str>) -> String {
    match username {
        Some(u) => match state.store.staff_credentials(u).await {
            Ok(Some((s, _))) => s.display_name,
            _ => u.to_string(),
        },
        None => String::new(),
    }
}

/// One paper of a dossier, read through the same privacy rule as the dossier page.
pub(super) async fn dossier_form(state: &AppState, ui: &Ui, code: &str, kind: FormKind) -> Response {
    let tr = ui.tr;
    let route = format!("GET /dossiers/{{code}}/forms/{}", kind.name());
    let loaded = match load_for_page(state, ui, code, &route).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let intake_by = loaded
        .events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Received { .. } | EventKind::AcceptedOnline))
        .and_then(|e| e.by.clone());
    let officer = display_name(state, intake_by.as_deref()).await;
    let url = lookup_url(state, code);
    let qr = crate::paper::lookup_qr(&url);
    let hall = match &loaded.dossier.code {
        Some(c) => match motcua_store::hall::dossier_hall_time(&state.store, c, loaded.dossier.received_at).await {
            Ok(h) => h,
            Err(e) => return error_page(tr, &e.into()),
        },
        None => None,
    };
    let p = Paper {
        domain: &state.domain,
        place: &state.config.place,
        tr,
        code,
        dossier: &loaded.dossier,
        events: &loaded.events,
        officer: &officer,
        lookup_url: &url,
        qr_svg: &qr,
        now: state.now(),
        hall: hall.as_ref(),
    };
    match forms::render(kind, &p) {
        Ok(html) => rendered(StatusCode::OK, Ok(html)),
        Err(FormError::Render(e)) => rendered(StatusCode::OK, Err(e)),
        Err(FormError::NotApplicable(why)) => error_page(tr, &Problem::not_found(why)),
    }
}

pub async fn form(State(state): State<AppState>, ui: Ui, Path((code, kind)): Path<(String, String)>) -> Response {
    match kind.parse::<FormKind>() {
        Ok(FormKind::Book) | Err(_) => error_page(ui.tr, &Problem::not_found(format!("no form {kind:?}"))),
        Ok(kind) => dossier_form(&state, &ui, &code, kind).await,
    }
}

/// `GET /forms/book?agency=…&from=YYYY-MM-DD&to=YYYY-MM-DD[&format=csv]`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct BookQuery {
    #[serde(default)]
    agency: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

fn date(s: Option<&str>, field: &str, default: NaiveDate) -> Result<NaiveDate, Problem> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| Problem::invalid(format!("{field} must be a date YYYY-MM-DD, not {s:?}"))),
    }
}

pub async fn book(State(state): State<AppState>, ui: Ui, Query(q): Query<BookQuery>) -> Response {
    let tr = ui.tr;
    let today = motcua_core::calendar::to_local(state.now()).date();
    let (from, to) = match (date(q.from.as_deref(), "from", today), date(q.to.as_deref(), "to", today)) {
        (Ok(f), Ok(t)) if f <= t => (f, t),
        (Ok(_), Ok(_)) => return error_page(tr, &Problem::invalid("from must not be after to")),
        (Err(p), _) | (_, Err(p)) => return error_page(tr, &p),
    };
    let agency: AgencyCode = match chosen_agencies(&state, &ui, q.agency.as_deref()) {
        Ok(a) => match a.into_iter().next() {
            Some(a) => a,
            None => return error_page(tr, &Problem::invalid("agency: this account has no agency")),
        },
        Err(p) => return error_page(tr, &p),
    };
    let rows = match forms::load_book(&state.store, &state.domain, &agency, from, to).await {
        Ok(r) => r,
        Err(e) => return error_page(tr, &e.into()),
    };
    if q.format.as_deref() == Some("csv") {
        let mut r = forms::book_csv(tr.en(), &rows).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"so-theo-doi-{agency}-{from}-{to}.csv\""))
        {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        return r;
    }
    let facts = BookFacts {
        domain: &state.domain,
        place: &state.config.place,
        tr,
        agency: &agency,
        from,
        to,
        rows: &rows,
        now: state.now(),
    };
    match forms::book_html(&facts) {
        Ok(html) => rendered(StatusCode::OK, Ok(html)),
        Err(FormError::Render(e)) => rendered(StatusCode::OK, Err(e)),
        Err(FormError::NotApplicable(why)) => error_page(tr, &Problem::invalid(why)),
    }
}
