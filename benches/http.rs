//! `make bench-http`: the server on loopback driven at a fixed rate — intake (`POST
//! /api/v1/dossiers` with an API token, a new dossier per request, synchronous=FULL SQLite)
//! and then the public lookup page (`POST /tra-cuu`, code + ID number) — 1,000 requests/s for
//! 30 s each by default. Latency is measured from each request's scheduled start (so a stall
//! counts against every request it delays), recorded in an HDR histogram; p50, p99, max and
//! errors are printed with the machine. `MOTCUA_BENCH_RATE` and `MOTCUA_BENCH_SECONDS` change
//! the load; `MOTCUA_BENCH_HTTP_PG_URL=postgres://…/db` runs it on a fresh PostgreSQL database
//! (`motcua_bench_http`, dropped and created on that server) instead of a SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use hdrhistogram::Histogram;
use motcua::config::Config;
use motcua_server::{AppState, Application, ServerConfig, hash_password, new_api_token, system_now};
use motcua_store::{NewStaff, NewToken, Role, StaffStore};
use serde_json::json;
use tokio::sync::Mutex;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[path = "support/machine.rs"]
mod machine;
#[path = "support/pg.rs"]
mod pg;
use machine::machine;
use pg::fresh_pg;

struct Outcome {
    hist: Histogram<u64>,
    /// How late the generator itself issued each request (its own scheduling, not the server).
    late: Histogram<u64>,
    errors: u64,
    sent: u64,
    took: Duration,
}

/// Issues `make(i)` every 1/rate s for `seconds`, each as its own task. The pacing runs on a
/// thread of its own with the OS's sleep (tokio's timer ticks in whole milliseconds, which
/// would bunch the requests and add up to a millisecond of the generator's own lateness).
async fn drive<F, Fut>(rate: u64, seconds: u64, make: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()));
    let errors = Arc::new(AtomicU64::new(0));
    let total = rate * seconds;
    let period = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let start = Instant::now();
    let runtime = tokio::runtime::Handle::current();
    let (h, e) = (Arc::clone(&hist), Arc::clone(&errors));
    let pacer = std::thread::spawn(move || {
        let mut late = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        let mut tasks = Vec::with_capacity(total as usize);
        for i in 0..total {
            let scheduled = start + period * u32::try_from(i).unwrap();
            if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            late.saturating_record(u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
            let fut = make(i);
            let (hist, errors) = (Arc::clone(&h), Arc::clone(&e));
            tasks.push(runtime.spawn(async move {
                let ok = fut.await;
                let micros = u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
                hist.lock().await.saturating_record(micros);
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        (tasks, late)
    });
    let (tasks, late) = tokio::task::spawn_blocking(move || pacer.join().unwrap()).await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let took = start.elapsed();
    let hist = hist.lock().await.clone();
    Outcome { hist, late, errors: errors.load(Ordering::Relaxed), sent: total, took }
}

fn report(name: &str, o: &Outcome, rate: u64) {
    let ms = |q: f64| o.hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{name:<28} {:>6} requests at {rate}/s over {:.1} s: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {}{}",
        o.sent,
        o.took.as_secs_f64(),
        ms(0.5),
        ms(0.99),
        o.hist.max() as f64 / 1000.0,
        o.errors,
        if ms(0.99) <= 5.0 && o.errors == 0 { "  (goal p99 <= 5 ms: met)" } else { "  (goal p99 <= 5 ms: NOT met)" }
    );
    println!(
        "{:<28} the generator issued requests late by p50 {:.3} ms, p99 {:.3} ms (included above)",
        "",
        o.late.value_at_quantile(0.5) as f64 / 1000.0,
        o.late.value_at_quantile(0.99) as f64 / 1000.0
    );
}

fn main() {
    let rate = env_u64("MOTCUA_BENCH_RATE", 1000);
    let seconds = env_u64("MOTCUA_BENCH_SECONDS", 30);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let url = match std::env::var("MOTCUA_BENCH_HTTP_PG_URL") {
            Ok(base) => fresh_pg(&base, "motcua_bench_http").await.unwrap(),
            Err(_) => format!("sqlite://{}", dir.path().join("bench.db").display()),
        };
        let store = motcua_store::open(&url).await.unwrap();
        println!("== database: {}", store.backend());
        let domain = Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap().domain().unwrap();
        // Agencies that have not ceased (a district abolished in 2025 receives nothing now).
        let agencies: Vec<_> =
            domain.catalog.agencies().filter(|a| a.valid_until.is_none()).map(|a| a.code.clone()).collect();
        let staff = store
            .add_staff(NewStaff {
                username: "bench.desk".into(),
                display_name: "Bench".into(),
                role: Role::Desk,
                password_hash: hash_password("bench-password").unwrap(),
                agencies: agencies.clone(),
                at: Utc::now(),
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
                at: Utc::now(),
                expires_at: Utc::now() + chrono::Duration::days(1),
            })
            .await
            .unwrap();
        let config = ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            lookup_burst: u32::MAX,
            lookup_per_minute: u32::MAX,
            ..ServerConfig::default()
        };
        let app = Application::build(AppState::new(store.clone(), domain, system_now(), config)).await.unwrap();
        let base = format!("http://{}", app.addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
        println!("== machine: {}; server and load generator in one process on loopback", machine());

        // Warm-up: connections, statement caches.
        for i in 0..200u64 {
            let a = &agencies[(i as usize) % agencies.len()];
            client
                .post(format!("{base}/api/v1/dossiers"))
                .bearer_auth(&token)
                .json(&json!({"procedure": "1.004628", "agency": a, "applicant": "Khởi động", "id_number": "048190000123"}))
                .send()
                .await
                .unwrap();
        }

        let codes = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let o = {
            let (client, base, token, agencies, codes) =
                (client.clone(), base.clone(), token.clone(), agencies.clone(), Arc::clone(&codes));
            drive(rate, seconds, move |i| {
                let req = client
                    .post(format!("{base}/api/v1/dossiers"))
                    .bearer_auth(&token)
                    .json(&json!({
                        "procedure": "1.004628",
                        "agency": agencies[(i as usize) % agencies.len()],
                        "applicant": format!("Người nộp {i}"),
                        "id_number": "048190000123",
                    }));
                let codes = Arc::clone(&codes);
                async move {
                    match req.send().await {
                        Ok(r) if r.status() == 201 => {
                            if i % 50 == 0
                                && let Ok(v) = r.json::<serde_json::Value>().await
                                && let Some(c) = v["code"].as_str()
                                && let Ok(mut codes) = codes.lock()
                            {
                                codes.push(c.to_string());
                            }
                            true
                        }
                        _ => false,
                    }
                }
            })
            .await
        };
        report("intake POST /api/v1/dossiers", &o, rate);

        // The lookup page: a form post with the public CSRF cookie, a real code and ID.
        let page = client.get(format!("{base}/tra-cuu")).send().await.unwrap();
        let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let csrf = cookie.split('=').nth(1).unwrap().to_string();
        let codes = Arc::new(codes.lock().unwrap().clone());
        let o = {
            let (client, base) = (client.clone(), base.clone());
            drive(rate, seconds, move |i| {
                let code = codes[(i as usize) % codes.len()].clone();
                let req = client
                    .post(format!("{base}/tra-cuu"))
                    .header("cookie", &cookie)
                    .form(&[("_csrf", csrf.as_str()), ("code", code.as_str()), ("id_number", "048190000123")]);
                async move {
                    match req.send().await {
                        Ok(r) if r.status() == 200 => r.text().await.is_ok(),
                        _ => false,
                    }
                }
            })
            .await
        };
        report("lookup page POST /tra-cuu", &o, rate);
        let _ = stop.send(());
        server.await.unwrap().unwrap();
        store.close().await;
    });
}
