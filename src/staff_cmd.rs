//! `motcua staff add|list|disable|enable|reset-password|token|unlock|grant|deny`: staff accounts of the
//! web server. Passwords are generated (or read from standard input), shown once and stored
//! only as argon2 hashes; API tokens are shown once, stored as digests, expire, and are listed
//! and revoked by their id. A password reset or a disable ends all the account's sessions and
//! revokes all its tokens.

use std::io::Read;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::Subcommand;
use motcua_core::{AgencyCode, Domain};
use motcua_store::{AnyStore, Capability, NewStaff, Role, StaffStore};
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create an account; prints its password (generated unless --password-stdin).
    Add {
        username: String,
        /// desk, agency, head, chair, admin or inspector (an inspector with no --agency oversees
        /// the whole city; with agencies, those).
        #[arg(long)]
        role: String,
        /// Full name shown on receipts and in the audit log.
        #[arg(long)]
        name: String,
        /// An agency the account works for (repeatable).
        #[arg(long = "agency")]
        agencies: Vec<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable an account: its sessions end at once and its API tokens are revoked.
    Disable { username: String },
    /// Enable a disabled account again (its old tokens stay revoked).
    Enable { username: String },
    /// Set a new password (generated unless --password-stdin); ends all the account's sessions
    /// and revokes all its API tokens.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// API tokens (for other systems, e.g. the online portal): create, list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// End the lock of an account name after repeated wrong passwords (and its count).
    Unlock { username: String },
    /// Grant a capability on top of the account's role. `paper-history`: the account may date
    /// an action earlier than the backdating window allows, through the API and the pages, with
    /// a reason kept in the event (its role must still allow the action).
    Grant { username: String, capability: String },
    /// Take a capability back.
    Deny { username: String, capability: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an account; prints the secret, once (with --json: id, name,
    /// expires_at and token).
    Create {
        username: String,
        /// A label that says what the token is for ("portal").
        #[arg(long)]
        name: String,
        /// How long the token lives: days, `30d` or `30` (1 to 365; default 90).
        #[arg(long, value_name = "DAYS")]
        expires_in: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the tokens of one account, or of every account: id, account, name, state,
    /// created, expires, last used, revoked. Never a secret.
    List {
        username: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (from `list`); it stops working at once for writes (within
    /// 30 s for a running server's reads).
    Revoke {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

/// `--expires-in`: a number of days, with or without a `d`.
fn expires_in_days(s: &str) -> Result<u32> {
    let t = s.trim();
    let n = t.strip_suffix('d').unwrap_or(t);
    n.parse::<u32>().map_err(|_| {
        anyhow!(
            "invalid --expires-in {s:?}: expected a number of days like 30d (1 to {})",
            motcua_server::TOKEN_MAX_DAYS
        )
    })
}

/// A generated password: 16 hex characters from the OS's random source.
fn generated_password() -> String {
    motcua_server::auth::random_hex(8)
}

/// The password piped in for `--password-stdin`: empty or closed standard input, and bytes
/// that are not UTF-8, are refused with what is wrong (before anything is written).
fn stdin_password() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).context("cannot read the password from standard input")?;
    if bytes.is_empty() {
        bail!("--password-stdin: standard input is empty or closed; pipe the password in");
    }
    let s = String::from_utf8(bytes).map_err(|_| anyhow!("--password-stdin: the password is not UTF-8 text"))?;
    let p = s.trim_end_matches(['\r', '\n']).to_string();
    if p.chars().count() < 8 {
        bail!("the password must have at least 8 characters");
    }
    Ok(p)
}

async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || motcua_server::hash_password(&password)).await?.map_err(|e| anyhow!("{e}"))
}

/// Creates an account; returns its password (the given one, or a generated one).
pub async fn add(
    store: &AnyStore,
    domain: &Domain,
    username: &str,
    name: &str,
    role: &str,
    agencies: &[String],
    password: Option<String>,
) -> Result<String> {
    let username = username.trim();
    if username.is_empty() || username.len() > 64 || username.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("invalid username {username:?}: 1–64 characters, no spaces");
    }
    if name.trim().is_empty() {
        bail!("--name must not be empty");
    }
    let role: Role = role.parse()?;
    let mut codes = Vec::new();
    for a in agencies {
        let code: AgencyCode = a.trim().parse()?;
        domain.agency(&code)?;
        codes.push(code);
    }
    if codes.is_empty() && matches!(role, Role::Desk | Role::Agency | Role::Head) {
        bail!("an officer needs at least one --agency");
    }
    let password = password.unwrap_or_else(generated_password);
    let new = NewStaff {
        username: username.to_string(),
        display_name: name.trim().to_string(),
        role,
        password_hash: hash(password.clone()).await?,
        agencies: codes,
        at: Utc::now(),
    };
    match store.add_staff(new).await? {
        Some(_) => Ok(password),
        None => bail!("the username {username:?} is taken"),
    }
}

pub async fn run(cmd: &StaffCommand, store: &AnyStore, domain: &Domain) -> Result<()> {
    match cmd {
        StaffCommand::Add { username, role, name, agencies, password_stdin } => {
            let given = if *password_stdin { Some(stdin_password()?) } else { None };
            let shown = given.is_none();
            let password = add(store, domain, username, name, role, agencies, given).await?;
            if shown {
                crate::outln!("created {username} ({role}); password: {password}");
            } else {
                crate::outln!("created {username} ({role})");
            }
        }
        StaffCommand::List { json } => {
            let staff = store.staff_list().await?;
            if *json {
                crate::outln!("{}", json!({"staff": staff}));
            } else {
                for s in staff {
                    let agencies: Vec<String> = s.agencies.iter().map(ToString::to_string).collect();
                    let caps: Vec<&str> = s.capabilities.iter().map(|c| c.as_str()).collect();
                    crate::outln!(
                        "{:<20} {:<7} {:<9} {:<28} {}{}",
                        s.username,
                        s.role,
                        if s.disabled { "disabled" } else { "active" },
                        s.display_name,
                        agencies.join(","),
                        if caps.is_empty() { String::new() } else { format!("  +{}", caps.join(",+")) }
                    );
                }
            }
        }
        StaffCommand::Disable { username } | StaffCommand::Enable { username } => {
            let disable = matches!(cmd, StaffCommand::Disable { .. });
            if !store.set_staff_disabled(username, disable, Utc::now()).await? {
                bail!("no account {username:?}");
            }
            crate::outln!(
                "{username} {}",
                if disable { "disabled; its sessions ended and its API tokens revoked" } else { "enabled" }
            );
        }
        StaffCommand::ResetPassword { username, password_stdin } => {
            let given = if *password_stdin { Some(stdin_password()?) } else { None };
            let shown = given.is_none();
            let password = given.unwrap_or_else(generated_password);
            if !store.set_staff_password(username, &hash(password.clone()).await?, Utc::now()).await? {
                bail!("no account {username:?}");
            }
            if shown {
                crate::outln!("new password of {username}: {password}");
            } else {
                crate::outln!("password of {username} changed; its sessions ended and its API tokens revoked");
            }
        }
        StaffCommand::Token(cmd) => token(cmd, store).await?,
        StaffCommand::Unlock { username } => {
            if store.staff_credentials(username).await?.is_none() {
                bail!("no account {username:?}");
            }
            if motcua_server::unlock_account(store, username).await? {
                crate::outln!("{username} unlocked: its wrong-password count is cleared");
            } else {
                crate::outln!("{username} was not locked and had no wrong passwords counted");
            }
        }
        StaffCommand::Grant { username, capability } | StaffCommand::Deny { username, capability } => {
            let grant = matches!(cmd, StaffCommand::Grant { .. });
            let c: Capability = capability.parse()?;
            if !store.set_capability(username, c, grant, Utc::now()).await? {
                bail!("no account {username:?}");
            }
            crate::outln!("{username}: {c} {}", if grant { "granted" } else { "taken back" });
        }
    }
    Ok(())
}

async fn token(cmd: &TokenCommand, store: &AnyStore) -> Result<()> {
    let now = Utc::now();
    match cmd {
        TokenCommand::Create { username, name, expires_in, json } => {
            let Some((staff, _)) = store.staff_credentials(username).await? else { bail!("no account {username:?}") };
            let days = expires_in.as_deref().map(expires_in_days).transpose()?;
            let t = motcua_server::mint_token(store, staff.id, name, days, now).await.map_err(|e| anyhow!("{e}"))?;
            if *json {
                let expires_at = crate::input::show(t.expires_at);
                crate::outln!("{}", json!({"id": t.id, "name": t.name, "expires_at": expires_at, "token": t.secret}));
            } else {
                crate::outln!("{}", t.secret);
            }
        }
        TokenCommand::List { username, json } => {
            let staff_id = match username {
                Some(u) => match store.staff_credentials(u).await? {
                    Some((s, _)) => Some(s.id),
                    None => bail!("no account {u:?}"),
                },
                None => None,
            };
            let tokens = store.tokens(staff_id).await?;
            if *json {
                let list: Vec<_> = tokens.iter().map(|t| motcua_server::token_json(t, now)).collect();
                crate::outln!("{}", json!({"tokens": list}));
            } else {
                let when = |t: Option<chrono::DateTime<Utc>>| t.map_or_else(|| "-".to_string(), crate::input::show);
                for t in tokens {
                    crate::outln!(
                        "{:<6} {:<20} {:<8} {:<26} {:<26} {:<26} {}",
                        t.id,
                        t.username,
                        t.state(now),
                        when(Some(t.expires_at)),
                        when(t.last_used_at),
                        when(t.revoked_at),
                        motcua_core::text::for_terminal(&t.name)
                    );
                }
            }
        }
        TokenCommand::Revoke { id, json } => {
            let Some(t) = store.revoke_token(*id, None, now).await? else { bail!("no API token {id}") };
            if *json {
                crate::outln!("{}", motcua_server::token_json(&t, now));
            } else {
                crate::outln!(
                    "token {} ({}, of {}) revoked",
                    t.id,
                    motcua_core::text::for_terminal(&t.name),
                    t.username
                );
            }
        }
    }
    Ok(())
}
