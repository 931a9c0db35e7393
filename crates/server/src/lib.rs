//! motcua-server: the web face of motcua — the JSON API under `/api/v1`, the server-rendered
//! desk UI (Vietnamese first), the citizens' public lookup and the on-time board.
//!
//! It turns HTTP into the same commands the CLI runs (`motcua_core::commands`) and hands them to
//! the store's one transactional write path; every clock value it shows comes from
//! `motcua_core::view::dossier_view` or the store's report read model. It must not compute
//! working time itself, write to the database other than through `motcua-store`, read the wall
//! clock directly (the [`NowFn`] in the state is injected), or keep a secret in clear: passwords
//! are argon2 hashes, sessions and tokens are stored as digests.
//!
//! Modules (each uses only those listed before it, the handlers' modules last; no loops):
//! - [`problem`] — errors as RFC 9457 problem+json; [`perm`] — roles × actions;
//! - [`input`] — request bodies (JSON and forms) decoded and checked as far as no store is
//!   needed, with no IO: the handlers and the fuzz targets call it;
//! - `ratelimit` — the lookup's token buckets; `login_guard` — wrong-password throttling and
//!   lockout; [`state`] — [`AppState`], [`ServerConfig`],
//!   [`NowFn`], [`HttpMetrics`];
//! - [`auth`] — passwords, sessions, API tokens, CSRF; [`i18n`] — the pages' Vietnamese and
//!   English texts; `qr` — the receipt's QR code;
//! - `shared` — client address, lookup URL, local times, `as_of`, CSV answer; `report` — the
//!   report's filters and building; `privacy` — citizens' personal data shown, masked or
//!   audited by the rule of [`perm`]; `views` — running a command, loading a dossier for a
//!   reader, the queue;
//!   [`page`] — the HTML frame every page shares, error pages, posted forms; [`paper`] — the
//!   printed receipt and apology letter, rendered with no IO; [`openapi`] — the API's
//!   description;
//! - [`hall`] — the reception hall: its API, live events (SSE), the TV, phone, kiosk and
//!   poster pages;
//! - [`public`] — lookup, rating, board (JSON and pages); [`api`] — the JSON handlers and
//!   [`api::routes`];
//! - [`ui`] — the desk pages, one file per page or group under `ui/` (`login`, `queue`,
//!   `intake` with the receipt, `dossier`, `letters`, `reports`, and `common` for what they
//!   share), and [`ui::routes`];
//! - [`routing`] — a router that lists its routes (for the authorization table and the
//!   OpenAPI check); `listener` — the accept loop: HTTP/1.1 with hyper, the header-read and
//!   idle timeouts, graceful shutdown; `deadline` — the body-read timeout (a body that does
//!   not arrive whole in time is a 408);
//! - [`app`] — [`router`] (all routes and layers, `/healthz`, `/readyz`, `/metrics`, errors
//!   outside the handlers as problem+json or pages), [`route_list`] and [`Application`], which
//!   binds and serves.

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod auth;
mod deadline;
pub mod forms;
pub mod hall;
pub mod i18n;
pub mod input;
mod listener;
mod login_guard;
pub mod messages;
pub mod openapi;
pub mod page;
pub mod paper;
pub mod perm;
pub mod petitions;
mod privacy;
pub mod problem;
pub mod public;
pub mod public_items;
mod qr;
mod ratelimit;
mod report;
pub mod routing;
mod shared;
pub mod state;
pub mod ui;
mod views;

pub use app::{Application, route_list, router};
pub use auth::{
    MintError, MintedToken, TOKEN_DEFAULT_DAYS, TOKEN_MAX_DAYS, hash_password, mint_token, new_api_token, token_json,
};
pub use ipnet::IpNet;
pub use login_guard::unlock as unlock_account;
pub use perm::Action;
pub use state::{AppState, HttpMetrics, NowFn, ServerConfig, system_now};
