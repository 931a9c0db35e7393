//! Intake at the desk (the form, then the dossier opened) and the printable receipt with its
//! lookup QR code.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use motcua_core::CopyKind;

use super::common::{Ui, agency_name};
use crate::input::{DOCUMENT_ROWS, IntakeFields, IntakeFormBody};
use crate::page::{Form, Page, error_page, html};
use crate::perm::{self, Action};
use crate::problem::ProblemKind;
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
    /// The checklist's rows: name, copy kind, count, ticked as digitised.
    rows: Vec<(String, String, String, bool)>,
    copies: Vec<(String, String)>,
    /// "No paper digitised" ticked.
    digitised_none: bool,
}

/// The checklist's rows: those typed, else the procedure's documents from the catalog (all
/// originals, one each); then empty rows up to a few spare.
fn checklist_rows(state: &AppState, f: &IntakeFields) -> Vec<(String, String, String, bool)> {
    let mut rows: Vec<(String, String, String)> = if f.documents.is_empty() {
        let code = f.procedure.trim().parse::<motcua_core::ProcedureCode>().ok();
        let procedure = match code {
            Some(c) => state.domain.catalog.procedure(&c),
            None => state.domain.catalog.procedures().next(),
        };
        procedure
            .map(|p| p.documents.iter().map(|d| (d.clone(), "original".to_string(), "1".to_string())).collect())
            .unwrap_or_default()
    } else {
        f.documents.iter().map(|d| (d.name.clone(), d.copy.clone(), d.count.to_string())).collect()
    };
    rows.truncate(DOCUMENT_ROWS);
    let spare = (rows.len() + 3).min(DOCUMENT_ROWS);
    rows.resize(spare, (String::new(), "original".to_string(), "1".to_string()));
    let digitised = f.digitised.as_deref().unwrap_or_default();
    rows.into_iter()
        .map(|(name, copy, count)| {
            let ticked = !name.is_empty() && digitised.contains(&name);
            (name, copy, count, ticked)
        })
        .collect()
}

fn intake_page(state: &AppState, ui: &Ui, f: IntakeFields, error: String) -> IntakePage {
    let tr = ui.tr;
    // Only what a dossier received today may use: procedures in force, agencies not ceased.
    let today = motcua_core::calendar::to_local(state.now()).date();
    IntakePage {
        rows: checklist_rows(state, &f),
        copies: CopyKind::ALL
            .iter()
            .map(|c| (c.name().to_string(), if tr.en() { c.name_en() } else { c.name_vi() }.to_string()))
            .collect(),
        page: Page::staff(tr, tr.t("intake"), "/intake", &ui.who),
        procedures: state
            .domain
            .catalog
            .procedures_in_force(today)
            .map(|p| (p.code.to_string(), format!("{} — {}", p.code, if tr.en() { &p.name_en } else { &p.name })))
            .collect(),
        agencies: ui
            .who
            .staff
            .agencies
            .iter()
            .filter(|a| state.domain.catalog.agency(a).is_none_or(|x| x.in_force(today)))
            .map(|a| (a.to_string(), agency_name(state, tr, a)))
            .collect(),
        error,
        digitised_none: f.digitised.as_ref().is_some_and(Vec::is_empty),
        f,
    }
}

/// `GET /intake?procedure=…`: the page, its checklist preselected from that procedure's
/// documents (the "load the procedure's documents" button sends the form here).
#[derive(Debug, Default, serde::Deserialize)]
pub struct IntakeQuery {
    #[serde(default)]
    procedure: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    applicant: String,
    /// The hall ticket the citizen holds (the counter panel's "receive a dossier" link).
    #[serde(default)]
    ticket: String,
}

pub async fn intake_form(State(state): State<AppState>, ui: Ui, Query(q): Query<IntakeQuery>) -> Response {
    if let Err(p) = perm::authorize(&ui.who.staff, Action::Intake, None) {
        return error_page(ui.tr, &p);
    }
    let f = IntakeFields {
        procedure: q.procedure,
        agency: q.agency,
        applicant: q.applicant,
        ticket: Some(q.ticket).filter(|t| !t.trim().is_empty()),
        ..IntakeFields::default()
    };
    html(StatusCode::OK, &intake_page(&state, &ui, f, String::new()))
}

pub async fn intake_submit(State(state): State<AppState>, ui: Ui, Form(f): Form<IntakeFormBody>) -> Response {
    if let Err(p) = ui.who.check_csrf(&f.csrf) {
        return error_page(ui.tr, &p);
    }
    let mut fields = f.fields.clone();
    fields.documents = f.documents();
    let opened = match f.digitised() {
        Ok(digitised) => {
            fields.digitised = digitised;
            views::open(&state, &ui.who, &fields, Action::Intake).await
        }
        Err(p) => Err(p),
    };
    match opened {
        Ok(d) => {
            let code = d.dossier.code.map(|c| c.to_string()).unwrap_or_default();
            Redirect::to(&format!("/dossiers/{code}/receipt")).into_response()
        }
        Err(p) if p.kind == ProblemKind::Forbidden => error_page(ui.tr, &p),
        Err(p) => {
            let error = crate::messages::problem_text(&p, ui.tr, Some(&state.domain));
            html(p.status(), &intake_page(&state, &ui, fields, error))
        }
    }
}

pub async fn receipt(State(state): State<AppState>, ui: Ui, Path(code): Path<String>) -> Response {
    super::forms::dossier_form(&state, &ui, &code, motcua_core::forms::FormKind::Receipt).await
}
