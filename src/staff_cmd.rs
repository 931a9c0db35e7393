//! `motcua staff add|list|disable|enable|reset-password|token`: staff accounts of the web
//! server. Passwords are generated (or read from standard input), shown once and stored only
//! as argon2 hashes; API tokens are shown once and stored as digests.

use std::io::Read;

use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use clap::Subcommand;
use motcua_core::{AgencyCode, Domain};
use motcua_store::{AnyStore, NewStaff, Role, StaffStore};
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create an account; prints its password (generated unless --password-stdin).
    Add {
        username: String,
        /// desk, agency, head, chair or admin.
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
    /// Disable an account: its sessions end at once and its API tokens stop working.
    Disable { username: String },
    /// Enable a disabled account again.
    Enable { username: String },
    /// Set a new password (generated unless --password-stdin) and end the account's sessions.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create an API token for an account (for other systems, e.g. the online portal).
    Token {
        username: String,
        #[arg(long)]
        name: String,
    },
}

/// A generated password: 16 hex characters from the OS's random source.
fn generated_password() -> String {
    motcua_server::auth::random_hex(8)
}

fn stdin_password() -> Result<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
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
                    crate::outln!(
                        "{:<20} {:<7} {:<9} {:<28} {}",
                        s.username,
                        s.role,
                        if s.disabled { "disabled" } else { "active" },
                        s.display_name,
                        agencies.join(",")
                    );
                }
            }
        }
        StaffCommand::Disable { username } | StaffCommand::Enable { username } => {
            let disable = matches!(cmd, StaffCommand::Disable { .. });
            if !store.set_staff_disabled(username, disable).await? {
                bail!("no account {username:?}");
            }
            crate::outln!("{username} {}", if disable { "disabled; its sessions ended" } else { "enabled" });
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
                crate::outln!("password of {username} changed; its sessions ended");
            }
        }
        StaffCommand::Token { username, name } => {
            let Some((staff, _)) = store.staff_credentials(username).await? else { bail!("no account {username:?}") };
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let (token, digest) = motcua_server::new_api_token();
            store.create_token(&digest, staff.id, name.trim(), Utc::now()).await?;
            crate::outln!("{token}");
        }
    }
    Ok(())
}
