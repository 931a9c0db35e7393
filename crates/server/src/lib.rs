//! motcua-server: the web face of motcua — the JSON API under `/api/v1`, the server-rendered
//! desk UI (Vietnamese first), the citizens' public lookup and the on-time board.
//!
//! It turns HTTP into the same commands the CLI runs (`motcua_core::commands`) and hands them to
//! the store's one transactional write path; every clock value it shows comes from
//! `motcua_core::view::dossier_view` or the store's report read model. It must not compute
//! working time itself, write to the database other than through `motcua-store`, read the wall
//! clock directly (the [`Clock`] in the state is injected), or keep a secret in clear: passwords
//! are argon2 hashes, sessions and tokens are stored as digests.
//!
//! Layout: [`state`] (the shared state and its configuration), [`app`] ([`router`] and
//! [`Application`], which binds and serves with graceful shutdown), [`auth`] (passwords,
//! sessions, tokens, CSRF), [`perm`] (roles × actions), [`api`] (JSON handlers), [`ui`] (desk
//! pages), [`public`] (lookup, rating, board), [`problem`] (RFC 9457 errors), [`openapi`].

pub mod api;
pub mod app;
pub mod auth;
mod i18n;
pub mod openapi;
mod page;
pub mod perm;
pub mod problem;
pub mod public;
mod qr;
mod ratelimit;
mod report;
mod shared;
pub mod state;
pub mod ui;
mod views;

pub use app::{Application, router};
pub use auth::{hash_password, new_api_token};
pub use perm::Action;
pub use state::{AppState, HttpMetrics, NowFn, ServerConfig, system_now};
