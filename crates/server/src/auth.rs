//! Who is asking: argon2 password hashes, server-side sessions (a random id in an HttpOnly
//! cookie, its SHA-256 digest in the `sessions` table, with an expiry), API tokens (a random
//! secret sent as `Authorization: Bearer …`, its digest stored), and CSRF tokens — one per
//! session for staff forms and cookie-authenticated API calls (`X-CSRF-Token`), and a
//! double-submit cookie for the public forms and the login form.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use chrono::{DateTime, Duration, Utc};
use motcua_store::{NewToken, StaffRow, StaffStore, StoreError, TokenRow};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "motcua_session";
pub const PUBLIC_CSRF_COOKIE: &str = "motcua_csrf";
pub const LANG_COOKIE: &str = "motcua_lang";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of API tokens, so that a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "mct_";

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// An argon2id PHC string of `password` with a fresh random salt (argon2's default cost).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks a password against a PHC string; false on any mismatch or malformed hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash of a password nobody has, verified when the username is unknown so that a wrong
/// username costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_hex(16)).unwrap_or_default())
}

/// `n` random bytes from the OS, hex-encoded.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The stored form of a session id or token.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A new API token and the digest to store.
pub fn new_api_token() -> (String, String) {
    let token = format!("{TOKEN_PREFIX}{}", random_hex(32));
    let d = digest(&token);
    (token, d)
}

pub use crate::input::{TOKEN_DEFAULT_DAYS, TOKEN_MAX_DAYS, TOKEN_NAME_MAX_CHARS};
/// How often a token's `last_used_at` is written: a token used many times a second costs one
/// write a minute.
const TOKEN_TOUCH_EVERY_SECS: i64 = 60;

/// Why a token was not made.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<MintError> for Problem {
    fn from(e: MintError) -> Self {
        match e {
            MintError::Invalid(m) => Problem::invalid(m),
            MintError::Store(e) => e.into(),
        }
    }
}

/// A new API token: its secret (shown once, never stored) and how it is listed.
#[derive(Debug, Clone)]
pub struct MintedToken {
    pub secret: String,
    pub id: i64,
    pub name: String,
    pub expires_at: DateTime<Utc>,
}

/// Makes an API token for account `staff_id`, named `name`, living `days` days from `now`
/// ([`TOKEN_DEFAULT_DAYS`] if not given, 1 to [`TOKEN_MAX_DAYS`]; checked by
/// [`crate::input::token_request`]). Nothing is written if the name or the lifetime is refused.
pub async fn mint_token<S: StaffStore>(
    store: &S,
    staff_id: i64,
    name: &str,
    days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<MintedToken, MintError> {
    let (name, days) = crate::input::token_request(name, days).map_err(|p| MintError::Invalid(p.detail))?;
    let expires_at = now + Duration::days(i64::from(days));
    let (secret, token_hash) = new_api_token();
    let id = store.create_token(NewToken { token_hash, staff_id, name: name.clone(), at: now, expires_at }).await?;
    Ok(MintedToken { secret, id, name, expires_at: motcua_core::calendar::truncate_to_micros(expires_at) })
}

/// A token as its owner and administrators see it, instants at +07:00: never its secret.
pub fn token_json(t: &TokenRow, now: DateTime<Utc>) -> serde_json::Value {
    let vn = |at: DateTime<Utc>| motcua_core::calendar::at_vn(at).to_rfc3339();
    serde_json::json!({
        "id": t.id,
        "username": t.username,
        "name": t.name,
        "state": t.state(now),
        "created_at": vn(t.created_at),
        "expires_at": vn(t.expires_at),
        "last_used_at": t.last_used_at.map(vn),
        "revoked_at": t.revoked_at.map(vn),
    })
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path /.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(s) = max_age {
        c.push_str(&format!("; Max-Age={s}"));
    }
    if state.config.secure_cookies {
        c.push_str("; Secure");
    }
    c
}

/// How the request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A session cookie; its CSRF token and the digest of its id.
    Session {
        csrf: String,
        id_hash: String,
    },
    Token,
}

/// An authenticated staff member.
#[derive(Debug, Clone)]
pub struct Principal {
    pub staff: StaffRow,
    pub via: Via,
}

impl Principal {
    /// The CSRF token forms must carry (empty for a token client).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            Via::Token => "",
        }
    }

    /// Checks a form's `_csrf` field (a token client needs none).
    pub fn check_csrf(&self, given: &str) -> Result<(), Problem> {
        match &self.via {
            Via::Session { csrf, .. } if !same_secret(csrf, given) => {
                Err(Problem::new(ProblemKind::CsrfMismatch, "the form's CSRF token does not match the session"))
            }
            _ => Ok(()),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The staff member behind a session cookie, if the session is live.
pub async fn session_principal(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, Problem> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let id_hash = digest(id);
    let Some(s) = state.store.session(&id_hash, state.now()).await? else { return Ok(None) };
    Ok(Some(Principal { staff: s.staff, via: Via::Session { csrf: s.csrf, id_hash } }))
}

/// The staff member behind an API token that is live now: neither expired nor revoked, its
/// account enabled. Every request asks the store (one indexed read), so a token revoked by a
/// revoke, a password reset or a disable — from any process — is refused from the next
/// request on. The token's last use is recorded at most once a minute.
async fn token_principal(state: &AppState, token: &str) -> Result<Option<Principal>, Problem> {
    let now = state.now();
    let Some(used) = state.store.token_staff(&digest(token), now).await? else { return Ok(None) };
    if used.last_used_at.is_none_or(|t| now - t >= Duration::seconds(TOKEN_TOUCH_EVERY_SECS))
        && let Err(e) = state.store.touch_token(used.token_id, now).await
    {
        tracing::warn!(error = %e, token = used.token_id, "cannot record the API token's last use");
    }
    Ok(Some(Principal { staff: used.staff, via: Via::Token }))
}

/// An integration account's routes: the payment gateway's may only mark dossiers paid.
fn restricted(p: &Principal, parts: &Parts) -> Result<(), Problem> {
    if crate::perm::route_allowed(p.staff.role, &parts.method, parts.uri.path()) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "the {} account {} may only mark a dossier paid (POST /api/v1/dossiers/{{code}}/paid)",
            p.staff.role, p.staff.username
        )))
    }
}

/// API authentication: a bearer token, or a session cookie (then a mutating request must send
/// the session's CSRF token in `X-CSRF-Token`).
impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        if let Some(token) = bearer(&parts.headers) {
            let p = token_principal(state, token).await?.ok_or_else(|| {
                Problem::new(ProblemKind::Unauthorized, "the API token is unknown, expired or revoked")
            })?;
            restricted(&p, parts)?;
            return Ok(p);
        }
        let p = session_principal(state, &parts.headers).await?.ok_or_else(|| {
            Problem::new(
                ProblemKind::Unauthorized,
                "log in (POST /api/v1/session) or send Authorization: Bearer <token>",
            )
        })?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let given = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            p.check_csrf(given)?;
        }
        restricted(&p, parts)?;
        Ok(p)
    }
}

/// Verifies a username and password from `client`; the account if they match and it is
/// enabled. Runs the hash on a blocking thread. Repeated failures are throttled per account
/// name and per client (`login_guard`): a refused try is a 429 with `Retry-After`, or a 429
/// saying the name is locked until an administrator unlocks it.
pub async fn check_login(
    state: &AppState,
    username: &str,
    password: &str,
    client: std::net::IpAddr,
) -> Result<Option<StaffRow>, Problem> {
    use crate::login_guard::Refusal;
    let now = state.now();
    match state.login_guard.check(&state.store, username, client, now).await? {
        Ok(()) => {}
        Err(Refusal::Wait(secs)) => {
            let mut p =
                Problem::new(ProblemKind::RateLimited, format!("too many wrong passwords; try again in {secs} s"));
            p.retry_after = Some(secs);
            return Err(p);
        }
        Err(Refusal::Locked) => {
            return Err(Problem::new(
                ProblemKind::RateLimited,
                "this account is locked after repeated wrong passwords; an administrator can unlock it",
            ));
        }
    }
    let found = state.store.staff_credentials(username.trim()).await?;
    let (staff, hash) = match found {
        Some((s, h)) => (Some(s), h),
        None => (None, decoy_hash().to_string()),
    };
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password)).await.map_err(Problem::internal)?;
    let staff = staff.filter(|s| ok && !s.disabled);
    match &staff {
        Some(_) => state.login_guard.succeeded(&state.store, username).await?,
        None => state.login_guard.failed(&state.store, username, client, now).await?,
    }
    Ok(staff)
}

/// Opens a session for `staff`: the cookie value to set and the session's CSRF token.
pub async fn open_session(state: &AppState, staff: &StaffRow) -> Result<(String, String), Problem> {
    let id = random_hex(32);
    let csrf = random_hex(32);
    let now = state.now();
    let ttl = Duration::from_std(state.config.session_ttl).unwrap_or_else(|_| Duration::hours(10));
    state.store.create_session(&digest(&id), staff.id, &csrf, now, now + ttl).await?;
    let _ = state.store.purge_sessions(now).await;
    Ok((set_cookie(state, SESSION_COOKIE, &id, Some(ttl.num_seconds())), csrf))
}

/// The public double-submit CSRF token: the cookie's, or a new one to set.
pub fn public_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, PUBLIC_CSRF_COOKIE).filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(v) => (v.to_string(), None),
        None => {
            let v = random_hex(16);
            let c = set_cookie(state, PUBLIC_CSRF_COOKIE, &v, None);
            (v, Some(c))
        }
    }
}

/// Checks a public form's `_csrf` field against its cookie.
pub fn check_public_csrf(headers: &HeaderMap, given: &str) -> Result<(), Problem> {
    match cookie(headers, PUBLIC_CSRF_COOKIE) {
        Some(c) if !given.is_empty() && same_secret(c, given) => Ok(()),
        _ => Err(Problem::new(ProblemKind::CsrfMismatch, "the form's CSRF token does not match its cookie")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("mật khẩu đúng").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "mật khẩu đúng"));
        assert!(!verify_password(&h, "sai"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn cookies_and_secrets() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; motcua_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
        let (t, d) = new_api_token();
        assert!(t.starts_with(TOKEN_PREFIX) && d.len() == 64 && d == digest(&t));
    }
}
