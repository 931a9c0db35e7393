//! A router that remembers the method and path of every route it is given, so that the
//! authorization table (crates/server/tests/authz.csv) and the OpenAPI document can be checked
//! against the routes the server really has ([`crate::app::route_list`]).

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{delete, get, post};

/// Routes on a state `S`, with their list.
#[derive(Debug)]
pub struct Routes<S> {
    router: Router<S>,
    list: Vec<(Method, &'static str)>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self { router: Router::new(), list: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get<H: Handler<T, S>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.list.push((Method::GET, path));
        self.router = self.router.route(path, get(handler));
        self
    }

    pub fn post<H: Handler<T, S>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.list.push((Method::POST, path));
        self.router = self.router.route(path, post(handler));
        self
    }

    pub fn delete<H: Handler<T, S>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.list.push((Method::DELETE, path));
        self.router = self.router.route(path, delete(handler));
        self
    }

    pub fn merge(mut self, other: Self) -> Self {
        self.list.extend(other.list);
        self.router = self.router.merge(other.router);
        self
    }

    /// Every (method, path) in the order given.
    pub fn list(&self) -> &[(Method, &'static str)] {
        &self.list
    }

    pub fn into_parts(self) -> (Router<S>, Vec<(Method, &'static str)>) {
        (self.router, self.list)
    }

    pub fn into_router(self) -> Router<S> {
        self.router
    }
}
