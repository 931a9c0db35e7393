//! Scrape time of `/metrics` with 1 M open dossiers and 500 agencies, with one year of history
//! and with ten times that history (`make bench-metrics`).
//!
//! The databases are synthetic and built straight in SQL (the write path is benchmarked by the
//! store bench): 1,000,000 open dossiers spread over 500 lead agencies (0.2 % overdue, 1 % at
//! risk, some waiting for the citizen, a few with a second supplement request), plus a history of
//! finished dossiers and daily aggregates (2 procedures per agency per working day). The
//! triggers of migration 0004 maintain the exporter's counters while the rows go in, as in
//! production. The files are kept under target/bench-metrics and reused by later runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::Criterion;
use motcua::config::Config;
use motcua_core::Domain;
use motcua_exporter::{Exporter, Metrics, Window};
use motcua_store::{AnyStore, SqliteStore};

const OPEN: i64 = 1_000_000;
const AGENCIES: i64 = 500;
/// Finished dossiers kept in the projection per year of history.
const FINISHED_PER_YEAR: i64 = 200_000;
/// The scrape instant: 2026-06-15 10:00 +07:00 (a Monday).
const NOW: &str = "2026-06-15T03:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW).unwrap().with_timezone(&Utc)
}

/// Builds the synthetic database for `years` of history, unless it is already there.
async fn build(path: &Path, years: i64) -> SqliteStore {
    let fresh = !path.exists();
    let store = SqliteStore::open(path).await.unwrap();
    if !fresh {
        return store;
    }
    let t0 = Instant::now();
    let w = store.writer();
    let now_unix = now().timestamp();
    // Instants as the store keeps them: fixed-width UTC text.
    let ts = |expr: &str| format!("strftime('%Y-%m-%dT%H:%M:%S.000000Z', {expr}, 'unixepoch')");
    let agency = "printf('B%02d.00.%02d.H17', (i % 500) / 100, i % 100)";
    // Open dossiers: received over the last 20 days, due 1–26 days from now; every 500th
    // one is already overdue, every 100th at risk, every 40th waiting for the citizen, every
    // 1000th with a second supplement request.
    let open = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {OPEN}) \
         INSERT INTO dossiers (code, procedure, receiving_agency, lead_agency, channel, status, holder, applicant_name, \
           received_at, start_at, due_at, original_due_at, supplement_count, waiting_kind, waiting_since, \
           waited_seconds_closed, last_event_at, event_count, at_risk) \
         SELECT printf('B.OPEN-%07d', i), '1.000' || (i % 7), {agency}, {agency}, \
           CASE i % 5 WHEN 0 THEN 'online' ELSE 'in_person' END, \
           CASE WHEN i % 40 = 0 THEN 5 WHEN i % 13 = 0 THEN 2 ELSE 4 END, {agency}, 'Nguyễn Văn A', \
           {rec}, {rec}, {due}, {due}, CASE WHEN i % 1000 = 0 THEN 2 ELSE 0 END, \
           CASE WHEN i % 40 = 0 THEN 'supplement' END, CASE WHEN i % 40 = 0 THEN {rec} END, 0, {rec}, 3, \
           CASE WHEN i % 100 = 0 THEN 1 ELSE 0 END \
         FROM n",
        rec = ts(&format!("{now_unix} - (i % 20) * 86400 - 3600")),
        due = ts(&format!("{now_unix} + CASE WHEN i % 500 = 0 THEN -7200 ELSE ((i % 26) + 1) * 86400 END")),
    );
    sqlx::query(&open).execute(w).await.unwrap();
    let finished = FINISHED_PER_YEAR * years;
    let history = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {finished}) \
         INSERT INTO dossiers (code, procedure, receiving_agency, lead_agency, channel, status, applicant_name, \
           received_at, start_at, due_at, original_due_at, finished_at, returned_at, outcome, timeliness, \
           national_on_time, last_event_at, event_count) \
         SELECT printf('B.DONE-%08d', i), '1.000' || (i % 7), {agency}, {agency}, 'in_person', 10, 'Trần Thị B', \
           {rec}, {rec}, {due}, {due}, {fin}, {fin}, 'approved', CASE WHEN i % 997 = 0 THEN 'late' ELSE 'on_time' END, \
           CASE WHEN i % 997 = 0 THEN 0 ELSE 1 END, {fin}, 8 \
         FROM n",
        rec = ts(&format!("{now_unix} - 30 * 86400 - (i % ({years} * 365)) * 86400")),
        due = ts(&format!("{now_unix} - 20 * 86400 - (i % ({years} * 365)) * 86400")),
        fin = ts(&format!("{now_unix} - 22 * 86400 - (i % ({years} * 365)) * 86400")),
    );
    sqlx::query(&history).execute(w).await.unwrap();
    // Daily aggregates: 2 procedures per agency per weekday, over the years of history.
    let days = years * 365;
    let cells = format!(
        "WITH RECURSIVE d(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM d WHERE k < {days}), \
         a(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM a WHERE i < {} ), p(j) AS (SELECT 0 UNION ALL SELECT 1) \
         INSERT INTO daily_counts (day, agency, procedure, channel, received, finished, early, on_time, late, national_on_time) \
         SELECT date({now_unix} - k * 86400, 'unixepoch', '+7 hours'), {agency}, '1.000' || j, 'in_person', \
           3 + (i + k) % 5, 3 + (i + k) % 4, 1, 2 + (i + k) % 4 - CASE WHEN (i + k + j) % 211 = 0 THEN 1 ELSE 0 END, \
           CASE WHEN (i + k + j) % 211 = 0 THEN 1 ELSE 0 END, 3 + (i + k) % 4 - CASE WHEN (i + k + j) % 211 = 0 THEN 1 ELSE 0 END \
         FROM d, a, p WHERE strftime('%w', {now_unix} - k * 86400, 'unixepoch', '+7 hours') NOT IN ('0', '6')",
        AGENCIES - 1
    );
    sqlx::query(&cells).execute(w).await.unwrap();
    sqlx::query("ANALYZE").execute(w).await.unwrap();
    eprintln!("built {} ({} years of history) in {:.0?}", path.display(), years, t0.elapsed());
    store
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
    let domain: Domain = Config::load(&config).unwrap().domain().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-metrics");
    std::fs::create_dir_all(&dir).unwrap();
    let mut criterion = Criterion::default().sample_size(30).configure_from_args();
    let mut summary = Vec::new();
    for (label, years) in [("1y", 1), ("10y", 10)] {
        let store = AnyStore::Sqlite(rt.block_on(build(&dir.join(format!("scrape-{label}.db")), years)));
        let exporter = Exporter::new(Arc::new(Metrics::new("sqlite").unwrap()), &domain, Window::DEFAULT.to_vec());
        let render = || rt.block_on(exporter.render(&store, &domain, now())).unwrap();
        let body = render().body;
        let series = body.lines().filter(|l| !l.starts_with('#')).count();
        let open: f64 = body
            .lines()
            .filter(|l| l.starts_with("motcua_dossiers_open{"))
            .filter(|l| !l.contains("registered_online"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert!(open >= OPEN as f64, "the exposition shows {open} open dossiers");
        criterion.bench_function(&format!("scrape/1M-open-500-agencies/{label}-history"), |b| b.iter(render));
        let mut times: Vec<Duration> = (0..50)
            .map(|_| {
                let t = Instant::now();
                render();
                t.elapsed()
            })
            .collect();
        times.sort();
        let (p50, p95) = (quantile(&times, 0.5), quantile(&times, 0.95));
        println!(
            "scrape with {OPEN} open dossiers, {AGENCIES} agencies, {label} of history: median {:.2} ms, p95 {:.2} ms, {series} series, {} KiB (goal <= 10 ms)",
            p50.as_secs_f64() * 1000.0,
            p95.as_secs_f64() * 1000.0,
            body.len() / 1024
        );
        summary.push(format!("\"scrape_ms_{label}\":{:.3}", p50.as_secs_f64() * 1000.0));
        rt.block_on(store.close());
    }
    criterion.final_summary();
    println!("{{{}}}", summary.join(","));
}
