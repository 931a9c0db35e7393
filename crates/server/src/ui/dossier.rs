//! The dossier page: the control sheet of handoffs, the steps with their working time, the
//! explanation of the clock, the event log and the actions the account may take; and those
//! actions posted from its forms.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use motcua_core::analysis::next_route_agency;
use motcua_core::deadlines::{Lang, format_working_minutes};
use motcua_core::view::{DossierView, LogLine};
use motcua_core::{Event, EventKind, Status};
use motcua_store::{DossierRow, Store};

use super::common::{Ui, agency_name, load_for_page, procedure_name, status_label};
use crate::i18n::Tr;
use crate::input::{self, ActionForm};
use crate::page::{Form, Page, error_page, html};
use crate::perm::{self, Action};
use crate::problem::{Problem, ProblemKind};
use crate::shared::{iso_local, local_opt};
use crate::state::AppState;
use crate::views;

#[derive(Debug, Clone)]
struct ControlRow {
    giver: String,
    giver_officer: String,
    receiver: String,
    receiver_officer: String,
    sent_at: String,
    accepted_at: String,
    result: String,
    result_class: String,
    note: String,
}

#[derive(Debug, Clone)]
struct StepRow {
    agency: String,
    from: String,
    until: String,
    used: String,
    budget: String,
    result: String,
    result_class: String,
    bounce: bool,
}

#[derive(Debug, Clone)]
struct EventRow {
    /// As stated.
    at: String,
    kind: String,
    by: String,
    /// As recorded, when it differs from the stated instant (a backdated event).
    recorded_at: String,
    /// The working time between them, and the reason given.
    gap: String,
    reason: String,
}

/// One action form offered on the dossier page.
#[derive(Debug, Clone)]
struct ActionVm {
    name: &'static str,
    label: String,
    to: bool,
    reason: bool,
    documents: bool,
    date: bool,
    refused: bool,
    /// A fee in VND (request-payment).
    amount: bool,
    /// A payment method and receipt (paid).
    payment: bool,
    /// The electronic-result checkbox (resolve).
    electronic: bool,
    /// A delay reason code (supplement request, reschedule, stop, refusals).
    reason_code: bool,
    /// The checklist's papers to tick as digitised (acceptance).
    digitise: bool,
}

#[derive(Template)]
#[template(path = "dossier.html")]
struct DossierPage {
    page: Page,
    code: String,
    procedure: String,
    applicant: String,
    id_number: String,
    phone: String,
    status: String,
    status_code: u8,
    received_at: String,
    due_at: String,
    original_due_at: String,
    rescheduled_to: String,
    finished_at: String,
    returned_at: String,
    holder: String,
    remaining: String,
    timeliness: String,
    overdue: bool,
    waiting: bool,
    at_risk: bool,
    explanation: Vec<String>,
    control: Vec<ControlRow>,
    steps: Vec<StepRow>,
    signals: Vec<String>,
    events: Vec<EventRow>,
    actions: Vec<ActionVm>,
    /// The transfer form's choices: every agency but the holder.
    agencies: Vec<(String, String)>,
    /// The delay reason codes and their words, for the forms' select.
    reason_codes: Vec<(String, String)>,
    /// The payment methods and their words.
    payment_methods: Vec<(&'static str, &'static str)>,
    /// The papers of the dossier's checklist, and whether each is digitised already.
    papers: Vec<(String, bool)>,
    /// The procedure's fee schedule as the catalog has it (`50000 VND`, or its options).
    fee: String,
    /// The route's next step, preselected; empty when the route has none (the form then asks
    /// for a choice).
    next_agency: String,
    has_letter: bool,
    /// The log has a supplement request (Mẫu 02 to print).
    has_supplement: bool,
    /// Refused at receipt (Mẫu 03 to print).
    refused: bool,
    /// What the holder line says: held by an agency while open, the result's place after.
    holder_label: String,
    /// While it waits for a supplement: what was asked and why.
    supplement: Option<crate::public::SupplementAsked>,
    error: String,
}

/// The actions a status allows, in the order a desk PC shows them.
fn actions_for(status: Status, pending_handoff: bool) -> Vec<Action> {
    use Action as A;
    match status {
        Status::RegisteredOnline => vec![A::AcceptOnline, A::RefuseOnline],
        Status::Received => vec![A::Accept, A::Transfer, A::Withdraw],
        Status::Processing if pending_handoff => vec![A::Accept],
        Status::Processing => {
            vec![A::Resolve, A::Transfer, A::RequestSupplement, A::RequestPayment, A::Reschedule, A::Withdraw, A::Stop]
        }
        Status::SupplementRequested => vec![A::Supplement, A::Withdraw, A::Stop],
        Status::PaymentRequested => vec![A::Paid, A::Withdraw],
        Status::Done => vec![A::Return],
        _ => vec![],
    }
}

fn timeliness_label(tr: Tr, t: Option<&str>) -> (String, String) {
    match t {
        Some(t) => (tr.t(t).to_string(), t.to_string()),
        None => (tr.t("holding").to_string(), "holding".to_string()),
    }
}

/// Officers of each handoff, from the log: who sent it, who accepted it (in handoff order).
fn handoff_officers(events: &[Event]) -> (Vec<String>, Vec<String>) {
    let mut senders = Vec::new();
    let mut acceptors = Vec::new();
    for e in events {
        match &e.kind {
            EventKind::Transferred { .. } => senders.push(e.by.clone().unwrap_or_default()),
            EventKind::Accepted if senders.len() > acceptors.len() => acceptors.push(e.by.clone().unwrap_or_default()),
            _ => {}
        }
    }
    (senders, acceptors)
}

/// The control sheet: one row per handoff, with the officers on each side.
/// "Held by" while the dossier is open; "result at" once resolved, stopped or withdrawn; the
/// handing back once returned (no agency is processing it any more).
fn holder_label(tr: Tr, status: motcua_core::Status) -> String {
    use motcua_core::Status as S;
    let (vi, en) = match status {
        S::Returned => ("Đã trả kết quả cho tổ chức, cá nhân", "Result handed to the applicant"),
        s if s.is_open() => ("Đang xử lý tại", "Held by"),
        _ => ("Kết quả, hồ sơ đang ở", "Result held at"),
    };
    if tr.en() { en } else { vi }.to_string()
}

fn control_rows(state: &AppState, tr: Tr, v: &DossierView, events: &[Event]) -> Vec<ControlRow> {
    let (senders, acceptors) = handoff_officers(events);
    v.handoffs
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (result, class) = timeliness_label(tr, v.dwell.get(i).and_then(|s| s.timeliness));
            ControlRow {
                giver: agency_name(state, tr, &h.from),
                giver_officer: senders.get(i).cloned().unwrap_or_default(),
                receiver: agency_name(state, tr, &h.to),
                receiver_officer: acceptors.get(i).cloned().unwrap_or_default(),
                sent_at: iso_local(&h.sent_at),
                accepted_at: h.accepted_at.as_deref().map(iso_local).unwrap_or_default(),
                result,
                result_class: class,
                note: if h.delay_working_minutes > 0 {
                    format!(
                        "{}: {}",
                        tr.t("handoff_delay"),
                        format_working_minutes(h.delay_working_minutes, tr.lang.core())
                    )
                } else {
                    String::new()
                },
            }
        })
        .collect()
}

/// Each agency's stay: working time used against its budget.
fn step_rows(state: &AppState, tr: Tr, v: &DossierView) -> Vec<StepRow> {
    v.dwell
        .iter()
        .map(|s| {
            let (result, class) = timeliness_label(tr, s.timeliness);
            StepRow {
                agency: agency_name(state, tr, &s.agency),
                from: iso_local(&s.from),
                until: s.until.as_deref().map(iso_local).unwrap_or_default(),
                used: format_working_minutes(s.working_minutes, tr.lang.core()),
                budget: format_working_minutes(s.budget_minutes, tr.lang.core()),
                result,
                result_class: class,
                bounce: s.bounce,
            }
        })
        .collect()
}

/// The register's row of the dossier, which the permission checks read.
async fn stored_row(state: &AppState, tr: Tr, code: &str) -> Result<DossierRow, Response> {
    let parsed = views::parse_code(code).map_err(|p| error_page(tr, &p))?;
    match state.store.dossier_row(&parsed).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(error_page(tr, &Problem::not_found(code.to_string()))),
        Err(e) => Err(error_page(tr, &e.into())),
    }
}

/// The action forms this account may use on a dossier in this status.
fn action_forms(ui: &Ui, status: Status, pending_handoff: bool, row: &DossierRow) -> Vec<ActionVm> {
    actions_for(status, pending_handoff)
        .into_iter()
        .filter(|a| perm::authorize(&ui.who.staff, *a, Some(row)).is_ok())
        .map(|a| ActionVm {
            name: a.name(),
            label: ui.tr.t(a.name()).to_string(),
            to: matches!(a, Action::Transfer),
            reason: matches!(
                a,
                Action::RefuseOnline
                    | Action::RequestSupplement
                    | Action::RequestPayment
                    | Action::Reschedule
                    | Action::Resolve
                    | Action::Withdraw
                    | Action::Stop
            ),
            documents: a == Action::RequestSupplement,
            date: a == Action::Reschedule,
            refused: a == Action::Resolve,
            amount: a == Action::RequestPayment,
            payment: a == Action::Paid,
            electronic: a == Action::Resolve,
            reason_code: matches!(
                a,
                Action::RequestSupplement | Action::Reschedule | Action::Stop | Action::RefuseOnline | Action::Resolve
            ),
            digitise: matches!(a, Action::Accept | Action::AcceptOnline),
        })
        .collect()
}

fn event_rows(tr: Tr, log: &[LogLine]) -> Vec<EventRow> {
    let lang = if tr.en() { Lang::En } else { Lang::Vi };
    log.iter()
        .map(|e| EventRow {
            at: iso_local(&e.at),
            kind: crate::messages::event_name(e.kind, tr),
            by: e.by.clone().unwrap_or_default(),
            recorded_at: if e.backdated { iso_local(&e.recorded_at) } else { String::new() },
            gap: match (e.backdated, e.backdated_working_minutes) {
                (true, Some(m)) => format_working_minutes(m, lang),
                _ => String::new(),
            },
            reason: e.backdate_reason.clone().unwrap_or_default(),
        })
        .collect()
}

/// The dossier page, with `error` (an action just refused) above the forms when not empty.
async fn dossier_page(state: &AppState, ui: &Ui, code: &str, error: String) -> Response {
    let tr = ui.tr;
    let loaded = match load_for_page(state, ui, code, "GET /dossiers/{code}").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let (d, v) = (&loaded.dossier, &loaded.view);
    let Some(status) = d.status else { return error_page(tr, &Problem::not_found(code.to_string())) };
    let control = control_rows(state, tr, v, &loaded.events);
    let steps = step_rows(state, tr, v);
    let row = match stored_row(state, tr, code).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let page = DossierPage {
        page: Page::staff(tr, code, &format!("/dossiers/{code}"), &ui.who),
        code: code.to_string(),
        procedure: format!("{} — {}", v.procedure, procedure_name(state, tr, &v.procedure)),
        applicant: d.applicant.name.clone(),
        id_number: d.applicant.id_number.clone().unwrap_or_default(),
        phone: d.applicant.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
        status: status_label(tr, status),
        status_code: status.code(),
        received_at: local_opt(d.received_at.or(d.registered_at)),
        due_at: local_opt(d.due_at),
        original_due_at: local_opt(d.original_due_at),
        rescheduled_to: local_opt(d.rescheduled_to()),
        finished_at: local_opt(d.finished_at),
        returned_at: local_opt(d.returned_at),
        holder: if status == motcua_core::Status::Returned {
            String::new()
        } else {
            d.holder.as_ref().map(|h| agency_name(state, tr, h)).unwrap_or_default()
        },
        remaining: v.remaining_working_minutes.map(|m| format_working_minutes(m, tr.lang.core())).unwrap_or_default(),
        timeliness: v.timeliness.map(|t| tr.t(t).to_string()).unwrap_or_default(),
        overdue: v.overdue,
        waiting: v.state == Some(motcua_core::analysis::OpenState::WaitingForCitizen.name()),
        at_risk: v.at_risk,
        explanation: if tr.en() { v.explanation_en.clone() } else { v.explanation.clone() },
        control,
        steps,
        signals: v.signals.iter().map(|s| crate::messages::signal_text(&s.data, tr, Some(&state.domain))).collect(),
        events: event_rows(tr, &loaded.log),
        actions: action_forms(ui, status, d.pending_handoff().is_some(), &row),
        reason_codes: state
            .domain
            .delay_reasons
            .iter()
            .map(|r| {
                let lang = if tr.en() { Lang::En } else { Lang::Vi };
                (r.code.clone(), format!("{} ({})", r.label(lang), r.cause.label(lang)))
            })
            .collect(),
        fee: match state.domain.procedure_of(d).ok().map(|p| p.fee.as_ref()) {
            Some(Some(f)) => f.describe(),
            _ => tr.t("fee_unknown").to_string(),
        },
        papers: d.documents.iter().map(|p| (p.name.clone(), d.digitised_documents.contains(&p.name))).collect(),
        payment_methods: motcua_core::PaymentMethod::ALL
            .iter()
            .map(|m| (m.name(), if tr.en() { m.name_en() } else { m.name_vi() }))
            .collect(),
        // A transfer goes to an agency in force now.
        agencies: state
            .domain
            .catalog
            .agencies_in_force(motcua_core::calendar::to_local(state.now()).date())
            .filter(|a| d.holder.as_ref() != Some(&a.code))
            .map(|a| (a.code.to_string(), agency_name(state, tr, &a.code)))
            .collect(),
        next_agency: state
            .domain
            .procedure_of(d)
            .ok()
            .and_then(|p| next_route_agency(d, p))
            .map(|a| a.to_string())
            .unwrap_or_default(),
        has_letter: !d.reschedules.is_empty() || v.timeliness == Some("late"),
        has_supplement: loaded
            .events
            .iter()
            .any(|e| matches!(e.kind, motcua_core::EventKind::SupplementRequested { .. })),
        refused: status == motcua_core::Status::RefusedAtReceipt,
        holder_label: holder_label(tr, status),
        supplement: crate::public::SupplementAsked::of(state, d, &loaded.events),
        error,
    };
    html(if page.error.is_empty() { StatusCode::OK } else { StatusCode::CONFLICT }, &page)
}

pub async fn dossier(State(state): State<AppState>, ui: Ui, Path(code): Path<String>) -> Response {
    dossier_page(&state, &ui, &code, String::new()).await
}

/// The actions that cannot be undone: their form first shows a confirmation page, and only the
/// confirmed request (`confirm=1`) writes.
pub fn needs_confirmation(action: Action) -> bool {
    matches!(action, Action::Resolve | Action::Stop | Action::Return | Action::Withdraw | Action::RefuseOnline)
}

/// The confirmation page of an irreversible action: what will happen, and the same fields
/// posted again with `confirm=1`.
#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    page: Page,
    code: String,
    procedure: String,
    status: String,
    action: &'static str,
    label: String,
    consequence: String,
    /// What the officer typed, restated: (label, value).
    facts: Vec<(String, String)>,
    /// The form's fields, posted again (blank ones left out).
    hidden: Vec<(String, String)>,
}

fn confirm_page(
    state: &AppState,
    ui: &Ui,
    code: &str,
    action: Action,
    f: &ActionForm,
    d: &motcua_core::Dossier,
) -> Response {
    let tr = ui.tr;
    let fields = f.fields();
    let consequence = match action {
        Action::Resolve if fields.refused => "consequence_resolve_refused".to_string(),
        a => format!("consequence_{}", a.name()),
    };
    let mut facts = Vec::new();
    if let Some(r) = &fields.reason {
        facts.push((tr.t("reason").to_string(), r.clone()));
    }
    if action == Action::Resolve && fields.refused {
        facts.push((tr.t("refuse_result").to_string(), "✓".to_string()));
    }
    if let Some(c) = &fields.reason_code {
        facts.push((tr.t("reason_code").to_string(), c.clone()));
    }
    if action == Action::Resolve && fields.electronic {
        facts.push((tr.t("electronic_result").to_string(), "✓".to_string()));
    }
    if let Some(at) = &fields.at {
        facts.push((tr.t("stated_at").to_string(), at.replace('T', " ")));
    }
    if let Some(r) = &fields.backdate_reason {
        facts.push((tr.t("backdate_reason").to_string(), r.clone()));
    }
    let hidden: Vec<(String, String)> = [
        ("to", &f.to),
        ("reason", &f.reason),
        ("documents", &f.documents),
        ("responsible", &f.responsible),
        ("refused", &f.refused),
        ("override_second", &f.override_second),
        ("next_working_day", &f.next_working_day),
        ("reason_code", &f.reason_code),
        ("amount_vnd", &f.amount_vnd),
        ("method", &f.method),
        ("receipt", &f.receipt),
        ("electronic", &f.electronic),
        ("at", &f.at),
        ("backdate_reason", &f.backdate_reason),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| (k.to_string(), v.clone()))
    .chain(f.digitised().into_iter().enumerate().map(|(i, v)| (format!("digitised_{i}"), v)))
    .collect();
    let procedure = d.procedure.as_ref().map(|p| format!("{p} — {}", procedure_name(state, tr, p))).unwrap_or_default();
    let page = ConfirmPage {
        page: Page::staff(tr, tr.t("confirm_title"), &format!("/dossiers/{code}"), &ui.who),
        code: code.to_string(),
        procedure,
        status: d.status.map(|s| status_label(tr, s)).unwrap_or_default(),
        action: action.name(),
        label: tr.t(action.name()).to_string(),
        consequence: tr.t(&consequence).to_string(),
        facts,
        hidden,
    };
    html(StatusCode::OK, &page)
}

pub async fn dossier_action(
    State(state): State<AppState>,
    ui: Ui,
    Path((code, action)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> Response {
    if let Err(p) = ui.who.check_csrf(&f.csrf) {
        return error_page(ui.tr, &p);
    }
    let Some(action) = input::dossier_action(&action) else {
        return error_page(ui.tr, &Problem::not_found(action));
    };
    if needs_confirmation(action) && f.confirm.trim() != "1" {
        // Checked as the write would be — a refusal is the same page or error — and nothing
        // written: the dossier as it stands, with the confirmation asked for.
        return match views::check_act(&state, &ui.who, &code, action, &f.fields()).await {
            Ok(d) => confirm_page(&state, &ui, &code, action, &f, &d),
            Err(p) if matches!(p.kind, ProblemKind::Forbidden | ProblemKind::NotFound | ProblemKind::Internal) => {
                error_page(ui.tr, &p)
            }
            Err(p) => {
                let error = crate::messages::problem_text(&p, ui.tr, Some(&state.domain));
                dossier_page(&state, &ui, &code, error).await
            }
        };
    }
    match views::act(&state, &ui.who, &code, action, &f.fields()).await {
        Ok(_) if action == Action::Reschedule => Redirect::to(&format!("/dossiers/{code}/letter")).into_response(),
        Ok(_) => Redirect::to(&format!("/dossiers/{code}")).into_response(),
        Err(p) if matches!(p.kind, ProblemKind::Forbidden | ProblemKind::NotFound | ProblemKind::Internal) => {
            error_page(ui.tr, &p)
        }
        Err(p) => {
            let error = crate::messages::problem_text(&p, ui.tr, Some(&state.domain));
            dossier_page(&state, &ui, &code, error).await
        }
    }
}
