//! The public lookup under a brute force: a malformed code, an unknown code and a right code
//! with a wrong ID number get the same answer, on the API and on the page; past the rate limit
//! every answer is a 429 with `Retry-After`, the right pair's too. And, as a measurement run by
//! hand, the answer times of the three side by side.

use std::time::{Duration, Instant};

use motcua_server::{Action, ServerConfig};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::json;

use super::{ID, TestApp, csrf_of};

/// The three ways a guess can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Malformed,
    Unknown,
    WrongId,
}

const KINDS: [Kind; 3] = [Kind::Malformed, Kind::Unknown, Kind::WrongId];

/// The two doors of the lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Door {
    Api,
    Page,
}

/// Codes that do not parse as a dossier code: short, a bad date, a letter in the number, no
/// number, Vietnamese words, spaces. (No HTML-special characters, so that the page's echo of
/// the typed code is the code itself.)
const MALFORMED: [&str; 8] = [
    "nonsense",
    "000.00.02.H17-251399-0001",
    "000.00.02.H17-250303-00a1",
    "000.00.02.H17-250303",
    "000.00.02.H17-250303-0000",
    "tra cứu hồ sơ",
    "0",
    "000.00.02.H17 250303 0001",
];

/// The `i`-th wrong guess of `kind`: a code and an ID number.
fn guess(kind: Kind, i: usize, real: &[String]) -> (String, String) {
    match kind {
        Kind::Malformed => (MALFORMED[i % MALFORMED.len()].to_string(), ID.to_string()),
        Kind::Unknown => (format!("000.00.02.H17-250303-{:04}", 5000 + i % 4000), ID.to_string()),
        Kind::WrongId => (real[i % real.len()].clone(), format!("{:012}", 48_190_000_124u64 + i as u64)),
    }
}

/// A client with the public pages' CSRF cookie, and its token.
async fn page_client(app: &TestApp) -> (reqwest::Client, String) {
    let c = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let form = c.get(app.url("/tra-cuu")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&form);
    (c, csrf)
}

/// One lookup through `door`: status, headers and body.
async fn look_up(
    app: &TestApp,
    c: &reqwest::Client,
    csrf: &str,
    door: Door,
    code: &str,
    id: &str,
) -> (StatusCode, HeaderMap, String) {
    let r = match door {
        Door::Api => c.post(app.url("/api/v1/lookup")).json(&json!({"code": code, "id_number": id})),
        Door::Page => c.post(app.url("/tra-cuu")).form(&[("_csrf", csrf), ("code", code), ("id_number", id)]),
    };
    let r = r.send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

/// An answer as compared: its headers (sorted) and its body.
type Answer = (Vec<(String, String)>, String);

/// The answer without what differs per request whatever the code (the date, the request id) and,
/// on the page, without the typed code it shows back in the form (and the length that counts it).
fn comparable(door: Door, code: &str, headers: &HeaderMap, body: &str) -> Answer {
    let mut kept: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "date" | "x-request-id"))
        .filter(|(n, _)| door == Door::Api || n.as_str() != "content-length")
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    kept.sort();
    let body = match door {
        Door::Api => body.to_string(),
        Door::Page => {
            let typed = format!("name=\"code\" value=\"{}\"", code.trim());
            assert!(body.contains(&typed), "the page shows the typed code back");
            body.replace(&typed, "name=\"code\" value=\"\"")
        }
    };
    (kept, body)
}

/// 1,000 wrong code/ID pairs from one client, a mix of the three kinds on both doors: up to
/// the burst every answer is the same "not found" (status, headers and body byte for byte);
/// after it every answer is a 429 with `Retry-After`, whatever the guess, and so is the right
/// pair.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brute_force_of_the_lookup_learns_nothing() {
    const BURST: usize = 60;
    const TRIES: usize = 1_000;
    let app = TestApp::spawn_with(ServerConfig {
        lookup_burst: BURST as u32,
        lookup_per_minute: 1,
        ..ServerConfig::default()
    })
    .await;
    let mut real = Vec::new();
    for _ in 0..4 {
        real.push(app.dossier_for(Action::Resolve).await);
    }
    let (c, csrf) = page_client(&app).await;
    // The first answer of each door and status, and how many matched it, per kind.
    let mut first: Vec<(Door, StatusCode, Answer)> = Vec::new();
    let mut seen = std::collections::HashMap::<(Door, StatusCode, Kind), usize>::new();
    for i in 0..TRIES {
        let kind = KINDS[i % 3];
        let door = if (i / 3) % 2 == 0 { Door::Api } else { Door::Page };
        let (code, id) = guess(kind, i, &real);
        let (status, headers, body) = look_up(&app, &c, &csrf, door, &code, &id).await;
        if i < BURST {
            assert_eq!(status, StatusCode::NOT_FOUND, "try {i} ({kind:?} through {door:?}): {body}");
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "try {i} ({kind:?} through {door:?}) after the burst");
            assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("60"), "try {i}");
        }
        let answer = comparable(door, &code, &headers, &body);
        match first.iter().find(|(d, s, _)| *d == door && *s == status) {
            Some((_, _, a)) => assert_eq!(&answer, a, "try {i}: {kind:?} through {door:?} answered differently"),
            None => first.push((door, status, answer)),
        }
        *seen.entry((door, status, kind)).or_default() += 1;
    }
    // Each kind reached both doors before and after the limit, so the comparison covered them.
    for door in [Door::Api, Door::Page] {
        for status in [StatusCode::NOT_FOUND, StatusCode::TOO_MANY_REQUESTS] {
            for kind in KINDS {
                assert!(seen.get(&(door, status, kind)).copied().unwrap_or(0) >= 5, "{door:?} {status} {kind:?}");
            }
        }
    }
    let not_found: usize = seen.iter().filter(|((_, s, _), _)| *s == StatusCode::NOT_FOUND).map(|(_, n)| n).sum();
    assert_eq!(not_found, BURST);
    // The API's "not found" says nothing about which part was wrong.
    let api = &first.iter().find(|(d, s, _)| *d == Door::Api && *s == StatusCode::NOT_FOUND).unwrap().2.1;
    let v: serde_json::Value = serde_json::from_str(api).unwrap();
    assert_eq!(v["detail"], "no dossier matches this code and ID number");
    // Past the limit the right pair is refused like the wrong ones: a 429 tells nothing.
    for door in [Door::Api, Door::Page] {
        let (status, headers, _) = look_up(&app, &c, &csrf, door, &real[0], ID).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{door:?}");
        assert!(headers.contains_key("retry-after"));
    }
    app.shutdown().await;
}

/// Median and 90th percentile of `samples`, in microseconds.
fn median_p90(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.9))
}

/// The answer times of the three kinds of wrong guess, side by side, through the API and the
/// page: many rounds, each sending one guess of each kind through each door in a rotating
/// order (so that a change in the machine's load falls on all alike), timed from the client (a kept-alive connection to the app on a loopback port). Prints the median and the
/// 90th percentile of each; no timing is asserted, only that every answer is the "not found".
///
/// `cargo test --release -p motcua-server --test api lookup_answer_times -- --ignored --nocapture`
/// (`MOTCUA_LOOKUP_ROUNDS`, default 5,000 rounds). The figures are in docs/security.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: prints figures, run by hand with --ignored --nocapture"]
async fn lookup_answer_times() {
    let rounds: usize = std::env::var("MOTCUA_LOOKUP_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let app = TestApp::spawn_with(ServerConfig {
        lookup_burst: u32::MAX,
        lookup_per_minute: u32::MAX,
        ..ServerConfig::default()
    })
    .await;
    let mut real = Vec::new();
    for _ in 0..20 {
        real.push(app.dossier_for(Action::Resolve).await);
    }
    let (c, csrf) = page_client(&app).await;
    let doors = [Door::Api, Door::Page];
    let mut times: [[Vec<Duration>; 3]; 2] = Default::default();
    for round in 0..rounds / 10 + rounds {
        for d in 0..2 {
            let door = doors[(round + d) % 2];
            for k in 0..3 {
                let kind = KINDS[(round + k) % 3];
                let (code, id) = guess(kind, round, &real);
                let started = Instant::now();
                let (status, _, _) = look_up(&app, &c, &csrf, door, &code, &id).await;
                let took = started.elapsed();
                assert_eq!(status, StatusCode::NOT_FOUND, "{kind:?} {code} {id}");
                // The first tenth warms connections and caches up and is not counted.
                if round >= rounds / 10 {
                    times[(round + d) % 2][(round + k) % 3].push(took);
                }
            }
        }
    }
    for (door, per_kind) in doors.iter().zip(times.iter_mut()) {
        for (kind, samples) in KINDS.iter().zip(per_kind.iter_mut()) {
            let (median, p90) = median_p90(samples);
            let (door, kind) = (format!("{door:?}"), format!("{kind:?}"));
            println!("lookup {door:<4} {kind:<9}: {} answers, median {median:.1} µs, p90 {p90:.1} µs", samples.len());
        }
    }
    app.shutdown().await;
}
