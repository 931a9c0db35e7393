//! Settings: the `[mail]` section of `config/motcua.toml` ([`MailSettings`]) and the worker's
//! tuning ([`WorkerConfig`]) derived from it.
//!
//! ```toml
//! [mail]
//! backend = "file"            # "file" (default: data/outbox/*.eml), "smtp" or "memory"
//! dir = "data/outbox"         # the file backend's folder
//! print_dir = "data/print"    # letters for citizens with no e-mail, printed at the desk
//! from = "Bộ phận Một cửa <motcua@hcc.danang.example>"
//! lang = "vi"                 # "vi" or "en": which template variant is sent
//! max_attempts = 8            # the message's own failures (5xx rejections) before it is dead
//! outage_tolerance_hours = 120  # a server unreachable or answering 4xx costs no attempt this long
//! [mail.smtp]
//! host = "127.0.0.1"
//! port = 25
//! tls = "plain"               # "tls" (implicit, 465), "starttls" (587) or "plain" (a loopback relay)
//! ```
//!
//! SMTP credentials are read from `MOTCUA_SMTP_USER` / `MOTCUA_SMTP_PASSWORD` only, never from
//! a file, and never printed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use motcua_core::deadlines::Lang;
use serde::Deserialize;

/// Which mail backend delivers messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `<dir>/*.eml`: the embedded default, so a new user sees the letters.
    #[default]
    File,
    Smtp,
    /// Kept in memory (tests).
    Memory,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Implicit TLS (SMTPS, port 465).
    Tls,
    /// Upgrade with STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// No encryption: only for a relay on the loopback interface.
    Plain,
}

/// `[mail.smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    #[serde(default = "default_host")]
    pub host: String,
    /// Default: 465 for tls, 587 for starttls, 25 for plain.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    /// Seconds before an SMTP command times out.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Connections kept open to the server.
    #[serde(default = "default_pool")]
    pub pool_size: u32,
}

fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_timeout() -> u64 {
    30
}
fn default_pool() -> u32 {
    8
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: default_host(),
            port: None,
            tls: TlsMode::default(),
            timeout_seconds: default_timeout(),
            pool_size: default_pool(),
        }
    }
}

impl SmtpSettings {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Tls => 465,
            TlsMode::Starttls => 587,
            TlsMode::Plain => 25,
        })
    }
}

/// The `[mail]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    #[serde(default)]
    pub backend: Backend,
    #[serde(default = "default_dir")]
    pub dir: PathBuf,
    #[serde(default = "default_print_dir")]
    pub print_dir: PathBuf,
    #[serde(default = "default_from")]
    pub from: String,
    #[serde(default)]
    pub lang: Lang,
    /// Template folder, relative to the configuration folder.
    #[serde(default = "default_templates")]
    pub templates: PathBuf,
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First retry delay in seconds; doubles each attempt up to `backoff_max_seconds`.
    #[serde(default = "default_backoff")]
    pub backoff_seconds: u64,
    #[serde(default = "default_backoff_max")]
    pub backoff_max_seconds: u64,
    /// Hours a message keeps being retried while the mail server cannot be reached or answers
    /// "try again later" (4xx), counted from when it was queued; such tries cost it no attempt.
    /// Default 120: a long weekend.
    #[serde(default = "default_outage_tolerance")]
    pub outage_tolerance_hours: u64,
    /// The longest wait, in seconds, between tries while the server cannot be reached.
    #[serde(default = "default_outage_retry_max")]
    pub outage_retry_max_seconds: u64,
    /// Seconds a claimed row stays leased to its worker.
    #[serde(default = "default_lease")]
    pub lease_seconds: u64,
    /// Seconds between scheduler ticks of `motcua worker`.
    #[serde(default = "default_tick")]
    pub tick_seconds: u64,
    /// Rows claimed at once, and messages sent at the same time.
    #[serde(default = "default_batch")]
    pub batch: u32,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    #[serde(default)]
    pub smtp: SmtpSettings,
    /// `[mail.digest]`: the daily digest of the notices to staff.
    #[serde(default)]
    pub digest: DigestSettings,
}

/// How at-risk warnings and last-day reminders reach an officer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DigestMode {
    /// Gathered into one digest per address and working day (the default).
    #[default]
    Daily,
    /// One e-mail per dossier, as they are decided (up to the daily cap).
    Each,
}

/// `[mail.digest]`.
///
/// ```toml
/// [mail.digest]
/// at_risk = "daily"            # "daily" (one digest per address and working day) or "each"
/// time = "07:30"               # when the day's digests are gathered, +07:00
/// cap_per_recipient_day = 20   # notices sent alone to one staff address per day; the rest
///                              # roll into its next digest
/// ```
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestSettings {
    #[serde(default)]
    pub at_risk: DigestMode,
    #[serde(default = "default_digest_time", deserialize_with = "local_time")]
    pub time: chrono::NaiveTime,
    #[serde(default = "default_cap")]
    pub cap_per_recipient_day: u32,
}

fn default_digest_time() -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap_or(chrono::NaiveTime::MIN)
}
fn default_cap() -> u32 {
    20
}

/// `HH:MM` (or `HH:MM:SS`), local time.
fn local_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<chrono::NaiveTime, D::Error> {
    let s = String::deserialize(d)?;
    chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .or_else(|_| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M:%S"))
        .map_err(|_| serde::de::Error::custom(format!("digest time {s:?}: expected HH:MM (+07:00), e.g. \"07:30\"")))
}

impl Default for DigestSettings {
    fn default() -> Self {
        Self { at_risk: DigestMode::default(), time: default_digest_time(), cap_per_recipient_day: default_cap() }
    }
}

fn default_dir() -> PathBuf {
    PathBuf::from("data/outbox")
}
fn default_print_dir() -> PathBuf {
    PathBuf::from("data/print")
}
fn default_from() -> String {
    "Bộ phận Một cửa <motcua@motcua.example>".into()
}
fn default_templates() -> PathBuf {
    PathBuf::from("templates")
}
fn default_attempts() -> u32 {
    8
}
fn default_backoff() -> u64 {
    30
}
fn default_backoff_max() -> u64 {
    6 * 3600
}
fn default_outage_tolerance() -> u64 {
    120
}
fn default_outage_retry_max() -> u64 {
    600
}
fn default_lease() -> u64 {
    300
}
fn default_tick() -> u64 {
    60
}
fn default_batch() -> u32 {
    200
}
fn default_concurrency() -> usize {
    16
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            backend: Backend::default(),
            dir: default_dir(),
            print_dir: default_print_dir(),
            from: default_from(),
            lang: Lang::default(),
            templates: default_templates(),
            max_attempts: default_attempts(),
            backoff_seconds: default_backoff(),
            backoff_max_seconds: default_backoff_max(),
            outage_tolerance_hours: default_outage_tolerance(),
            outage_retry_max_seconds: default_outage_retry_max(),
            lease_seconds: default_lease(),
            tick_seconds: default_tick(),
            batch: default_batch(),
            concurrency: default_concurrency(),
            smtp: SmtpSettings::default(),
            digest: DigestSettings::default(),
        }
    }
}

/// What a [`crate::Worker`] runs with.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Who holds a lease: unique per worker process.
    pub owner: String,
    pub lease: chrono::Duration,
    pub batch: u32,
    pub concurrency: usize,
    pub max_attempts: u32,
    pub backoff: chrono::Duration,
    pub backoff_max: chrono::Duration,
    /// How long a message is retried while the server cannot be reached.
    pub outage_tolerance: chrono::Duration,
    pub outage_retry_max: chrono::Duration,
    pub tick_interval: Duration,
    /// Candidates read per page by the scheduler.
    pub scan_page: u32,
    pub lang: Lang,
    pub templates_dir: PathBuf,
    pub print_dir: PathBuf,
    /// `Name <address>` of the sender.
    pub from: String,
    /// The daily digest of the notices to staff.
    pub digest: DigestSettings,
}

fn secs(n: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1000))
}

impl WorkerConfig {
    /// From the `[mail]` section; relative template paths are under `config_dir`.
    pub fn from_settings(s: &MailSettings, config_dir: &Path) -> Self {
        let templates_dir = if s.templates.is_absolute() { s.templates.clone() } else { config_dir.join(&s.templates) };
        Self {
            owner: default_owner(),
            lease: secs(s.lease_seconds.max(1)),
            batch: s.batch.max(1),
            concurrency: s.concurrency.max(1),
            max_attempts: s.max_attempts.max(1),
            backoff: secs(s.backoff_seconds),
            backoff_max: secs(s.backoff_max_seconds),
            outage_tolerance: secs(s.outage_tolerance_hours.saturating_mul(3600)),
            outage_retry_max: secs(s.outage_retry_max_seconds.max(1)),
            tick_interval: Duration::from_secs(s.tick_seconds.max(1)),
            scan_page: 500,
            lang: s.lang,
            templates_dir,
            print_dir: s.print_dir.clone(),
            from: s.from.clone(),
            digest: DigestSettings { cap_per_recipient_day: s.digest.cap_per_recipient_day.max(1), ..s.digest },
        }
    }

    /// The kinds gathered into digests rather than sent alone: at-risk warnings and last-day
    /// reminders with `at_risk = "daily"`, none with `"each"`.
    pub fn held_kinds(&self) -> Vec<String> {
        match self.digest.at_risk {
            DigestMode::Daily => {
                motcua_core::letters::MessageKind::DIGESTED.iter().map(|k| k.name().to_string()).collect()
            }
            DigestMode::Each => Vec::new(),
        }
    }

    /// The delay before attempt `attempts + 1`, after `attempts` failures: base × 2^(n−1),
    /// at most the maximum.
    pub fn backoff_after(&self, attempts: u32) -> chrono::Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let factor = 1_i32 << exp;
        let d = self.backoff.checked_mul(factor).unwrap_or(self.backoff_max);
        d.min(self.backoff_max)
    }

    /// The wait before the next try of a message the server could not take for `waited` since
    /// it was queued: a quarter of that, at least the first backoff, at most
    /// `outage_retry_max`, so a long outage is probed a few times an hour and its end is
    /// noticed within minutes.
    pub fn outage_retry_after(&self, waited: chrono::Duration) -> chrono::Duration {
        (waited / 4).max(self.backoff).min(self.outage_retry_max).max(chrono::Duration::seconds(1))
    }
}

/// `<host>-<pid>`: unique among the worker processes of one database.
pub fn default_owner() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let host = if host.is_empty() { "motcua".to_string() } else { host };
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn mail_section_parses_with_defaults() {
        let s: MailSettings =
            toml_like("backend = \"smtp\"\n[smtp]\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"plain\"\n");
        assert_eq!(s.backend, Backend::Smtp);
        assert_eq!(s.smtp.port(), 2525);
        assert_eq!(s.smtp.tls, TlsMode::Plain);
        assert_eq!(s.max_attempts, 8);
        let c = WorkerConfig::from_settings(&s, Path::new("config"));
        assert_eq!(c.templates_dir, PathBuf::from("config/templates"));
        assert_eq!(c.backoff_after(1), chrono::Duration::seconds(30));
        assert_eq!(c.backoff_after(3), chrono::Duration::seconds(120));
        assert_eq!(c.backoff_after(40), chrono::Duration::hours(6));
        // An outage: probed at least every 10 minutes, for five days.
        assert_eq!(c.outage_tolerance, chrono::Duration::hours(120));
        assert_eq!(c.outage_retry_after(chrono::Duration::seconds(10)), chrono::Duration::seconds(30));
        assert_eq!(c.outage_retry_after(chrono::Duration::minutes(8)), chrono::Duration::minutes(2));
        assert_eq!(c.outage_retry_after(chrono::Duration::hours(30)), chrono::Duration::minutes(10));
    }

    #[test]
    fn digest_settings_default_to_daily_at_half_past_seven() {
        let s = MailSettings::default();
        assert_eq!(s.digest.at_risk, DigestMode::Daily);
        assert_eq!(s.digest.time, chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap());
        assert_eq!(s.digest.cap_per_recipient_day, 20);
        let c = WorkerConfig::from_settings(&s, Path::new("config"));
        assert_eq!(c.held_kinds(), vec!["at_risk".to_string(), "reminder".to_string()]);
        let d: DigestSettings =
            serde_json::from_value(serde_json::json!({"at_risk": "each", "time": "16:45"})).unwrap();
        assert_eq!(d.at_risk, DigestMode::Each);
        assert_eq!(d.time, chrono::NaiveTime::from_hms_opt(16, 45, 0).unwrap());
        let bad = serde_json::from_value::<DigestSettings>(serde_json::json!({"time": "7h30"})).unwrap_err();
        assert!(bad.to_string().contains("HH:MM"), "{bad}");
        let c = WorkerConfig::from_settings(&MailSettings { digest: d, ..MailSettings::default() }, Path::new("c"));
        assert!(c.held_kinds().is_empty());
    }

    fn toml_like(s: &str) -> MailSettings {
        // The worker does not depend on a TOML parser: JSON through serde is enough to check
        // the names, and motcua's config loader reads the real file.
        let mut v = serde_json::Map::new();
        let mut smtp = serde_json::Map::new();
        let mut in_smtp = false;
        for line in s.lines() {
            if line == "[smtp]" {
                in_smtp = true;
                continue;
            }
            let (k, val) = line.split_once(" = ").unwrap();
            let val: serde_json::Value = serde_json::from_str(val).unwrap();
            if in_smtp {
                smtp.insert(k.into(), val)
            } else {
                v.insert(k.into(), val)
            };
        }
        v.insert("smtp".into(), serde_json::Value::Object(smtp));
        serde_json::from_value(serde_json::Value::Object(v)).unwrap()
    }
}
