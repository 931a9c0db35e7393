//! The frame every HTML page shares — desk and public alike: what the layout needs ([`Page`]),
//! rendering a template as a response, a problem shown as an error page, and a posted form
//! read by [`crate::input::form_body`] ([`Form`]).

use askama::Template;
use axum::extract::{FromRequest, RawForm, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use motcua_store::StaffRow;
use serde::de::DeserializeOwned;

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

    pub fn may_read_scorecard(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| perm::may_read_scorecard(s.role))
    }

    pub fn may_read_hall_figures(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| perm::may_read_hall_figures(s.role))
    }

    pub fn may_audit(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| perm::may_audit(s.role))
    }

    /// The logged-in account's role, named in the page's language.
    pub fn role_name(&self) -> &'static str {
        match &self.staff {
            Some(s) if self.tr.en() => s.role.name_en(),
            Some(s) => s.role.name_vi(),
            None => "",
        }
    }

    pub fn active(&self, prefix: &str) -> bool {
        self.path.starts_with(prefix)
    }
}

/// Renders a template as an HTML response.
pub fn html<T: Template>(status: StatusCode, t: &T) -> Response {
    rendered(status, t.render())
}

/// A rendered page as an HTML response; a template that failed is a 500 problem.
pub fn rendered(status: StatusCode, body: Result<String, askama::Error>) -> Response {
    match body {
        Ok(body) => {
            let mut r = (status, body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            r
        }
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// A posted `application/x-www-form-urlencoded` body, decoded by [`crate::input::form_body`].
/// Another content type or an unreadable body is the router's plain-text rejection (made an
/// error page on the way out); a form that does not decode is a 422 error page.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let tr = Tr::new(crate::i18n::Lang::of_request(req.headers(), req.uri()));
        let RawForm(bytes) = RawForm::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        crate::input::form_body(&bytes).map(Form).map_err(|p| error_page(tr, &p))
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
        _ => crate::messages::title(p.kind, tr).to_string(),
    };
    // The cause in the page's language; on a Vietnamese page a problem with no cause says its
    // kind only, which the message already does.
    let detail = crate::messages::problem_text(p, tr, None);
    let detail = if detail.trim_end_matches('.') == message.trim_end_matches('.') || (!tr.en() && p.cause.is_none()) {
        String::new()
    } else {
        detail
    };
    let page = ErrorPage { page: Page::public(tr, tr.t("error"), "/"), status: p.status().as_u16(), message, detail };
    html(p.status(), &page)
}
