//! Durable ingest and report benchmarks (`make bench-store`), figures printed beside their
//! baselines, with the machine described:
//!
//! 1. ingest through the real write path on SQLite: one transaction per event (the desk's
//!    path), and batched group commits (import / simulate); the same on PostgreSQL when
//!    `MOTCUA_BENCH_PG_URL` (or `MOTCUA_TEST_PG_URL`) names a server;
//! 2. `report --by agency` over a simulated city-year of 1 M dossiers, from aggregates, beside
//!    the same figures computed by plain SQL GROUP BY over the dossier and event tables;
//! 3. the inspector's watch list (`watchlist --by agency` and `--by officer`) over the same
//!    city-year, from the tables the write path keeps, beside the replay of the log through
//!    core it replaces (which it equals);
//! 4. the chair's scorecard (`scorecard --by agency`) over the same city-year, from the sums the
//!    write path keeps, beside a plain SQL GROUP BY over the dossiers table computing its
//!    dossier counts (and checked against it).
//!
//! Sizes: `MOTCUA_BENCH_DOSSIERS` (default 1,000,000) for the city-year; the city-year database
//! is kept in `target/bench-data/` and reused while its size and seed match.
//! `MOTCUA_BENCH_STORE=ingest` or `=report` runs one half; `=batched` runs only the batched
//! ingest.

use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use motcua::bulk::{sim_config, simulate};
use motcua::config::Config;
use motcua_core::Domain;
use motcua_core::calendar::from_local;
use motcua_sim::plan;
use motcua_store::report::{GroupBy, ReportQuery, report};
use motcua_store::{BatchItem, NewDossier, Store};

fn domain() -> anyhow::Result<Domain> {
    Config::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config"))?.domain()
}

#[path = "support/cityyear.rs"]
mod cityyear;
#[path = "support/machine.rs"]
mod machine;
#[path = "support/pg.rs"]
mod pg;
use machine::machine;
use pg::fresh_pg;

/// Planned events for `dossiers` dossiers, as (intake, later events) pairs.
fn workload(domain: &Domain, dossiers: u64, seed: u64) -> anyhow::Result<Vec<motcua_sim::PlannedDossier>> {
    let cfg = sim_config(dossiers, seed, date(2025, 3, 1), date(2025, 3, 31));
    Ok(plan(domain, &cfg)?.collect())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn intake_item(p: &motcua_sim::PlannedDossier) -> BatchItem {
    BatchItem::Intake {
        new: NewDossier {
            procedure: p.procedure.clone(),
            agency: p.agency.clone(),
            applicant: p.applicant.clone(),
            channel: p.channel,
            online: p.channel == motcua_core::Channel::Online,
            documents: Vec::new(),
            digitised: None,
        },
        at: p.received_at,
        by: p.received_by.clone(),
        backdate_reason: None,
    }
}

/// One transaction per event: `intake` then `record` for each event, as the desk does.
async fn ingest_single<S: Store>(
    store: &S,
    domain: &Domain,
    work: &[motcua_sim::PlannedDossier],
) -> anyhow::Result<(u64, f64)> {
    let t = Instant::now();
    let mut events = 0u64;
    for p in work {
        let BatchItem::Intake { new, at, by, .. } = intake_item(p) else { continue };
        let d = store.intake(domain, new, at, by).await?;
        events += 1;
        let Some(code) = d.code else { continue };
        for (at, kind, by) in &p.events {
            store.record(domain, &code, motcua_core::Event::new(*at, by.clone(), kind.clone())).await?;
            events += 1;
        }
    }
    Ok((events, t.elapsed().as_secs_f64()))
}

/// `simulate`'s path: one item per dossier (its intake and its later events),
/// [`motcua::bulk::CHUNK`] dossiers per group commit.
async fn ingest_simulate<S: Store>(
    store: &S,
    domain: &Domain,
    work: &[motcua_sim::PlannedDossier],
) -> anyhow::Result<(u64, f64)> {
    let t = Instant::now();
    let mut events = 0u64;
    for chunk in work.chunks(motcua::bulk::CHUNK) {
        let items = chunk
            .iter()
            .map(|p| {
                let BatchItem::Intake { new, at, by, .. } = intake_item(p) else { unreachable!() };
                let then = p.events.iter().map(|(at, kind, by)| motcua_core::Event::new(*at, by.clone(), kind.clone()));
                BatchItem::IntakeWith { new, at, by, then: then.collect() }
            })
            .collect();
        for r in store.record_batch(domain, items, chrono::Utc::now()).await? {
            events += u64::from(r?.event_count);
        }
    }
    Ok((events, t.elapsed().as_secs_f64()))
}

/// `import`'s path: the log of `from` (as `export` writes it, dossier by dossier), one item per
/// event, [`motcua::exchange_cmd::CHUNK`] events per group commit.
async fn ingest_import<S: Store, T: Store>(from: &S, store: &T, domain: &Domain) -> anyhow::Result<(u64, f64)> {
    let mut log = Vec::new();
    let mut after = 0;
    loop {
        let page = from.events_after(after, 50_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        log.extend(page);
    }
    log.sort_by(|a, b| (&a.code, a.seq).cmp(&(&b.code, b.seq)));
    let t = Instant::now();
    let mut events = 0u64;
    for chunk in log.chunks(motcua::exchange_cmd::CHUNK) {
        let items = chunk.iter().map(|e| BatchItem::Record { code: e.code.clone(), event: e.event.clone() }).collect();
        for r in store.record_batch(domain, items, chrono::Utc::now()).await? {
            r?;
            events += 1;
        }
    }
    Ok((events, t.elapsed().as_secs_f64()))
}

async fn ingest_suite(
    label: &str,
    url_of: impl Fn(&str) -> anyhow::Result<String>,
    domain: &Domain,
) -> anyhow::Result<()> {
    let single_work = workload(domain, 3_000, 11)?;
    let batch_work = workload(domain, 40_000, 12)?;
    if std::env::var("MOTCUA_BENCH_STORE").as_deref() != Ok("batched") {
        let store = motcua_store::open(&url_of("single")?).await?;
        let (n, s) = ingest_single(&store, domain, &single_work).await?;
        println!(
            "{label:<10} ingest, one transaction per event: {n:>8} events in {s:>7.2} s = {:>9.0} events/s",
            n as f64 / s
        );
    }
    let simulated = motcua_store::open(&url_of("batched")?).await?;
    let (n, s) = ingest_simulate(&simulated, domain, &batch_work).await?;
    println!(
        "{label:<10} ingest, group commit as simulate ({} dossiers): {n:>8} events in {s:>6.2} s = {:>7.0} events/s (goal >= 50,000)",
        motcua::bulk::CHUNK,
        n as f64 / s
    );
    let imported = motcua_store::open(&url_of("imported")?).await?;
    let (n, s) = ingest_import(&simulated, &imported, domain).await?;
    println!(
        "{label:<10} ingest, group commit as import ({} events):  {n:>8} events in {s:>6.2} s = {:>7.0} events/s (goal >= 50,000)",
        motcua::exchange_cmd::CHUNK,
        n as f64 / s
    );
    Ok(())
}

fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data")
}

/// Baselines: the same per-agency figures by plain SQL GROUP BY over the tables.
async fn group_by_baselines(
    path: &std::path::Path,
    p0: DateTime<Utc>,
    p1: DateTime<Utc>,
) -> anyhow::Result<(f64, f64, u64)> {
    use sqlx::Row;
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await?;
    // Instants are stored as text the store writes; compare with the same encoding the store uses
    // by reading back one row's format.
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let sample: Option<String> =
        sqlx::query_scalar("SELECT received_at FROM dossiers WHERE received_at IS NOT NULL LIMIT 1")
            .fetch_optional(&pool)
            .await
            .ok()
            .flatten();
    let (a, b) = match sample.as_deref() {
        Some(s) if !s.contains('T') => {
            (p0.format("%Y-%m-%d %H:%M:%S").to_string(), p1.format("%Y-%m-%d %H:%M:%S").to_string())
        }
        _ => (fmt(p0), fmt(p1)),
    };
    let t = Instant::now();
    let rows = sqlx::query(
        "SELECT lead_agency,
                SUM(received_at >= ?1 AND received_at <= ?2) AS received,
                SUM(finished_at >= ?1 AND finished_at <= ?2) AS finished,
                SUM(finished_at >= ?1 AND finished_at <= ?2 AND timeliness = 'early') AS early,
                SUM(finished_at >= ?1 AND finished_at <= ?2 AND timeliness = 'on_time') AS on_time,
                SUM(finished_at >= ?1 AND finished_at <= ?2 AND timeliness = 'late') AS late,
                SUM(received_at <= ?2 AND (finished_at IS NULL OR finished_at > ?2) AND due_at < ?2) AS overdue
         FROM dossiers GROUP BY lead_agency",
    )
    .bind(&a)
    .bind(&b)
    .fetch_all(&pool)
    .await?;
    let dossiers_s = t.elapsed().as_secs_f64();
    let checksum: i64 = rows.iter().map(|r| r.try_get::<i64, _>("received").unwrap_or(0)).sum();
    let t = Instant::now();
    let _rows = sqlx::query(
        "SELECT d.lead_agency, e.kind, COUNT(*) FROM dossier_events e JOIN dossiers d ON d.code = e.dossier_code
         WHERE e.at >= ?1 AND e.at <= ?2 GROUP BY d.lead_agency, e.kind",
    )
    .bind(&a)
    .bind(&b)
    .fetch_all(&pool)
    .await?;
    let events_s = t.elapsed().as_secs_f64();
    Ok((dossiers_s, events_s, checksum.max(0) as u64))
}

async fn report_suite(domain: &Domain) -> anyhow::Result<()> {
    let dossiers: u64 = std::env::var("MOTCUA_BENCH_DOSSIERS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = bench_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("cityyear-{dossiers}.db"));
    // Built with the scorecard's sums (migration 26): an older city-year is built again.
    let marker = cityyear::built_marker(&dir, dossiers);
    let url = format!("sqlite://{}", path.display());
    if !marker.exists() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let store = motcua_store::open(&url).await?;
        let t = Instant::now();
        let cfg = sim_config(dossiers, 2025, date(2025, 1, 1), date(2025, 12, 31));
        let s = simulate(&store, domain, &cfg, true, false, chrono::Utc::now()).await?;
        println!(
            "built the city-year: {} dossiers, {} events in {:.1} s ({:.0} events/s batched)",
            s.dossiers,
            s.events,
            t.elapsed().as_secs_f64(),
            s.events as f64 / t.elapsed().as_secs_f64()
        );
        std::fs::write(&marker, b"ok")?;
    }
    let store = motcua_store::open(&url).await?;
    let as_of = from_local(date(2025, 12, 31).and_hms_opt(23, 59, 59).unwrap_or_default());
    let q = ReportQuery::new(date(2025, 1, 1), date(2025, 12, 31), GroupBy::Agency, as_of);
    let mut best = f64::INFINITY;
    let mut total = None;
    for _ in 0..7 {
        let t = Instant::now();
        let r = report(&store, domain, &q).await?;
        best = best.min(t.elapsed().as_secs_f64());
        total = Some(r.total);
    }
    let total = total.unwrap_or_default();
    println!(
        "report --by agency, city-year of {dossiers} dossiers: best of 7 = {:.1} ms from aggregates (goal <= 50 ms); {} received, national {}",
        best * 1e3,
        total.received,
        total.national.percent(1.0)
    );
    let (p0, p1) = motcua_store::report::period(q.from, q.to, as_of);
    let mut bd = f64::INFINITY;
    let mut be = f64::INFINITY;
    let mut check = 0;
    for _ in 0..3 {
        let (d, e, c) = group_by_baselines(&path, p0, p1).await?;
        bd = bd.min(d);
        be = be.min(e);
        check = c;
    }
    println!("  baseline: plain SQL GROUP BY over the dossiers table: {:.1} ms ({} received)", bd * 1e3, check);
    println!("  baseline: plain SQL GROUP BY over the event log joined to dossiers: {:.1} ms", be * 1e3);
    watchlist_suite(&store, domain, dossiers, as_of).await?;
    scorecard_suite(&store, &path, domain, dossiers, as_of).await
}

/// The chair's scorecard over the city-year from the sums (best of 7), beside a plain SQL
/// GROUP BY over the dossiers table that counts its dossier figures per lead agency (best of 3),
/// whose counts it must equal.
async fn scorecard_suite<S>(
    store: &S,
    path: &std::path::Path,
    domain: &Domain,
    dossiers: u64,
    as_of: DateTime<Utc>,
) -> anyhow::Result<()>
where
    S: Store + motcua_store::scorecard::ScorecardStore + motcua_store::StaffStore + motcua_store::PetitionStore,
{
    use motcua_core::scorecard::ScoreBy;
    use motcua_store::scorecard::{ScoreQuery, scorecard};
    let q = ScoreQuery::new(date(2025, 1, 1), date(2025, 12, 31), ScoreBy::Agency, as_of);
    let mut best = f64::INFINITY;
    let mut card = None;
    for _ in 0..7 {
        let t = Instant::now();
        let c = scorecard(store, domain, &q).await?;
        best = best.min(t.elapsed().as_secs_f64());
        card = Some(c);
    }
    let Some(card) = card else { return Ok(()) };
    let get = |k: &str| card.total.indicators.get(k).map(|i| (i.numerator, i.denominator)).unwrap_or_default();
    let (online, received) = get("online_submission_3_3");
    let (satisfied, finished) = get("satisfaction_5_4");
    let (on_time, population) = get("on_time_2_1");
    println!(
        "scorecard --by agency, city-year of {dossiers} dossiers: best of 7 = {:.1} ms from the sums (goal <= 100 ms); {} rows, {received} received ({online} online), {finished} finished ({satisfied} counted satisfied), 2.1 {on_time}/{population}",
        best * 1e3,
        card.rows.len(),
    );
    let (p0, p1) = motcua_store::report::period(q.from, q.to, as_of);
    let mut bs = f64::INFINITY;
    let mut counts = (0, 0, 0);
    for _ in 0..3 {
        let (t, c) = scorecard_baseline(path, p0, p1).await?;
        bs = bs.min(t);
        counts = c;
    }
    println!(
        "  baseline: plain SQL GROUP BY over the dossiers table (receipts, channels, sync, digitisation, finishes, late, electronic results, payments, fees): {:.1} ms; received {}, online {}, finished {}: equal to the sums: {}",
        bs * 1e3,
        counts.0,
        counts.1,
        counts.2,
        counts == (received, online, finished)
    );
    Ok(())
}

/// The scorecard's dossier counts per lead agency by one GROUP BY over `dossiers` (SQLite):
/// (seconds, (received, received online, finished)).
async fn scorecard_baseline(
    path: &std::path::Path,
    p0: DateTime<Utc>,
    p1: DateTime<Utc>,
) -> anyhow::Result<(f64, (u64, u64, u64))> {
    use sqlx::Row;
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await?;
    let sample: Option<String> =
        sqlx::query_scalar("SELECT received_at FROM dossiers WHERE received_at IS NOT NULL LIMIT 1")
            .fetch_optional(&pool)
            .await
            .ok()
            .flatten();
    let (a, b) = match sample.as_deref() {
        Some(s) if !s.contains('T') => {
            (p0.format("%Y-%m-%d %H:%M:%S").to_string(), p1.format("%Y-%m-%d %H:%M:%S").to_string())
        }
        _ => (p0.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(), p1.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
    };
    let t = Instant::now();
    let rows = sqlx::query(
        "SELECT lead_agency,
                SUM(received_at >= ?1 AND received_at <= ?2) AS received,
                SUM(received_at >= ?1 AND received_at <= ?2 AND channel = 'online') AS online,
                SUM(received_at >= ?1 AND received_at <= ?2 AND synced_at IS NOT NULL) AS synced,
                SUM(received_at >= ?1 AND received_at <= ?2 AND digitised > 0) AS digitised,
                SUM(received_at >= ?1 AND received_at <= ?2 AND digitised IS NULL) AS digitised_unknown,
                SUM(finished_at >= ?1 AND finished_at <= ?2) AS finished,
                SUM(finished_at >= ?1 AND finished_at <= ?2 AND timeliness = 'late') AS late,
                SUM(finished_at >= ?1 AND finished_at <= ?2 AND electronic_result = 1) AS electronic,
                SUM(paid_at >= ?1 AND paid_at <= ?2 AND fee_vnd > 0) AS paid,
                SUM(paid_at >= ?1 AND paid_at <= ?2 AND fee_vnd > 0 AND payment_method = 'online') AS paid_online,
                SUM(CASE WHEN paid_at >= ?1 AND paid_at <= ?2 THEN fee_vnd ELSE 0 END) AS fees
         FROM dossiers GROUP BY lead_agency",
    )
    .bind(&a)
    .bind(&b)
    .fetch_all(&pool)
    .await?;
    let secs = t.elapsed().as_secs_f64();
    let sum = |c: &str| rows.iter().map(|r| r.try_get::<Option<i64>, _>(c).ok().flatten().unwrap_or(0)).sum::<i64>();
    let n = |c: &str| u64::try_from(sum(c)).unwrap_or(0);
    Ok((secs, (n("received"), n("online"), n("finished"))))
}

/// The watch list over the city-year, from the aggregates (best of 7 per grouping), beside the
/// replay of the whole log through core.
async fn watchlist_suite<S: Store>(
    store: &S,
    domain: &Domain,
    dossiers: u64,
    as_of: DateTime<Utc>,
) -> anyhow::Result<()> {
    use motcua_core::watchlist::{WatchBy, WatchCellRef, WatchKind, WatchList, WatchQuery};
    for by in [WatchBy::Agency, WatchBy::Officer] {
        let q = WatchQuery { from: date(2025, 1, 1), to: date(2025, 12, 31), as_of, by, agency: None };
        let mut best = f64::INFINITY;
        let mut list = None;
        for _ in 0..7 {
            let t = Instant::now();
            let l = motcua_store::watchlist::watchlist(store, domain, &q).await?;
            best = best.min(t.elapsed().as_secs_f64());
            list = Some(l);
        }
        let Some(list) = list else { continue };
        let codes: u64 = list.rows.iter().flat_map(|r| r.signals.values()).map(|c| c.count).sum();
        println!(
            "watchlist --by {}, city-year of {dossiers} dossiers: best of 7 = {:.1} ms from aggregates (goal <= 200 ms); {} rows, {} dossiers counted in the cells, {} late, {} silent holders, {} bounces, {} officers late more than twice",
            by.name(),
            best * 1e3,
            list.rows.len(),
            codes,
            list.total.cell(WatchKind::Late).count,
            list.total.cell(WatchKind::SilentHolder).count,
            list.total.cell(WatchKind::Bounce).count,
            list.late_officers.len()
        );
        // The drill-down behind the largest late count of a row: its first page of 50 codes.
        let busiest = list.rows.iter().max_by_key(|r| r.cell(WatchKind::Late).count).map(|r| r.key.clone());
        let cell = WatchCellRef { kind: WatchKind::Late, key: busiest };
        let mut best_page = f64::INFINITY;
        let mut page = None;
        for _ in 0..7 {
            let t = Instant::now();
            let p = motcua_store::watchlist::dossiers(store, &q, &cell, motcua_store::Window::page(1, 50)).await?;
            best_page = best_page.min(t.elapsed().as_secs_f64());
            page = Some(p);
        }
        let page = page.unwrap_or_else(motcua_store::Paged::empty);
        println!(
            "  drill-down: the first 50 of the {} late dossiers of {:?}: best of 7 = {:.1} ms",
            page.total,
            cell.key.as_deref().unwrap_or(""),
            best_page * 1e3
        );
        if by == WatchBy::Agency {
            let t = Instant::now();
            let facts = motcua_store::watchlist::replayed_facts(store, domain).await?;
            let codes = facts.dossiers(&q, &cell);
            let replayed = WatchList::build(&q, facts, |a| motcua_store::watchlist::agency_name(domain, a));
            println!(
                "  baseline: replaying the log through core: {:.1} s; equal to the aggregates: {}; drill-down equal: {}",
                t.elapsed().as_secs_f64(),
                replayed == list,
                page.total == codes.len() as u64 && page.rows.iter().eq(codes.iter().take(50))
            );
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        println!("== machine: {}", machine());
        let domain = domain()?;
        let dir = bench_dir();
        std::fs::create_dir_all(&dir)?;
        let sqlite_url = |name: &str| -> anyhow::Result<String> {
            let p = dir.join(format!("ingest-{name}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
            Ok(format!("sqlite://{}", p.display()))
        };
        // `MOTCUA_BENCH_STORE=report` (or `ingest`) runs only that half.
        let only = std::env::var("MOTCUA_BENCH_STORE").unwrap_or_default();
        if only == "report" {
            return report_suite(&domain).await;
        }
        ingest_suite("SQLite", sqlite_url, &domain).await?;
        match std::env::var("MOTCUA_BENCH_PG_URL").or_else(|_| std::env::var("MOTCUA_TEST_PG_URL")) {
            Ok(base) => {
                let single = fresh_pg(&base, "motcua_bench_single").await?;
                let batched = fresh_pg(&base, "motcua_bench_batched").await?;
                let imported = fresh_pg(&base, "motcua_bench_imported").await?;
                let urls = move |name: &str| -> anyhow::Result<String> {
                    Ok(match name {
                        "single" => single.clone(),
                        "imported" => imported.clone(),
                        _ => batched.clone(),
                    })
                };
                ingest_suite("PostgreSQL", urls, &domain).await?;
            }
            Err(_) => println!("PostgreSQL: set MOTCUA_BENCH_PG_URL=postgres://… to measure it"),
        }
        if only == "ingest" || only == "batched" {
            return Ok(());
        }
        report_suite(&domain).await
    })
}
