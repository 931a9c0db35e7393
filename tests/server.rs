//! `motcua serve` and `motcua staff` as a user runs them: the real binary on port 0 with a
//! SQLite file, staff accounts from the CLI, the API over loopback, SIGTERM and a clean stop.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::desk::Db;
use crate::support::*;

/// A `motcua serve` process; SIGTERM on drop.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(db: &Db) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
            .env_remove("MOTCUA_DATABASE_URL")
            .env_remove("MOTCUA_CONFIG")
            .env_remove("MOTCUA_BIND")
            .args(["--config", config_dir().to_str().unwrap(), "--db", &db.url, "serve", "--bind", "127.0.0.1:0"])
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
        Self { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
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
    let token = db.run(&["staff", "token", "desk.an", "--name", "portal"]);
    assert!(token.stdout.trim().starts_with("mct_"));
}

#[test]
fn serve_answers_the_api_and_stops_cleanly_on_sigterm() {
    let db = Db::sqlite();
    add_staff(&db, "desk.an", "desk", &["000.00.02.H17"], "mật-khẩu-dài");
    let token = db.run(&["staff", "token", "desk.an", "--name", "portal"]).stdout.trim().to_string();
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
