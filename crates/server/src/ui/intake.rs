//! Intake at the desk (the form, then the dossier opened) and the printable receipt with its
//! lookup QR code.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use motcua_core::calendar::to_local;
use motcua_core::{EventKind, Status};
use motcua_store::StaffStore;
use serde::Deserialize;

use super::common::{Ui, agency_name, load_for_page, place_date};
use crate::i18n::Tr;
use crate::page::{Page, error_page, html};
use crate::perm::{self, Action};
use crate::problem::ProblemKind;
use crate::shared::{local_opt, lookup_url};
use crate::state::AppState;
use crate::views::{self, IntakeFields};

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
            let code = d.dossier.code.map(|c| c.to_string()).unwrap_or_default();
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

async fn display_name(state: &AppState, username: Option<&str>) -> String {
    match username {
        Some(u) => match state.store.staff_credentials(u).await {
            Ok(Some((s, _))) => s.display_name,
            _ => u.to_string(),
        },
        None => String::new(),
    }
}

pub async fn receipt(State(state): State<AppState>, ui: Ui, Path(code): Path<String>) -> Response {
    let tr = ui.tr;
    let loaded = match load_for_page(&state, &ui, &code, "GET /dossiers/{code}/receipt").await {
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
