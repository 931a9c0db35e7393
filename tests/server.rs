//! `motcua serve` and `motcua staff` as a user runs them: the real binary on port 0 with a
//! SQLite file, staff accounts from the CLI, the API over loopback, SIGTERM and a clean stop.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::desk::Db;
use crate::support::*;

/// A `motcua serve` process (its worker writing e-mails and desk letters into a folder of its
/// own); SIGTERM on drop.
pub struct Server {
    child: Child,
    pub base: String,
    /// `mail/` (the file backend's .eml files) and `print/` (the desk's print queue).
    pub files: tempfile::TempDir,
}

impl Server {
    pub fn start(db: &Db) -> Self {
        Self::start_with(db, &config_dir(), &[])
    }

    /// With another configuration folder and more flags for `serve` (`--no-worker`, …).
    pub fn start_with(db: &Db, config: &std::path::Path, extra: &[&str]) -> Self {
        let files = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
            .env_remove("MOTCUA_DATABASE_URL")
            .env_remove("MOTCUA_CONFIG")
            .env_remove("MOTCUA_BIND")
            .env_remove("MOTCUA_MAIL_BACKEND")
            .env("MOTCUA_MAIL_DIR", files.path().join("mail"))
            .env("MOTCUA_PRINT_DIR", files.path().join("print"))
            .args(["--config", config.to_str().unwrap(), "--db", &db.url, "serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Self { child, base, files }
    }

    /// The files in `mail/` or `print/` with this extension.
    pub fn files(&self, dir: &str, ext: &str) -> Vec<std::path::PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.files.path().join(dir)) else { return Vec::new() };
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == ext)).collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then the exit status (within 20 s).
    pub fn stop(&mut self) -> Option<i32> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// `motcua staff add` with a password on standard input.
pub fn add_staff(db: &Db, username: &str, role: &str, agencies: &[&str], password: &str) {
    let config = config_dir();
    let mut args = vec!["--config", config.to_str().unwrap(), "--db", &db.url];
    let owned: Vec<String> = agencies.iter().map(|a| format!("--agency={a}")).collect();
    args.extend(["staff", "add", username, "--role", role, "--name", "Cán bộ kiểm thử", "--password-stdin"]);
    args.extend(owned.iter().map(String::as_str));
    let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .env_remove("MOTCUA_DATABASE_URL")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "staff add: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn staff_commands_manage_accounts() {
    let db = Db::sqlite();
    add_staff(&db, "desk.an", "desk", &["000.00.02.H17"], "mật-khẩu-dài");
    let run = db.run(&["staff", "add", "desk.an", "--role", "desk", "--name", "X", "--agency", "000.00.02.H17"]);
    run.assert_user_error("taken");
    db.run(&["staff", "add", "x", "--role", "boss", "--name", "X"]).assert_user_error("unknown role");
    db.run(&["staff", "add", "x", "--role", "desk", "--name", "X"]).assert_user_error("at least one --agency");
    db.run(&["staff", "add", "x", "--role", "desk", "--name", "X", "--agency", "000.00.99.H17"])
        .assert_user_error("unknown agency");
    let out = db.run(&["staff", "add", "chair.binh", "--role", "chair", "--name", "Trần Bình"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("password: "), "a generated password is shown once");
    let list = db.ok(&["staff", "list"]);
    let staff = list["staff"].as_array().unwrap();
    assert_eq!(staff.len(), 2);
    assert!(list.to_string().find("argon2").is_none(), "no hash is ever printed");
    assert_eq!(db.run(&["staff", "disable", "chair.binh"]).code, 0);
    assert_eq!(db.ok(&["staff", "list"])["staff"][0]["disabled"], true);
    let out = db.run(&["staff", "reset-password", "desk.an"]);
    assert!(out.stdout.contains("new password of desk.an: "), "{}", out.stdout);
    db.run(&["staff", "disable", "nobody"]).assert_user_error("no account");
    let token = db.run(&["staff", "token", "create", "desk.an", "--name", "portal"]);
    assert!(token.stdout.trim().starts_with("mct_"));
}

/// `motcua staff add --role inspector`: of the whole city with no `--agency`, of the agencies
/// named otherwise; listed with its role and scope, on both backends.
#[test]
fn an_inspector_account_is_made_for_the_city_or_for_named_agencies() {
    let mut dbs = vec![Db::sqlite()];
    dbs.extend(Db::pg("an_inspector_account_is_made_for_the_city_or_for_named_agencies"));
    for db in &dbs {
        let out = db.run(&["staff", "add", "thanhtra", "--role", "inspector", "--name", "Thanh tra thành phố"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.contains("created thanhtra (inspector)"), "{}", out.stdout);
        let out = db.run(&[
            "staff",
            "add",
            "thanhtra.so",
            "--role",
            "inspector",
            "--name",
            "Thanh tra sở",
            "--agency",
            "000.00.12.H17",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        db.run(&["staff", "add", "x", "--role", "inspector", "--name", "X", "--agency", "000.00.99.H17"])
            .assert_user_error("unknown agency");
        db.run(&["staff", "add", "x", "--role", "thanh-tra", "--name", "X"])
            .assert_user_error("expected desk, agency, head, chair, admin, inspector or payment");
        let list = db.ok(&["staff", "list"]);
        let staff = list["staff"].as_array().unwrap();
        assert_eq!(staff.len(), 2, "{list}");
        let of = |u: &str| staff.iter().find(|s| s["username"] == u).unwrap().clone();
        assert_eq!(
            (of("thanhtra")["role"].as_str(), of("thanhtra")["agencies"].clone()),
            (Some("inspector"), json!([]))
        );
        assert_eq!(of("thanhtra.so")["agencies"], json!(["000.00.12.H17"]));
        let table = db.run(&["staff", "list"]).stdout;
        assert!(table.lines().any(|l| l.starts_with("thanhtra.so") && l.contains("inspector")), "{table}");
    }
}

/// `staff token create|list|revoke` and `staff unlock` from the command line, against a running
/// server on the same database: a revoke or a reset from another process is refused by the
/// server at once, and an unlock from the command line ends a lock the server keeps.
#[test]
fn staff_tokens_are_listed_and_revoked_and_a_lock_ended_from_the_command_line() {
    let db = Db::sqlite();
    add_staff(&db, "desk.an", "desk", &["000.00.02.H17"], "mật-khẩu-dài");
    let create =
        |extra: &[&str]| db.run(&[&["staff", "token", "create", "desk.an", "--name", "portal"], extra].concat());
    create(&["--expires-in", "0d"]).assert_user_error("1 to 365");
    create(&["--expires-in", "366"]).assert_user_error("1 to 365");
    create(&["--expires-in", "soon"]).assert_user_error("--expires-in");
    db.run(&["staff", "token", "create", "nobody", "--name", "x"]).assert_user_error("no account");
    db.run(&["staff", "token", "create", "desk.an", "--name", " "]).assert_user_error("name");
    assert_eq!(db.ok(&["staff", "token", "list"])["tokens"], json!([]), "a refused token writes nothing");

    let portal = create(&["--expires-in", "30d", "--json"]).json();
    let portal_secret = portal["token"].as_str().unwrap().to_string();
    assert!(portal_secret.starts_with("mct_"), "{portal}");
    let backup = db.run(&["staff", "token", "create", "desk.an", "--name", "backup"]);
    let backup_secret = backup.stdout.trim().to_string();
    assert!(backup_secret.starts_with("mct_"), "only the secret on stdout: {}", backup.stdout);

    let list = db.ok(&["staff", "token", "list", "desk.an"]);
    let tokens = list["tokens"].as_array().unwrap();
    let names: Vec<_> = tokens.iter().map(|t| (t["name"].as_str().unwrap(), t["state"].as_str().unwrap())).collect();
    assert_eq!(names, [("backup", "active"), ("portal", "active")]);
    assert_eq!(tokens[1]["expires_at"], portal["expires_at"]);
    let table = db.run(&["staff", "token", "list"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("portal") && table.stdout.contains("desk.an"), "{}", table.stdout);
    for text in [list.to_string(), table.stdout.clone()] {
        assert!(!text.contains("mct_"), "a list never shows a secret: {text}");
    }
    db.run(&["staff", "token", "list", "nobody"]).assert_user_error("no account");
    db.run(&["staff", "token", "revoke", "9999"]).assert_user_error("no API token 9999");

    let mut server = Server::start(&db);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let me = |secret: &str| c.get(server.url("/api/v1/me")).bearer_auth(secret).send();
        assert_eq!(me(&portal_secret).await.unwrap().status(), 200);
        assert_eq!(me(&backup_secret).await.unwrap().status(), 200);

        // Revoked from the command line: the running server refuses it from the next request.
        let id = portal["id"].to_string();
        let revoked = db.ok(&["staff", "token", "revoke", &id]);
        assert_eq!(revoked["state"], "revoked", "{revoked}");
        let r = me(&portal_secret).await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert_eq!(me(&backup_secret).await.unwrap().status(), 200, "only that token");
        // A password reset revokes the rest.
        assert_eq!(db.run(&["staff", "reset-password", "desk.an"]).code, 0);
        assert_eq!(me(&backup_secret).await.unwrap().status(), 401);

        // A lock the server keeps in the database (20 wrong passwords counted), ended from
        // the command line.
        let store = motcua_store::open(&db.url).await.unwrap();
        for _ in 0..20 {
            motcua_store::StaffStore::count_login_failure(&store, "desk.an", chrono::Utc::now(), 20).await.unwrap();
        }
        store.close().await;
        let password = db.run(&["staff", "reset-password", "desk.an"]).stdout;
        let password = password.trim().rsplit(' ').next().unwrap().to_string();
        let login =
            || c.post(server.url("/api/v1/session")).json(&json!({"username": "desk.an", "password": password})).send();
        let r = login().await.unwrap();
        assert_eq!(r.status(), 429);
        let v: Value = r.json().await.unwrap();
        assert!(v["detail"].as_str().unwrap().contains("locked"), "{v}");
        let out = db.run(&["staff", "unlock", "desk.an"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.contains("desk.an unlocked"), "{}", out.stdout);
        assert_eq!(login().await.unwrap().status(), 200);
    });
    assert_eq!(server.stop(), Some(0));
    let list = db.ok(&["staff", "token", "list"]);
    assert!(list["tokens"].as_array().unwrap().iter().all(|t| t["state"] == "revoked"), "{list}");
    let out = db.run(&["staff", "unlock", "desk.an"]);
    assert!(out.stdout.contains("was not locked"), "{}", out.stdout);
    db.run(&["staff", "unlock", "nobody"]).assert_user_error("no account");
}

#[test]
fn serve_answers_the_api_and_stops_cleanly_on_sigterm() {
    let db = Db::sqlite();
    add_staff(&db, "desk.an", "desk", &["000.00.02.H17"], "mật-khẩu-dài");
    let token = db.run(&["staff", "token", "create", "desk.an", "--name", "portal"]).stdout.trim().to_string();
    let mut server = Server::start(&db);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        assert_eq!(c.get(server.url("/healthz")).send().await.unwrap().text().await.unwrap(), "ok");
        let ready: Value = c.get(server.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["database"], "sqlite");
        let r = c
            .post(server.url("/api/v1/dossiers"))
            .bearer_auth(&token)
            .json(&json!({"procedure": "1.004628", "agency": "000.00.02.H17", "applicant": "Lê Văn Cường", "id_number": "048190000123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], 2);
        let metrics = c.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("route=\"/api/v1/dossiers\""), "requests counted by route template");
        assert!(!metrics.contains(v["code"].as_str().unwrap()), "no dossier code in a label");
    });
    assert_eq!(server.stop(), Some(0), "SIGTERM: graceful stop with exit 0");
    // The write is durable: the CLI sees it.
    assert_eq!(db.event_count(), 1);
}

/// `serve` runs the worker in-process: a receipt owed when the server starts is e-mailed by the
/// file backend and a desk letter put in the print queue on its first pass, counted in the same
/// /metrics; SIGTERM stops both, and the outbox shows what was sent.
#[test]
fn serve_runs_the_worker_and_stops_it_with_the_server() {
    let db = Db::sqlite();
    let online = db.ok(&[
        "intake",
        "--procedure",
        "1.004628",
        "--agency",
        "000.00.02.H17",
        "--applicant",
        "Phan Thị Thu",
        "--email",
        "thu@example.vn",
        "--channel",
        "online",
        "--at",
        "2025-03-03T08:00:00+07:00",
    ]);
    let online = online["code"].as_str().unwrap().to_string();
    db.ok(&["accept-online", &online, "--at", "2025-03-03T09:00:00+07:00"]);
    let paper = db.ok(&[
        "intake",
        "--procedure",
        "1.004628",
        "--agency",
        "000.00.02.H17",
        "--applicant",
        "Đỗ Văn Nam",
        "--at",
        "2025-03-03T08:00:00+07:00",
    ]);
    let paper = paper["code"].as_str().unwrap().to_string();
    db.ok(&[
        "reschedule",
        &paper,
        "--to",
        "2025-03-28",
        "--reason",
        "Chờ xác minh",
        "--at",
        "2025-03-04T09:00:00+07:00",
    ]);
    let mut server = Server::start(&db);
    // The worker's first pass runs as the server starts; wait for its files (at most 20 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    while (server.files("mail", "eml").is_empty() || server.files("print", "txt").is_empty())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    // The receipt, and (the wall clock being long past these dates) the scheduler's apology
    // and escalation.
    let mails: Vec<String> = server.files("mail", "eml").iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    assert!(
        mails.iter().any(|m| m.contains("<thu@example.vn>") && m.contains("Message-ID: <outbox-")),
        "{:?}",
        server.files("mail", "eml")
    );
    let letter = std::fs::read_to_string(&server.files("print", "txt")[0]).unwrap();
    assert!(letter.contains("Đỗ Văn Nam"), "{letter}");
    // A send is counted once its file is written and the message marked: read /metrics until
    // the count shows (at most until the deadline above, plus 20 s).
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sent = "motcua_email_sends_total{kind=\"receipt\",result=\"sent\"} 1";
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let metrics = rt.block_on(async { reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap() });
        if metrics.contains(sent) || Instant::now() >= deadline {
            break metrics;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(metrics.contains(sent), "{metrics}");
    assert!(!metrics.contains("motcua_scheduler_last_tick_timestamp_seconds 0\n"), "the scheduler ticked");
    assert_eq!(server.stop(), Some(0), "SIGTERM stops the server and its worker");
    for code in [&online, &paper] {
        let rows = db.run(&["outbox", "--dossier", code, "--json"]).json();
        let rows = rows.as_array().unwrap();
        assert!(!rows.is_empty() && rows.iter().all(|r| r["status"] == "sent"), "{code}: {rows:?}");
    }
}
