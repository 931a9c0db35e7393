//! The work queue (open dossiers by urgency) and the online submissions waiting for the desk.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use motcua_core::deadlines::format_working_minutes;
use motcua_store::StaffStore;
use serde::Deserialize;

use super::common::{Ui, agency_name, agency_options, chosen_agencies, procedure_name, status_label};
use crate::i18n::Tr;
use crate::page::{Page, error_page, html};
use crate::privacy;
use crate::shared::local_opt;
use crate::state::AppState;
use crate::views::{self, QueueItem};

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

pub async fn queue(State(state): State<AppState>, ui: Ui, Query(q): Query<AgencyQuery>) -> Response {
    let tr = ui.tr;
    let agencies = match chosen_agencies(&state, &ui, q.agency.as_deref()) {
        Ok(a) => a,
        Err(p) => return error_page(tr, &p),
    };
    let items = match views::queue(&state, &ui.who.staff, &agencies).await {
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
    let rows = match privacy::list(&state, &ui.who.staff, rows).await {
        Ok(r) => r,
        Err(p) => return error_page(tr, &p),
    };
    let rows = rows
        .into_iter()
        .map(|privacy::Listed { row: r, .. }| RowVm {
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
