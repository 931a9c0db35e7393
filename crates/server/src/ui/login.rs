//! Signing in and out: the login form, the session cookie, and `/` sending the browser to the
//! queue or the login page.

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use motcua_store::StaffStore;
use serde::Deserialize;

use super::common::Ui;
use crate::auth::{self, Via};
use crate::i18n::{Lang, Tr};
use crate::input::{CsrfForm, LoginForm, safe_next};
use crate::page::{Form, Page, error_page, html};
use crate::state::AppState;

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
