//! The exporter: instance metrics + service figures, rendered as one text exposition.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use motcua_core::Domain;
use motcua_store::Store;
use motcua_store::metrics::{FiguresQuery, ServiceFigures};
use prometheus::{Encoder, TextEncoder};

use crate::service::{self, AgencyFigures, Window};
use crate::working_time;
use crate::{CONTENT_TYPE, ExporterError, Metrics};

/// Queued handoff events measured per scrape at most (the worker can measure the rest).
const MEASURE_PER_SCRAPE: u32 = 256;

/// One rendered `/metrics` page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub content_type: &'static str,
    pub body: String,
}

/// Renders `/metrics`: the instance metrics of [`Metrics`] and the service figures read from a
/// store at the instant given by the caller.
#[derive(Debug, Clone)]
pub struct Exporter {
    metrics: Arc<Metrics>,
    windows: Vec<Window>,
    agencies: Vec<String>,
}

impl Exporter {
    /// `windows` are the on-time ratio windows (e.g. 1d, 7d, 30d); every agency of the catalog
    /// gets its series, even before its first dossier.
    pub fn new(metrics: Arc<Metrics>, domain: &Domain, windows: Vec<Window>) -> Self {
        let codes: Vec<_> = domain.catalog.agencies().map(|a| a.code.clone()).collect();
        metrics.init_agencies(codes.iter());
        let mut windows = windows;
        windows.sort();
        windows.dedup();
        Self { metrics, windows, agencies: codes.iter().map(ToString::to_string).collect() }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// Every metric family name this exporter can expose (histograms by their base name).
    pub fn metric_names(&self) -> Vec<String> {
        let mut names = self.metrics.names();
        names.extend(service::SERVICE_METRICS.iter().map(|(n, _, _)| (*n).to_string()));
        names.sort();
        names
    }

    /// The per-agency service figures at `now` (what the gauges show), for reports and tests.
    pub async fn agency_figures<S: ServiceFigures>(
        &self,
        store: &S,
        now: DateTime<Utc>,
    ) -> Result<std::collections::BTreeMap<String, AgencyFigures>, ExporterError> {
        let q = FiguresQuery { now, windows: self.windows.iter().map(|w| w.days_at(now)).collect() };
        let f = store.figures(&q).await?;
        Ok(service::agency_figures(&f, self.windows.len(), now, self.agencies.iter().map(String::as_str)))
    }

    /// The text exposition as of `now`. Measuring queued handoffs is best effort (a failure is
    /// counted in `motcua_scrape_errors_total{stage="working_time"}`); failing to read the
    /// figures fails the scrape.
    pub async fn render<S: Store + ServiceFigures>(
        &self,
        store: &S,
        domain: &Domain,
        now: DateTime<Utc>,
    ) -> Result<Rendered, ExporterError> {
        let started = Instant::now();
        match working_time::measure(store, domain, MEASURE_PER_SCRAPE, false).await {
            Ok(m) => self.metrics.working_time_unmeasured.inc_by(m.unmeasured),
            Err(_) => self.metrics.scrape_errors.with_label_values(&["working_time"]).inc(),
        }
        let q = FiguresQuery { now, windows: self.windows.iter().map(|w| w.days_at(now)).collect() };
        let figures = match store.figures(&q).await {
            Ok(f) => f,
            Err(e) => {
                self.metrics.scrape_errors.with_label_values(&["figures"]).inc();
                return Err(e.into());
            }
        };
        let per_agency =
            service::agency_figures(&figures, self.windows.len(), now, self.agencies.iter().map(String::as_str));
        let read = started.elapsed().as_secs_f64();
        let mut families = self.metrics.registry().gather();
        families.extend(service::families(&figures, &per_agency, &self.windows, now, read));
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut body = Vec::with_capacity(64 * 1024);
        TextEncoder::new().encode(&families, &mut body)?;
        Ok(Rendered { content_type: CONTENT_TYPE, body: String::from_utf8_lossy(&body).into_owned() })
    }
}
