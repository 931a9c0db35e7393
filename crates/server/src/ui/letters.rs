//! Letters: the desk's print queue (letters the worker addresses to the desk) and the
//! printable apology letter (Mẫu 04) of a rescheduled or late dossier.

use std::str::FromStr;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use motcua_core::letters::{Letter, MessageKind, Recipient};
use motcua_store::{OutboxMessage, OutboxStatus, OutboxStore};

use super::common::{Ui, chosen_agencies};
use crate::i18n::Tr;
use crate::page::{Page, error_page, html};
use crate::shared::{local, local_opt};
use crate::state::AppState;
use crate::views;

/// One letter of the desk's print queue.
#[derive(Debug)]
struct DeskLetterVm {
    code: String,
    number: String,
    kind: String,
    applicant: String,
    procedure: String,
    issued: String,
    new_date: String,
    /// pending, sent or dead: the outbox row's status.
    state: &'static str,
    state_label: String,
    error: String,
}

#[derive(Template)]
#[template(path = "letters.html")]
struct LettersPage {
    page: Page,
    rows: Vec<DeskLetterVm>,
}

/// A letter of the print queue, the applicant's name masked unless `own` (the reader works at
/// the desk it is addressed to, the dossier's receiving desk).
fn desk_letter_vm(tr: Tr, m: &OutboxMessage, own: bool) -> DeskLetterVm {
    // The payload is core's letter as it was decided; a row that does not parse is still
    // listed (its code and status), never an error page.
    let letter = serde_json::from_str::<Letter>(&m.payload).ok();
    let facts = letter.as_ref().map(|l| &l.dossier);
    let kind = match MessageKind::from_str(&m.kind) {
        Ok(MessageKind::Apology) => tr.t("letter").to_string(),
        Ok(MessageKind::ApologyWithResult) => tr.t("letter_with_result").to_string(),
        _ => m.kind.clone(),
    };
    let (state_label, error) = match m.status {
        OutboxStatus::Pending => (tr.t("letter_pending"), String::new()),
        OutboxStatus::Sent => (tr.t("letter_queued"), String::new()),
        OutboxStatus::Dead => (tr.t("letter_failed"), m.last_error.clone().unwrap_or_default()),
    };
    DeskLetterVm {
        code: m.dossier_code.as_ref().map(ToString::to_string).unwrap_or_default(),
        number: letter.as_ref().and_then(|l| l.apology.as_ref()).map(|a| a.number.clone()).unwrap_or_default(),
        kind,
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
    }
}

/// Letters to print: the outbox rows the worker addresses to the account's desks (citizens
/// with no e-mail address), newest first — waiting for the worker, in the print queue, or
/// failed — each with a link to its printable page.
pub async fn outbox(State(state): State<AppState>, ui: Ui) -> Response {
    let tr = ui.tr;
    let agencies = match chosen_agencies(&state, &ui, None) {
        Ok(a) => a,
        Err(p) => return error_page(tr, &p),
    };
    let rows = match state.store.desk_letters(&agencies, views::QUEUE_LIMIT).await {
        Ok(r) => r,
        Err(e) => return error_page(tr, &e.into()),
    };
    let page = LettersPage {
        page: Page::staff(tr, tr.t("outbox"), "/outbox", &ui.who),
        rows: rows
            .iter()
            .map(|m| {
                let own = matches!(Recipient::from_str(&m.recipient), Ok(Recipient::Desk(a)) if ui.who.staff.agencies.contains(&a));
                desk_letter_vm(tr, m, own)
            })
            .collect(),
    };
    html(StatusCode::OK, &page)
}

/// The apology letter (Mẫu 04) the dossier owes: the same paper as `/forms/apology`.
pub async fn letter(State(state): State<AppState>, ui: Ui, Path(code): Path<String>) -> Response {
    super::forms::dossier_form(&state, &ui, &code, motcua_core::forms::FormKind::Apology).await
}
