//! Intake at the desk (the form, then the dossier opened) and the printable receipt with its
//! lookup QR code.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use motcua_core::EventKind;
use motcua_store::StaffStore;

use super::common::{Ui, agency_name, load_for_page};
use crate::input::{IntakeFields, IntakeFormBody};
use crate::page::{Form, Page, error_page, html, rendered};
use crate::paper::{self, ReceiptFacts};
use crate::perm::{self, Action};
use crate::problem::ProblemKind;
use crate::shared::lookup_url;
use crate::state::AppState;
use crate::views;

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
        Err(p) => {
            let error = crate::messages::problem_text(&p, ui.tr, Some(&state.domain));
            html(p.status(), &intake_page(&state, &ui, f.fields, error))
        }
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
    let intake_by = loaded
        .events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Received { .. } | EventKind::AcceptedOnline))
        .and_then(|e| e.by.clone());
    let url = lookup_url(&state, &code);
    let officer = display_name(&state, intake_by.as_deref()).await;
    let qr = paper::lookup_qr(&url);
    let facts =
        ReceiptFacts { code: &code, dossier: d, lookup_url: &url, qr_svg: &qr, officer: &officer, now: state.now() };
    let page = Page::staff(tr, tr.t("receipt"), &format!("/dossiers/{code}/receipt"), &ui.who);
    rendered(StatusCode::OK, paper::receipt(&state.domain, &state.config.place, page, &facts))
}
