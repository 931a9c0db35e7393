//! Worker benchmarks (`make bench-worker`), figures printed with the machine described:
//!
//! 1. delivery: messages per second from the outbox to a real SMTP server on loopback (Debian's
//!    aiosmtpd with its Sink handler), through the real dispatcher (lease, render, send, mark),
//!    on SQLite and, when `MOTCUA_BENCH_PG_URL` (or `MOTCUA_TEST_PG_URL`) is set, PostgreSQL;
//!    goal ≥ 1,000/s;
//! 2. a scheduler tick with 1 M open dossiers: the background million is inserted into the
//!    projection with SQL (due instants spread over the next 30 days, the overdue ones already
//!    apologised, those already in their last working day already reminded, as in a steady
//!    state), and the dossiers the tick must act on are real ones written through the store.
//!    The first tick does their work; the second, at the same instant, is the steady-state cost
//!    of finding nothing. Goal ≤ 200 ms.
//!
//! Sizes: `MOTCUA_BENCH_MESSAGES` (default 5,000), `MOTCUA_BENCH_OPEN` (default 1,000,000).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use motcua::config::Config;
use motcua_core::calendar::from_local;
use motcua_core::letters::reminder_horizon;
use motcua_core::{Applicant, Channel, Domain, Event, EventKind};
use motcua_store::{AnyStore, BatchItem, NewDossier, NewMessage, OutboxStore, Store};
use motcua_worker::config::{Backend, TlsMode};
use motcua_worker::{FixedNow, MailSettings, Mailer, Worker, WorkerConfig};

const CENTRE: &str = "000.00.02.H17";
const TOURISM: &str = "000.00.12.H17";
const LICENCE: &str = "1.004628";

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

#[path = "support/machine.rs"]
mod machine;
use machine::machine;

fn size(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    from_local(chrono::NaiveDate::from_ymd_opt(y, m, d).and_then(|x| x.and_hms_opt(h, mi, 0)).unwrap_or_default())
}

fn pg_base() -> Option<String> {
    std::env::var("MOTCUA_BENCH_PG_URL").or_else(|_| std::env::var("MOTCUA_TEST_PG_URL")).ok()
}

/// A fresh PostgreSQL database named `name` on the bench server.
async fn pg_database(base: &str, name: &str) -> Result<String> {
    use sqlx::{Connection, Executor};
    let mut admin = sqlx::PgConnection::connect(base).await?;
    admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await?;
    let i = base.rfind('/').context("the PostgreSQL URL has no database part")?;
    Ok(format!("{}/{name}", &base[..i]))
}

/// A real SMTP server on a free loopback port that accepts and drops every message: Debian's
/// aiosmtpd (Sink handler, Python asyncio) or Postfix's smtp-sink (C), when installed.
struct Sink {
    child: Child,
    port: u16,
    name: &'static str,
}

impl Sink {
    fn aiosmtpd() -> Result<Self> {
        let py = ["/usr/bin/python3", "python3"]
            .into_iter()
            .find(|p| Command::new(p).args(["-c", "import aiosmtpd"]).output().is_ok_and(|o| o.status.success()))
            .context("python3-aiosmtpd is missing: apt-get install python3-aiosmtpd")?;
        Self::spawn("aiosmtpd", |port| {
            let mut c = Command::new(py);
            c.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Sink"]);
            c
        })
    }

    fn smtp_sink() -> Option<Result<Self>> {
        let bin = "/usr/sbin/smtp-sink";
        Path::new(bin).exists().then(|| {
            Self::spawn("postfix smtp-sink", |port| {
                let mut c = Command::new(bin);
                c.args(["-u", "nobody", &format!("127.0.0.1:{port}"), "1024"]);
                c
            })
        })
    }

    fn spawn(name: &'static str, command: impl Fn(u16) -> Command) -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = command(port).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if t.elapsed() > Duration::from_secs(20) {
                bail!("{name} did not start");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(Self { child, port, name })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn applicant(i: usize) -> Applicant {
    Applicant {
        name: format!("Nguyễn Văn An {i}"),
        email: format!("an{i}@example.vn").parse().ok(),
        phone: None,
        id_number: None,
        address: Some("12 Lê Duẩn, Hải Châu, Đà Nẵng".into()),
    }
}

fn worker(
    store: &AnyStore,
    domain: &Arc<Domain>,
    settings: &MailSettings,
    now: DateTime<Utc>,
) -> Result<Worker<AnyStore>> {
    let mut c = WorkerConfig::from_settings(settings, &config_dir());
    c.print_dir = std::env::temp_dir().join("motcua-bench-print");
    Ok(Worker::new(
        store.clone(),
        Arc::clone(domain),
        Mailer::from_settings(settings)?,
        Arc::new(FixedNow::new(now)),
        c,
    )?)
}

/// Messages per second from the outbox to an SMTP server.
async fn delivery(label: &str, store: &AnyStore, domain: &Arc<Domain>, n: usize, sink: &Sink) -> Result<()> {
    let t0 = at(2025, 3, 3, 9, 0);
    let d = store
        .intake(
            domain,
            NewDossier {
                procedure: LICENCE.parse()?,
                agency: CENTRE.parse()?,
                applicant: applicant(0),
                channel: Channel::Online,
                online: true,
                documents: Vec::new(),
                digitised: None,
            },
            t0,
            None,
        )
        .await?;
    let code = d.code.context("no code")?;
    store.record(domain, &code, Event::new(t0, None, EventKind::AcceptedOnline)).await?;
    let model = store.outbox_for(&code).await?.into_iter().next().context("no receipt queued")?;
    let rows: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            dedupe_key: format!("{}:{}:bench{i}", model.dedupe_key, sink.port),
            kind: model.kind.clone(),
            dossier_code: Some(code.clone()),
            deadline_revision: model.deadline_revision,
            recipient: format!("an{i}@example.vn"),
            payload: model.payload.clone(),
            at: t0,
        })
        .collect();
    for chunk in rows.chunks(2000) {
        store.enqueue(chunk.to_vec()).await?;
    }
    let mut settings = MailSettings { backend: Backend::Smtp, batch: 500, concurrency: 32, ..MailSettings::default() };
    settings.smtp.host = "127.0.0.1".into();
    settings.smtp.port = Some(sink.port);
    settings.smtp.tls = TlsMode::Plain;
    settings.smtp.pool_size = 32;
    let w = worker(store, domain, &settings, t0)?;
    let t = Instant::now();
    let stats = w.run_pending_jobs(t0).await?;
    let s = t.elapsed().as_secs_f64();
    if stats.sent != n + 1 {
        bail!("{label}: sent {} of {}: {stats:?}", stats.sent, n + 1);
    }
    println!(
        "{label:<10} delivery to loopback SMTP ({:<17}): {:>6} messages in {s:>6.2} s = {:>7.0} messages/s (goal >= 1,000)",
        sink.name,
        stats.sent,
        stats.sent as f64 / s
    );
    Ok(())
}

/// The SQL that fills the projection with `n` open dossiers due over the 30 days after `now`
/// (and a day before it, already apologised), and the reminders of those already in their
/// last working day.
fn background_sql(sqlite: bool, n: usize, now: DateTime<Utc>, horizon: DateTime<Utc>) -> Vec<String> {
    let t = now.timestamp();
    let (span, back) = (30 * 86_400_i64, 86_400_i64);
    if sqlite {
        let ts = |expr: &str| format!("strftime('%Y-%m-%dT%H:%M:%S.000000Z', {expr}, 'unixepoch')");
        let due = format!("({t} - {back} + (i * 7919) % ({span} + {back}))");
        vec![
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
                 INSERT INTO dossiers (code, procedure, receiving_agency, lead_agency, channel, status, holder, applicant_name, \
                   received_at, start_at, due_at, original_due_at, reschedule_count, deadline_revision, last_event_at, event_count) \
                 SELECT printf('999.%02d.%02d.H17-250101-%04d', i / 999900, (i / 9999) % 100, i % 9999 + 1), '{LICENCE}', '{CENTRE}', \
                   '{TOURISM}', 'in_person', 4, '{TOURISM}', 'bench', {r}, {r}, {d}, {d}, \
                   CASE WHEN {due} <= {t} THEN 1 ELSE 0 END, 0, {r}, 3 FROM n",
                last = n - 1,
                r = ts(&format!("{due} - 1209600")),
                d = ts(&due),
            ),
            format!(
                "INSERT INTO outbox (dedupe_key, kind, dossier_code, deadline_revision, recipient, payload, status, next_attempt_at, created_at) \
                 SELECT 'reminder:' || code || ':0:bench', 'reminder', code, 0, 'bench@example.vn', '{{}}', 'sent', due_at, due_at \
                 FROM dossiers WHERE applicant_name = 'bench' AND due_at > '{a}' AND due_at <= '{b}'",
                a = motcua_store_ts(now),
                b = motcua_store_ts(horizon),
            ),
            "ANALYZE".to_string(),
        ]
    } else {
        let due = format!("to_timestamp({t} - {back} + (i::bigint * 7919) % ({span} + {back}))");
        vec![
            format!(
                "INSERT INTO dossiers (code, procedure, receiving_agency, lead_agency, channel, status, holder, applicant_name, \
                   received_at, start_at, due_at, original_due_at, reschedule_count, deadline_revision, last_event_at, event_count) \
                 SELECT format('999.%s.%s.H17-250101-%s', lpad((i / 999900)::text, 2, '0'), lpad(((i / 9999) % 100)::text, 2, '0'), \
                   lpad((i % 9999 + 1)::text, 4, '0')), '{LICENCE}', '{CENTRE}', '{TOURISM}', 'in_person', 4, '{TOURISM}', 'bench', \
                   {due} - interval '14 days', {due} - interval '14 days', {due}, {due}, \
                   CASE WHEN {due} <= to_timestamp({t}) THEN 1 ELSE 0 END, 0, {due} - interval '14 days', 3 \
                 FROM generate_series(0, {last}) AS i",
                last = n - 1
            ),
            format!(
                "INSERT INTO outbox (dedupe_key, kind, dossier_code, deadline_revision, recipient, payload, status, next_attempt_at, created_at) \
                 SELECT 'reminder:' || code || ':0:bench', 'reminder', code, 0, 'bench@example.vn', '{{}}', 'sent', due_at, due_at \
                 FROM dossiers WHERE applicant_name = 'bench' AND due_at > to_timestamp({t}) AND due_at <= to_timestamp({h})",
                h = horizon.timestamp()
            ),
            "ANALYZE".to_string(),
        ]
    }
}

/// The SQLite store's instant text.
fn motcua_store_ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Runs the fill in one transaction; on PostgreSQL without the metric triggers (the bench
/// database's metric tables are not read), which would otherwise dominate the fill time.
async fn fill_background(store: &AnyStore, sqls: &[String]) -> Result<()> {
    match store {
        AnyStore::Sqlite(s) => {
            for sql in sqls {
                sqlx::query(sql).execute(s.writer()).await?;
            }
        }
        AnyStore::Pg(s) => {
            let mut tx = s.pool().begin().await?;
            if sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await.is_err() {
                tx = s.pool().begin().await?;
            }
            for sql in sqls.iter().filter(|q| *q != "ANALYZE") {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            sqlx::query("ANALYZE").execute(s.pool()).await?;
        }
    }
    Ok(())
}

/// A scheduler tick over `n` open dossiers.
async fn tick(label: &str, store: &AnyStore, domain: &Arc<Domain>, n: usize) -> Result<()> {
    let now = at(2025, 3, 19, 10, 0);
    let horizon = reminder_horizon(domain, now)?;
    let t = Instant::now();
    fill_background(store, &background_sql(matches!(store, AnyStore::Sqlite(_)), n, now, horizon)).await?;
    let fill = t.elapsed().as_secs_f64();
    // The tick's real work: dossiers entering their last working day in the last minutes, and
    // a few just past due, written through the store (received 10 working days before).
    let cal = &domain.calendar;
    let mut items = Vec::new();
    let mut moves = Vec::new();
    for i in 0..120_i64 {
        let offset = if i < 100 { 60 * (i + 1) } else { -60 * (i - 99) };
        let received = cal.add_working_seconds(now, -(10 * 450 * 60) + offset)?;
        items.push(BatchItem::Intake {
            new: NewDossier {
                procedure: LICENCE.parse()?,
                agency: CENTRE.parse()?,
                applicant: applicant(i as usize),
                channel: Channel::InPerson,
                online: false,
                documents: Vec::new(),
                digitised: None,
            },
            at: received,
            by: None,
            backdate_reason: None,
        });
        moves.push(received);
    }
    let opened = store.record_batch(domain, items, chrono::Utc::now()).await?;
    let mut later = Vec::new();
    for (r, received) in opened.into_iter().zip(moves) {
        let code = r?.code.context("no code")?;
        later.push(BatchItem::Record {
            code: code.clone(),
            event: Event::new(received, None, EventKind::Transferred { to: TOURISM.parse()? }),
        });
        later.push(BatchItem::Record { code, event: Event::new(received, None, EventKind::Accepted) });
    }
    for r in store.record_batch(domain, later, chrono::Utc::now()).await? {
        r?;
    }
    let settings = MailSettings { backend: Backend::Memory, ..MailSettings::default() };
    let w = worker(store, domain, &settings, now)?;
    let t = Instant::now();
    let first = w.tick(now).await?;
    let first_s = t.elapsed().as_secs_f64();
    // A worker's next ticks read only what entered the window since its last pass; the first
    // tick of a process (and one an hour) reads the whole last working day.
    let mut incremental = Vec::new();
    let mut full = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let s = w.tick(now).await?;
        incremental.push(t.elapsed().as_secs_f64());
        let fresh = worker(store, domain, &settings, now)?;
        let t = Instant::now();
        let f = fresh.tick(now).await?;
        full.push(t.elapsed().as_secs_f64());
        if s.reminders + s.apologies + f.reminders + f.apologies > 0 {
            bail!("{label}: a repeated tick found work: {s:?} {f:?}");
        }
    }
    incremental.sort_by(f64::total_cmp);
    full.sort_by(f64::total_cmp);
    println!(
        "{label:<10} scheduler tick, {n} open dossiers (filled in {fill:.1} s): acting on {} reminders and {} apologies {:>6.1} ms; \
         nothing to do, medians of 5: next tick {:>5.1} ms, full pass {:>6.1} ms (goal <= 200 ms)",
        first.reminders,
        first.apologies,
        first_s * 1000.0,
        incremental[2] * 1000.0,
        full[2] * 1000.0
    );
    Ok(())
}

fn main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let domain = Arc::new(Config::load(&config_dir())?.domain()?);
    let messages = size("MOTCUA_BENCH_MESSAGES", 5_000);
    let open = size("MOTCUA_BENCH_OPEN", 1_000_000);
    println!("== worker bench on {}", machine());
    rt.block_on(async {
        let dir = tempfile::tempdir()?;
        let url = |name: &str| format!("sqlite://{}", dir.path().join(format!("{name}.db")).display());
        let mut sinks = vec![Sink::aiosmtpd()?];
        match Sink::smtp_sink() {
            Some(s) => sinks.push(s?),
            None => {
                println!("(postfix's smtp-sink is not installed: apt-get install postfix for the C server's figure)")
            }
        }
        for (i, sink) in sinks.iter().enumerate() {
            let s = motcua_store::open(&url(&format!("delivery{i}"))).await?;
            delivery("sqlite", &s, &domain, messages, sink).await?;
            s.close().await;
        }
        let s = motcua_store::open(&url("tick")).await?;
        tick("sqlite", &s, &domain, open).await?;
        s.close().await;
        if let Some(base) = pg_base() {
            for sink in &sinks {
                let s = motcua_store::open(&pg_database(&base, "motcua_bench_delivery").await?).await?;
                delivery("postgres", &s, &domain, messages, sink).await?;
                s.close().await;
            }
            let s = motcua_store::open(&pg_database(&base, "motcua_bench_tick").await?).await?;
            tick("postgres", &s, &domain, open).await?;
            s.close().await;
        } else {
            println!("postgres   skipped: set MOTCUA_BENCH_PG_URL (or MOTCUA_TEST_PG_URL)");
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(())
}
