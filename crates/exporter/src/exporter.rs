//! The exporter: instance metrics + service figures, rendered as one text exposition.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Utc};
use motcua_core::Domain;
use motcua_core::calendar::to_local;
use motcua_store::metrics::{Figures, FiguresQuery, PastChanges, ServiceFigures, WorkingTimeVersion};
use motcua_store::scorecard::ScorecardStore;
use motcua_store::{CountValues, HallStore, PetitionStore, StaffStore, Store, StoreError};
use prometheus::{Encoder, TextEncoder};

use crate::hall::{self, HallSeries};
use crate::scorecard::{self, ScorecardSeries};
use crate::service::{self, AgencyFigures, Histogram, Histograms, SERVICE_METRICS, Scrape, Window};
use crate::text::{Exposition, KeptFamilies};
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

/// The window sums over days before the cache's day, per agency (one per window), with the
/// changes each agency's past days had when they were read. Within a day they stay right until
/// that number grows (migration 0006), so a scrape reads only today's cells.
#[derive(Debug, Default)]
struct PastCache {
    changes: PastChanges,
    sums: BTreeMap<String, Vec<CountValues>>,
}

/// The working-time histograms as of a version of their cells: a scrape reads only the cells
/// changed since (migration 0006), and writes again only the histograms they belong to.
#[derive(Debug, Default)]
struct HistogramCache {
    version: WorkingTimeVersion,
    histograms: Histograms,
}

/// Families read again at most once per refresh interval (the scorecard's, the hall's): the
/// ones last read, and the scrape instant of the last failed read (not tried again within the
/// interval, so that a failing read does not cost every scrape).
#[derive(Debug, Default, Clone)]
struct Kept {
    text: Option<Arc<KeptFamilies>>,
    failed_at: Option<DateTime<Utc>>,
}

/// What the exporter keeps between scrapes.
#[derive(Debug, Default, Clone)]
struct Cache {
    past: Option<Arc<PastCache>>,
    histograms: Option<Arc<HistogramCache>>,
    /// The scorecard series as last read, with the instant they are as of.
    scorecard: Kept,
    /// The hall series as last read.
    hall: Kept,
}

/// Renders `/metrics`: the instance metrics of [`Metrics`] and the service figures read from a
/// store at the instant given by the caller. An exporter serves one database: between scrapes
/// it keeps the past days' window sums and the working-time histograms read from it.
#[derive(Debug, Clone)]
pub struct Exporter {
    metrics: Arc<Metrics>,
    windows: Vec<Window>,
    agencies: Vec<String>,
    scorecard: ScorecardSeries,
    hall: HallSeries,
    /// Shared by clones: they serve the same windows.
    cache: Arc<Mutex<Cache>>,
}

impl Exporter {
    /// `windows` are the on-time ratio windows (e.g. 1d, 7d, 30d); every agency of the catalog
    /// that has not ceased gets its series, even before its first dossier (a ceased one, e.g. a
    /// district abolished in 2025, only while it has figures).
    pub fn new(metrics: Arc<Metrics>, domain: &Domain, windows: Vec<Window>) -> Self {
        let codes: Vec<_> =
            domain.catalog.agencies().filter(|a| a.valid_until.is_none()).map(|a| a.code.clone()).collect();
        metrics.init_agencies(codes.iter());
        let mut windows = windows;
        windows.sort();
        windows.dedup();
        Self {
            metrics,
            windows,
            agencies: codes.iter().map(ToString::to_string).collect(),
            scorecard: ScorecardSeries::default(),
            hall: HallSeries::default(),
            cache: Arc::new(Mutex::new(Cache::default())),
        }
    }

    /// The scorecard series' window and refresh interval (default: 30 days, 60 s).
    #[must_use]
    pub fn with_scorecard(mut self, series: ScorecardSeries) -> Self {
        self.scorecard = series;
        self
    }

    /// The hall series' refresh interval (default: 30 s).
    #[must_use]
    pub fn with_hall(mut self, series: HallSeries) -> Self {
        self.hall = series;
        self
    }

    pub fn scorecard_series(&self) -> ScorecardSeries {
        self.scorecard
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
        names.extend(SERVICE_METRICS.iter().map(|(n, _, _)| (*n).to_string()));
        names.extend(scorecard::names().map(str::to_string));
        names.extend(hall::names().map(str::to_string));
        names.sort();
        names
    }

    /// Reads the figures at `now`, re-reading past-day window sums only for the agencies whose
    /// past changed since the cached ones (all of them on the first scrape of a day), and
    /// working-time cells only when a measuring pass changed them.
    async fn read<S: ServiceFigures>(
        &self,
        store: &S,
        now: DateTime<Utc>,
    ) -> Result<(Figures, Arc<PastCache>, Arc<HistogramCache>), motcua_store::StoreError> {
        let today = to_local(now).date();
        let cached = self.cache.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let past = cached.past.filter(|c| c.changes.today == today);
        let q = FiguresQuery {
            now,
            today,
            window_starts: self.windows.iter().map(|w| w.days_at(now).0).collect(),
            known_past: past.as_ref().map(|c| &c.changes),
            known_working_time: cached.histograms.as_ref().map(|h| h.version),
        };
        let mut figures = store.figures(&q).await?;
        let past = match past {
            Some(c) if !figures.past_complete && figures.past.is_empty() && c.changes == figures.past_changes => c,
            past => {
                let mut sums = match past {
                    Some(c) if !figures.past_complete => c.sums.clone(),
                    _ => BTreeMap::new(),
                };
                for p in std::mem::take(&mut figures.past) {
                    sums.insert(p.agency, p.windows);
                }
                Arc::new(PastCache { changes: std::mem::take(&mut figures.past_changes), sums })
            }
        };
        let histograms = match cached.histograms {
            Some(h) if !figures.working_time_complete && figures.working_time.is_empty() => h,
            cached => {
                let mut histograms = match cached {
                    Some(h) if !figures.working_time_complete => h.histograms.clone(),
                    _ => Histograms::new(),
                };
                let mut changed: BTreeMap<(String, String), BTreeMap<i64, (u64, i64)>> = BTreeMap::new();
                for b in std::mem::take(&mut figures.working_time) {
                    let key = (b.metric, b.agency);
                    let cells = changed
                        .entry(key.clone())
                        .or_insert_with(|| histograms.get(&key).map(|h| h.cells().clone()).unwrap_or_default());
                    cells.insert(b.le_seconds, (b.observations, b.seconds));
                }
                for ((metric, agency), cells) in changed {
                    if let Some(h) = Histogram::new(&metric, &agency, cells) {
                        histograms.insert((metric, agency), Arc::new(h));
                    }
                }
                Arc::new(HistogramCache { version: figures.working_time_version, histograms })
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.past = Some(Arc::clone(&past));
        cache.histograms = Some(Arc::clone(&histograms));
        Ok((figures, past, histograms))
    }

    fn per_agency(&self, f: &Figures, past: &PastCache, now: DateTime<Utc>) -> BTreeMap<String, AgencyFigures> {
        service::agency_figures(f, &past.sums, self.windows.len(), now, self.agencies.iter().map(String::as_str))
    }

    /// The per-agency service figures at `now` (what the gauges show), for reports and tests.
    pub async fn agency_figures<S: ServiceFigures>(
        &self,
        store: &S,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<String, AgencyFigures>, ExporterError> {
        let (f, past, _) = self.read(store, now).await?;
        Ok(self.per_agency(&f, &past, now))
    }

    /// Families for a scrape at `now` from the cache slot `slot`: the ones kept when they were
    /// read less than `refresh` before `now`, else read again by `read`. A failed read is
    /// counted in `motcua_scrape_errors_total{stage}` and the kept families, if any, are written
    /// with the instant they are as of.
    async fn kept_or_read<F, Fut>(
        &self,
        slot: fn(&mut Cache) -> &mut Kept,
        refresh: chrono::Duration,
        stage: &str,
        now: DateTime<Utc>,
        read: F,
    ) -> Option<Arc<KeptFamilies>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<KeptFamilies, StoreError>>,
    {
        let kept = slot(&mut self.cache.lock().unwrap_or_else(PoisonError::into_inner)).clone();
        if let Some(k) = kept.text.as_ref().filter(|k| k.fresh_at(now, refresh)) {
            return Some(Arc::clone(k));
        }
        if kept.failed_at.is_some_and(|f| now >= f && now - f < refresh) {
            return kept.text;
        }
        match read().await {
            Ok(text) => {
                let text = Arc::new(text);
                *slot(&mut self.cache.lock().unwrap_or_else(PoisonError::into_inner)) =
                    Kept { text: Some(Arc::clone(&text)), failed_at: None };
                Some(text)
            }
            Err(_) => {
                self.metrics.scrape_errors.with_label_values(&[stage]).inc();
                slot(&mut self.cache.lock().unwrap_or_else(PoisonError::into_inner)).failed_at = Some(now);
                kept.text
            }
        }
    }

    /// The text exposition as of `now`. Measuring queued handoffs is best effort (a failure is
    /// counted in `motcua_scrape_errors_total{stage="working_time"}`), and so is reading the
    /// scorecard (`stage="scorecard"`) and the hall series (`stage="hall"`), each read again at
    /// most once per its refresh interval; failing to read the figures fails the scrape.
    pub async fn render<S>(&self, store: &S, domain: &Domain, now: DateTime<Utc>) -> Result<Rendered, ExporterError>
    where
        S: Store + ServiceFigures + ScorecardStore + StaffStore + PetitionStore + HallStore,
    {
        let started = Instant::now();
        match working_time::measure(store, domain, MEASURE_PER_SCRAPE, false).await {
            Ok(m) => self.metrics.working_time_unmeasured.inc_by(m.unmeasured),
            Err(_) => self.metrics.scrape_errors.with_label_values(&["working_time"]).inc(),
        }
        let (figures, past, histograms) = match self.read(store, now).await {
            Ok(r) => r,
            Err(e) => {
                // The database is away: the scrape still answers, with the instance's own
                // families (requests, sends, this error counted under stage="figures"), so a
                // scraper sees the failed read instead of a failed scrape; the service series
                // are left out, not reported as zero.
                self.metrics.scrape_errors.with_label_values(&["figures"]).inc();
                let mut out = format!("# motcua: the service figures could not be read ({e}); instance metrics only\n");
                TextEncoder::new().encode_utf8(&self.metrics.registry().gather(), &mut out)?;
                return Ok(Rendered { content_type: CONTENT_TYPE, body: out });
            }
        };
        let per_agency = self.per_agency(&figures, &past, now);
        let (series, agencies) = (self.scorecard, &self.agencies);
        let card = self
            .kept_or_read(
                |c| &mut c.scorecard,
                series.refresh,
                "scorecard",
                now,
                || scorecard::read(store, domain, series, agencies, now),
            )
            .await;
        let halls =
            self.kept_or_read(|c| &mut c.hall, self.hall.refresh, "hall", now, || hall::read(store, domain, now)).await;
        let read = started.elapsed().as_secs_f64();
        let scrape = Scrape::new(&figures, &histograms.histograms, &per_agency, &self.windows, now, read);
        // Instance families through the prometheus crate's encoder, one chunk per family;
        // service families written directly; all in order of name.
        let mut chunks: Vec<(String, String)> = Vec::new();
        for family in self.metrics.registry().gather() {
            let mut text = Vec::new();
            TextEncoder::new().encode(std::slice::from_ref(&family), &mut text)?;
            chunks.push((family.name().to_string(), String::from_utf8_lossy(&text).into_owned()));
        }
        for (name, _, _) in SERVICE_METRICS {
            chunks.push((name.to_string(), String::new()));
        }
        for kept in [&card, &halls].into_iter().flatten() {
            for (name, text) in &kept.families {
                chunks.push((name.to_string(), text.clone()));
            }
        }
        chunks.sort_by(|a, b| a.0.cmp(&b.0));
        let size: usize = chunks.iter().map(|c| c.1.len()).sum();
        // About 100 bytes a line, 30-odd lines per agency and window.
        let mut x = Exposition::with_capacity(size + 100 * per_agency.len() * (8 + 9 * self.windows.len()));
        for (name, text) in &chunks {
            match SERVICE_METRICS.iter().find(|(n, _, _)| n == name) {
                Some((name, kind, help)) => scrape.write(&mut x, name, kind, help),
                None => x.out.push_str(text),
            }
        }
        Ok(Rendered { content_type: CONTENT_TYPE, body: x.out })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn exporter() -> Exporter {
        Exporter {
            metrics: Arc::new(Metrics::new("test").unwrap()),
            windows: Vec::new(),
            agencies: Vec::new(),
            scorecard: ScorecardSeries::default(),
            hall: HallSeries::default(),
            cache: Arc::default(),
        }
    }

    /// The hall's families (and the scorecard's, through the same slot logic) are read again
    /// only after the refresh interval; a failed read is counted, keeps what was read and is not
    /// tried again within the interval.
    #[tokio::test]
    async fn kept_families_are_read_again_after_the_refresh_only() {
        let e = exporter();
        let t0 = DateTime::parse_from_rfc3339("2026-03-10T09:00:00+07:00").unwrap().with_timezone(&Utc);
        let reads = AtomicU32::new(0);
        let refresh = chrono::Duration::seconds(30);
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let scrape = |now: DateTime<Utc>, ok: bool| {
            let reads = &reads;
            let e = &e;
            async move {
                e.kept_or_read(
                    |c| &mut c.hall,
                    refresh,
                    "hall",
                    now,
                    || async move {
                        reads.fetch_add(1, Ordering::SeqCst);
                        if ok {
                            Ok(KeptFamilies { at: now, families: Vec::new() })
                        } else {
                            Err(StoreError::Corrupt("away".into()))
                        }
                    },
                )
                .await
                .map(|k| k.at)
            }
        };
        assert_eq!(scrape(at(0), true).await, Some(at(0)));
        assert_eq!(scrape(at(29), true).await, Some(at(0)), "kept within the interval");
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(scrape(at(30), false).await, Some(at(0)), "a failed read writes what was kept");
        assert_eq!(e.metrics.scrape_errors.with_label_values(&["hall"]).get(), 1);
        assert_eq!(scrape(at(45), true).await, Some(at(0)), "not tried again within the interval");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        assert_eq!(scrape(at(60), true).await, Some(at(60)));
        assert_eq!(scrape(at(59), true).await, Some(at(59)), "an earlier instant reads again");
        assert_eq!(reads.load(Ordering::SeqCst), 4);
        // The scorecard's slot is its own.
        let card = e
            .kept_or_read(
                |c| &mut c.scorecard,
                refresh,
                "scorecard",
                at(61),
                || async { Err(StoreError::Corrupt("away".into())) },
            )
            .await;
        assert!(card.is_none(), "nothing read yet for the scorecard");
        assert_eq!(e.metrics.scrape_errors.with_label_values(&["scorecard"]).get(), 1);
    }
}
