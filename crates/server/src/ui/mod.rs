//! The desk's web pages, server-rendered with askama: login, work queue, intake and the
//! printable receipt, the dossier page (control sheet, explanation, actions), the apology
//! letter, online submissions, the report, letters to print, the audit log and
//! the audit of reads of citizens' personal data. No JavaScript
//! framework; every form carries the session's CSRF token.
//!
//! One file per page or group of pages — `login`, `queue` (and online submissions), `intake`
//! (and the receipt), `dossier` (and its action forms), `letters` (print queue and apology
//! letter), `reports` (report and audit log) — each using `common` for the logged-in account,
//! names in the page's language and loading a dossier; this file has the routes and the
//! language cookie.

mod common;
mod dossier;
mod intake;
mod letters;
mod login;
mod queue;
mod reports;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};

use crate::auth;
use crate::i18n::Lang;
use crate::state::AppState;

/// The desk's pages; the router adds the public ones and the language layer.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::login_form).post(login::login_submit))
        .route("/logout", post(login::logout))
        .route("/queue", get(queue::queue))
        .route("/online", get(queue::online))
        .route("/outbox", get(letters::outbox))
        .route("/intake", get(intake::intake_form).post(intake::intake_submit))
        .route("/dossiers/{code}", get(dossier::dossier))
        .route("/dossiers/{code}/receipt", get(intake::receipt))
        .route("/dossiers/{code}/letter", get(letters::letter))
        .route("/dossiers/{code}/{action}", post(dossier::dossier_action))
        .route("/report", get(reports::report))
        .route("/audit", get(reports::audit))
        .route("/audit/reads", get(reports::personal_data_reads))
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
