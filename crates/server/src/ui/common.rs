//! What the desk pages share: the logged-in staff member and the page's language ([`Ui`]),
//! names of agencies, procedures and statuses in that language, the agencies an account may
//! list, and loading a dossier for a page.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use motcua_core::{AgencyCode, Status};

use crate::auth::{self, Principal};
use crate::i18n::{Lang, Tr};
use crate::page::error_page;
use crate::perm;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{self, Loaded};

/// A logged-in staff member for a page, and the page's language. Without a live session the
/// browser is sent to the login page.
#[derive(Debug, Clone)]
pub struct Ui {
    pub who: Principal,
    pub tr: Tr,
}

fn query_lang(parts: &Parts) -> Option<String> {
    parts.uri.query()?.split('&').find_map(|kv| kv.strip_prefix("lang=")).map(str::to_string)
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let tr = Tr::new(Lang::of(&parts.headers, query_lang(parts).as_deref()));
        match auth::session_principal(state, &parts.headers).await {
            // The payment gateway's integration account has no page.
            Ok(Some(who)) if who.staff.role == motcua_store::Role::Payment => Err(error_page(
                tr,
                &Problem::forbidden("the payment integration account may only mark a dossier paid through the API"),
            )),
            Ok(Some(who)) => Ok(Self { who, tr }),
            Ok(None) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
                Err(Redirect::to(&format!("/login?next={}", encode(&next))).into_response())
            }
            Err(p) => Err(error_page(tr, &p)),
        }
    }
}

/// Percent-encodes a query value.
pub(super) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(super) fn agency_name(state: &AppState, tr: Tr, code: &AgencyCode) -> String {
    crate::paper::agency_name(&state.domain, tr, code)
}

pub(super) fn procedure_name(state: &AppState, tr: Tr, code: &motcua_core::ProcedureCode) -> String {
    crate::paper::procedure_name(&state.domain, tr, code)
}

pub(super) fn status_label(tr: Tr, s: Status) -> String {
    if tr.en() { s.name().replace('_', " ") } else { s.name_vi().to_string() }
}

pub(super) fn chosen_agencies(state: &AppState, ui: &Ui, q: Option<&str>) -> Result<Vec<AgencyCode>, Problem> {
    match q.map(str::trim).filter(|s| !s.is_empty()) {
        Some(a) => {
            let a: AgencyCode = a.parse().map_err(Problem::from)?;
            if ui.who.staff.agencies.contains(&a) || perm::sees_all_queues(&ui.who.staff) {
                Ok(vec![a])
            } else {
                Err(Problem::forbidden("not an agency of this account"))
            }
        }
        None if perm::sees_all_queues(&ui.who.staff) && ui.who.staff.agencies.is_empty() => {
            Ok(state.domain.catalog.agencies().map(|a| a.code.clone()).collect())
        }
        None => Ok(ui.who.staff.agencies.clone()),
    }
}

/// The agencies a page offers to choose: those in force today (a ceased district is history).
pub(super) fn agency_options(state: &AppState, ui: &Ui) -> Vec<(String, String)> {
    let all = perm::sees_all_queues(&ui.who.staff);
    let today = motcua_core::calendar::to_local(state.now()).date();
    state
        .domain
        .catalog
        .agencies_in_force(today)
        .filter(|a| all || ui.who.staff.agencies.contains(&a.code))
        .map(|a| (a.code.to_string(), agency_name(state, ui.tr, &a.code)))
        .collect()
}

/// A dossier for a page reached through `route` (as the audit of personal data reads names
/// it): its personal data shown, masked or recorded as read by the rule of [`perm`].
pub(super) async fn load_for_page(state: &AppState, ui: &Ui, code: &str, route: &str) -> Result<Loaded, Response> {
    let parsed = views::parse_code(code).map_err(|p| error_page(ui.tr, &p))?;
    views::load_for(state, &ui.who.staff, &parsed, state.now(), route)
        .await
        .map(|(l, _)| l)
        .map_err(|p| error_page(ui.tr, &p))
}
