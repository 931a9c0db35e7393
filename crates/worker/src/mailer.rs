//! Mail backends, chosen by configuration: SMTP (lettre; implicit TLS, STARTTLS or plain for a
//! loopback relay), `.eml` files in a folder (the embedded default), or memory (tests).

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Backend, MailSettings, TlsMode};
use crate::error::WorkerError;

/// The environment variables SMTP credentials come from.
pub const SMTP_USER_VAR: &str = "MOTCUA_SMTP_USER";
pub const SMTP_PASSWORD_VAR: &str = "MOTCUA_SMTP_PASSWORD";

/// A message as a backend delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub message_id: Option<String>,
    pub to: Vec<String>,
    /// The RFC 5322 text.
    pub raw: Vec<u8>,
}

/// The in-memory backend's store, shared with the test that reads it.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailbox {
    sent: Arc<Mutex<Vec<SentMail>>>,
    fail_next: Arc<AtomicU32>,
}

impl MemoryMailbox {
    /// Everything delivered so far.
    pub fn sent(&self) -> Vec<SentMail> {
        match self.sent.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The next `n` sends fail (a server that is down).
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    fn deliver(&self, m: SentMail) -> Result<(), String> {
        let failing = self.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if failing {
            return Err("memory mailer: refused (simulated outage)".into());
        }
        match self.sent.lock() {
            Ok(mut g) => g.push(m),
            Err(p) => p.into_inner().push(m),
        }
        Ok(())
    }
}

/// Where messages go.
#[derive(Clone)]
pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, describe: String },
    File(PathBuf),
    Memory(MemoryMailbox),
}

impl fmt::Debug for Mailer {
    /// Never shows credentials: only the backend and where it sends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Mailer {
    /// The backend of the `[mail]` section. SMTP credentials, if any, come from
    /// `MOTCUA_SMTP_USER` / `MOTCUA_SMTP_PASSWORD`.
    pub fn from_settings(s: &MailSettings) -> Result<Self, WorkerError> {
        match s.backend {
            Backend::File => Ok(Self::File(s.dir.clone())),
            Backend::Memory => Ok(Self::Memory(MemoryMailbox::default())),
            Backend::Smtp => {
                let smtp = &s.smtp;
                let tls = |required: bool| -> Result<Tls, WorkerError> {
                    let p = TlsParameters::new(smtp.host.clone())
                        .map_err(|e| WorkerError::Config(format!("TLS for {}: {e}", smtp.host)))?;
                    Ok(if required { Tls::Required(p) } else { Tls::Wrapper(p) })
                };
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                    .port(smtp.port())
                    .timeout(Some(Duration::from_secs(smtp.timeout_seconds.max(1))))
                    .pool_config(PoolConfig::new().max_size(smtp.pool_size.max(1)));
                b = match smtp.tls {
                    TlsMode::Tls => b.tls(tls(false)?),
                    TlsMode::Starttls => b.tls(tls(true)?),
                    TlsMode::Plain => b.tls(Tls::None),
                };
                let user = std::env::var(SMTP_USER_VAR).ok().filter(|u| !u.is_empty());
                let password = std::env::var(SMTP_PASSWORD_VAR).ok();
                let auth = match (user, password) {
                    (Some(u), Some(p)) => {
                        b = b.credentials(Credentials::new(u, p));
                        ", authenticated"
                    }
                    (Some(_), None) => {
                        return Err(WorkerError::Config(format!(
                            "{SMTP_USER_VAR} is set but {SMTP_PASSWORD_VAR} is not"
                        )));
                    }
                    _ => "",
                };
                let mode = match smtp.tls {
                    TlsMode::Tls => "tls",
                    TlsMode::Starttls => "starttls",
                    TlsMode::Plain => "plain",
                };
                let describe = format!("smtp {}:{} ({mode}{auth})", smtp.host, smtp.port());
                Ok(Self::Smtp { transport: b.build(), describe })
            }
        }
    }

    /// A memory backend and the handle to read it.
    pub fn memory() -> (Self, MemoryMailbox) {
        let m = MemoryMailbox::default();
        (Self::Memory(m.clone()), m)
    }

    /// "smtp 127.0.0.1:25 (plain)", "file data/outbox", "memory".
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp { describe, .. } => describe.clone(),
            Self::File(dir) => format!("file {}", dir.display()),
            Self::Memory(_) => "memory".into(),
        }
    }

    /// Delivers one message. `stem` names the file of the file backend (the same row always
    /// gets the same file, so a resend replaces it). The error is a sentence for the outbox
    /// row's `last_error`.
    pub async fn send(&self, stem: &str, message: &Message) -> Result<(), String> {
        match self {
            Self::Smtp { transport, .. } => {
                transport.send(message.clone()).await.map(|_| ()).map_err(|e| e.to_string())
            }
            Self::File(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let path = dir.join(format!("{stem}.eml"));
                let tmp = dir.join(format!(".{stem}.eml.tmp"));
                tokio::fs::write(&tmp, message.formatted())
                    .await
                    .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
                tokio::fs::rename(&tmp, &path).await.map_err(|e| format!("cannot write {}: {e}", path.display()))
            }
            Self::Memory(m) => {
                let to = message.envelope().to().iter().map(ToString::to_string).collect();
                let message_id = message.headers().get_raw("Message-ID").map(str::to_string);
                m.deliver(SentMail { message_id, to, raw: message.formatted() })
            }
        }
    }
}
