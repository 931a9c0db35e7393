//! The desk's pages for petitions, complaints and denunciations: the open items of the
//! account's agencies beside the dossiers of the work queue (most urgent first, due soon or
//! overdue), and an item's page with the steps its role may take — accept, answer, forward or
//! guide, transfer, extend, close. An item read through an inspector's scope (or the chair's
//! city-wide role) is written to the audit of personal data reads before it is shown.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use motcua_core::petition::{self, Item, ItemCode, ItemEventKind, ItemStatus, NextStep};
use motcua_core::text::{line, paragraph};
use motcua_store::{ItemFilter, PetitionStore};
use serde::Deserialize;

use super::common::{Ui, agency_name};
use crate::i18n::Tr;
use crate::page::{Form, Page, error_page, html};
use crate::petitions::{self as api, Step};
use crate::problem::Problem;
use crate::shared::{local, local_opt};
use crate::state::AppState;

/// An item of the work queue.
#[derive(Debug, Clone)]
pub struct ItemVm {
    pub code: String,
    pub kind: String,
    pub applicant: String,
    pub status: String,
    pub agency: String,
    pub next_step: String,
    pub due: String,
    /// `overdue`, `due_soon`, `in_time`, `none`.
    pub urgency: &'static str,
    pub urgency_label: String,
}

fn step_label(tr: Tr, s: NextStep) -> String {
    tr.t(match s {
        NextStep::Decide => "petition_step_decide",
        NextStep::Resolve => "petition_step_resolve",
    })
    .to_string()
}

fn urgency_label(tr: Tr, u: &str) -> String {
    match u {
        "overdue" => tr.t("overdue").to_string(),
        "due_soon" => tr.t("due_soon").to_string(),
        "in_time" => tr.t("in_time").to_string(),
        _ => String::new(),
    }
}

/// The open items of the account's agencies (every agency's for the city-wide roles), most
/// urgent first; personal data masked where the rule says so.
pub async fn queue_items(state: &AppState, ui: &Ui) -> Result<Vec<ItemVm>, Problem> {
    let tr = ui.tr;
    let filter =
        ItemFilter { agencies: api::read_scope(&ui.who.staff), open: true, limit: 200, ..ItemFilter::default() };
    let now = state.now();
    let rows = state.store.items(&filter).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (r, _) = api::list_row(&ui.who.staff, r);
            let urgency = api::urgency(r.next_due_at, now);
            ItemVm {
                code: r.code.to_string(),
                kind: if tr.en() { r.kind.name().to_string() } else { r.kind.name_vi().to_string() },
                applicant: r.applicant_name.clone(),
                status: if tr.en() { r.status.name().to_string() } else { r.status.name_vi().to_string() },
                agency: agency_name(state, tr, &r.agency),
                next_step: r.next_step.map(|s| step_label(tr, s)).unwrap_or_default(),
                due: local_opt(r.next_due_at),
                urgency,
                urgency_label: urgency_label(tr, urgency),
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "petition.html")]
struct PetitionPage {
    page: Page,
    code: String,
    kind: String,
    status: String,
    agency: String,
    applicant: String,
    contact: String,
    dossier: String,
    text: String,
    received_at: String,
    next_step: String,
    due: String,
    urgency: &'static str,
    urgency_label: String,
    answer: String,
    sent_to: String,
    reason: String,
    late: bool,
    error: String,
    /// The steps the account may take now.
    may_decide: bool,
    may_triage: bool,
    received: bool,
    accepted: bool,
    open: bool,
    events: Vec<(String, String, String)>,
}

async fn page_of(state: &AppState, ui: &Ui, code: &str, error: String) -> Response {
    let tr = ui.tr;
    let code = match code.trim().parse::<ItemCode>() {
        Ok(c) => c,
        Err(e) => return error_page(tr, &Problem::from(e)),
    };
    let row = match state.store.item_row(&code).await {
        Ok(Some(r)) => r,
        Ok(None) => return error_page(tr, &Problem::not_found(format!("no item {code}"))),
        Err(e) => return error_page(tr, &e.into()),
    };
    if !api::may_read(&ui.who.staff, &row.agency) {
        return error_page(
            tr,
            &Problem::forbidden(format!("item {code} is not with an agency of {}", ui.who.staff.username)),
        );
    }
    let mut events = match state.store.item_events(&code).await {
        Ok(e) => e,
        Err(e) => return error_page(tr, &e.into()),
    };
    let mut item: Item = match petition::replay(&state.domain, &events) {
        Ok(i) => i,
        Err(e) => return error_page(tr, &Problem::internal(e)),
    };
    if let Err(p) = api::guard_item(state, &ui.who.staff, &mut item, &mut events, "GET /petitions/{petition}").await {
        return error_page(tr, &p);
    }
    let now = state.now();
    let next = item.next_step();
    let urgency = api::urgency(next.map(|n| n.1), now);
    let status = item.status.unwrap_or(ItemStatus::Received);
    let own = ui.who.staff.agencies.contains(&row.agency);
    let contact: Vec<String> = item
        .applicant
        .email
        .iter()
        .map(ToString::to_string)
        .chain(item.applicant.phone.iter().map(ToString::to_string))
        .collect();
    let page = PetitionPage {
        page: Page::staff(tr, tr.t("petitions"), &format!("/petitions/{code}"), &ui.who),
        code: code.to_string(),
        kind: item
            .kind
            .map(|k| if tr.en() { k.name().to_string() } else { k.name_vi().to_string() })
            .unwrap_or_default(),
        status: if tr.en() { status.name().to_string() } else { status.name_vi().to_string() },
        agency: agency_name(state, tr, &row.agency),
        applicant: item.applicant.name.clone(),
        contact: contact.join(", "),
        dossier: item.dossier.as_ref().map(ToString::to_string).unwrap_or_default(),
        text: item.text.clone(),
        received_at: local_opt(item.received_at),
        next_step: next.map(|n| step_label(tr, n.0)).unwrap_or_default(),
        due: local_opt(next.map(|n| n.1)),
        urgency,
        urgency_label: urgency_label(tr, urgency),
        answer: item.answer.clone().unwrap_or_default(),
        sent_to: item.sent_to.clone().unwrap_or_default(),
        reason: item.reason.clone().unwrap_or_default(),
        late: item.decide_late == Some(true) || item.resolve_late == Some(true),
        error,
        may_decide: own && api::allowed(ui.who.staff.role, Step::Decide),
        may_triage: own && api::allowed(ui.who.staff.role, Step::Triage),
        received: status == ItemStatus::Received,
        accepted: status == ItemStatus::Accepted,
        open: status.is_open(),
        events: events
            .iter()
            .map(|e| (local(e.at), e.kind.name().to_string(), e.by.clone().unwrap_or_default()))
            .collect(),
    };
    html(StatusCode::OK, &page)
}

/// `GET /petitions/{petition}`.
pub async fn petition_page(State(state): State<AppState>, ui: Ui, Path(code): Path<String>) -> Response {
    page_of(&state, &ui, &code, String::new()).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ItemActionForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    complexity: String,
    #[serde(default)]
    remote: Option<String>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    outcome: String,
}

fn event_of(action: &str, f: &ItemActionForm) -> Result<(Step, ItemEventKind), Problem> {
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
    Ok(match action {
        "accept" => (
            Step::Decide,
            ItemEventKind::Accepted {
                complexity: api::complexity(opt(&f.complexity).as_deref())?.unwrap_or_default(),
                remote: f.remote.as_deref().is_some_and(|r| r == "1" || r == "on"),
            },
        ),
        "answer" => (Step::Decide, ItemEventKind::Answered { text: paragraph(&f.text, "text", api::TEXT_MAX_CHARS)? }),
        "extend" => (
            Step::Decide,
            ItemEventKind::Extended {
                reason: api::reason(&f.reason)?,
                complexity: api::complexity(opt(&f.complexity).as_deref())?,
            },
        ),
        "forward" | "guide" => {
            let to = line(&f.to, "to", 300)?;
            let reason = api::reason(&f.reason)?;
            let kind = if action == "guide" {
                ItemEventKind::Guided { to, reason }
            } else {
                ItemEventKind::Forwarded { to, reason }
            };
            (Step::Triage, kind)
        }
        "transfer" => {
            let to: motcua_core::AgencyCode = f.to.trim().parse()?;
            (Step::Triage, ItemEventKind::Transferred { to, reason: opt(&f.reason) })
        }
        "close" => (Step::Decide, api::close_kind(&f.outcome, opt(&f.reason).as_deref())?),
        other => return Err(Problem::not_found(format!("no step {other:?}"))),
    })
}

/// `POST /petitions/{petition}/<step>`, one route per step: accept, answer, extend, forward,
/// guide, transfer, close.
macro_rules! step_routes {
    ($($name:ident => $action:literal),* $(,)?) => {$(
        pub async fn $name(
            State(state): State<AppState>,
            ui: Ui,
            Path(code): Path<String>,
            Form(f): Form<ItemActionForm>,
        ) -> Response {
            petition_action(&state, &ui, &code, $action, &f).await
        }
    )*};
}

step_routes!(
    accept => "accept",
    answer => "answer",
    extend => "extend",
    forward => "forward",
    guide => "guide",
    transfer => "transfer",
    close => "close",
);

async fn petition_action(state: &AppState, ui: &Ui, code: &str, action: &str, f: &ItemActionForm) -> Response {
    if let Err(p) = ui.who.check_csrf(&f.csrf) {
        return error_page(ui.tr, &p);
    }
    let result = match event_of(action, f) {
        Ok((step, kind)) => {
            if let ItemEventKind::Transferred { to, .. } = &kind
                && let Err(e) = state.domain.agency(to)
            {
                Err(Problem::from(e))
            } else {
                api::take_step(state, &ui.who, code, step, kind).await.map(drop)
            }
        }
        Err(p) => Err(p),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/petitions/{}", code.trim())).into_response(),
        Err(p) if matches!(p.kind, crate::problem::ProblemKind::Forbidden | crate::problem::ProblemKind::NotFound) => {
            error_page(ui.tr, &p)
        }
        Err(p) => page_of(state, ui, code, p.detail).await,
    }
}
