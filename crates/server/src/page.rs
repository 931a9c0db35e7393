//! The frame every HTML page shares — desk and public alike: what the layout needs ([`Page`]),
//! rendering a template as a response, and a problem shown as an error page.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use motcua_store::StaffRow;

use crate::auth::Principal;
use crate::i18n::Tr;
use crate::perm;
use crate::problem::{Problem, ProblemKind};

/// What every page's layout needs.
#[derive(Debug, Clone)]
pub struct Page {
    pub tr: Tr,
    pub title: String,
    pub staff: Option<StaffRow>,
    pub csrf: String,
    pub path: String,
}

impl Page {
    pub fn public(tr: Tr, title: &str, path: &str) -> Self {
        Self { tr, title: title.to_string(), staff: None, csrf: String::new(), path: path.to_string() }
    }

    pub fn staff(tr: Tr, title: &str, path: &str, who: &Principal) -> Self {
        Self {
            tr,
            title: title.to_string(),
            staff: Some(who.staff.clone()),
            csrf: who.csrf().to_string(),
            path: path.to_string(),
        }
    }

    /// The same page in the other language.
    pub fn other_lang(&self) -> String {
        let sep = if self.path.contains('?') { '&' } else { '?' };
        format!("{}{sep}lang={}", self.path, self.tr.t("switch_lang_code"))
    }

    pub fn may_audit(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| perm::may_audit(s.role))
    }

    pub fn active(&self, prefix: &str) -> bool {
        self.path.starts_with(prefix)
    }
}

/// Renders a template as an HTML response.
pub fn html<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(body) => {
            let mut r = (status, body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            r
        }
        Err(e) => Problem::internal(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    message: String,
    detail: String,
}

/// A problem as an HTML page.
pub fn error_page(tr: Tr, p: &Problem) -> Response {
    let message = match p.kind {
        ProblemKind::Forbidden | ProblemKind::CsrfMismatch => tr.t("forbidden").to_string(),
        ProblemKind::NotFound => tr.t("not_found").to_string(),
        _ => p.kind.title().to_string(),
    };
    let page = ErrorPage {
        page: Page::public(tr, tr.t("error"), "/"),
        status: p.status().as_u16(),
        message,
        detail: p.detail.clone(),
    };
    html(p.status(), &page)
}
