//! The server's request bodies: the JSON API's (`api_bodies`) and the desk pages' forms
//! (`desk_forms`), read and checked by `motcua_server::input` exactly as the handlers do before
//! they touch the store. An input is the operation on its first line (as the route names it),
//! then the body.
//!
//! What passed the checks is checked again here, so that a rule that lets through what it
//! should refuse panics: a checked name or reason is unchanged by its text rule, a stamp is
//! never after now nor (for staff without the paper-history capability) beyond the window, a
//! token lives 1 to 365 days, a place to go after login stays on the server.

use motcua_core::backdate::{self, BACKDATE_REASON_FIELD, BackdateWindow, Stating};
use motcua_core::commands::CheckedIntake;
use motcua_core::text::{self, ADDRESS_MAX_CHARS, DOCUMENT_MAX_CHARS, NAME_MAX_CHARS, REASON_MAX_CHARS};
use motcua_core::{AgencyCode, Channel, Domain, EventKind};
use motcua_server::input::{
    self, ActionFields, ActionForm, CsrfForm, IntakeFields, IntakeFormBody, LoginBody, LoginForm, LookupBody,
    LookupForm, NewTokenBody, RATING_COMMENT_MAX_CHARS, TOKEN_MAX_DAYS, TOKEN_NAME_MAX_CHARS,
};
use motcua_server::perm::Action;

use crate::fixtures;

/// The first line (the operation) and the rest (the body).
fn operation(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// A JSON body of the API. The first line names the operation: `session` (log in), `tokens`
/// (a new API token), `dossiers` (intake), `submissions` (online), `lookup`, or an action on a
/// dossier as its path names it (`transfer`, `accept`, `accept-online`, `refuse-online`,
/// `request-supplement`, `supplement`, `request-payment`, `paid`, `reschedule`, `resolve`,
/// `return`, `withdraw`, `stop`). The intake's and the actions' `at` and `backdate_reason` are
/// checked at [`fixtures::now`] with the default window, as staff and as an account that may
/// key in paper history.
pub fn api_bodies(data: &[u8]) {
    let Ok(domain) = fixtures::domain() else { return };
    let (op, body) = operation(data);
    match op {
        b"session" => {
            let _ = input::json_body::<LoginBody>(body);
        }
        b"tokens" => {
            if let Ok(b) = input::json_body::<NewTokenBody>(body) {
                token(&b);
            }
        }
        b"dossiers" | b"submissions" => {
            let action = if op == b"dossiers" { Action::Intake } else { Action::Submit };
            if let Ok(f) = input::json_body::<IntakeFields>(body) {
                intake(domain, &f, action);
            }
        }
        b"lookup" => {
            if let Ok(b) = input::json_body::<LookupBody>(body) {
                let _ = input::lookup_code(&b.code);
            }
        }
        other => {
            let Some(action) = std::str::from_utf8(other).ok().and_then(input::dossier_action) else { return };
            if let Ok(f) = input::json_body::<ActionFields>(body) {
                act(domain, &f, action);
            }
        }
    }
}

/// A form body of the pages (`application/x-www-form-urlencoded`). The first line names the
/// form: `intake`, `login`, `logout`, `lookup` (the public lookup), `rate` (its rating form),
/// or an action of the dossier page (`transfer`, `reschedule`, …, as for [`api_bodies`]).
pub fn desk_forms(data: &[u8]) {
    let Ok(domain) = fixtures::domain() else { return };
    let (op, body) = operation(data);
    match op {
        b"intake" => {
            if let Ok(f) = input::form_body::<IntakeFormBody>(body) {
                intake(domain, &f.fields, Action::Intake);
            }
        }
        b"login" => {
            if let Ok(f) = input::form_body::<LoginForm>(body) {
                let next = input::safe_next(f.next.as_deref());
                stays_here(&next);
            }
        }
        b"logout" => {
            let _ = input::form_body::<CsrfForm>(body);
        }
        b"lookup" | b"rate" => {
            if let Ok(f) = input::form_body::<LookupForm>(body) {
                let _ = input::lookup_code(&f.code);
                if let Some(score) = f.score() {
                    assert!((1..=5).contains(&score), "a score of {score}");
                }
                if let Some(c) = f.comment() {
                    assert!(c.chars().count() <= RATING_COMMENT_MAX_CHARS && !c.trim().is_empty());
                }
            }
        }
        other => {
            let Some(action) = std::str::from_utf8(other).ok().and_then(input::dossier_action) else { return };
            if let Ok(f) = input::form_body::<ActionForm>(body) {
                act(domain, &f.fields(), action);
            }
        }
    }
}

/// A path the login sends the browser to: on this server, so neither a scheme-relative
/// `//host` nor a backslash a browser reads as one.
fn stays_here(next: &str) {
    let mut chars = next.chars();
    assert_eq!(chars.next(), Some('/'), "after login to {next:?}");
    assert!(!matches!(chars.next(), Some('/' | '\\')), "after login to {next:?}, another server");
    assert!(!next.chars().any(|c| c.is_ascii_control()), "after login to {next:?}, a control character");
}

fn token(b: &NewTokenBody) {
    if let Ok((name, days)) = input::token_request(&b.name, b.expires_in_days) {
        assert_eq!(text::line(&name, "name", TOKEN_NAME_MAX_CHARS).as_ref(), Ok(&name));
        assert!((1..=TOKEN_MAX_DAYS).contains(&days));
    }
}

/// An intake (`Intake` at the desk, `Submit` online), then its instant on the desk's calendar,
/// as `views::open` does before the store.
fn intake(domain: &Domain, f: &IntakeFields, action: Action) {
    let Ok(checked) = f.check(domain, action) else { return };
    checked_intake(&checked, action);
    stamps(domain, &checked.agency, f.at.as_deref(), f.backdate_reason.as_deref());
}

fn checked_intake(c: &CheckedIntake, action: Action) {
    let a = &c.applicant;
    assert_eq!(text::line(&a.name, "applicant", NAME_MAX_CHARS).as_ref(), Ok(&a.name));
    if let Some(address) = &a.address {
        assert_eq!(text::paragraph(address, "address", ADDRESS_MAX_CHARS).as_ref(), Ok(address));
    }
    if let Some(id) = &a.id_number {
        assert!(matches!(id.len(), 9 | 12) && id.bytes().all(|b| b.is_ascii_digit()), "ID number {id:?}");
    }
    assert_eq!(c.channel == Channel::Online, action == Action::Submit, "channel {:?} for {action:?}", c.channel);
}

/// An action's event, then its instant, as `views::act` does once the dossier is found (here
/// on the calendar of the first agency of the catalog, the desk of the dossier being unknown).
fn act(domain: &Domain, f: &ActionFields, action: Action) {
    let Ok(kind) = f.event_kind(domain, action) else { return };
    checked_event(&kind);
    let Some(desk) = domain.catalog.agencies().next().map(|a| a.code.clone()) else { return };
    stamps(domain, &desk, f.at.as_deref(), f.backdate_reason.as_deref());
}

fn checked_event(kind: &EventKind) {
    let paragraph = |s: &String| {
        if !s.is_empty() {
            assert_eq!(text::paragraph(s, "reason", REASON_MAX_CHARS).as_ref(), Ok(s));
        }
    };
    match kind {
        EventKind::RefusedAtReceipt { reason, .. }
        | EventKind::PaymentRequested { reason, .. }
        | EventKind::Withdrawn { reason }
        | EventKind::Stopped { reason, .. }
        | EventKind::Rescheduled { reason, .. } => paragraph(reason),
        EventKind::Paid { receipt: Some(r), .. } => {
            assert_eq!(text::line(r, "receipt", motcua_core::commands::RECEIPT_MAX_CHARS).as_ref(), Ok(r));
        }
        EventKind::SupplementRequested { reason, documents, .. } => {
            paragraph(reason);
            for d in documents {
                assert_eq!(text::line(d, "documents", DOCUMENT_MAX_CHARS).as_ref(), Ok(d));
            }
        }
        EventKind::Resolved { reason: Some(reason), .. } => paragraph(reason),
        _ => {}
    }
}

/// `at` and `backdate_reason` checked at [`fixtures::now`] on `desk`'s calendar, as staff and
/// as an account that may key in paper history.
fn stamps(domain: &Domain, desk: &AgencyCode, at: Option<&str>, reason: Option<&str>) {
    let cal = domain.calendar_for(desk);
    let window = BackdateWindow::default();
    for stating in [Stating::Staff, Stating::PaperHistory] {
        let Ok(s) = input::stamp(cal, fixtures::now(), window, stating, at, reason) else { continue };
        assert!(s.at <= s.now, "stated {} after now {}", s.at, s.now);
        if stating == Stating::Staff {
            assert!(!backdate::beyond_window(cal, s.at, s.now, window), "stated {} beyond the window", s.at);
        }
        if let Some(r) = &s.reason {
            assert_eq!(text::paragraph(r, BACKDATE_REASON_FIELD, REASON_MAX_CHARS).as_ref(), Ok(r));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn realistic_bodies_pass_the_checks_and_reach_the_stamp() {
        let domain = fixtures::domain().unwrap();
        let body = r#"{"procedure":"1.001193","agency":"000.00.41.H17","applicant":"Trần Thị Bình","at":"2025-03-21T16:00:00+07:00"}"#;
        let f = input::json_body::<IntakeFields>(body.as_bytes()).unwrap_or_default();
        let checked = f.check(domain, Action::Intake);
        assert!(checked.is_ok(), "{checked:?}");
        let cal = domain.calendar_for(&"000.00.41.H17".parse().unwrap());
        let s = input::stamp(cal, fixtures::now(), BackdateWindow::default(), Stating::Staff, f.at.as_deref(), None);
        assert!(s.is_ok_and(|s| s.at < s.now), "Friday 16:00 is within a working day of Monday 09:00");
        let form: ActionForm =
            input::form_body(b"reason=Ch%E1%BB%9D&documents=A%0D%0AB&at=2025-03-24T08%3A30").unwrap_or_default();
        let kind = form.fields().event_kind(domain, Action::RequestSupplement);
        assert!(
            matches!(&kind, Ok(EventKind::SupplementRequested { documents, .. }) if documents == &["A", "B"]),
            "{kind:?}"
        );
    }
}
