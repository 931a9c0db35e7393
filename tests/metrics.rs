//! The Prometheus side, end to end: the real `/metrics` output through `promtool check metrics`,
//! the rules through `promtool test rules`, the Grafana dashboard's queries against the names
//! the app exposes, the service figures against `motcua report` and a recount, and a real
//! Prometheus server scraping `motcua metrics serve` on loopback.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use motcua::config::Config;
use motcua::input;
use motcua_exporter::{Exporter, Metrics, Window};
use serde_json::Value;

use crate::desk::Db;
use crate::support::*;

/// The instant every figure here is read at: the end of the simulated period (nothing happens
/// after it), so the 30-day window is 2025-02-04 … 2025-03-05.
const AS_OF: &str = "2025-03-05T23:59:59+07:00";
const SIM: [&str; 8] = ["simulate", "--dossiers", "3000", "--seed", "11", "--from", "2025-01-20", "--to"];
const SIM_TO: &str = "2025-03-05";

/// promtool and prometheus from Debian's `prometheus` package, installed once if missing.
fn prometheus_tool(name: &str) -> PathBuf {
    static INSTALL: OnceLock<()> = OnceLock::new();
    let find =
        || std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|f| f.is_file()));
    if let Some(p) = find() {
        return p;
    }
    INSTALL.get_or_init(|| {
        eprintln!("{name} is missing: installing Debian's prometheus package");
        let ok = Command::new("sh")
            .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "could not install the prometheus package (apt-get); install it by hand");
    });
    find().unwrap_or_else(|| panic!("{name} not found after installing the prometheus package"))
}

/// A child process killed when the test ends, pass or fail.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `motcua metrics serve --bind 127.0.0.1:0` and returns it with its address.
fn serve(db: &Db, extra: &[&str]) -> (Guard, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_motcua"));
    cmd.env_remove("MOTCUA_DATABASE_URL")
        .env_remove("MOTCUA_CONFIG")
        .env_remove("MOTCUA_METRICS_WINDOWS")
        .args(["--config"])
        .arg(config_dir())
        .args(["--db", &db.url, "metrics", "serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("start motcua metrics serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
    let addr = line
        .trim()
        .strip_prefix("motcua metrics: listening on http://")
        .and_then(|s| s.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (Guard(child), addr)
}

/// A plain HTTP/1.1 GET: (status, headers lower-cased, body).
fn get(addr: &str, path: &str) -> (u16, BTreeMap<String, String>, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<BTreeMap<_, _>>();
    let body = if headers.get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, headers, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The simulated weeks arrive at their end with `--notify`, so the workload queues the messages
/// of the dossiers still inside their time.
fn simulate(db: &Db) {
    let run = db.run(&[&SIM[..], &[SIM_TO, "--notify", "--as-of", AS_OF]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
}

fn report_rows(db: &Db, from: &str) -> BTreeMap<String, Value> {
    let v = db
        .run(&["report", "--from", from, "--to", SIM_TO, "--as-of", AS_OF, "--by", "agency", "--format", "json"])
        .json();
    v["rows"].as_array().unwrap().iter().map(|r| (r["key"].as_str().unwrap().to_string(), r.clone())).collect()
}

/// A rate of a report row, from its integer counts as the report computes it (serde_json's
/// default float parsing may be one unit in the last place off, so the printed rate is checked
/// against it only to that precision).
fn report_rate(r: &Value, numerator: &str, denominator: &str) -> f64 {
    let (n, d) = (r[numerator].as_u64().unwrap(), r[denominator].as_u64().unwrap());
    let rate = if d == 0 { 1.0 } else { n as f64 / d as f64 };
    let printed = r["on_time_rate_national"].as_f64().unwrap();
    assert!((printed - rate).abs() <= f64::EPSILON, "report prints {printed} for {n}/{d}");
    rate
}

/// Metric family names in an exposition (histogram series folded into their family).
fn exposed_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn metrics_endpoint_passes_promtool_check_metrics() {
    let db = Db::sqlite();
    // The hall's morning first: `simulate` leaves a hall day that has tickets alone.
    crate::hall_figures::a_morning(&db, SIM_TO);
    simulate(&db);
    let (_server, addr) = serve(&db, &["--as-of", AS_OF]);
    let (status, headers, body) = get(&addr, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get("content-type").map(String::as_str), Some("text/plain; version=0.0.4; charset=utf-8"));
    // Every family has HELP; no dossier code or procedure code ever appears in a label.
    let names = exposed_names(&body);
    for n in &names {
        assert!(body.contains(&format!("# HELP {n} ")), "{n} has no HELP");
        assert!(n.starts_with("motcua_"), "{n} lacks the motcua_ prefix");
    }
    assert!(!body.contains("-250"), "a dossier code leaked into a label");
    assert!(!body.contains("procedure="), "a procedure label");
    for want in [
        "motcua_dossiers_open",
        "motcua_dossiers_overdue",
        "motcua_dossiers_received_total",
        "motcua_dossiers_finished_total",
        "motcua_national_on_time_dossiers",
        "motcua_on_time_ratio",
        "motcua_handoff_delay_working_seconds",
        "motcua_dwell_working_seconds",
        "motcua_outbox_oldest_pending_age_seconds",
        "motcua_build_info",
        "motcua_notices_per_recipient_day_max",
        "motcua_notices_capped_total",
        "motcua_scorecard_numerator",
        "motcua_scorecard_denominator",
        "motcua_scorecard_value",
        "motcua_scorecard_points",
        "motcua_scorecard_meets_target",
        "motcua_scorecard_target",
        "motcua_scorecard_max_points",
        "motcua_scorecard_unknown_dossiers",
        "motcua_scorecard_late_dossiers",
        "motcua_scorecard_as_of_timestamp_seconds",
        "motcua_scorecard_period_start_timestamp_seconds",
        "motcua_hall_tickets_waiting",
        "motcua_hall_waiting_seconds",
        "motcua_hall_service_seconds",
        "motcua_hall_calls_total",
        "motcua_hall_no_shows_total",
        "motcua_hall_waiting_target_seconds",
        "motcua_hall_as_of_timestamp_seconds",
    ] {
        assert!(names.contains(want), "{want} missing from /metrics");
    }
    // The scorecard: every indicator of every agency has its counts, labelled by agency and
    // indicator only, as of the scrape's instant.
    let as_of = input::instant(AS_OF).unwrap().timestamp();
    assert!(body.contains(&format!("motcua_scorecard_as_of_timestamp_seconds {as_of}\n")), "as-of instant");
    let counted: Vec<&str> = body.lines().filter(|l| l.starts_with("motcua_scorecard_denominator{")).collect();
    let agencies = counted.iter().filter(|l| l.contains("indicator=\"on_time_2_1\"")).count();
    assert!(agencies > 1, "{counted:?}");
    assert_eq!(counted.len(), agencies * motcua_core::scorecard::INDICATORS.len());
    for l in &counted {
        let labels = l.split_once('{').and_then(|(_, r)| r.split_once('}')).map(|(l, _)| l).unwrap();
        let names: Vec<&str> = labels.split(',').filter_map(|p| p.split_once('=')).map(|(k, _)| k).collect();
        assert_eq!(names, ["agency", "indicator"], "{l}");
    }
    // Messages per recipient are labelled by class, never by address.
    for class in ["staff", "citizen", "desk"] {
        let series = format!("motcua_notices_per_recipient_day_max{{recipient=\"{class}\"}} ");
        assert!(body.contains(&series), "{series} missing");
    }
    assert!(!body.lines().filter(|l| !l.starts_with('#')).any(|l| l.contains('@')), "an e-mail address in a label");
    // The reception hall: every area and counter of the halls in force, labelled by hall,
    // area and counter only (tests/hall_figures.rs checks the values).
    for l in body.lines().filter(|l| l.starts_with("motcua_hall_") && l.contains('{')) {
        let labels = l.split_once('{').and_then(|(_, r)| r.split_once('}')).map(|(l, _)| l).unwrap();
        let names: Vec<&str> = labels.split(',').filter_map(|p| p.split_once('=')).map(|(k, _)| k).collect();
        assert!(names.iter().all(|n| ["hall", "area", "counter", "le"].contains(n)), "{l}");
    }
    assert!(body.contains("motcua_hall_calls_total{hall=\"HCC\",counter=\"1\"} 1\n"), "the morning's calls");
    promtool_check_metrics(&body);
    // The second scrape counts the first request by its route template.
    let (_, _, again) = get(&addr, "/metrics");
    assert!(again.contains(r#"motcua_http_requests_total{method="GET",route="/metrics",status="200"} 1"#), "{again}");
    let (status, _, _) = get(&addr, "/dossiers/000.00.02.H17-250303-0001");
    assert_eq!(status, 404);
    let (_, _, third) = get(&addr, "/metrics");
    assert!(third.contains(r#"route="unmatched",status="404""#), "raw paths never become labels");
}

/// `promtool check metrics` on an exposition: it must pass, with no lint problem.
pub(crate) fn promtool_check_metrics(body: &str) {
    let mut child = Command::new(prometheus_tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn prometheus_rules_pass_promtool_tests() {
    let promtool = prometheus_tool("promtool");
    let dir = repo().join("config/prometheus");
    for args in [
        vec!["check", "config", "prometheus.yml"],
        vec!["check", "rules", "rules/recording.yml", "rules/alerts.yml"],
        vec!["test", "rules", "tests/rules_test.yml"],
    ] {
        let out = Command::new(&promtool).args(&args).current_dir(&dir).output().unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every alert has a unit test.
    let alerts = std::fs::read_to_string(dir.join("rules/alerts.yml")).unwrap();
    let tests = std::fs::read_to_string(dir.join("tests/rules_test.yml")).unwrap();
    for line in alerts.lines().filter_map(|l| l.trim().strip_prefix("- alert: ")) {
        assert!(tests.contains(&format!("alertname: {line}")), "alert {line} has no promtool test");
    }
}

/// Grafana's variables replaced by values PromQL accepts.
fn concrete(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1d")
        .replace("${agency:regex}", ".*")
        .replace("$agency", ".*")
        .replace("$hall", ".*")
}

#[test]
fn grafana_dashboard_queries_parse_and_use_exposed_metrics() {
    let promtool = prometheus_tool("promtool");
    let grafana = repo().join("config/grafana");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(grafana.join("dashboards/motcua-district.json")).unwrap())
            .unwrap();
    // The variables the brief asks for.
    let vars: Vec<&str> =
        dashboard["templating"]["list"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert!(vars.contains(&"datasource") && vars.contains(&"agency") && vars.contains(&"hall"), "{vars:?}");
    // The reception hall's row: waiting now per area, the p90 wait against the target, calls per
    // counter, no-shows — each panel below the row reads the hall's series.
    let panels = dashboard["panels"].as_array().unwrap();
    let row = panels.iter().position(|p| p["type"] == "row" && p["title"] == "Reception hall").expect("hall row");
    let below: Vec<String> = panels[row + 1..]
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_string))
        .collect();
    for name in [
        "motcua_hall_tickets_waiting",
        "motcua:hall_waiting_seconds:p90_1h",
        "motcua_hall_waiting_target_seconds",
        "motcua_hall_calls_total",
        "motcua_hall_no_shows_total",
    ] {
        assert!(below.iter().any(|e| e.contains(name)), "the hall row has no panel of {name}");
    }
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "panel {} has its own datasource", panel["title"]);
        for t in panel["targets"].as_array().map(Vec::as_slice).unwrap_or_default() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    for v in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["query"]["query"].as_str().or(v["query"].as_str())
            && let Some(inner) = q.strip_prefix("label_values(").and_then(|s| s.strip_suffix(')'))
        {
            exprs.push(inner.rsplit_once(',').map_or(inner, |(m, _)| m).trim().to_string());
        }
    }
    assert!(exprs.len() >= 8, "{} queries", exprs.len());
    // Parse: every query as a recording rule of a rule file promtool checks.
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        rules.push_str(&format!(
            "      - record: dashboard_query_{i}\n        expr: {}\n",
            serde_json::to_string(&concrete(e)).unwrap()
        ));
    }
    std::fs::write(dir.path().join("dashboard.yml"), rules).unwrap();
    let out = Command::new(&promtool).args(["check", "rules"]).arg(dir.path().join("dashboard.yml")).output().unwrap();
    assert!(
        out.status.success(),
        "dashboard queries: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Names: what the real /metrics shows, plus the recording rules.
    let db = Db::sqlite();
    simulate(&db);
    queue_message(&db);
    let text = db.run(&["metrics", "print", "--as-of", AS_OF]).stdout;
    let mut known = exposed_names(&text);
    let recording = std::fs::read_to_string(repo().join("config/prometheus/rules/recording.yml")).unwrap();
    known.extend(recording.lines().filter_map(|l| l.trim().strip_prefix("- record: ")).map(str::to_string));
    let domain = Config::load(&config_dir()).unwrap().domain().unwrap();
    let declared =
        Exporter::new(std::sync::Arc::new(Metrics::new("sqlite").unwrap()), &domain, Window::DEFAULT.to_vec())
            .metric_names();
    let metric = regex_names();
    for e in &exprs {
        for name in metric(e) {
            let base = ["_bucket", "_sum", "_count"].iter().fold(name.clone(), |n, s| {
                n.strip_suffix(s).filter(|b| known.contains(*b)).map_or(n.clone(), str::to_string)
            });
            assert!(known.contains(&base), "dashboard query uses {name}, which the app does not expose: {e}");
            assert!(base.contains(':') || declared.contains(&base), "{base} is not declared by the exporter");
        }
    }
}

/// One pending outbox message, queued as the worker's scheduler queues it.
fn queue_message(db: &Db) {
    use motcua_store::outbox::{NewMessage, OutboxStore};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = motcua_store::open(&db.url).await.unwrap();
        let message = NewMessage {
            dedupe_key: "reminder:x:0:a@example.vn".into(),
            kind: "reminder".into(),
            dossier_code: None,
            deadline_revision: None,
            recipient: "a@example.vn".into(),
            payload: "{}".into(),
            at: input::instant("2025-03-05T15:00:00+07:00").unwrap(),
        };
        assert_eq!(store.enqueue(vec![message]).await.unwrap().len(), 1);
        store.close().await;
    });
}

/// The metric names a PromQL expression refers to (motcua's own and the recording rules').
fn regex_names() -> impl Fn(&str) -> Vec<String> {
    |e: &str| {
        let mut out = Vec::new();
        let b = e.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if e[i..].starts_with("motcua") && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) {
                let end = e[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .map_or(e.len(), |n| i + n);
                out.push(e[i..end].to_string());
                i = end;
            } else {
                i += 1;
            }
        }
        out
    }
}

/// A dossier keyed in after the fact: received and resolved on past days of the windows.
fn backdated_dossier(db: &Db) {
    const CENTRE: &str = "000.00.02.H17";
    const TOURISM: &str = "000.00.12.H17";
    let v = db.ok(&[
        "intake",
        "--procedure",
        "1.004628",
        "--agency",
        CENTRE,
        "--applicant",
        "Trần Thị Bình",
        "--at",
        "2025-02-20T09:00:00+07:00",
    ]);
    let code = v["code"].as_str().unwrap().to_string();
    for (step, at) in [
        (["transfer", &code, "--to", TOURISM], "2025-02-20T10:00:00+07:00"),
        (["accept", &code, "--by", "tourism.lan"], "2025-02-20T14:00:00+07:00"),
        (["transfer", &code, "--to", CENTRE], "2025-02-21T09:00:00+07:00"),
        (["accept", &code, "--by", "centre.an"], "2025-02-21T09:30:00+07:00"),
    ] {
        db.ok(&[&step[..], &["--at", at]].concat());
    }
    db.ok(&["resolve", &code, "--at", "2025-02-21T10:00:00+07:00"]);
}

/// The exporter's per-agency figures equal `motcua report` for each window, and the
/// trigger-maintained counters equal a recount: after a simulation, after a dossier keyed in
/// on past days (the exporter keeps past-day sums between reads and must see it), and after a
/// recompute.
fn figures_equal_report_and_recount(db: &Db) {
    simulate(db);
    let domain = Config::load(&config_dir()).unwrap().domain().unwrap();
    let windows = vec![Window { days: 1 }, Window { days: 7 }, Window { days: 30 }, Window { days: 45 }];
    let exporter = Exporter::new(std::sync::Arc::new(Metrics::new("test").unwrap()), &domain, windows.clone());
    let now = input::instant(AS_OF).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut previous: Option<BTreeMap<String, u64>> = None;
    for pass in ["after simulate", "after a dossier keyed in on past days", "after recompute"] {
        let store = rt.block_on(motcua_store::open(&db.url)).unwrap();
        let figures = rt.block_on(exporter.agency_figures(&store, now)).unwrap();
        for (i, w) in exporter.windows().iter().enumerate() {
            let (first, _) = w.days_at(now);
            let rows = report_rows(db, &first.to_string());
            assert!(!rows.is_empty());
            for (agency, r) in &rows {
                let a = &figures[agency];
                let national = a.national(i);
                let resolved = a.resolved(i);
                let n = |k: &str| r[k].as_u64().unwrap();
                assert_eq!(
                    (national.numerator, national.denominator),
                    (n("national_on_time"), n("national_population")),
                    "{pass}: national, {agency}, window {w}"
                );
                assert_eq!(national.value_or(1.0), report_rate(r, "national_on_time", "national_population"));
                assert_eq!(resolved.denominator, n("finished"), "{pass}: finished, {agency}, window {w}");
                assert_eq!(resolved.numerator, n("early") + n("on_time"), "{pass}: {agency} {w}");
                assert_eq!(a.overdue, n("overdue"), "{pass}: overdue, {agency}");
                assert_eq!(a.open, n("overdue") + n("in_time") + n("waiting_for_citizen"), "{pass}: open, {agency}");
                assert_eq!(a.windows[i].received as u64, n("received"), "{pass}: received, {agency}, window {w}");
            }
        }
        // The keyed-in dossier moved the 30-day figures of its lead agency (and not the 7-day ones).
        let finished_30d: BTreeMap<String, u64> =
            figures.iter().map(|(a, f)| (a.clone(), f.windows[2].finished as u64)).collect();
        if let Some(before) = previous.replace(finished_30d.clone())
            && pass == "after a dossier keyed in on past days"
        {
            let moved: Vec<_> = finished_30d.iter().filter(|(a, n)| before.get(*a) != Some(n)).collect();
            assert_eq!(moved.len(), 1, "{pass}: {moved:?}");
            assert_eq!(*moved[0].1, before[moved[0].0] + 1);
        }
        // The maintained counters equal a recount over the tables they summarise, and every
        // agency's changes are counted alike on its days and its totals (migration 0006).
        rt.block_on(async {
            use sqlx::Row;
            let recount = "SELECT (SELECT COUNT(*) FROM dossiers WHERE status IN (1, 2, 4, 5, 6)) AS a, \
                 (SELECT COALESCE(SUM(dossiers), 0) FROM metric_open_dossiers) AS b, \
                 (SELECT COALESCE(SUM(finished + received + late + national_on_time), 0) FROM daily_counts) AS c, \
                 (SELECT COALESCE(SUM(finished + received + late + national_on_time), 0) FROM metric_agency_days) AS d, \
                 (SELECT COALESCE(SUM(finished + received + late + national_on_time), 0) FROM metric_agency_totals) AS e, \
                 (SELECT COUNT(*) FROM (SELECT agency, SUM(changes) AS n FROM metric_agency_totals GROUP BY agency) t \
                  WHERE t.n <> (SELECT COALESCE(SUM(changes), 0) FROM metric_agency_days d WHERE d.agency = t.agency)) AS f, \
                 (SELECT COUNT(*) FROM metric_agency_days d \
                  WHERE NOT EXISTS (SELECT 1 FROM metric_agency_totals t WHERE t.agency = d.agency)) AS g, \
                 (SELECT COUNT(*) FROM dossiers WHERE CAST(at_risk AS INTEGER) = 1 AND status IN (2, 4, 5, 6)) AS h, \
                 (SELECT COALESCE(SUM(at_risk), 0) FROM metric_open_dossiers WHERE status IN (2, 4, 5, 6)) AS i, \
                 (SELECT COUNT(*) FROM (SELECT lead_agency, status, COUNT(*) AS n, SUM(CAST(at_risk AS INTEGER)) AS r FROM dossiers \
                  WHERE status IN (1, 2, 4, 5, 6) GROUP BY lead_agency, status) t \
                  WHERE NOT EXISTS (SELECT 1 FROM metric_open_dossiers m \
                  WHERE m.agency = t.lead_agency AND m.status = t.status AND m.dossiers = t.n AND m.at_risk = t.r)) AS j, \
                 (SELECT COUNT(*) FROM (SELECT kind, status, COUNT(*) AS n FROM outbox GROUP BY kind, status) t \
                  WHERE NOT EXISTS (SELECT 1 FROM metric_outbox m \
                  WHERE m.kind = t.kind AND m.status = t.status AND m.messages = t.n)) AS k, \
                 (SELECT COUNT(*) FROM outbox) AS l, \
                 (SELECT COALESCE(SUM(messages), 0) FROM metric_outbox) AS m, \
                 (SELECT COUNT(*) FROM dossier_events \
                  WHERE kind IN ('transferred', 'accepted', 'resolved', 'withdrawn', 'stopped')) AS n, \
                 (SELECT COUNT(*) FROM metric_handoff_queue) AS o";
            let as_i64 = |r: &dyn Fn(&str) -> i64| {
                [
                    r("a"),
                    r("b"),
                    r("c"),
                    r("d"),
                    r("e"),
                    r("f"),
                    r("g"),
                    r("h"),
                    r("i"),
                    r("j"),
                    r("k"),
                    r("l"),
                    r("m"),
                    r("n"),
                    r("o"),
                ]
            };
            let v = match &store {
                motcua_store::AnyStore::Sqlite(s) => {
                    let row = sqlx::query(recount).fetch_one(s.reader()).await.unwrap();
                    as_i64(&|k| row.get::<i64, _>(k))
                }
                motcua_store::AnyStore::Pg(s) => {
                    let q = recount.replace("COALESCE(SUM(", "COALESCE(0 + SUM(").replace("), 0)", ")::bigint, 0)");
                    let row = sqlx::query(&q).fetch_one(s.pool()).await.unwrap();
                    as_i64(&|k| row.get::<i64, _>(k))
                }
            };
            assert_eq!(v[0], v[1], "{pass}: open dossiers vs metric_open_dossiers");
            assert_eq!(v[2], v[3], "{pass}: daily_counts vs metric_agency_days");
            assert_eq!(v[2], v[4], "{pass}: daily_counts vs metric_agency_totals");
            assert_eq!((v[5], v[6]), (0, 0), "{pass}: changes counted alike on days and totals");
            assert_eq!(v[7], v[8], "{pass}: open dossiers at risk vs metric_open_dossiers.at_risk");
            assert!(v[7] > 0, "{pass}: the workload has dossiers at risk");
            assert_eq!(v[9], 0, "{pass}: open dossiers per lead agency and status vs metric_open_dossiers");
            assert_eq!((v[10], v[11]), (0, v[12]), "{pass}: messages per kind and status vs metric_outbox");
            assert!(v[11] > 0, "{pass}: the workload queues messages");
            // Nothing measures here: every event that may end a handoff or a dwell is queued.
            assert_eq!(v[13], v[14], "{pass}: handoff events vs metric_handoff_queue");
            assert!(v[13] > 0, "{pass}: the workload hands dossiers off");
        });
        rt.block_on(store.close());
        match pass {
            "after simulate" => backdated_dossier(db),
            "after a dossier keyed in on past days" => {
                let run = db.run(&["recompute", "--json"]);
                assert_eq!(run.code, 0, "{}", run.stderr);
            }
            _ => {}
        }
    }
}

#[test]
fn figures_equal_report_on_sqlite() {
    figures_equal_report_and_recount(&Db::sqlite());
}

#[test]
fn figures_equal_report_on_postgres() {
    if let Some(db) = Db::pg("metrics") {
        figures_equal_report_and_recount(&db);
    }
}

/// `name{agency="…"} value` lines of an exposition, by agency.
fn per_agency_values(body: &str, name: &str) -> BTreeMap<String, i64> {
    body.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix("{agency=\""))
        .filter_map(|l| {
            let (agency, value) = l.split_once("\"} ")?;
            Some((agency.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// One exporter scraping again and again while each scrape measures queued handoffs: its
/// histograms (read from the cells changed since its last scrape) always equal the stored cells.
fn histograms_follow_measuring_passes(db: &Db) {
    simulate(db);
    let domain = Config::load(&config_dir()).unwrap().domain().unwrap();
    let exporter = Exporter::new(std::sync::Arc::new(Metrics::new("test").unwrap()), &domain, Window::DEFAULT.to_vec());
    let now = input::instant(AS_OF).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = rt.block_on(motcua_store::open(&db.url)).unwrap();
    let cells = "SELECT metric || ' ' || agency, CAST(SUM(observations) AS BIGINT), CAST(SUM(seconds) AS BIGINT), \
                 (SELECT COUNT(*) FROM metric_handoff_queue) FROM metric_working_time GROUP BY metric, agency";
    let mut queued = Vec::new();
    for _ in 0..4 {
        let body = rt.block_on(exporter.render(&store, &domain, now)).unwrap().body;
        let rows: Vec<(String, i64, i64, i64)> = rt.block_on(async {
            match &store {
                motcua_store::AnyStore::Sqlite(s) => sqlx::query_as(cells).fetch_all(s.reader()).await.unwrap(),
                motcua_store::AnyStore::Pg(s) => sqlx::query_as(cells).fetch_all(s.pool()).await.unwrap(),
            }
        });
        queued.push(rows.first().map_or(0, |r| r.3));
        for (metric, family) in
            [("handoff_delay", "motcua_handoff_delay_working_seconds"), ("dwell", "motcua_dwell_working_seconds")]
        {
            let of = |i: usize| -> BTreeMap<String, i64> {
                rows.iter()
                    .filter_map(|r| Some((r.0.strip_prefix(metric)?.strip_prefix(' ')?.to_string(), [r.1, r.2][i])))
                    .collect()
            };
            assert_eq!(per_agency_values(&body, &format!("{family}_count")), of(0), "{metric} counts");
            assert_eq!(per_agency_values(&body, &format!("{family}_sum")), of(1), "{metric} sums");
        }
    }
    // And every bucket, from the cells as they are now.
    let body = rt.block_on(exporter.render(&store, &domain, now)).unwrap().body;
    let stored = "SELECT metric, agency, le_seconds, observations FROM metric_working_time";
    let stored: Vec<(String, String, i64, i64)> = rt.block_on(async {
        match &store {
            motcua_store::AnyStore::Sqlite(s) => sqlx::query_as(stored).fetch_all(s.reader()).await.unwrap(),
            motcua_store::AnyStore::Pg(s) => sqlx::query_as(stored).fetch_all(s.pool()).await.unwrap(),
        }
    });
    for (metric, family, bounds) in [
        ("handoff_delay", "motcua_handoff_delay_working_seconds", &motcua_exporter::service::HANDOFF_BOUNDS),
        ("dwell", "motcua_dwell_working_seconds", &motcua_exporter::service::DWELL_BOUNDS),
    ] {
        let mut want = BTreeMap::new();
        for agency in stored.iter().filter(|c| c.0 == metric).map(|c| &c.1).collect::<BTreeSet<_>>() {
            let of = stored.iter().filter(|c| c.0 == metric && &c.1 == agency);
            for b in bounds {
                let n: i64 = of.clone().filter(|c| c.2 >= 0 && c.2 <= *b).map(|c| c.3).sum();
                want.insert(format!("{family}_bucket{{agency=\"{agency}\",le=\"{b}\"}}"), n);
            }
            want.insert(format!("{family}_bucket{{agency=\"{agency}\",le=\"+Inf\"}}"), of.map(|c| c.3).sum());
        }
        let got: BTreeMap<String, i64> = body
            .lines()
            .filter(|l| l.starts_with(&format!("{family}_bucket{{")))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(k, v)| Some((k.to_string(), v.parse().ok()?))))
            .collect();
        assert_eq!(got, want, "{metric} buckets");
    }
    assert!(queued.windows(2).all(|w| w[1] < w[0]), "every scrape measured queued events: {queued:?}");
    rt.block_on(store.close());
}

#[test]
fn histograms_follow_measuring_passes_on_sqlite() {
    histograms_follow_measuring_passes(&Db::sqlite());
}

#[test]
fn histograms_follow_measuring_passes_on_postgres() {
    if let Some(db) = Db::pg("histograms") {
        histograms_follow_measuring_passes(&db);
    }
}

/// Polls Prometheus's HTTP API until `query` has a result for every agency in `want`, at most
/// 30 s (scrapes and rule evaluations run every second).
fn poll_query(addr: &str, query: &str, want: &BTreeSet<String>) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let encoded: String = query
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'_' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let mut last = String::new();
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            let (status, _, body) = get(addr, &format!("/api/v1/query?query={encoded}"));
            if status == 200
                && let Ok(v) = serde_json::from_str::<Value>(&body)
            {
                let got: BTreeMap<String, f64> = v["data"]["result"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|r| {
                        let agency = r["metric"]["agency"].as_str()?.to_string();
                        let value = r["value"][1].as_str()?.parse::<f64>().ok()?;
                        Some((agency, value))
                    })
                    .collect();
                if want.iter().all(|a| got.contains_key(a)) {
                    return got;
                }
                last = body;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("Prometheus had no complete result for {query} within 30 s; last answer: {last}");
}

#[test]
fn prometheus_recording_rule_equals_motcua_report() {
    let prometheus = prometheus_tool("prometheus");
    let db = Db::sqlite();
    simulate(&db);
    let (_motcua, target) = serve(&db, &["--as-of", AS_OF, "--windows", "30d"]);
    let dir = tempfile::tempdir().unwrap();
    let rules = repo().join("config/prometheus/rules/recording.yml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: motcua\n    static_configs:\n      - targets: [\"{target}\"]\n",
        rules.display()
    );
    let config_file = dir.path().join("prometheus.yml");
    std::fs::write(&config_file, config).unwrap();
    let web = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let child = Command::new(prometheus)
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let _prometheus = Guard(child);
    let rows = report_rows(&db, "2025-02-04");
    let want: BTreeSet<String> = rows.keys().cloned().collect();
    let got = poll_query(&web, "motcua:on_time_ratio_national:30d", &want);
    for (agency, r) in &rows {
        let expected = report_rate(r, "national_on_time", "national_population");
        assert_eq!(got[agency], expected, "{agency}: Prometheus {} vs motcua report {expected}", got[agency]);
    }
    // The ratio is not trivially 1 everywhere: the workload has late and overdue dossiers.
    assert!(rows.values().any(|r| r["on_time_rate_national"].as_f64().unwrap() < 1.0));
    // The scorecard's recorded online share equals `motcua scorecard`'s, agency by agency.
    let (card, _) = scorecard_cli(&db);
    let shares: BTreeMap<String, f64> = card["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let i = &r["online_submission_3_3"];
            let (n, d) = (i["numerator"].as_u64()?, i["denominator"].as_u64()?);
            (d > 0).then(|| (r["key"].as_str().unwrap().to_string(), n as f64 / d as f64))
        })
        .collect();
    assert!(!shares.is_empty(), "{card}");
    let want: BTreeSet<String> = shares.keys().cloned().collect();
    let got = poll_query(&web, "motcua:scorecard_value:30d{indicator=\"online_submission_3_3\"}", &want);
    for (agency, share) in &shares {
        assert_eq!(got[agency], *share, "{agency}: Prometheus {} vs motcua scorecard {share}", got[agency]);
    }
}

/// The first day of the scorecard's 30-day window at [`AS_OF`].
const SCORE_FROM: &str = "2025-02-04";

/// `motcua scorecard` over the 30 days ending at [`AS_OF`], by agency, as JSON and as the table.
pub(crate) fn scorecard_cli(db: &Db) -> (Value, String) {
    let args = ["scorecard", "--from", SCORE_FROM, "--to", SIM_TO, "--as-of", AS_OF, "--by", "agency"];
    let json = db.run(&[&args[..], &["--format", "json"]].concat()).json();
    let table = db.run(&args);
    assert_eq!(table.code, 0, "{}", table.stderr);
    (json, table.stdout)
}

/// The chair's page for the same query as [`scorecard_cli`].
pub(crate) fn scorecard_page_path() -> String {
    format!("/scorecard?from={SCORE_FROM}&to={SIM_TO}&as_of={}", AS_OF.replace('+', "%2B").replace(':', "%3A"))
}

/// What the CLI's figures look like on the chair's page: a card's points and ✓/✗, and a
/// row's cell for a scored indicator.
pub(crate) fn points_shown(i: &Value) -> String {
    i["points"].as_f64().map_or_else(|| "–".to_string(), |p| format!("{p:.2}"))
}

pub(crate) fn mark_shown(i: &Value) -> &'static str {
    match i["meets"].as_bool() {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "",
    }
}

/// The value column of the CLI table's line for `key` (its text between the denominator and
/// the points).
pub(crate) fn table_value(table: &str, key: &str) -> String {
    let line = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("{key} not in the table:\n{table}"));
    // indicator, numerator, denominator, then the value (which may hold a space: "97.03 %").
    let rest: Vec<&str> = line.split_whitespace().skip(3).collect();
    let value_words = if rest.get(1).is_some_and(|w| *w == "%" || *w == "d" || *w == "VND") { 2 } else { 1 };
    rest[..value_words].join(" ")
}

/// The text inside the first element after `from` whose opening tag contains `marker`.
fn inner_after<'a>(html: &'a str, from: usize, marker: &str) -> Option<&'a str> {
    let at = from + html[from..].find(marker)?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</")?;
    Some(&html[open_end..close])
}

/// (value, mark, points, counts) of each card, and the cells of each row, from the page's HTML.
type PageFigures = (BTreeMap<String, [String; 4]>, BTreeMap<String, Vec<String>>);

fn page_figures(html: &str) -> PageFigures {
    let mut cards = BTreeMap::new();
    for k in motcua_core::scorecard::INDICATORS {
        let at = html.find(&format!("id=\"card-{k}\"")).unwrap_or_else(|| panic!("no card {k}"));
        let get = |m: &str| inner_after(html, at, m).unwrap_or_else(|| panic!("{k}: no {m}")).trim().to_string();
        cards.insert(
            k.to_string(),
            [get("class=\"value\""), get("class=\"mark\""), get("class=\"points\""), get("class=\"counts\"")],
        );
    }
    let mut rows = BTreeMap::new();
    for tr in html.split("<tr data-key=\"").skip(1) {
        let (key, rest) = tr.split_once('"').unwrap();
        let row = rest.split("</tr>").next().unwrap();
        let cells: Vec<String> = row
            .split("<td class=\"num\">")
            .skip(1)
            .map(|c| c.split("</td>").next().unwrap().trim().to_string())
            .collect();
        rows.insert(key.to_string(), cells);
    }
    (cards, rows)
}

/// `name{agency="…",indicator="…"} value` samples of an exposition.
fn scorecard_samples(body: &str, name: &str) -> BTreeMap<(String, String), f64> {
    body.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix("{agency=\""))
        .filter_map(|l| {
            let (agency, rest) = l.split_once("\",indicator=\"")?;
            let (indicator, value) = rest.split_once("\"} ")?;
            Some(((agency.to_string(), indicator.to_string()), value.parse().ok()?))
        })
        .collect()
}

/// The command line, the API, the chair's page and `/metrics` (of `motcua serve` and of
/// `motcua metrics print`) give the same scorecard for the same instant.
#[test]
fn cli_api_page_and_metrics_agree_on_the_scorecard() {
    let db = Db::sqlite();
    simulate(&db);
    crate::server::add_staff(&db, "chair.an", "chair", &[], "mật-khẩu-dài");
    let token = db.run(&["staff", "token", "create", "chair.an", "--name", "scorecard"]).stdout.trim().to_string();
    let (cli, table) = scorecard_cli(&db);
    let rows = cli["rows"].as_array().unwrap();
    assert!(rows.len() > 1, "{cli}");
    let on_time = &cli["total"]["on_time_2_1"];
    assert!(on_time["denominator"].as_u64().unwrap() > 0 && on_time["meets"] == false, "{on_time}");

    let server = crate::server::Server::start_with(&db, &config_dir(), &["--no-worker", "--as-of", AS_OF]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (api, html, served) = rt.block_on(async {
        let c = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let query = format!("from={SCORE_FROM}&to={SIM_TO}&by=agency&as_of={}", AS_OF.replace('+', "%2B"));
        let r = c.get(server.url(&format!("/api/v1/scorecard?{query}"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let api: Value = r.json().await.unwrap();
        let login = c
            .post(server.url("/api/v1/session"))
            .json(&serde_json::json!({"username": "chair.an", "password": "mật-khẩu-dài"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let page = c.get(server.url(&scorecard_page_path())).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let served = c.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        (api, html, served)
    });
    assert_eq!(api, cli, "the API's JSON is the CLI's");

    // The page: each card is the total's figures, each row's cells its agency's.
    let (cards, page_rows) = page_figures(&html);
    for (k, [value, mark, points, counts]) in &cards {
        let i = &cli["total"][k];
        assert_eq!(counts, &format!("{} / {}", i["numerator"], i["denominator"]), "{k}");
        assert_eq!(points, &points_shown(i), "{k}");
        assert_eq!(mark, mark_shown(i), "{k}");
        assert_eq!(value, &table_value(&table, k), "{k}");
    }
    assert_eq!(page_rows.len(), rows.len());
    for r in rows {
        let key = r["key"].as_str().unwrap();
        let cells = &page_rows[key];
        for (n, k) in motcua_core::scorecard::INDICATORS.iter().enumerate() {
            let i = &r[*k];
            if i["max_points"].is_number() {
                assert_eq!(cells[n], format!("{} {}", points_shown(i), mark_shown(i)).trim_end(), "{key} {k}");
            }
        }
    }

    // /metrics of the server and of `metrics print`: every row's every indicator.
    let printed = db.run(&["metrics", "print", "--as-of", AS_OF]).stdout;
    for body in [&served, &printed] {
        let num = scorecard_samples(body, "motcua_scorecard_numerator");
        let den = scorecard_samples(body, "motcua_scorecard_denominator");
        let value = scorecard_samples(body, "motcua_scorecard_value");
        let points = scorecard_samples(body, "motcua_scorecard_points");
        let meets = scorecard_samples(body, "motcua_scorecard_meets_target");
        for r in rows {
            let agency = r["key"].as_str().unwrap();
            for k in motcua_core::scorecard::INDICATORS {
                let at = (agency.to_string(), k.to_string());
                let i = &r[k];
                assert_eq!(num.get(&at).copied(), i["numerator"].as_f64(), "{agency} {k} numerator");
                assert_eq!(den.get(&at).copied(), i["denominator"].as_f64(), "{agency} {k} denominator");
                // serde_json's float parsing may be one unit in the last place off (see
                // report_rate): the JSON's floats are compared to that precision, and a rate's
                // exposed value exactly with its integers' ratio.
                let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => (a - b).abs() <= f64::EPSILON * a.abs().max(1.0),
                    (a, b) => a.is_none() && b.is_none(),
                };
                assert!(
                    close(value.get(&at).copied(), i["value"].as_f64()),
                    "{agency} {k} value: {:?} {i}",
                    value.get(&at)
                );
                assert!(
                    close(points.get(&at).copied(), i["points"].as_f64()),
                    "{agency} {k} points: {:?} {i}",
                    points.get(&at)
                );
                if motcua_core::scorecard::is_rate(k)
                    && let Some(v) = value.get(&at)
                {
                    assert_eq!(*v, num[&at] / den[&at], "{agency} {k}: the value is the integers' ratio");
                }
                assert_eq!(
                    meets.get(&at).copied(),
                    i["meets"].as_bool().map(|m| f64::from(u8::from(m))),
                    "{agency} {k}"
                );
            }
        }
        // An agency with no row has nothing to judge.
        let listed: BTreeSet<&str> = rows.iter().filter_map(|r| r["key"].as_str()).collect();
        for ((agency, k), d) in &den {
            if !listed.contains(agency.as_str()) {
                assert_eq!(*d, 0.0, "{agency} {k}");
            }
        }
        // The district: the agencies summed are the total row (but for 5.4, whose numerator is
        // floored at 0 per agency).
        for k in motcua_core::scorecard::INDICATORS.into_iter().filter(|k| *k != "satisfaction_5_4") {
            let sum = |m: &BTreeMap<(String, String), f64>| {
                m.iter().filter(|((_, i), _)| i == k).map(|(_, v)| v).sum::<f64>()
            };
            assert_eq!(sum(&num), cli["total"][k]["numerator"].as_f64().unwrap(), "{k} total numerator");
            assert_eq!(sum(&den), cli["total"][k]["denominator"].as_f64().unwrap(), "{k} total denominator");
        }
    }
}
