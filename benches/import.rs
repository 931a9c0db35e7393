//! `motcua import` of a simulated city-year (`make bench-import`): the real command on a JSONL
//! file, timed from outside, on SQLite and on PostgreSQL, with its peak memory, beside the
//! goals of issue 17 (≤ 2 minutes on SQLite, ≤ 5 minutes on PostgreSQL, ≤ 300 MB) and issue 22
//! (≥ 150,000 events/s on SQLite, ≥ 50,000 on PostgreSQL), and beside the ceiling measured in
//! the same run: a plain multi-row insert of as many rows into a table of the same width as the
//! event log (seven columns, the file's mean payload size), in transactions of the import's
//! size, with nothing else written.
//!
//! The city-year is `motcua simulate --dossiers N --seed 2025 --from 2025-01-01 --to
//! 2025-12-31` into `target/bench-data/cityyear-N.db` (the store bench's city-year, reused if
//! it is there), exported once with `motcua export --format jsonl` to
//! `target/bench-data/cityyear-N.jsonl`. `MOTCUA_BENCH_DOSSIERS` sets N (default 1,000,000);
//! PostgreSQL runs when `MOTCUA_BENCH_PG_URL` (or `MOTCUA_TEST_PG_URL`) names a server, in a
//! database `motcua_bench_import` made afresh. `MOTCUA_BENCH_IMPORT=sqlite` or `=postgres`
//! runs one backend. The peak RSS is read by `/usr/bin/time`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

const MOTCUA: &str = env!("CARGO_BIN_EXE_motcua");

/// Rows per transaction of the ceiling: the import's chunk.
const TX_ROWS: usize = motcua::exchange_cmd::CHUNK;

#[path = "support/cityyear.rs"]
mod cityyear;
#[path = "support/machine.rs"]
mod machine;
#[path = "support/pg.rs"]
mod pg;
use machine::{load, machine};
use pg::fresh_pg;

fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data")
}

fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Runs `motcua ARGS` under `/usr/bin/time`: wall seconds and peak RSS in MB (0 without
/// `/usr/bin/time`).
fn timed(args: &[&str]) -> anyhow::Result<(f64, f64)> {
    let report = bench_dir().join("import-time.txt");
    let have_time = Path::new("/usr/bin/time").exists();
    let mut cmd = if have_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%e %M").arg("-o").arg(&report).arg(MOTCUA);
        c
    } else {
        Command::new(MOTCUA)
    };
    let t = Instant::now();
    let out = cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR")).env("CI", "1").output()?;
    let wall = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "motcua {} failed: {}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).lines().take(20).collect::<Vec<_>>().join("\n")
        );
    }
    let rss_mb = if have_time {
        let text = std::fs::read_to_string(&report)?;
        let kb: f64 = text.split_whitespace().nth(1).and_then(|k| k.parse().ok()).unwrap_or(0.0);
        kb / 1024.0
    } else {
        0.0
    };
    Ok((wall, rss_mb))
}

/// The city-year's JSONL file, built once; its lines and mean line length.
fn city_year(dossiers: u64) -> anyhow::Result<(PathBuf, u64, usize)> {
    let dir = bench_dir();
    std::fs::create_dir_all(&dir)?;
    let jsonl = dir.join(format!("cityyear-{dossiers}.jsonl"));
    let done = dir.join(format!("cityyear-{dossiers}.jsonl.done"));
    if !done.exists() {
        let db = dir.join(format!("cityyear-{dossiers}.db"));
        // The store bench's city-year, when it built one with today's tables (the same marker:
        // an older name here rebuilt the store bench's database for nothing).
        let store_marker = cityyear::built_marker(&dir, dossiers);
        if !store_marker.exists() {
            remove_sqlite(&db);
            let url = format!("sqlite://{}", db.display());
            let n = dossiers.to_string();
            let t = Instant::now();
            timed(&[
                "--db",
                &url,
                "simulate",
                "--dossiers",
                &n,
                "--seed",
                "2025",
                "--from",
                "2025-01-01",
                "--to",
                "2025-12-31",
            ])?;
            println!("built the city-year database: {dossiers} dossiers in {:.1} s", t.elapsed().as_secs_f64());
            std::fs::write(&store_marker, b"ok")?;
        }
        let url = format!("sqlite://{}", db.display());
        let path = jsonl.display().to_string();
        let t = Instant::now();
        timed(&["--db", &url, "export", "--format", "jsonl", "--output", &path])?;
        println!("exported it to {path} in {:.1} s", t.elapsed().as_secs_f64());
        std::fs::write(&done, b"ok")?;
    }
    let bytes = std::fs::metadata(&jsonl)?.len();
    let lines = count_lines(&jsonl)?;
    Ok((jsonl, lines, (bytes / lines.max(1)) as usize))
}

fn count_lines(path: &Path) -> anyhow::Result<u64> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        n += buf[..k].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

fn print_import(label: &str, events: u64, wall: f64, rss: f64, goal_s: f64, goal_rate: f64, ceiling: f64) {
    let rate = events as f64 / wall;
    println!(
        "{label:<10} import of the city-year ({events} events): {wall:>6.1} s (goal <= {goal_s:.0} s: {}) = {rate:>7.0} events/s (goal >= {goal_rate:.0}: {}); peak RSS {rss:.0} MB (goal <= 300 MB: {}); load {}",
        if wall <= goal_s { "met" } else { "NOT met" },
        if rate >= goal_rate { "met" } else { "not met" },
        if rss <= 300.0 { "met" } else { "NOT met" },
        load()
    );
    println!(
        "{label:<10}   ceiling in the same run: a plain multi-row insert of {events} rows of 7 columns, {TX_ROWS} per transaction: {ceiling:>8.0} rows/s; the import is {:.0} % of it",
        rate / ceiling * 100.0
    );
}

/// Synthetic rows of the event log's width: (code, seq, at, kind, by, payload, recorded_at).
fn row_code(i: u64) -> String {
    format!("000.00.{:02}.H17-250101-{:04}", i % 97, i / 7)
}

async fn sqlite_ceiling(rows: u64, payload: &str) -> anyhow::Result<f64> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::{ConnectOptions, Connection};
    let path = bench_dir().join("ceiling.db");
    remove_sqlite(&path);
    let mut conn = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await?;
    sqlx::query(
        "CREATE TABLE log (id INTEGER PRIMARY KEY AUTOINCREMENT, dossier_code TEXT NOT NULL, seq INTEGER NOT NULL, \
         at TEXT NOT NULL, kind TEXT NOT NULL, by_staff TEXT, payload TEXT NOT NULL, recorded_at TEXT NOT NULL)",
    )
    .execute(&mut conn)
    .await?;
    let per = 8000 / 7;
    let stmt = |n: usize| {
        let one = "(?, ?, ?, ?, ?, ?, ?)";
        format!(
            "INSERT INTO log (dossier_code, seq, at, kind, by_staff, payload, recorded_at) VALUES {}",
            vec![one; n].join(", ")
        )
    };
    let at = "2025-03-03T02:00:00.000000Z";
    let t = Instant::now();
    let mut i = 0u64;
    while i < rows {
        let mut tx = conn.begin().await?;
        let end = (i + TX_ROWS as u64).min(rows);
        while i < end {
            let n = (end - i).min(per as u64) as usize;
            let q = stmt(n);
            let mut query = sqlx::query(&q);
            for k in 0..n as u64 {
                query = query
                    .bind(row_code(i + k))
                    .bind(((i + k) % 7) as i64 + 1)
                    .bind(at)
                    .bind("processing_started")
                    .bind("officer")
                    .bind(payload)
                    .bind(at);
            }
            query.execute(&mut *tx).await?;
            i += n as u64;
        }
        tx.commit().await?;
    }
    let s = t.elapsed().as_secs_f64();
    drop(conn);
    remove_sqlite(&path);
    Ok(rows as f64 / s)
}

async fn pg_ceiling(url: &str, rows: u64, payload: &str) -> anyhow::Result<f64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("DROP TABLE IF EXISTS bench_ceiling_log").execute(&mut conn).await?;
    sqlx::query(
        "CREATE TABLE bench_ceiling_log (id bigserial PRIMARY KEY, dossier_code text NOT NULL, seq integer NOT NULL, \
         at timestamptz NOT NULL, kind text NOT NULL, by_staff text, payload jsonb NOT NULL, recorded_at timestamptz NOT NULL)",
    )
    .execute(&mut conn)
    .await?;
    let at = chrono::DateTime::parse_from_rfc3339("2025-03-03T02:00:00Z")?.with_timezone(&chrono::Utc);
    let t = Instant::now();
    let mut i = 0u64;
    while i < rows {
        let end = (i + TX_ROWS as u64).min(rows);
        let codes: Vec<String> = (i..end).map(row_code).collect();
        let seqs: Vec<i32> = (i..end).map(|k| (k % 7) as i32 + 1).collect();
        let n = codes.len();
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO bench_ceiling_log (dossier_code, seq, at, kind, by_staff, payload, recorded_at) \
             SELECT c, s, a, k, b, p::jsonb, r FROM unnest($1::text[], $2::int4[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) AS t(c, s, a, k, b, p, r)",
        )
        .bind(&codes)
        .bind(&seqs)
        .bind(vec![at; n])
        .bind(vec!["processing_started"; n])
        .bind(vec!["officer"; n])
        .bind(vec![payload; n])
        .bind(vec![at; n])
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        i = end;
    }
    let s = t.elapsed().as_secs_f64();
    sqlx::query("DROP TABLE bench_ceiling_log").execute(&mut conn).await?;
    Ok(rows as f64 / s)
}

/// A JSON payload of `len` bytes, shaped like an event's.
fn payload_of(len: usize) -> String {
    let head = r#"{"at":"2025-03-03T02:00:00Z","by":"officer","kind":{"type":"note","text":""#;
    let fill = "x".repeat(len.saturating_sub(head.len() + 3));
    format!("{head}{fill}\"}}}}")
}

fn main() -> anyhow::Result<()> {
    let dossiers: u64 = std::env::var("MOTCUA_BENCH_DOSSIERS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let only = std::env::var("MOTCUA_BENCH_IMPORT").unwrap_or_default();
    println!("== machine: {}", machine());
    let (jsonl, events, mean) = city_year(dossiers).context("building the city-year file")?;
    let file = jsonl.display().to_string();
    println!("city-year: {dossiers} dossiers, {events} events in {file} ({mean} bytes a line)");
    let payload = payload_of(mean);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if only.is_empty() || only == "sqlite" {
        let db = bench_dir().join("import-sqlite.db");
        remove_sqlite(&db);
        let url = format!("sqlite://{}", db.display());
        timed(&["--db", &url, "migrate"])?;
        let (wall, rss) = timed(&["--db", &url, "import", &file])?;
        let ceiling = rt.block_on(sqlite_ceiling(events, &payload))?;
        print_import("SQLite", events, wall, rss, 120.0, 150_000.0, ceiling);
        remove_sqlite(&db);
    }
    if only.is_empty() || only == "postgres" {
        match std::env::var("MOTCUA_BENCH_PG_URL").or_else(|_| std::env::var("MOTCUA_TEST_PG_URL")) {
            Ok(base) => {
                let url = rt.block_on(fresh_pg(&base, "motcua_bench_import"))?;
                timed(&["--db", &url, "migrate"])?;
                let (wall, rss) = timed(&["--db", &url, "import", &file])?;
                let ceiling = rt.block_on(pg_ceiling(&url, events, &payload))?;
                print_import("PostgreSQL", events, wall, rss, 300.0, 50_000.0, ceiling);
            }
            Err(_) => println!("PostgreSQL: set MOTCUA_BENCH_PG_URL=postgres://… to measure it"),
        }
    }
    Ok(())
}
