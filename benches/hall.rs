//! `make bench-hall`: the reception hall at a city's scale, figures printed beside the goals
//! with the machine described.
//!
//! The city: `MOTCUA_BENCH_HALLS` halls (default 60) of 20 counters and 5 areas, each with
//! `MOTCUA_BENCH_TICKETS` numbers (default 2,000) issued through the store's write path on one
//! working day, 07:30–10:30. Then:
//!
//! 1. **call-next under 20 counters at once**: the 20 counters of one hall press "call" in the
//!    same instant, 100 times over (2,000 calls); each call's latency, lock waits included, in
//!    an HDR histogram; goal p99 <= 20 ms;
//! 2. **a call reaching the hall's screens**: `motcua serve` on loopback with the TV and 500
//!    phones connected to the hall's server-sent events (`GET /api/v1/halls/{hall}/events`, 501
//!    real HTTP clients), each refreshing after events as the pages do (the TV its hall's state
//!    300 ms after a burst of events, a phone its ticket's position 0.5–3 s after); counters call through the API (`POST …/counters/{n}/call`, the
//!    serve process's own write) and through the store directly (a write by another process —
//!    the CLI or another serve — which the screens' feed reads from the log); for each call,
//!    the time from pressing "call" until each of the 501 clients has the `called` event; goal:
//!    every client within 1 s.
//!
//! SQLite by default (a file in a temporary folder); `MOTCUA_BENCH_PG_URL` (or
//! `MOTCUA_TEST_PG_URL`) runs the same on a fresh PostgreSQL database `motcua_bench_hall`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/machine.rs"]
mod machine;
#[path = "support/pg.rs"]
mod pg;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use hdrhistogram::Histogram;
use machine::machine;
use motcua::config::Config;
use motcua_core::Domain;
use motcua_core::calendar::from_local;
use motcua_core::hall::{HallCatalog, HallCode, TicketChannel, TicketEvent, TicketEventKind};
use motcua_server::{AppState, Application, ServerConfig, hash_password, new_api_token};
use motcua_store::{AnyStore, HallStore, NewStaff, NewTicket, NewToken, Role, StaffStore};
use pg::fresh_pg;
use serde_json::Value;

const COUNTERS: u16 = 20;
const AREAS: [char; 5] = ['A', 'B', 'C', 'D', 'E'];
const AGENCY: &str = "000.00.02.H17";
const PHONES: usize = 500;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
}

/// A local instant of the bench's day.
fn local(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    from_local(day().and_hms_opt(h, m, s).unwrap())
}

fn hall_code(i: usize) -> HallCode {
    format!("B{i:02}").parse().unwrap()
}

/// `halls` halls of 20 counters and 5 areas, each area covering two procedures of the catalog,
/// each counter serving two neighbouring areas.
fn city(halls: usize) -> Domain {
    let base = Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap().domain().unwrap();
    let procedures: Vec<String> = base.catalog.procedures().take(10).map(|p| p.code.to_string()).collect();
    let mut toml = String::new();
    for h in 0..halls {
        let code = hall_code(h);
        writeln!(
            toml,
            "[[hall]]\ncode = \"{code}\"\nname = \"Sảnh {code}\"\nagency = \"{AGENCY}\"\n\
             priority = {{ rule = \"ratio\", ordinary = 2, priority = 1 }}\n"
        )
        .unwrap();
        for (i, letter) in AREAS.iter().enumerate() {
            writeln!(
                toml,
                "[[hall.area]]\nletter = \"{letter}\"\nname = \"Lĩnh vực {letter}\"\nprocedures = [\"{}\", \"{}\"]\n",
                procedures[(2 * i) % procedures.len()],
                procedures[(2 * i + 1) % procedures.len()]
            )
            .unwrap();
        }
        for n in 1..=COUNTERS {
            let a = AREAS[usize::from(n) % AREAS.len()];
            let b = AREAS[(usize::from(n) + 1) % AREAS.len()];
            writeln!(toml, "[[hall.counter]]\nnumber = {n}\nareas = [\"{a}\", \"{b}\"]\n").unwrap();
        }
    }
    let halls = HallCatalog::from_toml(&toml, &base.catalog).unwrap();
    base.with_halls(halls)
}

/// Issues `tickets` numbers in each hall, spread over 07:30–10:30 and the five areas, one in
/// ten a priority ticket, by eight writers at once.
async fn fill(store: &AnyStore, domain: &Arc<Domain>, halls: usize, tickets: usize) -> Duration {
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (store, domain) = (store.clone(), Arc::clone(domain));
        writers.push(tokio::spawn(async move {
            for h in (w..halls).step_by(8) {
                for i in 0..tickets {
                    let secs = u32::try_from(i * 3 * 3600 / tickets).unwrap();
                    let at = local(7, 30, 0) + chrono::Duration::seconds(i64::from(secs));
                    let new = NewTicket {
                        hall: hall_code(h),
                        area: AREAS[i % AREAS.len()],
                        channel: if i % 3 == 0 { TicketChannel::Kiosk } else { TicketChannel::Qr },
                        priority: (i % 10 == 0).then_some(motcua_core::hall::PriorityKind::Elderly),
                    };
                    store.issue_ticket(&domain, new, at, None, at).await.unwrap();
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    started.elapsed()
}

/// `ANALYZE` of the database at `url` (PostgreSQL).
async fn analyze(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("ANALYZE").execute(&mut conn).await?;
    Ok(())
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// The 20 counters of `hall` call in the same instant, `rounds` times, each call its own
/// transaction (`call_next`, as the CLI calls): the baseline. Each round's tickets are finished
/// before the next round, outside the measure.
async fn store_bursts(store: &AnyStore, domain: &Arc<Domain>, hall: &HallCode, rounds: u32) -> (Histogram<u64>, u64) {
    let mut h = hist();
    let mut empty = 0;
    for r in 0..rounds {
        let at = local(10, 45, 0) + chrono::Duration::seconds(i64::from(r));
        let gate = Arc::new(tokio::sync::Barrier::new(usize::from(COUNTERS)));
        let mut calls = Vec::new();
        for counter in 1..=COUNTERS {
            let (store, domain, hall, gate) = (store.clone(), Arc::clone(domain), hall.clone(), Arc::clone(&gate));
            calls.push(tokio::spawn(async move {
                gate.wait().await;
                let t = Instant::now();
                let called =
                    store.call_next(&domain, &hall, counter, at, Some(format!("q{counter}")), at).await.unwrap();
                (micros(t), called)
            }));
        }
        let mut done = Vec::new();
        for c in calls {
            let (took, called) = c.await.unwrap();
            h.saturating_record(took);
            match called {
                Some(c) => done.push(c.ticket.id),
                None => empty += 1,
            }
        }
        for id in done {
            let finish = TicketEvent::new(at, None, TicketEventKind::Finished);
            store.record_ticket(domain, &id, finish, at).await.unwrap();
        }
    }
    (h, empty)
}

/// The same through `motcua serve`'s API, as the counters call: 20 officers, each signed in
/// at a counter, `POST …/counters/{n}/call` in the same instant; the server writes the calls
/// that arrive together in one transaction.
async fn api_bursts(base: &str, hall: &HallCode, officers: &[(u16, String)], rounds: u32) -> (Histogram<u64>, u64) {
    let mut h = hist();
    let mut empty = 0;
    let clients: Vec<reqwest::Client> = officers.iter().map(|_| reqwest::Client::new()).collect();
    for _ in 0..rounds {
        let gate = Arc::new(tokio::sync::Barrier::new(officers.len()));
        let mut calls = Vec::new();
        for ((counter, token), client) in officers.iter().zip(&clients) {
            let (gate, client, token) = (Arc::clone(&gate), client.clone(), token.clone());
            let url = format!("{base}/api/v1/halls/{hall}/counters/{counter}/call");
            calls.push(tokio::spawn(async move {
                gate.wait().await;
                let t = Instant::now();
                let v: Value = client.post(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
                (micros(t), v["called"]["id"].as_str().map(str::to_string), token)
            }));
        }
        let mut done = Vec::new();
        for c in calls {
            let (took, id, token) = c.await.unwrap();
            h.saturating_record(took);
            match id {
                Some(id) => done.push((id, token)),
                None => empty += 1,
            }
        }
        for ((id, token), client) in done.into_iter().zip(&clients) {
            let r = client
                .post(format!("{base}/api/v1/halls/tickets/{id}/finish"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    }
    (h, empty)
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX).max(1)
}

/// A desk officer of the hall's agency with an API token.
async fn officer(store: &AnyStore, name: &str) -> String {
    let staff = store
        .add_staff(NewStaff {
            username: name.into(),
            display_name: format!("Cán bộ {name}"),
            role: Role::Desk,
            password_hash: hash_password("bench-password").unwrap(),
            agencies: vec![AGENCY.parse().unwrap()],
            at: local(7, 0, 0),
        })
        .await
        .unwrap()
        .unwrap();
    let (token, digest) = new_api_token();
    store
        .create_token(NewToken {
            token_hash: digest,
            staff_id: staff.id,
            name: "bench".into(),
            at: local(7, 0, 0),
            expires_at: Utc::now() + chrono::Duration::days(3650),
        })
        .await
        .unwrap();
    token
}

async fn sign_in(base: &str, hall: &HallCode, counter: u16, token: &str) {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/halls/{hall}/counters/{counter}/sign-in"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign-in: {}", res.text().await.unwrap_or_default());
}

/// One SSE client: sends (ticket id, instant) for every `called` event; `ready` once the first
/// (full state) event has arrived. Like the pages' script it then refreshes after events: the
/// TV reads the hall's state, a phone its ticket's position.
async fn screen(
    client: reqwest::Client,
    base: String,
    hall: HallCode,
    phone_of: Option<String>,
    seed: u64,
    ready: tokio::sync::mpsc::Sender<()>,
    calls: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
) {
    let refresh = match &phone_of {
        Some(ticket) => format!("{base}/api/v1/halls/tickets/{ticket}/position"),
        None => format!("{base}/api/v1/halls/{hall}/state"),
    };
    let Ok(mut res) = client.get(format!("{base}/api/v1/halls/{hall}/events")).send().await else { return };
    let pending = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut jitter = 0x9E37_79B9_7F4A_7C15_u64 ^ seed;
    let mut buf = String::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            for data in frame.lines().filter_map(|l| l.strip_prefix("data:")) {
                let Ok(v) = serde_json::from_str::<Value>(data.trim()) else { continue };
                match v["type"].as_str() {
                    Some("state") => {
                        let _ = ready.send(()).await;
                    }
                    Some(kind) => {
                        let id = v["ticket"]["id"].as_str().unwrap_or("").to_string();
                        let mine = phone_of.as_deref() == Some(id.as_str());
                        if kind == "called" && calls.send((id, Instant::now())).is_err() {
                            return;
                        }
                        // As the pages' script: the TV reads the state 300 ms after the first
                        // of a burst of events, a phone its position 0.5–3 s after (at once for
                        // its own ticket), one request per burst.
                        let delay = match (&phone_of, mine) {
                            (_, true) => Duration::ZERO,
                            (None, _) => Duration::from_millis(300),
                            (Some(_), false) => {
                                // xorshift: a client's own spread, the same on every run.
                                jitter ^= jitter << 13;
                                jitter ^= jitter >> 7;
                                jitter ^= jitter << 17;
                                Duration::from_millis(500 + jitter % 2500)
                            }
                        };
                        let own_call = mine && kind == "called";
                        if !own_call && !pending.swap(true, std::sync::atomic::Ordering::AcqRel) {
                            let (client, url, pending) = (client.clone(), refresh.clone(), Arc::clone(&pending));
                            tokio::spawn(async move {
                                tokio::time::sleep(delay).await;
                                pending.store(false, std::sync::atomic::Ordering::Release);
                                if let Ok(r) = client.get(url).send().await {
                                    let _ = r.bytes().await;
                                }
                            });
                        }
                    }
                    None => {}
                }
            }
        }
    }
}

struct Fanout {
    /// Per delivery (client × call): pressing "call" → the client has the event.
    deliveries: Histogram<u64>,
    /// Per call: the slowest of its clients.
    slowest: Histogram<u64>,
    missing: usize,
}

async fn fanout(
    store: &AnyStore,
    domain: &Arc<Domain>,
    base: &str,
    hall: HallCode,
    calls_each_way: u16,
) -> (Fanout, Fanout, Duration) {
    // The API's calls come from counter 1; the other process's from the others.
    let token = officer(store, "bench.fanout").await;
    sign_in(base, &hall, 1, &token).await;
    let now = local(10, 50, 0);
    let api = reqwest::Client::new();
    let base = base.to_string();

    let clients = PHONES + 1;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(clients);
    let (calls_tx, mut calls_rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    // The phones follow the tickets that wait longest but one hundred: they stay waiting
    // while the bench calls.
    let waiting: Vec<String> = store
        .day_tickets(&hall, day())
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.status == motcua_core::hall::TicketStatus::Waiting)
        .skip(100)
        .take(PHONES)
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(waiting.len(), PHONES);
    let connect = Instant::now();
    let mut screens = Vec::new();
    for i in 0..clients {
        // A client each, as 501 devices have.
        let client = reqwest::Client::new();
        let phone_of = waiting.get(i).cloned();
        screens.push(tokio::spawn(screen(
            client,
            base.clone(),
            hall.clone(),
            phone_of,
            u64::try_from(i).unwrap_or(0) + 1,
            ready_tx.clone(),
            calls_tx.clone(),
        )));
    }
    drop(calls_tx);
    for _ in 0..clients {
        tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await.unwrap();
    }
    let connected = connect.elapsed();

    let mut by_api = Fanout { deliveries: hist(), slowest: hist(), missing: 0 };
    let mut by_other = Fanout { deliveries: hist(), slowest: hist(), missing: 0 };
    for i in 0..2 * calls_each_way {
        let through_api = i % 2 == 0;
        let counter = if through_api { 1 } else { 2 + i % (COUNTERS - 1) };
        let pressed = Instant::now();
        let id = if through_api {
            let res = api
                .post(format!("{base}/api/v1/halls/{hall}/counters/{counter}/call"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let v: Value = res.json().await.unwrap();
            v["called"]["id"].as_str().unwrap_or_else(|| panic!("the call through the API: {v}")).to_string()
        } else {
            let c = store.call_next(domain, &hall, counter, now, Some("other".into()), now).await.unwrap().unwrap();
            c.ticket.id.to_string()
        };
        let f = if through_api { &mut by_api } else { &mut by_other };
        let mut got = 0;
        let mut worst = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while got < clients {
            match tokio::time::timeout_at(deadline, calls_rx.recv()).await {
                Ok(Some((called, when))) if called == id => {
                    let micros = u64::try_from(when.duration_since(pressed).as_micros()).unwrap_or(u64::MAX).max(1);
                    f.deliveries.saturating_record(micros);
                    worst = worst.max(micros);
                    got += 1;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        f.missing += clients - got;
        f.slowest.saturating_record(worst.max(1));
        // Counters do not call faster than a citizen walks up.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for s in screens {
        s.abort();
    }
    (by_api, by_other, connected)
}

fn hist() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()
}

fn print_bursts(label: &str, h: &Histogram<u64>, rounds: u32, empty: u64, goal: bool) {
    let p99 = ms(h.value_at_quantile(0.99));
    println!(
        "  call-next, {COUNTERS} counters at once × {rounds}, {label:<33}: p50 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms, \
         {} calls ({empty} found no one){}",
        ms(h.value_at_quantile(0.5)),
        ms(h.max()),
        h.len(),
        match (goal, p99 <= 20.0) {
            (false, _) => "",
            (true, true) => " (goal p99 <= 20 ms: met)",
            (true, false) => " (goal p99 <= 20 ms: NOT met)",
        }
    );
}

fn print_fanout(label: &str, f: &Fanout) {
    let met = f.missing == 0 && f.slowest.max() <= 1_000_000;
    println!(
        "  {label:<34} {:>4} calls × {} clients: delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         slowest client per call p50 {:.1} ms, max {:.1} ms; missed {} (goal every client <= 1 s: {})",
        f.slowest.len(),
        PHONES + 1,
        ms(f.deliveries.value_at_quantile(0.5)),
        ms(f.deliveries.value_at_quantile(0.99)),
        ms(f.deliveries.max()),
        ms(f.slowest.value_at_quantile(0.5)),
        ms(f.slowest.max()),
        f.missing,
        if met { "met" } else { "NOT met" }
    );
}

fn main() {
    let halls = env_usize("MOTCUA_BENCH_HALLS", 60).max(2);
    let tickets = env_usize("MOTCUA_BENCH_TICKETS", 2000).max(100);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let pg = std::env::var("MOTCUA_BENCH_PG_URL")
            .or_else(|_| std::env::var("MOTCUA_TEST_PG_URL"))
            .ok()
            .filter(|u| !u.is_empty());
        let mut urls = vec![format!("sqlite://{}", dir.path().join("hall.db").display())];
        if let Some(base) = pg {
            urls.push(fresh_pg(&base, "motcua_bench_hall").await.unwrap());
        }
        let domain = Arc::new(city(halls));
        println!("== machine: {}", machine());
        println!(
            "== the city: {halls} halls × {COUNTERS} counters × {} areas, {tickets} numbers per hall on {}",
            AREAS.len(),
            day()
        );
        for url in urls {
            let store = motcua_store::open(&url).await.unwrap();
            println!("== database: {}", store.backend());
            let took = fill(&store, &domain, halls, tickets).await;
            // After a bulk load PostgreSQL's planner has no statistics until autovacuum's next
            // round (its documentation advises ANALYZE after one); a hall in service has them.
            if url.starts_with("postgres") {
                analyze(&url).await.unwrap();
            }
            let issued = halls * tickets;
            println!(
                "  fill: {issued} numbers issued through the write path by 8 writers in {:.1} s ({:.0}/s)",
                took.as_secs_f64(),
                issued as f64 / took.as_secs_f64()
            );
            let rounds = u32::try_from(tickets / usize::from(COUNTERS) / 2).unwrap().min(50);
            let (h, empty) = store_bursts(&store, &domain, &hall_code(0), rounds).await;
            print_bursts("one transaction a call (the CLI)", &h, rounds, empty, false);

            let now = local(10, 50, 0);
            let config = ServerConfig { bind: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() };
            let state = AppState::new(store.clone(), (*domain).clone(), Arc::new(move || now), config);
            let app = Application::build(state).await.unwrap();
            let base = format!("http://{}", app.addr());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(app.run_until(async move {
                let _ = stopped.await;
            }));
            let mut officers = Vec::new();
            for counter in 1..=COUNTERS {
                let token = officer(&store, &format!("bench.q{counter}")).await;
                sign_in(&base, &hall_code(0), counter, &token).await;
                officers.push((counter, token));
            }
            let (h, empty) = api_bursts(&base, &hall_code(0), &officers, rounds).await;
            print_bursts("through the API (calls batched)", &h, rounds, empty, true);

            let (api, other, connected) = fanout(&store, &domain, &base, hall_code(1), 10).await;
            println!(
                "  the TV and {PHONES} phones on the hall's events: all {} connected with the full state in {:.2} s",
                PHONES + 1,
                connected.as_secs_f64()
            );
            print_fanout("a call through this serve's API", &api);
            print_fanout("a call by another process", &other);
            let _ = stop.send(());
            let _ = server.await;
            store.close().await;
        }
    });
}
