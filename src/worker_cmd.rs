//! `motcua worker` (the scheduler and the outbox dispatcher), `motcua outbox` (list, retry,
//! and mark a desk letter handed over) and `motcua letter CODE` (a dossier's apology letter for
//! the desk to print and sign).

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use motcua_core::AgencyCode;
use motcua_core::calendar::at_vn;
use motcua_core::deadlines::Lang;
use motcua_core::forms::FormKind;
use motcua_core::letters::{ApologyTimeliness, EmailResult};
use motcua_core::{Domain, DossierCode};
use motcua_server::forms::{self, FormError, PaperError, PaperPlace};
use motcua_server::i18n::{Lang as ServerLang, Tr};
use motcua_store::{AnyStore, OutboxMessage, OutboxStatus, OutboxStore};
use motcua_worker::config::{Backend, TlsMode};
use motcua_worker::{
    FixedNow, MailSettings, Mailer, NowSource, PaperFuture, Papers, PrintedPaper, SystemNow, Worker, WorkerConfig,
    WorkerMetrics,
};
use serde_json::json;

use crate::config::Config;
use crate::input;
use crate::process::{init_logging, shutdown_signal};

/// Mail settings given on the command line (over `[mail]` of motcua.toml).
#[derive(Debug, Clone, Args)]
pub struct MailFlags {
    /// file, smtp or memory.
    #[arg(long, env = "MOTCUA_MAIL_BACKEND", value_parser = ["file", "smtp", "memory"])]
    pub mail_backend: Option<String>,
    /// SMTP server as HOST:PORT.
    #[arg(long, env = "MOTCUA_SMTP")]
    pub smtp: Option<String>,
    /// tls, starttls or plain (plain only for a relay on loopback).
    #[arg(long, env = "MOTCUA_SMTP_TLS", value_parser = ["tls", "starttls", "plain"])]
    pub smtp_tls: Option<String>,
    /// The file backend's folder.
    #[arg(long, env = "MOTCUA_MAIL_DIR")]
    pub mail_dir: Option<std::path::PathBuf>,
    /// Where letters for citizens with no e-mail are queued for printing.
    #[arg(long, env = "MOTCUA_PRINT_DIR")]
    pub print_dir: Option<std::path::PathBuf>,
    /// Language of the messages sent: vi or en.
    #[arg(long, value_parser = ["vi", "en"])]
    pub lang: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// One scheduler tick, then send until the outbox has nothing due; then exit.
    #[arg(long)]
    pub once: bool,
    /// Run as of this instant instead of the wall clock (with --once: deterministic runs).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Lease owner name (default: host-pid).
    #[arg(long)]
    pub owner: Option<String>,
    /// Messages leased at once (default: `batch` of [mail]).
    #[arg(long)]
    pub batch: Option<u32>,
    /// Also serve GET /metrics on this address (the worker's counters, scheduler ticks, and the
    /// service figures), e.g. 127.0.0.1:9465. Not with --once.
    #[arg(long)]
    pub metrics_bind: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub mail: MailFlags,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
    /// pending, sent or dead.
    #[arg(long, value_parser = ["pending", "sent", "dead"])]
    pub status: Option<String>,
    /// Only this dossier's messages.
    #[arg(long)]
    pub dossier: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Revive a dead (or waiting) message, or with `--all-dead` every dead one (of one kind
    /// with `--kind`): sent at the next worker pass.
    Retry {
        id: Option<i64>,
        /// Every dead message (after an outage longer than the tolerance, say).
        #[arg(long, conflicts_with = "id", required_unless_present = "id")]
        all_dead: bool,
        /// Only messages of this kind (receipt, result_ready, apology, apology_with_result,
        /// reminder, at_risk, escalation); with `--all-dead`.
        #[arg(long, requires = "all_dead")]
        kind: Option<String>,
        /// Due again from this instant (default: now).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct LetterArgs {
    /// Dossier code.
    pub code: String,
    #[arg(long, default_value = "text", value_parser = ["text", "html"])]
    pub format: String,
    #[arg(long, default_value = "vi", value_parser = ["vi", "en"])]
    pub lang: String,
}

fn lang(s: &str) -> Lang {
    if s == "en" { Lang::En } else { Lang::Vi }
}

/// The `[mail]` settings with the flags applied.
pub fn mail_settings(config: &Config, flags: &MailFlags) -> Result<MailSettings> {
    let mut s = config.settings.mail.clone();
    if let Some(b) = &flags.mail_backend {
        s.backend = match b.as_str() {
            "smtp" => Backend::Smtp,
            "memory" => Backend::Memory,
            _ => Backend::File,
        };
    }
    if let Some(hp) = &flags.smtp {
        let (host, port) = hp.rsplit_once(':').with_context(|| format!("--smtp {hp:?}: expected HOST:PORT"))?;
        s.smtp.host = host.trim_matches(['[', ']']).to_string();
        s.smtp.port = Some(port.parse().with_context(|| format!("--smtp {hp:?}: bad port"))?);
    }
    if let Some(t) = &flags.smtp_tls {
        s.smtp.tls = match t.as_str() {
            "tls" => TlsMode::Tls,
            "plain" => TlsMode::Plain,
            _ => TlsMode::Starttls,
        };
    }
    if let Some(d) = &flags.mail_dir {
        s.dir = d.clone();
    }
    if let Some(d) = &flags.print_dir {
        s.print_dir = d.clone();
    }
    if let Some(l) = &flags.lang {
        s.lang = lang(l);
    }
    Ok(s)
}

/// The exporter's typed instance metrics behind the worker's hook.
#[derive(Debug)]
struct ExporterCounters(motcua_exporter::Metrics);

impl WorkerMetrics for ExporterCounters {
    fn email_sent(&self, kind: &str, result: EmailResult) {
        self.0.email_sent(kind, result);
    }

    fn reminder_queued(&self, agency: &AgencyCode) {
        self.0.reminder_queued(agency);
    }

    fn escalation_queued(&self, agency: &AgencyCode) {
        self.0.escalation_queued(agency);
    }

    fn apology_issued(&self, agency: &AgencyCode, timeliness: ApologyTimeliness) {
        self.0.apology_issued(agency, timeliness);
    }

    fn scheduler_tick(&self, took: std::time::Duration, now: DateTime<Utc>) {
        self.0.scheduler_tick(took, now);
    }

    fn digest_gathered(&self, notices: usize) {
        self.0.digest_gathered(notices);
    }

    fn notice_capped(&self, kind: &str) {
        self.0.notice_capped(kind);
    }

    fn notices_per_recipient_day(&self, recipient: &str, max: u64) {
        self.0.notices_per_recipient_day(recipient, max);
    }
}

/// The forms' renderer ([`forms::dossier_paper`]) for the worker's print queue, so a letter
/// printed at the desk is the paper the web page and `motcua form` print.
#[derive(Debug)]
struct StorePapers {
    store: AnyStore,
    domain: Arc<Domain>,
    at: PaperPlace,
}

impl Papers for StorePapers {
    fn paper<'a>(&'a self, kind: FormKind, dossier: &'a DossierCode, en: bool, now: DateTime<Utc>) -> PaperFuture<'a> {
        Box::pin(async move {
            let tr = Tr::new(if en { ServerLang::En } else { ServerLang::Vi });
            match forms::dossier_paper(&self.store, &self.domain, kind, dossier, &self.at, tr, now).await {
                Ok(html) => Ok(Some(PrintedPaper { text: forms::html_to_text(&html), html })),
                Err(PaperError::Form(FormError::NotApplicable(_))) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// A worker over `store` as configured (also what `motcua serve` runs in-process).
pub fn build_worker(
    config: &Config,
    settings: &MailSettings,
    store: AnyStore,
    domain: Arc<Domain>,
    now: Arc<dyn NowSource>,
    metrics: Option<motcua_exporter::Metrics>,
    at: PaperPlace,
) -> Result<Worker<AnyStore>> {
    let mailer = Mailer::from_settings(settings)?;
    let wc = WorkerConfig::from_settings(settings, &config.dir);
    let papers = StorePapers { store: store.clone(), domain: Arc::clone(&domain), at };
    let mut worker = Worker::new(store, domain, mailer, now, wc)?.with_papers(Arc::new(papers));
    if let Some(m) = metrics {
        worker = worker.with_metrics(Arc::new(ExporterCounters(m)));
    }
    Ok(worker)
}

pub async fn worker(config: &Config, args: &WorkerArgs, store: AnyStore, domain: Domain) -> Result<()> {
    init_logging();
    let mut settings = mail_settings(config, &args.mail)?;
    if let Some(b) = args.batch {
        settings.batch = b.max(1);
    }
    let as_of = args.as_of.as_deref().map(input::instant).transpose()?;
    let now_source: Arc<dyn NowSource> = match as_of {
        Some(t) => Arc::new(FixedNow::new(t)),
        None => Arc::new(SystemNow),
    };
    let metrics = motcua_exporter::Metrics::new(store.backend())?;
    let domain = Arc::new(domain);
    let mut worker = build_worker(
        config,
        &settings,
        store.clone(),
        Arc::clone(&domain),
        Arc::clone(&now_source),
        Some(metrics.clone()),
        paper_place(config),
    )?;
    if let Some(owner) = &args.owner {
        worker = worker.with_owner(owner.clone());
    }
    if args.once {
        let now = now_source.now();
        let (tick, sent) = worker.run_once(now).await?;
        if args.json {
            crate::outln!(
                "{}",
                json!({"as_of": input::show(now), "owner": worker.config().owner, "tick": tick, "outbox": sent})
            );
        } else {
            crate::outln!(
                "{}: {} reminders, {} apologies ({} escalations), {} already handled, {} failed, \
                 {} digests ({} notices, {} no longer applying); outbox: {} sent, {} printed, {} retried, {} dead, {} lost leases, \
                 {} held for the next digest",
                input::show(now),
                tick.reminders,
                tick.apologies,
                tick.escalations,
                tick.already_done,
                tick.failed,
                tick.digests,
                tick.digested,
                tick.notices_dropped,
                sent.sent,
                sent.printed,
                sent.retried,
                sent.dead,
                sent.lost_lease,
                sent.held
            );
        }
        store.close().await;
        return Ok(());
    }
    if let Some(bind) = args.metrics_bind {
        let windows = ["1d", "7d", "30d"].iter().map(|w| w.parse()).collect::<Result<Vec<_>, _>>();
        let windows = windows.map_err(|e| anyhow::anyhow!("metrics windows: {e}"))?;
        let exporter = Arc::new(motcua_exporter::Exporter::new(Arc::new(metrics), &domain, windows));
        let source = Arc::clone(&now_source);
        let endpoint = motcua_exporter::http::Endpoint {
            exporter,
            store: store.clone(),
            domain: Arc::clone(&domain),
            now: motcua_exporter::http::NowFn::new(move || source.now()),
        };
        let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
        eprintln!("motcua worker: metrics on http://{}/metrics", listener.local_addr()?);
        tokio::spawn(motcua_exporter::http::serve(
            listener,
            motcua_exporter::http::router(endpoint),
            shutdown_signal(),
        ));
    }
    eprintln!(
        "motcua worker {}: mail via {}, a pass every {} s; Ctrl-C or SIGTERM stops it after the pass in flight",
        worker.config().owner,
        worker.mailer().describe(),
        worker.config().tick_interval.as_secs()
    );
    worker.run(shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

fn message_json(m: &OutboxMessage) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    let show = |t: Option<DateTime<Utc>>| t.map(input::show);
    if let Some(o) = v.as_object_mut() {
        o.insert("next_attempt_at".into(), json!(input::show(m.next_attempt_at)));
        o.insert("created_at".into(), json!(input::show(m.created_at)));
        o.insert("sent_at".into(), json!(show(m.sent_at)));
        o.insert("locked_until".into(), json!(show(m.locked_until)));
        o.insert("print_at_desk".into(), json!(m.recipient.starts_with("desk:")));
    }
    v
}

/// "an@example.vn" or "print at desk 000.00.02.H17".
fn recipient_text(r: &str) -> String {
    match r.strip_prefix("desk:") {
        Some(agency) => format!("print at desk {agency}"),
        None => r.to_string(),
    }
}

pub async fn outbox(args: &OutboxArgs, store: &AnyStore) -> Result<()> {
    if let Some(OutboxAction::Retry { id, all_dead, kind, at, json }) = &args.action {
        let now = match at {
            Some(t) => input::instant(t)?,
            None => motcua_core::calendar::truncate_to_micros(Utc::now()),
        };
        let id = match (id, all_dead) {
            (Some(id), false) => id,
            _ => {
                if let Some(k) = kind
                    && k.parse::<motcua_core::petition_letters::ItemMessageKind>().is_err()
                {
                    k.parse::<motcua_core::letters::MessageKind>().map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
                }
                let revived = store.retry_dead(kind.as_deref(), now).await?;
                if *json {
                    crate::outln!("{}", serde_json::json!({ "revived": revived, "kind": kind }));
                } else {
                    let of = kind.as_deref().map(|k| format!(" {k}")).unwrap_or_default();
                    crate::outln!("{revived} dead{of} message(s) pending again");
                }
                return Ok(());
            }
        };
        let Some(before) = store.outbox_message(*id).await? else { bail!("there is no outbox message {id}") };
        if before.status == OutboxStatus::Sent {
            bail!("outbox message {id} was already sent at {}", before.sent_at.map(input::show).unwrap_or_default());
        }
        store.retry_message(*id, now).await?;
        let after = store.outbox_message(*id).await?.context("the message vanished")?;
        if *json {
            crate::outln!("{}", message_json(&after));
        } else {
            crate::outln!(
                "outbox message {id} ({} to {}) is pending again",
                after.kind,
                recipient_text(&after.recipient)
            );
        }
        return Ok(());
    }
    let status = args.status.as_deref().map(str::parse::<OutboxStatus>).transpose().map_err(anyhow::Error::msg)?;
    let rows = match &args.dossier {
        Some(code) => {
            let code: DossierCode = code.trim().parse()?;
            store.outbox_for(&code).await?.into_iter().filter(|m| status.is_none_or(|s| m.status == s)).collect()
        }
        None => store.outbox(status, args.limit).await?,
    };
    if args.json {
        crate::outln!("{}", serde_json::Value::Array(rows.iter().map(message_json).collect()));
        return Ok(());
    }
    if rows.is_empty() {
        crate::outln!("no outbox messages{}", status.map(|s| format!(" with status {s}")).unwrap_or_default());
        return Ok(());
    }
    crate::outln!(
        "{:>6}  {:<7}  {:<19}  {:<25}  {:>3}  {:<19}  recipient",
        "id",
        "status",
        "kind",
        "dossier",
        "try",
        "when"
    );
    for m in &rows {
        let when = match m.status {
            OutboxStatus::Sent => m.sent_at.unwrap_or(m.created_at),
            _ => m.next_attempt_at,
        };
        crate::outln!(
            "{:>6}  {:<7}  {:<19}  {:<25}  {:>3}  {:<19}  {}{}",
            m.id,
            m.status.name(),
            m.kind,
            m.dossier_code.as_ref().map(ToString::to_string).unwrap_or_default(),
            m.attempts,
            at_vn(when).format("%Y-%m-%d %H:%M"),
            recipient_text(&m.recipient),
            m.last_error.as_ref().map(|e| format!("  ({e})")).unwrap_or_default()
        );
    }
    Ok(())
}

/// The dossier's apology (Mẫu 04), drawn by the forms' renderer: the same paper as `motcua form
/// apology`, the web page and the print queue.
pub async fn letter(config: &Config, args: &LetterArgs, store: &AnyStore, domain: &Domain) -> Result<()> {
    let code: DossierCode = args.code.trim().parse()?;
    let tr = Tr::new(if args.lang == "en" { ServerLang::En } else { ServerLang::Vi });
    let html = match forms::dossier_paper(store, domain, FormKind::Apology, &code, &paper_place(config), tr, Utc::now())
        .await
    {
        Ok(h) => h,
        Err(PaperError::Form(FormError::NotApplicable(why))) => bail!("{why}"),
        Err(e) => return Err(e.into()),
    };
    if args.format == "html" {
        crate::out!("{html}");
    } else {
        crate::out!("{}", forms::html_to_text(&html));
    }
    Ok(())
}

/// Where papers printed away from the server say they come from (motcua.toml's `place` and
/// `public_url`).
pub fn paper_place(config: &Config) -> PaperPlace {
    PaperPlace { place: config.settings.place.clone(), public_url: config.settings.public_url.clone() }
}
