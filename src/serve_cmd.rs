//! `motcua serve`: one process serving the JSON API, the web UI, the public pages and
//! `/metrics`, with the worker beside it (scheduler ticks and outbox dispatch with the `[mail]`
//! backend, counted in the same metrics), until SIGINT or SIGTERM; then it stops accepting,
//! lets requests in flight and the worker's current pass finish, and closes the database.
//!
//! `--demo` seeds an empty database once: a simulated month of dossiers ending yesterday and
//! one account per role, whose passwords are printed (that run only).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{Days, Utc};
use clap::Args;
use motcua_core::Domain;
use motcua_core::backdate::BackdateWindow;
use motcua_exporter::http::{Endpoint, NowFn};
use motcua_exporter::{Exporter, Metrics};
use motcua_server::forms::PaperPlace;
use motcua_server::{AppState, Application, HttpMetrics, ServerConfig, system_now};
use motcua_store::{AnyStore, StaffStore};
use motcua_worker::{NowSource, SystemNow, Worker};
use tokio::sync::watch;

use crate::config::Config;
use crate::metrics_cmd::ExporterFlags;
use crate::process::{init_logging, shutdown_signal};
use crate::worker_cmd::{MailFlags, build_worker, mail_settings};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080", env = "MOTCUA_BIND")]
    pub bind: SocketAddr,
    /// Public base URL for the receipt's QR code (default: http://<bind>).
    #[arg(long, env = "MOTCUA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Mark cookies Secure (when served behind HTTPS).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Public lookups allowed per client IP and minute (after a burst of --lookup-burst).
    #[arg(long, default_value_t = 10)]
    pub lookup_per_minute: u32,
    #[arg(long, default_value_t = 10)]
    pub lookup_burst: u32,
    /// The bearer token a scraper gives for `/metrics`. Without it, `/metrics` is served only
    /// on a loopback --bind; a server that faces the public refuses it.
    #[arg(long, env = "MOTCUA_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A reverse proxy (address or CIDR, repeatable) whose `X-Forwarded-For` names the client
    /// for the lookup's rate limit and the login throttle; from anyone else the header is
    /// ignored and the TCP peer is the client.
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_proxy)]
    pub trusted_proxies: Vec<motcua_server::IpNet>,
    /// How far before now staff may date an action through the API and the pages, in working
    /// time of the desk's calendar: 1d (the default, from motcua.toml's backdate_window), 2d,
    /// 4h, 90m, or 0. Earlier only for an account with the paper-history capability, with a
    /// reason. The command line is not bound by it.
    #[arg(long, env = "MOTCUA_BACKDATE_WINDOW", value_parser = parse_window)]
    pub backdate_window: Option<BackdateWindow>,
    /// Seconds a client has to send a request's head, from the connection's opening and, on a
    /// kept-alive connection, from the end of the previous answer; then the connection is closed.
    #[arg(long, default_value_t = 10, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,
    /// Seconds a connection may stay silent (no byte either way, no request being handled)
    /// before it is closed.
    #[arg(long, default_value_t = 60, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout: u64,
    /// Seconds a request's body has to arrive whole, from the end of its head; a client that
    /// sends the head and then dribbles the body is answered 408 and the connection closed.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_read_timeout: u64,
    /// Seed an empty database with a simulated month and one demo account per role.
    #[arg(long)]
    pub demo: bool,
    /// Dossiers in the demo month.
    #[arg(long, default_value_t = 3000)]
    pub demo_dossiers: u64,
    /// Do not run the worker in this process (when `motcua worker` processes do the sending).
    #[arg(long)]
    pub no_worker: bool,
    /// Start the clock of the pages and the API at this instant (RFC 3339, or local time
    /// 2026-03-10T09:00) and let it run on from there: demonstrations and browser tests of the
    /// reception hall, which issues numbers only in office hours. Not for production.
    #[arg(long, value_name = "INSTANT")]
    pub clock_from: Option<String>,
    #[command(flatten)]
    pub metrics: ExporterFlags,
    #[command(flatten)]
    pub mail: MailFlags,
}

/// The exporter's typed metrics and `/metrics` page behind the server's hook.
struct ExporterHook {
    endpoint: Endpoint<AnyStore>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for ExporterHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExporterHook")
    }
}

impl HttpMetrics for ExporterHook {
    fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.metrics.http_request(method, route, status, Duration::from_secs_f64(seconds.max(0.0)));
    }

    fn render(&self) -> Pin<Box<dyn Future<Output = String> + Send + '_>> {
        Box::pin(async move {
            match self.endpoint.render().await {
                Ok(r) => r.body,
                Err(e) => {
                    tracing::error!(error = %e, "cannot render /metrics");
                    format!("# motcua: cannot read the service figures: {e}\n")
                }
            }
        })
    }
}

/// The worker in `serve`: scheduler ticks and outbox dispatch until `stop` turns true; then the
/// pass in flight (the batch being sent is sent and marked) is finished before this returns.
async fn run_worker(worker: Worker<AnyStore>, mut stop: watch::Receiver<bool>) {
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = worker.run(shutdown).await {
        tracing::error!(error = %e, "worker stopped");
    }
}

pub async fn run(config: &Config, args: &ServeArgs, store: AnyStore, domain: Domain) -> Result<()> {
    init_logging();
    if args.demo {
        seed_demo(&store, &domain, args.demo_dossiers).await?;
    }
    let metrics = Arc::new(Metrics::new(store.backend())?);
    let exporter = Arc::new(
        Exporter::new(Arc::clone(&metrics), &domain, args.metrics.windows.clone())
            .with_scorecard(args.metrics.scorecard())
            .with_hall(args.metrics.hall()),
    );
    let metrics_now = match &args.metrics.as_of {
        Some(at) => NowFn::fixed(crate::input::instant(at)?),
        None => NowFn::new(Utc::now),
    };
    let domain = Arc::new(domain);
    let hook = ExporterHook {
        endpoint: Endpoint { exporter, store: store.clone(), domain: Arc::clone(&domain), now: metrics_now },
        metrics: Arc::clone(&metrics),
    };
    // Built before listening, so that a bad [mail] setting stops `serve` with its message.
    let worker = if args.no_worker {
        None
    } else {
        let settings = mail_settings(config, &args.mail)?;
        let now: Arc<dyn NowSource> = Arc::new(SystemNow);
        let at = PaperPlace {
            place: config.settings.place.clone(),
            public_url: args.public_url.clone().unwrap_or_else(|| config.settings.public_url.clone()),
        };
        let worker =
            build_worker(config, &settings, store.clone(), Arc::clone(&domain), now, Some((*metrics).clone()), at)
                .context("cannot start the worker")?;
        Some(worker)
    };
    let server_config = ServerConfig {
        bind: args.bind,
        public_url: args.public_url.clone(),
        secure_cookies: args.secure_cookies,
        lookup_per_minute: args.lookup_per_minute,
        lookup_burst: args.lookup_burst,
        metrics_token: args.metrics_token.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        backdate_window: args.backdate_window.unwrap_or(config.settings.backdate_window),
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        place: config.settings.place.clone(),
        body_read_timeout: Duration::from_secs(args.body_read_timeout),
        ..ServerConfig::default()
    };
    let now = match &args.clock_from {
        Some(at) => running_from(crate::input::instant(at)?),
        None => system_now(),
    };
    let state = AppState::new(store.clone(), (*domain).clone(), now, server_config).with_metrics(Arc::new(hook));
    let app = Application::build(state).await.with_context(|| format!("cannot listen on {}", args.bind))?;
    crate::outln!("motcua: serving on http://{} (API /api/v1, lookup /tra-cuu, board /bang-tin, /metrics)", app.addr());
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = match worker {
        Some(w) => {
            tracing::info!(
                owner = %w.config().owner,
                mail = %w.mailer().describe(),
                every_seconds = w.config().tick_interval.as_secs(),
                "worker started"
            );
            Some(tokio::spawn(run_worker(w, stop_rx.clone())))
        }
        None => {
            tracing::info!("worker not started (--no-worker)");
            None
        }
    };
    let state = app.state().clone();
    let mut server_stop = stop_rx;
    let server = tokio::spawn(app.run_until(async move {
        let _ = server_stop.wait_for(|s| *s).await;
    }));
    // The process serves until a signal, or until the worker dies: then `/readyz` fails with
    // the reason while requests in flight finish, and the process exits non-zero so that its
    // supervisor restarts it whole; it never goes on serving without its worker.
    let worker_died = match worker {
        Some(w) => {
            let watch = watch_worker(w, stop_tx.subscribe());
            tokio::pin!(watch);
            tokio::select! {
                () = shutdown_signal() => {
                    tracing::info!("signal received: draining");
                    let _ = stop_tx.send(true);
                    // A panic while the last pass finishes is still a failure.
                    watch.await
                }
                reason = &mut watch => reason.or_else(|| Some("the worker stopped".into())),
            }
        }
        None => {
            shutdown_signal().await;
            tracing::info!("signal received: draining");
            None
        }
    };
    if let Some(reason) = &worker_died {
        tracing::error!(reason = %reason, "the worker stopped: draining and exiting");
        state.task_stopped(reason.clone());
    }
    let _ = stop_tx.send(true);
    server.await.context("the server task failed")??;
    store.close().await;
    match worker_died {
        Some(reason) => Err(anyhow::anyhow!("the worker stopped: {reason}")),
        None => {
            tracing::info!("stopped");
            Ok(())
        }
    }
}

/// A clock that reads `start` now and runs on with the wall clock's seconds (`--clock-from`).
fn running_from(start: chrono::DateTime<Utc>) -> motcua_server::NowFn {
    let began = std::time::Instant::now();
    Arc::new(move || start + chrono::Duration::from_std(began.elapsed()).unwrap_or_default())
}

/// `1d`, `4h`, `90m`, `0`: core's backdating window.
fn parse_window(s: &str) -> Result<BackdateWindow, String> {
    s.parse().map_err(|e: motcua_core::backdate::WindowError| e.to_string())
}

/// `10.0.0.0/8`, or one address (`10.0.0.1`, a /32 or /128).
fn parse_proxy(s: &str) -> Result<motcua_server::IpNet, String> {
    let s = s.trim();
    s.parse::<motcua_server::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(motcua_server::IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or a CIDR block such as 10.0.0.0/8"))
}

/// Waits for the worker task to end and says why it did, unless it ended as asked (after
/// `stop` turned true): a panic (with its message), a cancellation or an unexpected return.
pub async fn watch_worker(task: tokio::task::JoinHandle<()>, stop: watch::Receiver<bool>) -> Option<String> {
    let ended = task.await;
    let asked = *stop.borrow();
    match ended {
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Some(format!("the worker panicked: {message}"))
        }
        Err(e) => Some(format!("the worker task was cancelled: {e}")),
        Ok(()) if asked => None,
        Ok(()) => Some("the worker returned without being asked to stop".into()),
    }
}

/// The first day of the demo month and its last (yesterday).
pub fn demo_period() -> (chrono::NaiveDate, chrono::NaiveDate) {
    let today = motcua_core::calendar::to_local(Utc::now()).date();
    let to = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let from = to.checked_sub_days(Days::new(29)).unwrap_or(to);
    (from, to)
}

/// True if the database has no staff account yet.
pub async fn is_fresh(store: &AnyStore) -> Result<bool> {
    Ok(store.staff_list().await?.is_empty())
}

/// The demo accounts: (username, display name, role, agencies).
const DEMO_STAFF: [(&str, &str, &str, &[&str]); 6] = [
    ("motcua.desk", "Nguyễn Thị Lan", "desk", &["000.00.02.H17"]),
    ("motcua.agency", "Trần Văn Hùng", "agency", &["000.00.12.H17", "000.00.10.H17"]),
    ("motcua.head", "Lê Thị Mai", "head", &["000.00.12.H17", "000.00.02.H17"]),
    ("motcua.chair", "Phạm Minh Tuấn", "chair", &[]),
    ("motcua.admin", "Quản trị hệ thống", "admin", &[]),
    ("motcua.inspector", "Võ Thanh Hà", "inspector", &[]),
];

/// Seeds an empty database once: a simulated month ending yesterday, then one account per
/// role with a random password printed here (and nowhere else).
pub async fn seed_demo(store: &AnyStore, domain: &Domain, dossiers: u64) -> Result<()> {
    if !is_fresh(store).await? {
        crate::outln!("motcua: demo data already present; log in with the accounts printed on the first run");
        return Ok(());
    }
    let (from, to) = demo_period();
    crate::outln!("motcua: first run — simulating {dossiers} dossiers received {from} … {to}");
    // The demo shows letters: its month is queued as `simulate --notify` would (the dossiers
    // still inside their time at the seed); those already past due wait for a person.
    let cfg = crate::bulk::sim_config(dossiers, 1, from, to);
    let now = Utc::now();
    crate::bulk::simulate(store, domain, &cfg, false, true, now).await?;
    // Today's hall, up to now: a queue waiting for the TV and the phone page.
    let today = crate::bulk::demo_hall_today(store, domain, 1, now).await?;
    let day = motcua_core::calendar::to_local(now);
    for hall in domain.halls.halls_on(day.date()) {
        crate::outln!("motcua: hall {0}: its TV /sanh/{0}/tv, a number /sanh/{0}/lay-so", hall.code);
    }
    crate::outln!(
        "motcua: today's halls: {} tickets up to {} (none on a day off or before opening)",
        today.hall_tickets,
        day.format("%H:%M")
    );
    crate::outln!("motcua: demo accounts (shown once; change them with `motcua staff reset-password`):");
    for (username, name, role, agencies) in DEMO_STAFF {
        let agencies: Vec<String> = agencies.iter().map(|a| (*a).to_string()).collect();
        let password = crate::staff_cmd::add(store, domain, username, name, role, &agencies, None).await?;
        crate::outln!(
            "  {role:<7} {username:<15} password: {password}   agencies: {}",
            if agencies.is_empty() { "all (read-only)".to_string() } else { agencies.join(", ") }
        );
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_worker_that_panics_is_reported_with_its_message() {
        let (_tx, rx) = watch::channel(false);
        let task = tokio::spawn(async { panic!("a stored value no mail can carry") });
        let reason = watch_worker(task, rx).await;
        assert_eq!(reason.as_deref(), Some("the worker panicked: a stored value no mail can carry"));
        let (_tx, rx) = watch::channel(false);
        let reason = watch_worker(tokio::spawn(async {}), rx).await.unwrap();
        assert!(reason.contains("without being asked"), "{reason}");
        let (tx, rx) = watch::channel(false);
        tx.send(true).unwrap();
        assert_eq!(watch_worker(tokio::spawn(async {}), rx).await, None, "a worker that stops as asked is fine");
    }
}
