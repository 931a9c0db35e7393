//! Signing in and out: the login form, the session cookie, and `/` sending the browser to the
//! queue or the login page.

use askama::Template;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use motcua_store::StaffStore;
use serde::Deserialize;

use super::common::Ui;
use crate::auth::{self, Via};
use crate::i18n::{Lang, Tr};
use crate::page::{Page, error_page, html};
use crate::state::AppState;

/// Only local paths are followed after login.
/// Where to go after logging in: `next` as a browser would resolve it (the WHATWG URL rules:
/// tabs and line breaks dropped, backslashes read as slashes, `..` and percent-escapes
/// normalised) against this server, kept only when it stays on this server; anything else
/// goes to the queue. The answer is the normalised path, so what the `Location` header says is
/// what the browser will do; a normalised path that starts with `//` (`/.//evil.example`,
/// `/..//evil.example`, `/%2e//evil.example`) would be read by the browser as a scheme-relative
/// URL to another host, so it goes to the queue too.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/queue";
    let Some(next) = next else { return HOME.into() };
    let Ok(base) = url::Url::parse("http://motcua.invalid/") else { return HOME.into() };
    match base.join(next) {
        Ok(u)
            if u.origin() == base.origin()
                && next.trim_start().starts_with(['/', '\\'])
                && !u.path().starts_with("//") =>
        {
            let mut out = u.path().to_string();
            if let Some(q) = u.query() {
                out.push('?');
                out.push_str(q);
            }
            out
        }
        _ => HOME.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_server_after_normalisation() {
        for (given, expected) in [
            ("/dossiers/000.00.02.H17-250303-0001", "/dossiers/000.00.02.H17-250303-0001"),
            ("/report?by=month", "/report?by=month"),
            ("/a/../queue", "/queue"),
            ("/\t/evil.example", "/queue"),
            ("/\n/evil.example", "/queue"),
            ("//evil.example", "/queue"),
            ("/\\evil.example", "/queue"),
            ("\\\\evil.example", "/queue"),
            ("https://evil.example/", "/queue"),
            ("javascript:alert(1)", "/queue"),
            ("queue", "/queue"),
            (" /\r\n/evil.example", "/queue"),
            ("/x\r\nSet-Cookie: a=b", "/xSet-Cookie:%20a=b"),
            // Paths that normalise to `//host`: a browser would leave the server.
            ("/.//evil.example", "/queue"),
            ("/..//evil.example", "/queue"),
            ("/a/..//evil.example", "/queue"),
            ("/%2e//evil.example", "/queue"),
            ("/%2E%2E//evil.example", "/queue"),
            ("/./\\evil.example", "/queue"),
            ("/\\/evil.example", "/queue"),
            ("/.\t//evil.example", "/queue"),
            ("/.//evil.example?x=1", "/queue"),
            // An escaped slash is not a slash to the URL rules: it stays a path on this server.
            ("/%2F/evil.example", "/%2F/evil.example"),
            ("/%2f%2fevil.example", "/%2f%2fevil.example"),
            ("/queue//x", "/queue//x"),
        ] {
            assert_eq!(safe_next(Some(given)), expected, "next={given:?}");
        }
        assert_eq!(safe_next(None), "/queue");
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    next: String,
    public_csrf: String,
    error: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

pub async fn login_form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let tr = Tr::new(Lang::of(&headers, q.lang.as_deref()));
    let (csrf, set) = auth::public_csrf(&state, &headers);
    let page = LoginPage {
        page: Page::public(tr, tr.t("login"), "/login"),
        next: safe_next(q.next.as_deref()),
        public_csrf: csrf,
        error: false,
    };
    let mut r = html(StatusCode::OK, &page);
    if let Some(c) = set.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let tr = Tr::new(Lang::of(&headers, None));
    if let Err(p) = auth::check_public_csrf(&headers, &f.csrf) {
        return error_page(tr, &p);
    }
    let client = crate::shared::client_ip(&state.config.trusted_proxies, &headers, peer);
    let staff = match auth::check_login(&state, &f.username, &f.password, client).await {
        Ok(s) => s,
        Err(p) => return error_page(tr, &p),
    };
    let Some(staff) = staff else {
        let page = LoginPage {
            page: Page::public(tr, tr.t("login"), "/login"),
            next: safe_next(f.next.as_deref()),
            public_csrf: f.csrf.clone(),
            error: true,
        };
        return html(StatusCode::UNAUTHORIZED, &page);
    };
    match auth::open_session(&state, &staff).await {
        Ok((cookie, _)) => {
            let mut r = Redirect::to(&safe_next(f.next.as_deref())).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(p) => error_page(tr, &p),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn logout(State(state): State<AppState>, ui: Ui, Form(f): Form<CsrfForm>) -> Response {
    if let Err(p) = ui.who.check_csrf(&f.csrf) {
        return error_page(ui.tr, &p);
    }
    if let Via::Session { id_hash, .. } = &ui.who.via
        && let Err(e) = state.store.delete_session(id_hash).await
    {
        return error_page(ui.tr, &e.into());
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&state, auth::SESSION_COOKIE, "", Some(0))) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Redirect {
    match auth::session_principal(&state, &headers).await {
        Ok(Some(_)) => Redirect::to("/queue"),
        _ => Redirect::to("/login"),
    }
}
