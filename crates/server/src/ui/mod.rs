//! The desk's web pages, server-rendered with askama: login, work queue, intake and the
//! printable receipt, the dossier page (control sheet, explanation, actions), the apology
//! letter, online submissions, the report, letters to print, the audit log and
//! the audit of reads of citizens' personal data. No JavaScript
//! framework; every form carries the session's CSRF token.
//!
//! One file per page or group of pages — `login`, `queue` (and online submissions), `find`
//! (the search and the desk's lists), `intake`
//! (and the receipt), `counter` (the counter panel of the reception hall beside the queue),
//! `dossier` (and its action forms), `letters` (print queue and apology letter), `reports`
//! (report and audit log), `scorecard`, `hall_report` (the hall's figures) — each using `common` for the logged-in account,
//! names in the page's language and loading a dossier; this file has the routes and the
//! language cookie.

mod common;
mod counter;
mod dossier;
mod find;
mod forms;
mod hall_report;
mod intake;
mod letters;
mod login;
mod petitions;
mod queue;
mod reports;
mod scorecard;

use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::auth;
use crate::i18n::Lang;
use crate::routing::Routes;
use crate::state::AppState;

/// The desk's pages; the router adds the public ones and the language layer.
pub fn routes() -> Routes<AppState> {
    Routes::new()
        .get("/", login::home)
        .get("/login", login::login_form)
        .post("/login", login::login_submit)
        .post("/logout", login::logout)
        .get("/queue", queue::queue)
        .post("/counter", counter::counter_step)
        .get("/tim-kiem", find::search)
        .get("/lists/sent", find::sent)
        .get("/lists/ready", find::ready)
        .get("/lists/waiting", find::waiting)
        .get("/lists/imported", queue::imported)
        .get("/online", queue::online)
        .get("/outbox", letters::outbox)
        .post("/outbox/{id}/printed", letters::mark_printed)
        .post("/outbox/{id}/handed", letters::mark_handed)
        .get("/intake", intake::intake_form)
        .post("/intake", intake::intake_submit)
        .get("/dossiers/{code}", dossier::dossier)
        .get("/dossiers/{code}/receipt", intake::receipt)
        .get("/dossiers/{code}/letter", letters::letter)
        .get("/dossiers/{code}/forms/{kind}", forms::form)
        .get("/forms/book", forms::book)
        .post("/dossiers/{code}/{action}", dossier::dossier_action)
        .get("/report", reports::report)
        .get("/watchlist", reports::watchlist)
        .get("/scorecard", scorecard::scorecard_page)
        .get("/sanh/bao-cao", hall_report::hall_report_page)
        .get("/audit", reports::audit)
        .get("/audit/reads", reports::personal_data_reads)
        .get("/petitions/{petition}", petitions::petition_page)
        .post("/petitions/{petition}/accept", petitions::accept)
        .post("/petitions/{petition}/answer", petitions::answer)
        .post("/petitions/{petition}/extend", petitions::extend)
        .post("/petitions/{petition}/forward", petitions::forward)
        .post("/petitions/{petition}/guide", petitions::guide)
        .post("/petitions/{petition}/transfer", petitions::transfer)
        .post("/petitions/{petition}/close", petitions::close)
}

/// Sets the language cookie when a page is asked for with `?lang=`.
pub async fn lang_cookie(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let lang =
        req.uri().query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang="))).and_then(Lang::parse);
    let mut r = next.run(req).await;
    if let Some(l) = lang
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            auth::LANG_COOKIE,
            l.code()
        ))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
