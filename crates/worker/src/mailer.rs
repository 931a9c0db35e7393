//! Mail backends, chosen by configuration: SMTP (lettre; implicit TLS, STARTTLS or plain for a
//! loopback relay), `.eml` files in a folder (the embedded default), or memory (tests).

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Backend, MailSettings, TlsMode};
use crate::error::WorkerError;

/// The environment variables SMTP credentials come from.
pub const SMTP_USER_VAR: &str = "MOTCUA_SMTP_USER";
pub const SMTP_PASSWORD_VAR: &str = "MOTCUA_SMTP_PASSWORD";

/// Whose fault a failed send was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The message's: the server rejected it for good (a 5xx reply), or it could not be
    /// written. Counts as one of the message's attempts.
    Message,
    /// The server's: it could not be reached, refused or reset the connection, failed the TLS
    /// handshake, or did not answer in time. An outage; costs the message no attempt.
    Unreachable,
    /// The server's: it answered "try again later" (a 4xx reply, e.g. 421 or 451). Costs the
    /// message no attempt either.
    Deferred,
}

/// Why a message was not delivered: a sentence for the outbox row's `last_error`, and whose
/// fault it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub reason: String,
    pub fault: Fault,
}

impl SendError {
    fn refused(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), fault: Fault::Message }
    }

    fn unreachable(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), fault: Fault::Unreachable }
    }

    fn deferred(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), fault: Fault::Deferred }
    }

    /// Whether the failure is the server's (an outage or a 4xx reply), not the message's.
    pub fn server_fault(&self) -> bool {
        self.fault != Fault::Message
    }

    /// A lettre SMTP error: a transient (4xx) reply defers the message; a permanent (5xx) reply,
    /// a reply that cannot be read or a message lettre cannot send is the message's failure;
    /// anything else (network, timeout, TLS, a closed connection) an outage.
    fn of_smtp(e: &lettre::transport::smtp::Error) -> Self {
        if e.is_transient() {
            Self::deferred(e.to_string())
        } else if e.is_response() || e.is_permanent() || e.is_client() {
            Self::refused(e.to_string())
        } else {
            Self::unreachable(e.to_string())
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

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
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl MemoryMailbox {
    /// Everything delivered so far.
    pub fn sent(&self) -> Vec<SentMail> {
        match self.sent.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The next `n` sends are rejected (a server answering 550: the message's fault).
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Until called again with `false`, every send finds no server (an outage).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn deliver(&self, m: SentMail) -> Result<(), SendError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SendError::unreachable("memory mailer: no server (simulated outage)"));
        }
        let failing = self.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if failing {
            return Err(SendError::refused("memory mailer: 550 rejected (simulated)"));
        }
        match self.sent.lock() {
            Ok(mut g) => g.push(m),
            Err(p) => p.into_inner().push(m),
        }
        Ok(())
    }
}

/// An SMTP client keeping connections open between messages, on sockets with `TCP_NODELAY`.
///
/// lettre writes a message's body and its final `.` in two writes without waiting in between;
/// with Nagle's algorithm on, the second waits for the server's delayed ACK (some 40 ms on
/// Linux) on every message. lettre's own transport does not set the option, so for plain and
/// STARTTLS connections the worker opens the socket itself and hands it to lettre's
/// `AsyncSmtpConnection` (EHLO, STARTTLS, AUTH and the SMTP dialogue stay lettre's).
struct PooledSmtp {
    host: String,
    port: u16,
    starttls: bool,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
    max_idle: usize,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
}

impl PooledSmtp {
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let addr = (self.host.as_str(), self.port);
        let stream = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| SendError::unreachable(format!("connecting to {}:{} timed out", self.host, self.port)))?
            .map_err(|e| SendError::unreachable(format!("cannot connect to {}:{}: {e}", self.host, self.port)))?;
        stream.set_nodelay(true).map_err(|e| SendError::unreachable(format!("TCP_NODELAY: {e}")))?;
        let setup = async {
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await?;
            if self.starttls {
                conn.starttls(TlsParameters::new(self.host.clone())?, &self.hello).await?;
            }
            if let Some(c) = &self.credentials {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], c).await?;
            }
            Ok::<_, lettre::transport::smtp::Error>(conn)
        };
        match tokio::time::timeout(self.timeout, setup).await {
            Ok(r) => r.map_err(|e| SendError::of_smtp(&e)),
            Err(_) => {
                Err(SendError::unreachable(format!("the SMTP greeting from {}:{} timed out", self.host, self.port)))
            }
        }
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = match self.idle.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        while let Some(c) = idle.pop() {
            if !c.has_broken() {
                return Some(c);
            }
        }
        None
    }

    fn put_back(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = match self.idle.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    async fn send_on(&self, conn: &mut AsyncSmtpConnection, message: &Message, raw: &[u8]) -> Result<(), SendError> {
        match tokio::time::timeout(self.timeout, conn.send(message.envelope(), raw)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(SendError::of_smtp(&e)),
            Err(_) => Err(SendError::unreachable(format!("sending to {}:{} timed out", self.host, self.port))),
        }
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let raw = message.formatted();
        // A kept connection the server has closed meanwhile fails at once: try a new one.
        if let Some(mut conn) = self.take_idle()
            && self.send_on(&mut conn, message, &raw).await.is_ok()
        {
            self.put_back(conn);
            return Ok(());
        }
        let mut conn = self.connect().await?;
        self.send_on(&mut conn, message, &raw).await?;
        self.put_back(conn);
        Ok(())
    }
}

/// How the SMTP backend talks to its server.
enum SmtpClient {
    /// Plain or STARTTLS: the worker's own pooled sockets (with `TCP_NODELAY`).
    Pooled(PooledSmtp),
    /// Implicit TLS (SMTPS): lettre's transport and its pool.
    Lettre(AsyncSmtpTransport<Tokio1Executor>),
}

/// Where messages go.
#[derive(Clone)]
pub enum Mailer {
    Smtp { client: Arc<SmtpBackend>, describe: String },
    File(PathBuf),
    Memory(MemoryMailbox),
}

/// The SMTP client of a [`Mailer`] (connections are shared by its clones).
pub struct SmtpBackend(SmtpClient);

impl fmt::Debug for SmtpBackend {
    /// No credentials: only which client.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.0 {
            SmtpClient::Pooled(_) => "SmtpBackend(pooled, TCP_NODELAY)",
            SmtpClient::Lettre(_) => "SmtpBackend(lettre, implicit TLS)",
        })
    }
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
                let mut credentials = None;
                let auth = match (user, password) {
                    (Some(u), Some(p)) => {
                        let c = Credentials::new(u, p);
                        b = b.credentials(c.clone());
                        credentials = Some(c);
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
                let client = match smtp.tls {
                    TlsMode::Tls => SmtpClient::Lettre(b.build()),
                    TlsMode::Starttls | TlsMode::Plain => SmtpClient::Pooled(PooledSmtp {
                        host: smtp.host.clone(),
                        port: smtp.port(),
                        starttls: smtp.tls == TlsMode::Starttls,
                        credentials,
                        timeout: Duration::from_secs(smtp.timeout_seconds.max(1)),
                        hello: ClientId::default(),
                        max_idle: smtp.pool_size.max(1) as usize,
                        idle: Mutex::new(Vec::new()),
                    }),
                };
                Ok(Self::Smtp { client: Arc::new(SmtpBackend(client)), describe })
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
    /// row's `last_error`, with whose fault it was.
    pub async fn send(&self, stem: &str, message: &Message) -> Result<(), SendError> {
        match self {
            Self::Smtp { client, .. } => match &client.0 {
                SmtpClient::Pooled(p) => p.send(message).await,
                SmtpClient::Lettre(t) => t.send(message.clone()).await.map(|_| ()).map_err(|e| SendError::of_smtp(&e)),
            },
            Self::File(dir) => {
                let failed = |what: String| SendError::refused(what);
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
                let path = dir.join(format!("{stem}.eml"));
                let tmp = dir.join(format!(".{stem}.eml.tmp"));
                tokio::fs::write(&tmp, message.formatted())
                    .await
                    .map_err(|e| failed(format!("cannot write {}: {e}", tmp.display())))?;
                tokio::fs::rename(&tmp, &path)
                    .await
                    .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))
            }
            Self::Memory(m) => {
                let to = message.envelope().to().iter().map(ToString::to_string).collect();
                let message_id = message.headers().get_raw("Message-ID").map(str::to_string);
                m.deliver(SentMail { message_id, to, raw: message.formatted() })
            }
        }
    }
}
