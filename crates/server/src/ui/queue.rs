//! The work queue (open dossiers by urgency, a page at a time) and the online submissions
//! waiting for the desk.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use motcua_core::deadlines::format_working_minutes;
use motcua_store::DeskList;
use serde::Deserialize;

use super::common::{Ui, agency_name, agency_options, encode, procedure_name, status_label};
use super::find::{Pager, Tab, pager, tabs};
use crate::i18n::Tr;
use crate::page::{Page, error_page, html};
use crate::privacy;
use crate::shared::local_opt;
use crate::state::AppState;
use crate::views::{self, Paging, QueueItem, Whose};

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
    tabs: Vec<Tab>,
    rows: Vec<RowVm>,
    agencies: Vec<(String, String)>,
    selected: String,
    pager: Pager,
    /// Open petitions, complaints and denunciations, most urgent first.
    items: Vec<super::petitions::ItemVm>,
    /// The counter panel of a desk officer whose agency has a reception hall.
    counter: Option<super::counter::CounterPanel>,
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    agency: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
    /// What the counter panel's last step has to say (`none`: no one waiting).
    counter_note: Option<String>,
}

/// The work queue of the account's agencies (or of one it chooses; the chair's, with none
/// chosen, the whole city's), a page at a time with its length; a desk officer's counter panel
/// beside it.
pub async fn queue(State(state): State<AppState>, ui: Ui, Query(q): Query<QueueQuery>) -> Response {
    queue_page(&state, &ui, &q, String::new(), StatusCode::OK).await
}

/// The queue page, with `counter_error` (a refused step of the counter panel) in the panel.
pub(super) async fn queue_page(
    state: &AppState,
    ui: &Ui,
    q: &QueueQuery,
    counter_error: String,
    status: StatusCode,
) -> Response {
    let tr = ui.tr;
    let whose = match Whose::of(state, &ui.who.staff, q.agency.as_deref()) {
        Ok(w) => w,
        Err(p) => return error_page(tr, &p),
    };
    let found = match views::queue(state, &ui.who.staff, &whose, Paging::new(q.page, q.per_page)).await {
        Ok(i) => i,
        Err(p) => return error_page(tr, &p),
    };
    let items = match super::petitions::queue_items(state, ui).await {
        Ok(i) => i,
        Err(p) => return error_page(tr, &p),
    };
    let counter = match super::counter::panel(state, ui, q.counter_note.as_deref(), counter_error).await {
        Ok(c) => c,
        Err(p) => return error_page(tr, &p),
    };
    let selected = q.agency.clone().unwrap_or_default();
    let path = if selected.is_empty() { "/queue".to_string() } else { format!("/queue?agency={}", encode(&selected)) };
    let page = QueuePage {
        page: Page::staff(tr, tr.t("queue"), &path, &ui.who),
        tabs: tabs(tr, "/queue"),
        rows: found.items.iter().map(|i| row_vm(state, tr, i)).collect(),
        agencies: agency_options(state, ui),
        pager: pager(tr, "/queue", &[("agency", &selected)], &found.place),
        selected,
        items,
        counter,
    };
    html(status, &page)
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    page: Page,
    heading: String,
    intro: String,
    /// The heading of the date column.
    date_heading: String,
    rows: Vec<RowVm>,
    pager: Pager,
}

/// The online submissions waiting at the account's desks (the chair's: every desk's), a page
/// at a time with their count.
pub async fn online(State(state): State<AppState>, ui: Ui, Query(q): Query<QueueQuery>) -> Response {
    let tr = ui.tr;
    let whose = match Whose::of(&state, &ui.who.staff, q.agency.as_deref()) {
        Ok(w) => w,
        Err(p) => return error_page(tr, &p),
    };
    let paging = Paging::new(q.page, q.per_page);
    let found = match views::desk_list(&state, &ui.who.staff, DeskList::Online, &whose, paging).await {
        Ok(f) => f,
        Err(p) => return error_page(tr, &p),
    };
    let rows = found
        .rows
        .iter()
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
    let selected = q.agency.unwrap_or_default();
    let page = ListPage {
        page: Page::staff(tr, tr.t("online"), "/online", &ui.who),
        heading: tr.t("pending_online").to_string(),
        intro: String::new(),
        date_heading: tr.t("registered_at").to_string(),
        rows,
        pager: pager(tr, "/online", &[("agency", &selected)], &found.place),
    };
    html(StatusCode::OK, &page)
}

/// Dossiers of this many at most on the page of imported overdue dossiers.
const IMPORTED_LIMIT: u32 = 500;

/// The dossiers brought in as history already past due, their clock running and no apology,
/// held or received by the account's agencies (or one it chooses; the chair's: the whole
/// city's): the automatic apology leaves them to a person (docs/worker.md). Names are not
/// shown here: the code leads to the dossier's page.
pub async fn imported(State(state): State<AppState>, ui: Ui, Query(q): Query<QueueQuery>) -> Response {
    use motcua_store::OutboxStore;
    let tr = ui.tr;
    let whose = match Whose::of(&state, &ui.who.staff, q.agency.as_deref()) {
        Ok(w) => w,
        Err(p) => return error_page(tr, &p),
    };
    let agencies = match &whose {
        Whose::Agencies(a) => a.clone(),
        Whose::City => Vec::new(),
    };
    let found = if matches!(whose, Whose::Agencies(ref a) if a.is_empty()) {
        // An account of no agency sees none (an empty list means every agency to the store).
        Vec::new()
    } else {
        match state.store.imported_overdue(state.now(), &agencies, IMPORTED_LIMIT).await {
            Ok(f) => f,
            Err(e) => return error_page(tr, &e.into()),
        }
    };
    let rows = found
        .iter()
        .map(|r| RowVm {
            code: r.code.to_string(),
            procedure: procedure_name(&state, tr, &r.procedure),
            applicant: String::new(),
            status: status_label(tr, r.status),
            due: local_opt(r.due_at),
            remaining: String::new(),
            urgency: "overdue",
            urgency_label: String::new(),
            holder: r.holder.as_ref().map(|h| agency_name(&state, tr, h)).unwrap_or_default(),
        })
        .collect::<Vec<_>>();
    let count = if rows.is_empty() { tr.t("no_dossiers").to_string() } else { rows.len().to_string() };
    let page = ListPage {
        page: Page::staff(tr, tr.t("list_imported"), "/lists/imported", &ui.who),
        heading: tr.t("list_imported").to_string(),
        intro: tr.t("list_imported_intro").to_string(),
        date_heading: tr.t("due_at").to_string(),
        rows,
        pager: Pager { count, previous: None, next: None },
    };
    html(StatusCode::OK, &page)
}
