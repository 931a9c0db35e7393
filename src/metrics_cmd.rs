//! `motcua metrics serve --bind ADDR`: the Prometheus `/metrics` endpoint on its own (until
//! `motcua serve` mounts it), and `motcua metrics print` for one exposition on stdout.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use motcua_core::Domain;
use motcua_exporter::http::{self, Endpoint, NowFn};
use motcua_exporter::{Exporter, HallSeries, Metrics, ScorecardSeries, Window};
use motcua_store::AnyStore;

#[derive(Debug, Args)]
pub struct ExporterFlags {
    /// On-time ratio windows, in local days ending today (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1d,7d,30d", env = "MOTCUA_METRICS_WINDOWS")]
    pub windows: Vec<Window>,
    /// The scorecard series' window, in local days ending today.
    #[arg(long, default_value = "30d", env = "MOTCUA_METRICS_SCORECARD_WINDOW")]
    pub scorecard_window: Window,
    /// Seconds of scrape time for which the scorecard series read at one scrape are written
    /// again before they are read anew (0: at every scrape).
    #[arg(long, default_value_t = 60, env = "MOTCUA_METRICS_SCORECARD_REFRESH")]
    pub scorecard_refresh: u32,
    /// Seconds of scrape time for which the reception hall's series read at one scrape are
    /// written again before they are read anew (0: at every scrape).
    #[arg(long, default_value_t = 30, env = "MOTCUA_METRICS_HALL_REFRESH")]
    pub hall_refresh: u32,
    /// Serve figures as of this fixed instant instead of the wall clock (demos, tests).
    #[arg(long)]
    pub as_of: Option<String>,
}

impl ExporterFlags {
    pub fn scorecard(&self) -> ScorecardSeries {
        ScorecardSeries {
            window: self.scorecard_window,
            refresh: chrono::Duration::seconds(i64::from(self.scorecard_refresh)),
        }
    }

    pub fn hall(&self) -> HallSeries {
        HallSeries { refresh: chrono::Duration::seconds(i64::from(self.hall_refresh)) }
    }
}

#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// Serve GET /metrics (Prometheus text format 0.0.4) on ADDR; port 0 picks a free one.
    /// Prints the address it listens on.
    Serve {
        #[arg(long, default_value = "127.0.0.1:9464")]
        bind: SocketAddr,
        #[command(flatten)]
        flags: ExporterFlags,
    },
    /// Print the exposition once and exit.
    Print {
        #[command(flatten)]
        flags: ExporterFlags,
    },
}

fn endpoint(store: AnyStore, domain: Domain, flags: &ExporterFlags) -> Result<Endpoint<AnyStore>> {
    let metrics = Arc::new(Metrics::new(store.backend())?);
    let exporter = Arc::new(
        Exporter::new(metrics, &domain, flags.windows.clone())
            .with_scorecard(flags.scorecard())
            .with_hall(flags.hall()),
    );
    let now = match &flags.as_of {
        Some(at) => NowFn::fixed(crate::input::instant(at)?),
        None => NowFn::new(chrono::Utc::now),
    };
    Ok(Endpoint { exporter, store, domain: Arc::new(domain), now })
}

pub async fn run(cmd: &MetricsCommand, store: AnyStore, domain: Domain) -> Result<()> {
    match cmd {
        MetricsCommand::Print { flags } => {
            let ep = endpoint(store, domain, flags)?;
            crate::out!("{}", ep.render().await?.body);
            Ok(())
        }
        MetricsCommand::Serve { bind, flags } => {
            let ep = endpoint(store, domain, flags)?;
            let listener =
                tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
            let addr = listener.local_addr()?;
            crate::outln!("motcua metrics: listening on http://{addr}/metrics");
            std::io::stdout().flush()?;
            // No signal handling: SIGINT/SIGTERM end the process, and there is no state to save.
            http::serve(listener, http::router(ep), std::future::pending()).await?;
            Ok(())
        }
    }
}
