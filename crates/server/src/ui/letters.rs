//! Letters: the desk's print queue (letters the worker addresses to the desk) and the
//! printable apology letter (Mẫu 04) of a rescheduled or late dossier.

use std::str::FromStr;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use motcua_core::forms::FormKind;
use motcua_core::letters::{Letter, MessageKind, Recipient};
use motcua_store::{
    DeskLetter, DeskLetterStore, LetterFilter, LetterMark, MarkRecord, Marked, OutboxMessage, OutboxStatus,
};
use serde::Deserialize;

use super::common::{Ui, chosen_agencies, encode};
use super::find::{Pager, pager_counting};
use crate::i18n::Tr;
use crate::messages::delivery_error_text;
use crate::page::{Form, Page, error_page, html};
use crate::perm;
use crate::problem::Problem;
use crate::shared::{local, local_opt};
use crate::state::AppState;
use crate::views::Paging;

/// One letter of the desk's print queue.
#[derive(Debug)]
struct DeskLetterVm {
    code: String,
    number: String,
    kind: String,
    /// The printable form under the dossier (`forms/apology`, `forms/supplement`,
    /// `forms/receipt`); empty when no form stands for the letter.
    paper: String,
    applicant: String,
    procedure: String,
    issued: String,
    new_date: String,
    /// pending, sent or dead: the outbox row's status.
    state: &'static str,
    state_label: String,
    /// Why it failed, in the page's language; the worker's stored reason in `error_detail`.
    error: String,
    error_detail: String,
    /// The outbox row's id, which the marks' forms post to.
    id: i64,
    /// "lan, 07/12/2026 10:05" (Vietnam time), empty when not marked.
    printed: String,
    handed: String,
}

#[derive(Template)]
#[template(path = "letters.html")]
struct LettersPage {
    page: Page,
    rows: Vec<DeskLetterVm>,
    pager: Pager,
    /// The filter's options (value, label) and the one chosen.
    filters: Vec<(&'static str, String)>,
    filter: &'static str,
    /// Where a mark's form sends the desk back to: this page.
    back: String,
    /// Whether this account may mark letters (a desk officer).
    may_mark: bool,
    /// A mark just refused.
    error: String,
}

/// A letter of the print queue, the applicant's name masked unless `own` (the reader works at
/// the desk it is addressed to, the dossier's receiving desk).
fn desk_letter_vm(tr: Tr, l: &DeskLetter, own: bool) -> DeskLetterVm {
    let m = &l.message;
    let mark = |r: &Option<MarkRecord>| r.as_ref().map(|r| format!("{}, {}", r.by, local(r.at))).unwrap_or_default();
    // The payload is core's letter as it was decided; a row that does not parse is still
    // listed (its code and status), never an error page.
    let letter = serde_json::from_str::<Letter>(&m.payload).ok();
    let facts = letter.as_ref().map(|l| &l.dossier);
    let kind = match MessageKind::from_str(&m.kind) {
        Ok(MessageKind::Apology) => tr.t("letter").to_string(),
        Ok(MessageKind::ApologyWithResult) => tr.t("letter_with_result").to_string(),
        Ok(MessageKind::SupplementRequest) => tr.t("letter_supplement").to_string(),
        Ok(MessageKind::Receipt) => tr.t("letter_receipt").to_string(),
        Ok(MessageKind::ResultReady) => tr.t("letter_result_ready").to_string(),
        // Staff notices never go to a desk's print queue; a row of a kind this build does not
        // know is still listed, under a word rather than its stored name.
        _ => tr.t("letter_other").to_string(),
    };
    // The paper to print: the official form that stands for the letter (the receipt, Mẫu 01;
    // the supplement request, Mẫu 02; the apology, Mẫu 04), as the worker printed it; none for a
    // letter no form stands for (the result-ready notice).
    let paper = MessageKind::from_str(&m.kind)
        .ok()
        .and_then(FormKind::for_letter)
        .map(|f| format!("forms/{}", f.name()))
        .unwrap_or_default();
    let (state_label, error_detail) = match m.status {
        OutboxStatus::Pending => (tr.t("letter_pending"), String::new()),
        OutboxStatus::Sent => (tr.t("letter_queued"), String::new()),
        OutboxStatus::Dead => (tr.t("letter_failed"), m.last_error.clone().unwrap_or_default()),
    };
    let error = if error_detail.is_empty() { String::new() } else { delivery_error_text(&error_detail, tr) };
    DeskLetterVm {
        code: m.dossier_code.as_ref().map(ToString::to_string).unwrap_or_default(),
        number: letter.as_ref().and_then(|l| l.apology.as_ref()).map(|a| a.number.clone()).unwrap_or_default(),
        kind,
        paper,
        applicant: if own {
            facts.map(|f| f.applicant_name.clone()).unwrap_or_default()
        } else {
            crate::privacy::MASK.to_string()
        },
        procedure: facts
            .map(|f| if tr.en() { f.procedure_name_en.clone() } else { f.procedure_name.clone() })
            .unwrap_or_default(),
        issued: local(letter.as_ref().map_or(m.created_at, |l| l.issued_at)),
        new_date: local_opt(facts.and_then(|f| f.new_due_at)),
        state: m.status.name(),
        state_label: state_label.to_string(),
        error,
        error_detail,
        id: m.id,
        printed: mark(&l.printed),
        handed: mark(&l.handed),
    }
}

fn is_own(ui: &Ui, m: &OutboxMessage) -> bool {
    matches!(Recipient::from_str(&m.recipient), Ok(Recipient::Desk(a)) if ui.who.staff.agencies.contains(&a))
}

#[derive(Debug, Default, Deserialize)]
pub struct OutboxQuery {
    agency: Option<String>,
    /// `all` (default), `not_printed` or `not_handed`.
    filter: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// Letters to print: the outbox rows the worker addresses to the account's desks (citizens
/// with no e-mail address), newest first — waiting for the worker, in the print queue, or
/// failed — each with a link to its printable page, who printed it and who handed it over, a
/// page at a time with the count; `?filter=not_printed|not_handed`.
pub async fn outbox(State(state): State<AppState>, ui: Ui, Query(q): Query<OutboxQuery>) -> Response {
    outbox_page(&state, &ui, &q, String::new()).await
}

async fn outbox_page(state: &AppState, ui: &Ui, q: &OutboxQuery, error: String) -> Response {
    let tr = ui.tr;
    let agencies = match chosen_agencies(state, ui, q.agency.as_deref()) {
        Ok(a) => a,
        Err(p) => return error_page(tr, &p),
    };
    let filter = match q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        None => LetterFilter::All,
        Some(f) => match LetterFilter::parse(f) {
            Some(f) => f,
            None => {
                return error_page(
                    tr,
                    &Problem::invalid(format!("unknown filter {f:?}: all, not_printed or not_handed")),
                );
            }
        },
    };
    let paging = Paging::new(q.page, q.per_page);
    let found = match state.store.desk_letter_page(&agencies, filter, paging.window()).await {
        Ok(r) => r,
        Err(e) => return error_page(tr, &e.into()),
    };
    let place = paging.place(found.rows.len(), found.total);
    let agency = q.agency.clone().unwrap_or_default();
    let filter_param = if filter == LetterFilter::All { "" } else { filter.name() };
    let params = [("agency", agency.as_str()), ("filter", filter_param)];
    let pager = pager_counting(tr, "/outbox", &params, &place, ("no_letters", "letters"));
    let mut back: Vec<String> =
        params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", encode(v))).collect();
    if paging.page > 1 {
        back.push(format!("page={}", paging.page));
    }
    let back = if back.is_empty() { "/outbox".to_string() } else { format!("/outbox?{}", back.join("&")) };
    let page = LettersPage {
        page: Page::staff(tr, tr.t("outbox"), &back, &ui.who),
        rows: found.rows.iter().map(|l| desk_letter_vm(tr, l, is_own(ui, &l.message))).collect(),
        pager,
        filters: [
            (LetterFilter::All, "letters_all"),
            (LetterFilter::NotPrinted, "letters_not_printed"),
            (LetterFilter::NotHanded, "letters_not_handed"),
        ]
        .into_iter()
        .map(|(f, k)| (f.name(), tr.t(k).to_string()))
        .collect(),
        filter: filter.name(),
        back,
        may_mark: perm::may_mark_letters(ui.who.staff.role),
        error,
    };
    html(if page.error.is_empty() { StatusCode::OK } else { StatusCode::CONFLICT }, &page)
}

/// A mark's form: the session's token and the page to go back to.
#[derive(Debug, Default, Deserialize)]
pub struct MarkForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    back: String,
}

pub async fn mark_printed(state: State<AppState>, ui: Ui, Path(id): Path<String>, f: Form<MarkForm>) -> Response {
    mark(state, ui, id, LetterMark::Printed, f).await
}

pub async fn mark_handed(state: State<AppState>, ui: Ui, Path(id): Path<String>, f: Form<MarkForm>) -> Response {
    mark(state, ui, id, LetterMark::Handed, f).await
}

/// `POST /outbox/{id}/printed|handed`: a desk officer marks a letter of one of its desks printed or
/// handed over (after printed), once; recorded with who and when, then back to the list. A
/// letter already so marked, or handed over before it was printed, is refused with the list
/// and the reason, and nothing is written.
async fn mark(
    State(state): State<AppState>,
    ui: Ui,
    id: String,
    mark: LetterMark,
    Form(f): Form<MarkForm>,
) -> Response {
    let tr = ui.tr;
    if let Err(p) = ui.who.check_csrf(&f.csrf) {
        return error_page(tr, &p);
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(tr, &Problem::not_found(format!("no letter {id}")));
    };
    if !perm::may_mark_letters(ui.who.staff.role) {
        return error_page(
            tr,
            &Problem::forbidden(format!("the role {} may not mark letters: the desk does", ui.who.staff.role)),
        );
    }
    // Back to the list as it was shown, never elsewhere.
    let back = Some(f.back.trim()).filter(|b| b.starts_with("/outbox") && !b.contains("//")).unwrap_or("/outbox");
    let by = ui.who.staff.username.clone();
    let at = state.now();
    match state.store.mark_letter(id, &ui.who.staff.agencies, mark, &by, at).await {
        Ok(Marked::Done(_)) => {
            tracing::info!(target: "motcua::audit", letter = id, mark = mark.name(), by = %by, at = %at, "letter marked");
            Redirect::to(back).into_response()
        }
        Ok(Marked::NotFound) => error_page(tr, &Problem::not_found(format!("no letter {id} at this account's desks"))),
        Ok(refused) => {
            let error = match refused {
                Marked::Already(r) => format!("{} ({}, {})", tr.t("mark_already"), r.by, local(r.at)),
                _ => tr.t("mark_needs_print").to_string(),
            };
            let q = back_query(back);
            outbox_page(&state, &ui, &q, error).await
        }
        Err(e) => error_page(tr, &e.into()),
    }
}

/// The list's query from the page a mark came from.
fn back_query(back: &str) -> OutboxQuery {
    let query = back.split_once('?').map_or("", |(_, q)| q);
    let mut q = OutboxQuery::default();
    for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
        match k {
            "agency" => q.agency = Some(v.to_string()),
            "filter" => q.filter = Some(v.to_string()),
            "page" => q.page = v.parse().ok(),
            _ => {}
        }
    }
    q
}

/// The apology letter (Mẫu 04) the dossier owes: the same paper as `/forms/apology`.
pub async fn letter(State(state): State<AppState>, ui: Ui, Path(code): Path<String>) -> Response {
    super::forms::dossier_form(&state, &ui, &code, motcua_core::forms::FormKind::Apology).await
}
