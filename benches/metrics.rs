//! Scrape time of `/metrics` with 1 M open dossiers and 500 agencies, with one year of history
//! and with ten times that history (`make bench-metrics`), on SQLite and, when
//! `MOTCUA_BENCH_PG_URL` (or `MOTCUA_TEST_PG_URL`) names a server, on PostgreSQL.
//!
//! The databases are synthetic and built straight in SQL (the write path is benchmarked by the
//! store bench): 1,000,000 open dossiers spread over 500 lead agencies (0.2 % overdue, 1 % at
//! risk, some waiting for the citizen, a few with a second supplement request), plus a history of
//! finished dossiers and daily aggregates (2 procedures per agency per working day), and full
//! handoff-delay and dwell histograms for every agency. The exporter's counters are then set
//! from those rows, as the write path would have kept them. The SQLite files are
//! kept under target/bench-metrics, the PostgreSQL databases as `motcua_bench_scrape_1y` and
//! `motcua_bench_scrape_10y`; later runs reuse them.
//!
//! Printed per database: the median and p95 of 50 scrapes as Prometheus makes them (one
//! exporter, scrape after scrape: past-day window sums and histograms come from memory), the
//! part spent reading and judging the figures (`Exporter::agency_figures`), and the first
//! scrape of a day (a fresh exporter, which reads every past day's sums and histogram cell).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::Criterion;
use motcua::config::Config;
use motcua_core::Domain;
use motcua_exporter::service::{DWELL_BOUNDS, HANDOFF_BOUNDS};
use motcua_exporter::{Exporter, Metrics, Window};
use motcua_store::{AnyStore, PgStore, SqliteStore};
use tokio::runtime::Runtime;

const OPEN: i64 = 1_000_000;
const AGENCIES: i64 = 500;
/// Finished dossiers kept in the projection per year of history.
const FINISHED_PER_YEAR: i64 = 200_000;
/// The scrape instant: 2026-06-15 10:00 +07:00 (a Monday).
const NOW: &str = "2026-06-15T03:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW).unwrap().with_timezone(&Utc)
}

/// The two backends' spellings of what the data needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sql {
    Sqlite,
    Postgres,
}

impl Sql {
    /// The agency code of row `i`: 500 agencies B00.00.00.H17 … B04.00.99.H17.
    fn agency(self) -> &'static str {
        match self {
            Sql::Sqlite => "printf('B%02d.00.%02d.H17', (i % 500) / 100, i % 100)",
            Sql::Postgres => {
                "format('B%s.00.%s.H17', lpad(((i % 500) / 100)::text, 2, '0'), lpad((i % 100)::text, 2, '0'))"
            }
        }
    }

    /// An instant `expr` seconds after the epoch, as the store keeps instants.
    fn at(self, expr: &str) -> String {
        match self {
            Sql::Sqlite => format!("strftime('%Y-%m-%dT%H:%M:%S.000000Z', {expr}, 'unixepoch')"),
            Sql::Postgres => format!("to_timestamp({expr})"),
        }
    }

    /// The local (+07:00) day of the instant `expr` seconds after the epoch.
    fn local_day(self, expr: &str) -> String {
        match self {
            Sql::Sqlite => format!("date({expr}, 'unixepoch', '+7 hours')"),
            Sql::Postgres => format!("((to_timestamp({expr}) AT TIME ZONE 'UTC') + interval '7 hours')::date"),
        }
    }

    /// Whether that local day is Monday to Friday.
    fn weekday(self, expr: &str) -> String {
        match self {
            Sql::Sqlite => format!("strftime('%w', {expr}, 'unixepoch', '+7 hours') NOT IN ('0', '6')"),
            Sql::Postgres => format!("extract(isodow FROM {}) < 6", self.local_day(expr)),
        }
    }

    /// Rows `name` = first..=last.
    fn series(self, name: &str, (first, last): (i64, i64)) -> String {
        match self {
            Sql::Sqlite => {
                format!("{name}(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM {name} WHERE i < {last})")
            }
            Sql::Postgres => format!("{name}(i) AS (SELECT generate_series({first}, {last}))"),
        }
    }

    /// first..=last cut into the ranges one statement inserts. On PostgreSQL every row updates
    /// one of a few thousand counter rows (the triggers), and row versions made in one
    /// transaction cannot be pruned before it ends: smaller statements keep them few.
    fn chunks(self, first: i64, last: i64, size: i64) -> Vec<(i64, i64)> {
        let size = match self {
            Sql::Sqlite => last - first + 1,
            Sql::Postgres => size,
        };
        (first..=last).step_by(size.max(1) as usize).map(|lo| (lo, (lo + size - 1).min(last))).collect()
    }

    /// `prefix` and row `i` zero-padded to `width` digits.
    fn code(self, prefix: &str, width: usize) -> String {
        match self {
            Sql::Sqlite => format!("printf('{prefix}%0{width}d', i)"),
            Sql::Postgres => format!("'{prefix}' || lpad(i::text, {width}, '0')"),
        }
    }

    fn with(self) -> &'static str {
        match self {
            Sql::Sqlite => "WITH RECURSIVE",
            Sql::Postgres => "WITH",
        }
    }

    fn flag(self, condition: &str) -> String {
        match self {
            Sql::Sqlite => format!("CASE WHEN {condition} THEN 1 ELSE 0 END"),
            Sql::Postgres => format!("({condition})"),
        }
    }
}

/// The statements that fill an empty database with `years` of history.
fn fill(sql: Sql, years: i64) -> Vec<String> {
    let now_unix = now().timestamp();
    let agency = sql.agency();
    let with = sql.with();
    let mut statements = Vec::new();
    // Open dossiers: received over the last 20 days, due 1–26 days from now; every 500th
    // one is already overdue, every 100th at risk, every 40th waiting for the citizen, every
    // 1000th with a second supplement request.
    for range in sql.chunks(1, OPEN, 20_000) {
        statements.push(format!(
            "{with} {n} INSERT INTO dossiers (code, procedure, receiving_agency, lead_agency, channel, status, holder, \
               applicant_name, received_at, start_at, due_at, original_due_at, supplement_count, waiting_kind, \
               waiting_since, waited_seconds_closed, last_event_at, event_count, at_risk) \
             SELECT {code}, '1.000' || (i % 7), {agency}, {agency}, \
               CASE i % 5 WHEN 0 THEN 'online' ELSE 'in_person' END, \
               CASE WHEN i % 40 = 0 THEN 5 WHEN i % 13 = 0 THEN 2 ELSE 4 END, {agency}, 'Nguyễn Văn A', \
               {rec}, {rec}, {due}, {due}, CASE WHEN i % 1000 = 0 THEN 2 ELSE 0 END, \
               CASE WHEN i % 40 = 0 THEN 'supplement' END, CASE WHEN i % 40 = 0 THEN {rec} END, 0, {rec}, 3, {risk} \
             FROM n",
            n = sql.series("n", range),
            code = sql.code("B.OPEN-", 7),
            rec = sql.at(&format!("{now_unix} - (i % 20) * 86400 - 3600")),
            due = sql.at(&format!("{now_unix} + CASE WHEN i % 500 = 0 THEN -7200 ELSE ((i % 26) + 1) * 86400 END")),
            risk = sql.flag("i % 100 = 0"),
        ));
    }
    for range in sql.chunks(1, FINISHED_PER_YEAR * years, 50_000) {
        statements.push(format!(
            "{with} {n} INSERT INTO dossiers (code, procedure, receiving_agency, lead_agency, channel, status, \
               applicant_name, received_at, start_at, due_at, original_due_at, finished_at, returned_at, outcome, \
               timeliness, national_on_time, last_event_at, event_count) \
             SELECT {code}, '1.000' || (i % 7), {agency}, {agency}, 'in_person', 10, \
               'Trần Thị B', {rec}, {rec}, {due}, {due}, {fin}, {fin}, 'approved', \
               CASE WHEN i % 997 = 0 THEN 'late' ELSE 'on_time' END, {national}, {fin}, 8 \
             FROM n",
            n = sql.series("n", range),
            code = sql.code("B.DONE-", 8),
            rec = sql.at(&format!("{now_unix} - 30 * 86400 - (i % ({years} * 365)) * 86400")),
            due = sql.at(&format!("{now_unix} - 20 * 86400 - (i % ({years} * 365)) * 86400")),
            fin = sql.at(&format!("{now_unix} - 22 * 86400 - (i % ({years} * 365)) * 86400")),
            national = sql.flag("i % 997 <> 0"),
        ));
    }
    // Daily aggregates: 2 procedures per agency per weekday, over the years of history.
    let day = format!("{now_unix} - d.i * 86400");
    for range in sql.chunks(0, years * 365, 20) {
        statements.push(format!(
            "{with} {d}, {a}, {p} \
             INSERT INTO daily_counts (day, agency, procedure, channel, received, finished, early, on_time, late, national_on_time) \
             SELECT {local}, {agency}, '1.000' || p.i, 'in_person', \
               3 + (a.i + d.i) % 5, 3 + (a.i + d.i) % 4, 1, 2 + (a.i + d.i) % 4 - {late}, {late}, 3 + (a.i + d.i) % 4 - {late} \
             FROM d, a, p WHERE {weekday}",
            d = sql.series("d", range),
            a = sql.series("a", (0, AGENCIES - 1)),
            p = sql.series("p", (0, 1)),
            local = sql.local_day(&day),
            agency = agency.replace("i %", "a.i %"),
            late = "CASE WHEN (a.i + d.i + p.i) % 211 = 0 THEN 1 ELSE 0 END",
            weekday = sql.weekday(&day),
        ));
    }
    // The counters, as the write path keeps them (the rows above were written by SQL, not by
    // the write path): the summaries of daily_counts with one change per cell, and the open
    // dossiers per lead agency and status.
    let sums = "SUM(received), SUM(finished), SUM(early), SUM(on_time), SUM(late), SUM(national_on_time), COUNT(*)";
    let values = "received, finished, early, on_time, late, national_on_time, changes";
    statements.push(format!(
        "INSERT INTO metric_agency_days (day, agency, {values}) SELECT day, agency, {sums} FROM daily_counts GROUP BY day, agency"
    ));
    statements.push(format!(
        "INSERT INTO metric_agency_totals (agency, channel, {values}) SELECT agency, channel, {sums} FROM daily_counts \
         GROUP BY agency, channel"
    ));
    statements.push(
        "INSERT INTO metric_open_dossiers (agency, status, dossiers, at_risk) \
         SELECT lead_agency, status, COUNT(*), SUM(CAST(at_risk AS INTEGER)) FROM dossiers WHERE status IN (1, 2, 4, 5, 6) \
         GROUP BY lead_agency, status \
         ON CONFLICT (agency, status) DO UPDATE SET dossiers = excluded.dossiers, at_risk = excluded.at_risk"
            .to_string(),
    );
    statements.push(histograms());
    statements
}

/// Handoff-delay and dwell histograms for every agency, every bucket filled.
fn histograms() -> String {
    let mut buckets = Vec::new();
    for (metric, bounds) in [("handoff_delay", &HANDOFF_BOUNDS), ("dwell", &DWELL_BOUNDS)] {
        for (k, le) in bounds.iter().copied().chain([-1]).enumerate() {
            let n = 40 - 3 * k as i64;
            let typical = if le < 0 { 2 * bounds[bounds.len() - 1] } else { le * 2 / 3 };
            buckets.push(format!("('{metric}', {le}, {n}, {})", n * typical));
        }
    }
    format!(
        "WITH b(metric, le, n, seconds) AS (VALUES {}) \
         INSERT INTO metric_working_time (metric, agency, le_seconds, observations, seconds) \
         SELECT b.metric, t.agency, b.le, b.n, b.seconds FROM (SELECT DISTINCT agency FROM metric_agency_totals) t, b",
        buckets.join(", ")
    )
}

/// Opens the SQLite file for `years` of history, building it first if it is not there.
async fn sqlite(path: &Path, years: i64) -> AnyStore {
    let fresh = !path.exists();
    let store = SqliteStore::open(path).await.unwrap();
    let w = store.writer();
    let t0 = Instant::now();
    let statements = fill(Sql::Sqlite, years);
    if fresh {
        for s in &statements {
            sqlx::query(s).execute(w).await.unwrap();
        }
    } else {
        // Files built before the histograms were part of the data.
        let cells: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM metric_working_time").fetch_one(w).await.unwrap();
        if cells > 0 {
            return AnyStore::Sqlite(store);
        }
        sqlx::query(&histograms()).execute(w).await.unwrap();
    }
    sqlx::query("ANALYZE").execute(w).await.unwrap();
    eprintln!("built {} ({years} years of history) in {:.0?}", path.display(), t0.elapsed());
    AnyStore::Sqlite(store)
}

/// Opens the PostgreSQL database for `years` of history on the server at `base`, building it
/// first unless a finished build is there.
async fn postgres(base: &str, years: i64) -> AnyStore {
    use sqlx::Connection;
    const BUILT: &str = "motcua scrape bench, built";
    let name = format!("motcua_bench_scrape_{years}y");
    let i = base.rfind('/').expect("a database URL with a database");
    let url = format!("{}/{name}", &base[..i]);
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    let comment: Option<Option<String>> =
        sqlx::query_scalar("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
    if comment.flatten().as_deref() == Some(BUILT) {
        return AnyStore::Pg(PgStore::connect(&url).await.unwrap());
    }
    let t0 = Instant::now();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    let store = PgStore::connect(&url).await.unwrap();
    for s in fill(Sql::Postgres, years) {
        sqlx::query(&s).execute(store.pool()).await.unwrap();
    }
    // Index-only scans need the visibility map that autovacuum keeps in production. The bulk
    // load updated each counter row thousands of times per transaction, leaving the counter
    // tables far larger than the few rows they hold; in service each write updates a row once
    // and autovacuum keeps them small: compact them as such.
    // One statement per call: a multi-statement string runs as one transaction block, where
    // VACUUM is refused.
    for vacuum in [
        "VACUUM (FULL) metric_open_dossiers, metric_agency_days, metric_agency_totals, metric_outbox, \
         metric_working_time, metric_working_time_version",
        "VACUUM ANALYZE",
    ] {
        sqlx::raw_sql(vacuum).execute(store.pool()).await.unwrap();
    }
    sqlx::query(&format!("COMMENT ON DATABASE {name} IS '{BUILT}'")).execute(&mut conn).await.unwrap();
    eprintln!("built {name} ({years} years of history) in {:.0?}", t0.elapsed());
    AnyStore::Pg(store)
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` timings of `f`, sorted.
fn timed(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut out: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    out.sort();
    out
}

/// Measures one database; returns the median scrape in milliseconds.
fn measure(rt: &Runtime, domain: &Domain, store: &AnyStore, label: &str, criterion: &mut Criterion) -> f64 {
    let exporter = |backend| Exporter::new(Arc::new(Metrics::new(backend).unwrap()), domain, Window::DEFAULT.to_vec());
    let scraper = exporter(store.backend());
    let render = || rt.block_on(scraper.render(store, domain, now())).unwrap();
    let body = render().body;
    let series = body.lines().filter(|l| !l.starts_with('#')).count();
    let open: f64 = body
        .lines()
        .filter(|l| l.starts_with("motcua_dossiers_open{"))
        .filter(|l| !l.contains("registered_online"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(open >= OPEN as f64, "the exposition shows {open} open dossiers");
    assert!(body.contains("motcua_dwell_working_seconds_bucket{"), "no histograms");
    criterion.bench_function(&format!("scrape/1M-open-500-agencies/{label}"), |b| b.iter(render));
    let scrapes = timed(50, || {
        render();
    });
    let reads = timed(50, || {
        rt.block_on(scraper.agency_figures(store, now())).unwrap();
    });
    let firsts = timed(10, || {
        let fresh = exporter(store.backend());
        rt.block_on(fresh.render(store, domain, now())).unwrap();
    });
    let (p50, p95) = (quantile(&scrapes, 0.5), quantile(&scrapes, 0.95));
    println!(
        "scrape with {OPEN} open dossiers, {AGENCIES} agencies, {label}: median {:.2} ms, p95 {:.2} ms (goal <= 10 ms); \
         reading and judging the figures {:.2} ms; first scrape of a day {:.2} ms; {series} series, {} KiB",
        ms(p50),
        ms(p95),
        ms(quantile(&reads, 0.5)),
        ms(quantile(&firsts, 0.5)),
        body.len() / 1024
    );
    ms(p50)
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
        let store = rt.block_on(sqlite(&dir.join(format!("scrape-{label}.db")), years));
        let median = measure(&rt, &domain, &store, &format!("SQLite, {label} of history"), &mut criterion);
        summary.push(format!("\"sqlite_scrape_ms_{label}\":{median:.3}"));
        rt.block_on(store.close());
    }
    match std::env::var("MOTCUA_BENCH_PG_URL").or_else(|_| std::env::var("MOTCUA_TEST_PG_URL")) {
        Ok(base) => {
            for (label, years) in [("1y", 1), ("10y", 10)] {
                let store = rt.block_on(postgres(&base, years));
                let median = measure(&rt, &domain, &store, &format!("PostgreSQL, {label} of history"), &mut criterion);
                summary.push(format!("\"pg_scrape_ms_{label}\":{median:.3}"));
                rt.block_on(store.close());
            }
        }
        Err(_) => println!("PostgreSQL: set MOTCUA_BENCH_PG_URL=postgres://… to measure it"),
    }
    criterion.final_summary();
    println!("{{{}}}", summary.join(","));
}
