//! `motcua worker`, `motcua outbox` and `motcua letter` against a real SMTP server on
//! 127.0.0.1 (Debian's python3-aiosmtpd writing a Maildir), parsed with Python's own e-mail
//! package: decoded Vietnamese subjects, recipients, Message-IDs and every field of the apology
//! letter; the server down and back; a worker killed mid-send; several worker processes on one
//! database. Runs are pinned with `--once --as-of`, never timed.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::desk::Db;
use crate::support::*;

const CENTRE: &str = "000.00.02.H17";
const TOURISM: &str = "000.00.12.H17";
const LICENCE: &str = "1.004628"; // 10 working days, centre → tourism department → centre

/// A Python with aiosmtpd: MOTCUA_TEST_PYTHON, Debian's /usr/bin/python3, or python3 on PATH.
/// Installs python3-aiosmtpd with apt-get once if none has it (as .ci/run does).
fn python() -> &'static str {
    static PY: OnceLock<String> = OnceLock::new();
    PY.get_or_init(|| {
        let has =
            |py: &str| Command::new(py).args(["-c", "import aiosmtpd"]).output().is_ok_and(|o| o.status.success());
        let candidates = || {
            std::env::var("MOTCUA_TEST_PYTHON")
                .into_iter()
                .chain(["/usr/bin/python3".to_string(), "python3".to_string()])
        };
        if let Some(py) = candidates().find(|p| has(p)) {
            return py;
        }
        let _ = Command::new("apt-get").args(["install", "-y", "-qq", "python3-aiosmtpd"]).status();
        candidates().find(|p| has(p)).expect("python3-aiosmtpd is missing: apt-get install python3-aiosmtpd")
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Parses a Maildir's messages with Python's e-mail package (policy.default decodes RFC 2047
/// headers and transfer encodings).
const PARSE: &str = r#"
import email, email.policy, json, os, sys
d = os.path.join(sys.argv[1], "new")
out = []
for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    with open(os.path.join(d, name), "rb") as f:
        m = email.message_from_bytes(f.read(), policy=email.policy.default)
    plain = m.get_body(("plain",))
    html = m.get_body(("html",))
    out.append({
        "subject": str(m["subject"]),
        "to": [a.addr_spec for a in m["to"].addresses],
        "to_names": [a.display_name for a in m["to"].addresses],
        "from": [a.addr_spec for a in m["from"].addresses],
        "rcpt": m.get("X-RcptTo"),
        "message_id": str(m["message-id"]),
        "content_type": m.get_content_type(),
        "text": plain.get_content() if plain is not None else None,
        "html": html.get_content() if html is not None else None,
    })
print(json.dumps(out))
"#;

/// An aiosmtpd handler: the Maildir handler, answering 451 while a `defer` file sits beside
/// the Maildir.
const DEFERRING: &str = r#"
import os
from aiosmtpd.handlers import Mailbox

class Deferring(Mailbox):
    def __init__(self, mail_dir, *args, **kwargs):
        super().__init__(mail_dir, *args, **kwargs)
        self.flag = os.path.join(os.path.dirname(os.path.abspath(mail_dir)), "defer")

    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(self.flag):
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)
"#;

/// An aiosmtpd handler: the Maildir handler for the first three messages; from the fourth on it
/// takes the message and never answers (a server that hangs after accepting some of a batch).
const STALLING: &str = r#"
import asyncio
from aiosmtpd.handlers import Mailbox

class Stalling(Mailbox):
    taken = 0

    async def handle_DATA(self, server, session, envelope):
        Stalling.taken += 1
        if Stalling.taken > 3:
            await asyncio.sleep(3600)
        return await super().handle_DATA(server, session, envelope)
"#;

/// aiosmtpd on 127.0.0.1:port, storing what it accepts in a Maildir; stopped when dropped.
pub(crate) struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    pub(crate) fn start() -> Self {
        Self::start_on(free_port())
    }

    fn start_on(port: u16) -> Self {
        Self::start_with(port, "aiosmtpd.handlers.Mailbox", tempfile::tempdir().unwrap())
    }

    /// A server that answers `451` to every message while `<dir>/defer` exists (a server
    /// saying "try again later"), and stores them otherwise.
    fn start_deferring(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("motcua_defer.py"), DEFERRING).unwrap();
        Self::start_with(port, "motcua_defer.Deferring", dir)
    }

    /// A server that stores three messages and hangs on every later one.
    fn start_stalling() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("motcua_stall.py"), STALLING).unwrap();
        Self::start_with(free_port(), "motcua_stall.Stalling", dir)
    }

    /// Makes a deferring server answer 451 (`true`) or take messages.
    fn defer(&self, on: bool) {
        let flag = self.dir.path().join("defer");
        if on { std::fs::write(flag, b"").unwrap() } else { std::fs::remove_file(flag).unwrap() }
    }

    /// Stops the server; what it received stays readable.
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not stop on port {}", self.port);
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn start_with(port: u16, handler: &str, dir: tempfile::TempDir) -> Self {
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", handler])
            .arg(dir.path().join("maildir"))
            .env("PYTHONPATH", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the listening socket (start-up of the server, not of the code under test).
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not start on port {port}");
            std::thread::sleep(Duration::from_millis(25));
        }
        Self { child, port, dir }
    }

    pub(crate) fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The Maildir the server writes each accepted message into.
    pub(crate) fn maildir(&self) -> std::path::PathBuf {
        self.dir.path().join("maildir")
    }

    pub(crate) fn messages(&self) -> Vec<Value> {
        let out = Command::new(python()).args(["-c", PARSE]).arg(self.dir.path().join("maildir")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
    }

    pub(crate) fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("maildir/new")).map_or(0, |d| d.count())
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `motcua worker --once --as-of AT` delivering to `smtp`, printing to `print`.
fn worker_args<'a>(at: &'a str, smtp: &'a str, print: &'a str) -> Vec<&'a str> {
    vec![
        "worker",
        "--once",
        "--as-of",
        at,
        "--mail-backend",
        "smtp",
        "--smtp",
        smtp,
        "--smtp-tls",
        "plain",
        "--print-dir",
        print,
        "--json",
    ]
}

pub(crate) fn run_worker(db: &Db, at: &str, smtp: &str, print: &Path) -> Value {
    db.run(&worker_args(at, smtp, &print.display().to_string())).json()
}

pub(crate) fn outbox(db: &Db, status: &str) -> Vec<Value> {
    db.run(&["outbox", "--status", status, "--limit", "100000", "--json"]).json().as_array().unwrap().clone()
}

fn code_of(v: &Value) -> String {
    v["code"].as_str().unwrap().to_string()
}

/// An online dossier with an e-mail address, accepted at `at`, sent to the tourism department.
fn online_dossier(db: &Db, name: &str, email: &str, at: &str, moved: &str) -> String {
    let v = db.ok(&[
        "intake",
        "--procedure",
        LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        name,
        "--email",
        email,
        "--phone",
        "0905123456",
        "--address",
        "12 Lê Duẩn, phường Hải Châu, thành phố Đà Nẵng",
        "--channel",
        "online",
        "--at",
        at,
    ]);
    let code = code_of(&v);
    db.ok(&["accept-online", &code, "--at", at]);
    db.ok(&["transfer", &code, "--to", TOURISM, "--at", moved]);
    db.ok(&["accept", &code, "--at", moved]);
    code
}

fn find<'a>(msgs: &'a [Value], subject_has: &str, to: &str) -> &'a Value {
    msgs.iter()
        .find(|m| m["subject"].as_str().unwrap().contains(subject_has) && m["to"][0] == to)
        .unwrap_or_else(|| panic!("no message {subject_has:?} to {to}: {msgs:#?}"))
}

fn assert_has(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in:\n{text}");
    }
}

#[test]
fn apology_letters_arrive_over_smtp_with_every_field() {
    let db = Db::sqlite();
    let smtp = SmtpSink::start();
    let print = tempfile::tempdir().unwrap();
    // Received before 1/7/2025 (Circular 01/2018 form) and after (Circular 03/2025 form).
    let old = online_dossier(
        &db,
        "Nguyễn Thị Hoa",
        "hoa@example.vn",
        "2025-02-03T08:00:00+07:00",
        "2025-02-03T09:00:00+07:00",
    );
    let new =
        online_dossier(&db, "Phạm Văn Đức", "duc@example.vn", "2025-07-01T08:00:00+07:00", "2025-07-01T09:00:00+07:00");
    // The first run: receipts; the old dossier is long overdue → automatic apology + escalation.
    let r = run_worker(&db, "2025-02-18T09:00:00+07:00", &smtp.addr(), print.path());
    assert_eq!(r["tick"]["apologies"], 1, "{r}");
    assert_eq!(r["outbox"]["sent"], 3, "receipt, apology, escalation: {r}");
    // Before the new dossier's due date nothing more; then a person reschedules it in time.
    db.ok(&[
        "reschedule",
        &new,
        "--to",
        "2025-07-25",
        "--reason",
        "Cần lấy ý kiến Sở Xây dựng",
        "--at",
        "2025-07-10T10:00:00+07:00",
    ]);
    let r = run_worker(&db, "2025-07-10T10:05:00+07:00", &smtp.addr(), print.path());
    assert_eq!(r["outbox"]["sent"], 2, "receipt and apology of the new dossier: {r}");
    // Run again over the same instant: nothing new anywhere.
    let again = run_worker(&db, "2025-07-10T10:05:00+07:00", &smtp.addr(), print.path());
    assert_eq!(
        again["tick"],
        serde_json::json!({"reminders": 0, "apologies": 0, "escalations": 0, "already_done": 0, "failed": 0, "digests": 0, "digested": 0, "notices_dropped": 0, "petition_notices": 0})
    );
    assert_eq!(again["outbox"]["claimed"], 0);
    assert_eq!(smtp.count(), 5);

    let msgs = smtp.messages();
    let sent = outbox(&db, "sent");
    assert_eq!(sent.len(), 5);
    // Every Message-ID is the row's own and unique.
    for row in &sent {
        let id = row["id"].as_i64().unwrap();
        let m = msgs
            .iter()
            .find(|m| m["message_id"].as_str().unwrap().starts_with(&format!("<outbox-{id}-")))
            .unwrap_or_else(|| panic!("no message for outbox row {id}"));
        assert!(m["message_id"].as_str().unwrap().ends_with("@motcua.hcc.danang.example>"), "{m}");
        assert_eq!(m["to"][0], row["recipient"]);
        assert_eq!(m["rcpt"], row["recipient"]);
        assert_eq!(m["from"][0], "motcua@hcc.danang.example");
    }

    // The automatic letter (pre-2025 form) — every field of Mẫu 04.
    let a = find(&msgs, "Phiếu xin lỗi và hẹn lại ngày trả kết quả", "hoa@example.vn");
    assert_eq!(a["subject"], format!("Phiếu xin lỗi và hẹn lại ngày trả kết quả — hồ sơ {old}"));
    assert_eq!(a["to_names"][0], "Nguyễn Thị Hoa");
    assert_eq!(a["content_type"], "multipart/alternative");
    let text = a["text"].as_str().unwrap();
    assert_has(
        text,
        &[
            "SỞ DU LỊCH",                         // issuing agency (the responsible one)
            &format!("Số: {old}/PXL"),            // letter number
            "Đà Nẵng, ngày 18 tháng 02 năm 2025", // place and date
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            "Mẫu số 04, Thông tư số 01/2018/TT-VPCP",
            "Kính gửi: Nguyễn Thị Hoa", // addressee
            "Địa chỉ: 12 Lê Duẩn, phường Hải Châu, thành phố Đà Nẵng",
            "Số điện thoại: 0905123456",
            "Ngày 03/02/2025",                                  // receipt date
            "Cấp Giấy phép kinh doanh dịch vụ lữ hành nội địa", // procedure
            &format!("Mã hồ sơ: {old}"),
            "Thời hạn trả kết quả (hẹn trên Giấy tiếp nhận): Thứ Hai 17/02/2025 08:00", // original appointment
            "chưa được giải quyết xong",                                                // the result was not ready
            "Lý do: Hồ sơ chưa được giải quyết xong khi đến hạn",                       // reason
            "Đơn vị chịu trách nhiệm: Sở Du lịch",                                      // responsible unit
            "xin lỗi Ông/Bà",                                                           // apology sentence
            "hẹn trả kết quả giải quyết hồ sơ vào Thứ Tư 19/02/2025 09:00",             // new appointment
            "Nơi nhận:",                                                                // recipients
            "Bộ phận Tiếp nhận và Trả kết quả",
            "Lưu: VT.",
            "GIÁM ĐỐC", // signatory
        ],
    );
    assert!(!text.contains("gia hạn"), "the pre-2025 letter asks for no extension");
    // HTML escaping writes "/" as "&#x2f;".
    let html = a["html"].as_str().unwrap().replace("&#x2f;", "/");
    assert_has(&html, &["Phiếu xin lỗi và hẹn lại ngày trả kết quả", "Nguyễn Thị Hoa", &format!("{old}/PXL")]);
    // The escalation went to the responsible agency's head.
    let e = find(&msgs, "[Quá hạn]", "giamdoc@sodulich.danang.example");
    assert_has(e["text"].as_str().unwrap(), &[&old, &format!("{old}/PXL"), "Thứ Tư 19/02/2025 09:00"]);
    // The receipt confirmation carries the due date.
    let rc = find(&msgs, "Đã tiếp nhận hồ sơ", "hoa@example.vn");
    assert_eq!(rc["subject"], format!("Đã tiếp nhận hồ sơ {old} — hẹn trả kết quả Thứ Hai 17/02/2025 08:00"));

    // A person's letter after 1/7/2025: the 2025 title and the extension request.
    let b = find(&msgs, "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết", "duc@example.vn");
    let text = b["text"].as_str().unwrap();
    assert_has(
        text,
        &[
            "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
            "Mẫu số 04, Thông tư số 03/2025/TT-VPCP",
            "Đà Nẵng, ngày 10 tháng 07 năm 2025",
            "Lý do: Cần lấy ý kiến Sở Xây dựng",
            "Thứ Sáu 25/07/2025 17:00",
            "đề nghị Ông/Bà đồng ý gia hạn thời gian giải quyết hồ sơ đến Thứ Sáu 25/07/2025 17:00",
        ],
    );

    // The desk prints the same letter (text or HTML, Vietnamese or English).
    let letter = db.run(&["letter", &old]);
    assert_eq!(letter.code, 0, "{}", letter.stderr);
    assert_has(&letter.stdout, &["PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", &format!("{old}/PXL"), "Nguyễn Thị Hoa"]);
    let html = db.run(&["letter", &new, "--format", "html"]);
    assert_has(&html.stdout, &["<!doctype html>", "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"]);
    let en = db.run(&["letter", &new, "--lang", "en"]);
    assert_has(&en.stdout, &["APOLOGY AND REQUEST TO EXTEND THE PROCESSING TIME", "Cần lấy ý kiến Sở Xây dựng"]);
}

/// A supplement request reaches the citizen: by e-mail (through the real SMTP server) when the
/// dossier has the address, printed at the desk otherwise; the lookup shows what is asked.
fn a_supplement_request_reaches_the_citizen(db: &Db) {
    let smtp = SmtpSink::start();
    let print = tempfile::tempdir().unwrap();
    let online =
        online_dossier(db, "Lê Thị Mai", "mai@example.vn", "2025-03-03T08:00:00+07:00", "2025-03-03T09:00:00+07:00");
    let v = db.ok(&[
        "intake",
        "--procedure",
        LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Võ Văn Tâm",
        "--phone",
        "0905000111",
        "--at",
        "2025-03-03T08:10:00+07:00",
    ]);
    let desk = code_of(&v);
    db.ok(&["transfer", &desk, "--to", TOURISM, "--at", "2025-03-03T09:00:00+07:00"]);
    db.ok(&["accept", &desk, "--at", "2025-03-03T09:00:00+07:00"]);
    for code in [&online, &desk] {
        db.ok(&[
            "request-supplement",
            code,
            "--reason",
            "Bản sao giấy phép kinh doanh chưa chứng thực",
            "--document",
            "Bản sao chứng thực Giấy chứng nhận đăng ký doanh nghiệp",
            "--document",
            "Chứng chỉ hành nghề hướng dẫn viên (bản sao)",
            "--at",
            "2025-03-05T10:00:00+07:00",
        ]);
    }
    let r = run_worker(db, "2025-03-05T10:05:00+07:00", &smtp.addr(), print.path());
    // The online dossier's receipt and its supplement request by e-mail; the other at the desk.
    assert_eq!(r["outbox"]["sent"], 2, "{r}");
    assert_eq!(r["outbox"]["printed"], 1, "{r}");
    let msgs = smtp.messages();
    let m = find(&msgs, "Yêu cầu bổ sung, hoàn thiện hồ sơ", "mai@example.vn");
    assert_eq!(m["subject"], format!("Yêu cầu bổ sung, hoàn thiện hồ sơ {online}"));
    assert_eq!(m["to_names"][0], "Lê Thị Mai");
    assert_eq!(m["content_type"], "multipart/alternative");
    let text = m["text"].as_str().unwrap();
    assert_has(
        text,
        &[
            "Kính gửi: Lê Thị Mai",
            &format!("Mã hồ sơ: {online}"),
            "Cấp Giấy phép kinh doanh dịch vụ lữ hành nội địa",
            "Ngày yêu cầu bổ sung: Thứ Tư 05/03/2025 10:00",
            "Lý do: Bản sao giấy phép kinh doanh chưa chứng thực",
            "1. Bản sao chứng thực Giấy chứng nhận đăng ký doanh nghiệp",
            "2. Chứng chỉ hành nghề hướng dẫn viên (bản sao)",
            "Thời hạn giải quyết tạm dừng cho đến khi Ông/Bà nộp đủ giấy tờ bổ sung",
        ],
    );
    assert_has(m["html"].as_str().unwrap(), &["Chứng chỉ hành nghề hướng dẫn viên (bản sao)"]);
    // No e-mail: printed at the receiving desk, and listed there.
    let printed: Vec<_> = std::fs::read_dir(print.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    assert_eq!(printed.len(), 1, "{printed:?}");
    // The paper printed is the official form (Mẫu 02) exactly as `motcua form` and the web page
    // draw it: one renderer.
    let txt = std::fs::read_to_string(&printed[0]).unwrap();
    let html = std::fs::read_to_string(printed[0].with_extension("html")).unwrap();
    let as_of = ["--as-of", "2025-03-05T10:05:00+07:00"];
    let form = |args: &[&str]| {
        let run = db.run(&[&["form", "supplement", &desk][..], args, &as_of].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    let (form_html, form_text) = (form(&["--format", "html"]), form(&[]));
    assert_eq!(html, form_html);
    assert_eq!(txt, format!("Yêu cầu bổ sung, hoàn thiện hồ sơ {desk}\n\n{form_text}"));
    assert_has(&txt, &["Võ Văn Tâm", &desk, "Bản sao giấy phép kinh doanh chưa chứng thực", "Mẫu số 02"]);
    let rows = outbox(db, "sent");
    let keys: Vec<&str> = rows.iter().filter_map(|r| r["dedupe_key"].as_str()).collect();
    assert!(keys.contains(&format!("supplement_request:{online}:0.1:mai@example.vn").as_str()), "{keys:?}");
    assert!(keys.contains(&format!("supplement_request:{desk}:0.1:desk:{CENTRE}").as_str()), "{keys:?}");
    // Run again: nothing twice.
    let again = run_worker(db, "2025-03-05T10:05:00+07:00", &smtp.addr(), print.path());
    assert_eq!(again["outbox"]["claimed"], 0, "{again}");
    assert_eq!(smtp.count(), 2);
}

#[test]
fn a_supplement_request_reaches_the_citizen_sqlite() {
    a_supplement_request_reaches_the_citizen(&Db::sqlite());
}

#[test]
fn a_supplement_request_reaches_the_citizen_postgres() {
    let Some(db) = Db::pg("supplement_request") else { return };
    a_supplement_request_reaches_the_citizen(&db);
}

/// Last-day reminders reach the tourism department as one digest per address on Monday 07:30,
/// through the real SMTP server, each once; nothing went one by one on Friday.
fn reminders_arrive_as_one_daily_digest(db: &Db) {
    let smtp = SmtpSink::start();
    let print = tempfile::tempdir().unwrap();
    let mut codes = Vec::new();
    for (i, name) in ["Đặng Thu Hà", "Bùi Quốc Việt", "Hồ Ngọc Lan"].iter().enumerate() {
        let email = format!("c{i}@example.vn");
        codes.push(online_dossier(db, name, &email, "2025-03-03T08:00:00+07:00", "2025-03-03T09:30:00+07:00"));
    }
    // Friday 09:00: in their last working day; six reminders queued, none sent alone.
    let r = run_worker(db, "2025-03-14T09:00:00+07:00", &smtp.addr(), print.path());
    assert_eq!(r["tick"]["reminders"], 6, "{r}");
    assert_eq!(r["tick"]["digests"], 0, "{r}");
    assert_eq!(r["outbox"]["sent"], 3, "the three receipts only: {r}");
    // Monday 07:45: one digest to the officers' address, one to the head's.
    let r = run_worker(db, "2025-03-17T07:45:00+07:00", &smtp.addr(), print.path());
    assert_eq!((r["tick"]["digests"].as_u64(), r["tick"]["digested"].as_u64()), (Some(2), Some(6)), "{r}");
    assert_eq!(r["outbox"]["sent"], 2, "{r}");
    let again = run_worker(db, "2025-03-17T08:00:00+07:00", &smtp.addr(), print.path());
    assert_eq!(again["tick"]["digests"], 0, "{again}");
    assert_eq!(smtp.count(), 5);
    let msgs = smtp.messages();
    for to in ["motcua@sodulich.danang.example", "giamdoc@sodulich.danang.example"] {
        let m = find(&msgs, "[Tổng hợp 17/03/2025] 3 hồ sơ", to);
        let text = m["text"].as_str().unwrap();
        for c in &codes {
            assert!(text.contains(c.as_str()), "{c} missing in:\n{text}");
        }
        assert_has(text, &["Hạn: Thứ Hai 17/03/2025 08:00", "ngày làm việc cuối trước hạn", "3 cảnh báo"]);
        assert_has(m["html"].as_str().unwrap(), &["<table", &codes[0]]);
    }
    let digests: Vec<_> = outbox(db, "sent").into_iter().filter(|r| r["kind"] == "digest").collect();
    assert_eq!(digests.len(), 2);
    assert!(digests.iter().all(|d| d["dedupe_key"].as_str().unwrap().ends_with(":2025-03-17")));
}

#[test]
fn reminders_arrive_as_one_daily_digest_sqlite() {
    reminders_arrive_as_one_daily_digest(&Db::sqlite());
}

#[test]
fn reminders_arrive_as_one_daily_digest_postgres() {
    let Some(db) = Db::pg("daily_digest") else { return };
    reminders_arrive_as_one_daily_digest(&db);
}

#[test]
fn a_citizen_without_email_gets_a_letter_at_the_desk_and_the_desk_can_print_it() {
    let db = Db::sqlite();
    let smtp = SmtpSink::start();
    let print = tempfile::tempdir().unwrap();
    let v = db.ok(&[
        "intake",
        "--procedure",
        LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Trần Văn Bình",
        "--address",
        "5 Lê Lợi, Hải Châu",
        "--at",
        "2025-03-03T08:00:00+07:00",
    ]);
    let code = code_of(&v);
    let none = db.run(&["letter", &code]);
    none.assert_user_error("has no apology letter");
    run_worker(&db, "2025-03-18T08:00:00+07:00", &smtp.addr(), print.path());
    let rows = db.run(&["outbox", "--dossier", &code, "--json"]).json();
    let apology = rows.as_array().unwrap().iter().find(|r| r["kind"] == "apology").unwrap().clone();
    assert_eq!(apology["recipient"], format!("desk:{CENTRE}"));
    assert_eq!(apology["print_at_desk"], true);
    assert_eq!(apology["status"], "sent");
    let table = db.run(&["outbox", "--dossier", &code]);
    assert!(table.stdout.contains(&format!("print at desk {CENTRE}")), "{}", table.stdout);
    let printed: Vec<_> = std::fs::read_dir(print.path()).unwrap().map(|e| e.unwrap().path()).collect();
    let txt = printed.iter().find(|p| p.extension().is_some_and(|e| e == "txt")).unwrap();
    // The desk prints the apology form (Mẫu 04) the web page and `motcua letter` give.
    assert_has(&std::fs::read_to_string(txt).unwrap(), &["Trần Văn Bình", &format!("{code}/PXL")]);
    let letter = db.run(&["letter", &code, "--format", "html"]);
    assert_eq!(letter.code, 0, "{}", letter.stderr);
    assert_eq!(std::fs::read_to_string(txt.with_extension("html")).unwrap(), letter.stdout);
    assert_eq!(smtp.messages().iter().filter(|m| m["to"][0] == "giamdoc@hcc.danang.example").count(), 1, "escalation");
}

/// N online dossiers accepted at 2025-03-03 09:00: N receipts queued.
fn receipts(db: &Db, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let v = db.ok(&[
                "intake",
                "--procedure",
                LICENCE,
                "--agency",
                CENTRE,
                "--applicant",
                &format!("Công dân {i}"),
                "--email",
                &format!("c{i}@example.vn"),
                "--channel",
                "online",
                "--at",
                "2025-03-03T08:00:00+07:00",
            ]);
            let code = code_of(&v);
            db.ok(&["accept-online", &code, "--at", "2025-03-03T09:00:00+07:00"]);
            code
        })
        .collect()
}

fn unique_ids(smtp: &SmtpSink) -> usize {
    let mut ids: Vec<String> = smtp.messages().iter().map(|m| m["message_id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

#[test]
fn the_smtp_server_down_then_back_delivers_every_message_once() {
    smtp_outage(&Db::sqlite());
}

#[test]
fn the_smtp_server_down_then_back_delivers_every_message_once_on_postgres() {
    if let Some(db) = Db::pg("smtp_outage") {
        smtp_outage(&db);
    }
}

/// The real SMTP server is away for 30 hours while messages keep being queued: no message
/// loses an attempt or dies; away past the outage tolerance (120 hours) they are parked, then
/// revived in bulk, and once the server is back every message arrives exactly once.
fn smtp_outage(db: &Db) {
    let print = tempfile::tempdir().unwrap();
    receipts(db, 12);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let unreachable_and_uncounted = |when: &str| {
        assert!(outbox(db, "dead").is_empty(), "nothing dies in an outage shorter than the tolerance ({when})");
        let pending = outbox(db, "pending");
        assert!(
            pending.iter().all(|m| m["attempts"] == 0
                && m["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("mail server unreachable (no attempt counted)"))),
            "{when}: {pending:#?}"
        );
        pending.len()
    };
    let r = run_worker(db, "2025-03-03T09:00:00+07:00", &addr, print.path());
    assert_eq!((r["outbox"]["retried"].as_u64(), r["outbox"]["sent"].as_u64()), (Some(12), Some(0)), "{r}");
    assert_eq!(unreachable_and_uncounted("first pass"), 12);
    let r = run_worker(db, "2025-03-03T09:00:20+07:00", &addr, print.path());
    assert_eq!(r["outbox"]["claimed"], 0, "backing off: {r}");
    let r = run_worker(db, "2025-03-03T09:00:30+07:00", &addr, print.path());
    assert_eq!(r["outbox"]["retried"], 12, "{r}");
    // Messages keep being queued; the worker keeps trying, at most ten minutes apart.
    receipts(db, 5);
    let mut last = 0;
    for at in [
        "2025-03-03T12:00:00+07:00",
        "2025-03-03T18:00:00+07:00",
        "2025-03-04T09:00:00+07:00",
        "2025-03-04T15:00:00+07:00",
    ] {
        let r = run_worker(db, at, &addr, print.path());
        assert_eq!(r["outbox"]["sent"], 0, "{r}");
        last = unreachable_and_uncounted(at);
        assert!(last >= 17, "{at}: {last}");
    }
    let r = run_worker(db, "2025-03-04T15:10:00+07:00", &addr, print.path());
    assert_eq!(r["outbox"]["retried"].as_u64(), Some(last as u64), "probed again within ten minutes: {r}");
    // Away longer than the tolerance: parked as dead, then revived in bulk, one kind first.
    let r = run_worker(db, "2025-03-08T10:00:00+07:00", &addr, print.path());
    assert_eq!(r["outbox"]["dead"].as_u64(), Some(last as u64), "{r}");
    let receipts_dead = outbox(db, "dead").iter().filter(|m| m["kind"] == "receipt").count();
    assert_eq!(receipts_dead, 17);
    let revived = db.ok(&["outbox", "retry", "--all-dead", "--kind", "receipt", "--at", "2025-03-08T10:00:00+07:00"]);
    assert_eq!(revived["revived"].as_u64(), Some(17), "{revived}");
    let revived = db.ok(&["outbox", "retry", "--all-dead", "--at", "2025-03-08T10:00:00+07:00"]);
    assert_eq!(revived["revived"].as_u64(), Some(last as u64 - 17), "{revived}");
    db.run(&["outbox", "retry", "--all-dead", "--kind", "postcard"]).assert_user_error("unknown message kind");
    db.run(&["outbox", "retry"]).assert_user_error("--all-dead");
    assert!(outbox(db, "dead").is_empty());
    // Back: every message exactly once.
    let smtp = SmtpSink::start_on(port);
    let r = run_worker(db, "2025-03-08T10:01:00+07:00", &addr, print.path());
    assert_eq!(r["outbox"]["sent"].as_u64(), Some(last as u64), "{r}");
    let r = run_worker(db, "2025-03-08T11:00:00+07:00", &addr, print.path());
    assert_eq!(r["outbox"]["claimed"], 0);
    assert_eq!(smtp.count(), last);
    assert_eq!(unique_ids(&smtp), last, "one Message-ID per message at the server");
    let sent = outbox(db, "sent");
    assert_eq!(sent.len(), last);
    assert!(sent.iter().all(|m| m["attempts"] == 1 && m["last_error"].is_null()), "{sent:?}");
}

#[test]
fn a_worker_killed_mid_send_leaves_its_lease_to_expire_and_another_finishes() {
    worker_killed_mid_send(&Db::sqlite());
}

#[test]
fn a_worker_killed_mid_send_leaves_its_lease_to_expire_and_another_finishes_on_postgres() {
    let Some(db) = Db::pg("worker_killed") else { return };
    worker_killed_mid_send(&db);
}

fn worker_killed_mid_send(db: &Db) {
    let print = tempfile::tempdir().unwrap();
    receipts(db, 8);
    // A server that accepts connections and never answers: the worker hangs mid-send.
    let stall = TcpListener::bind("127.0.0.1:0").unwrap();
    let stall_addr = stall.local_addr().unwrap().to_string();
    let at = "2025-03-03T09:00:00+07:00";
    let args = worker_args(at, &stall_addr, "unused");
    let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .env_remove("MOTCUA_DATABASE_URL")
        .env_remove("MOTCUA_CONFIG")
        .args(["--config", &config_dir().display().to_string(), "--db", &db.url])
        .args(&args)
        .args(["--owner", "doomed"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut conn, _) = stall.accept().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let mut sink = Vec::new();
    conn.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let _ = conn.read_to_end(&mut sink);
    let leased = outbox(db, "pending");
    assert_eq!(leased.len(), 8);
    assert!(leased.iter().all(|m| m["locked_by"] == "doomed" && m["attempts"] == 1), "{leased:?}");
    let smtp = SmtpSink::start();
    // The dead worker's lease (300 s) still holds: nothing is sent twice meanwhile.
    let r = run_worker(db, "2025-03-03T09:04:59+07:00", &smtp.addr(), print.path());
    assert_eq!(r["outbox"]["claimed"], 0, "{r}");
    let r = run_worker(db, "2025-03-03T09:05:00+07:00", &smtp.addr(), print.path());
    assert_eq!(r["outbox"]["sent"], 8, "{r}");
    assert_eq!(smtp.count(), 8);
    assert!(outbox(db, "pending").is_empty());
    let ids = unique_ids(&smtp);
    crate::chaos::chaos_line(
        "worker killed mid-delivery, another finishes",
        db,
        8,
        smtp.count(),
        smtp.count() - ids,
        crate::chaos::differences(db),
    );
    assert_eq!(ids, 8, "one Message-ID per message at the server");
}

#[test]
fn each_message_is_marked_sent_when_the_server_accepts_it() {
    marked_one_by_one(&Db::sqlite());
}

#[test]
fn each_message_is_marked_sent_when_the_server_accepts_it_on_postgres() {
    let Some(db) = Db::pg("worker_marks_each") else { return };
    marked_one_by_one(&db);
}

/// A batch of eight in flight; the server accepts three and hangs on the other five. The three
/// are marked sent while the others still wait, so the worker killed then leaves only the five
/// to be sent again: no message reaches a citizen twice.
fn marked_one_by_one(db: &Db) {
    let print = tempfile::tempdir().unwrap();
    receipts(db, 8);
    let stalling = SmtpSink::start_stalling();
    let at = "2025-03-03T09:00:00+07:00";
    let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .env_remove("MOTCUA_DATABASE_URL")
        .env_remove("MOTCUA_CONFIG")
        .args(["--config", &config_dir().display().to_string(), "--db", &db.url])
        .args(worker_args(at, &stalling.addr(), &print.path().display().to_string()))
        .args(["--owner", "doomed"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while outbox(db, "sent").len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "the three accepted messages were not marked sent");
        assert!(child.try_wait().unwrap().is_none(), "the worker ended while the server hung");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(stalling.count(), 3);
    let leased = outbox(db, "pending");
    assert_eq!(leased.len(), 5, "{leased:?}");
    assert!(leased.iter().all(|m| m["locked_by"] == "doomed"), "{leased:?}");
    let smtp = SmtpSink::start();
    let r = run_worker(db, "2025-03-03T09:05:00+07:00", &smtp.addr(), print.path());
    assert_eq!(r["outbox"]["sent"], 5, "{r}");
    assert!(outbox(db, "pending").is_empty());
    let mut ids: Vec<String> = stalling
        .messages()
        .iter()
        .chain(smtp.messages().iter())
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect();
    let received = ids.len();
    ids.sort();
    ids.dedup();
    crate::chaos::chaos_line(
        "worker killed with a batch half accepted",
        db,
        8,
        ids.len(),
        received - ids.len(),
        crate::chaos::differences(db),
    );
    assert_eq!((received, ids.len()), (8, 8), "each message once at the servers");
}

/// Worker processes started together on one database, each with its own lease owner.
fn workers_at_once(db: &Db, n: usize, at: &str, smtp: &str, print: &Path) -> Vec<Value> {
    let children: Vec<Child> = (0..n)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_motcua"))
                .env_remove("MOTCUA_DATABASE_URL")
                .env_remove("MOTCUA_CONFIG")
                .args(["--config", &config_dir().display().to_string(), "--db", &db.url])
                .args(worker_args(at, smtp, &print.display().to_string()))
                .args(["--owner", &format!("w{i}"), "--batch", "7"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect()
}

fn several_workers_send_each_message_once(db: &Db, n: usize) {
    let smtp = SmtpSink::start();
    let print = tempfile::tempdir().unwrap();
    // The simulated fortnight arrives at its end with --notify: the dossiers still inside their
    // time get their messages, and those that fall due after it their automatic apologies.
    let sim = db.run(&[
        "simulate",
        "--dossiers",
        "150",
        "--seed",
        "7",
        "--from",
        "2025-03-03",
        "--to",
        "2025-03-14",
        "--notify",
        "--as-of",
        "2025-03-14T17:30:00+07:00",
    ]);
    assert_eq!(sim.code, 0, "{}", sim.stderr);
    let due = outbox(db, "pending").len();
    assert!(due > 15, "the dossiers inside their time imply messages: {due}");
    let results = workers_at_once(db, n, "2025-05-06T12:00:00+07:00", &smtp.addr(), print.path());
    let sum = |k: &str| results.iter().map(|r| r["outbox"][k].as_u64().unwrap()).sum::<u64>();
    let sum_tick = |k: &str| results.iter().map(|r| r["tick"][k].as_u64().unwrap()).sum::<u64>();
    // Everything due was delivered, but for the notices decided after today's digest (07:30 of
    // a working day: not 30 April, a holiday): they wait for tomorrow's.
    let waiting = outbox(db, "pending");
    assert!(
        waiting.iter().all(|m| ["reminder", "at_risk"].contains(&m["kind"].as_str().unwrap())
            && m["created_at"].as_str().unwrap() > "2025-05-06T07:30:00+07:00"),
        "{waiting:?}"
    );
    let sent = outbox(db, "sent");
    // Notices gathered into a daily digest went out inside it, not alone: each in exactly one
    // digest, and that digest sent.
    let digests: std::collections::HashSet<&str> =
        sent.iter().filter(|m| m["kind"] == "digest").map(|m| m["dedupe_key"].as_str().unwrap()).collect();
    // A notice whose dossier finished (or waits for the citizen) before the digest was written
    // is settled unlisted ("dropped"), never mailed.
    let (dropped, settled): (Vec<&Value>, Vec<&Value>) = sent.iter().partition(|m| m["digest"] == "dropped");
    assert!(dropped.iter().all(|m| ["reminder", "at_risk"].contains(&m["kind"].as_str().unwrap())), "{dropped:?}");
    assert_eq!(sum_tick("notices_dropped") as usize, dropped.len());
    let (gathered, alone): (Vec<&Value>, Vec<&Value>) = settled.into_iter().partition(|m| !m["digest"].is_null());
    assert!(gathered.iter().all(|m| digests.contains(m["digest"].as_str().unwrap())), "{gathered:?}");
    assert_eq!(sum_tick("digested") as usize, gathered.len());
    assert_eq!(sum_tick("digests") as usize, digests.len(), "one digest per address, whichever worker wrote it");
    let mails = alone.iter().filter(|m| m["print_at_desk"] == false).count();
    assert_eq!(smtp.count(), mails, "one message at the server per outbox row sent alone");
    assert_eq!(unique_ids(&smtp), mails, "no Message-ID twice");
    assert_eq!(sum("sent") as usize, mails);
    assert_eq!(sum("printed") as usize, alone.len() - mails);
    assert_eq!(sum("lost_lease"), 0);
    // The scheduler ran in each process; each overdue dossier got one automatic apology.
    let apologies = sent.iter().filter(|m| m["kind"] == "escalation").count();
    assert_eq!(sum_tick("apologies") as usize, apologies);
    assert_eq!(sum_tick("failed"), 0);
    let busy = results.iter().filter(|r| r["outbox"]["claimed"].as_u64().unwrap() > 0).count();
    eprintln!("{n} workers: {mails} e-mails, {apologies} automatic apologies; {busy} workers claimed rows");
}

#[test]
fn three_worker_processes_on_one_postgresql_database_never_send_twice() {
    let Some(db) = Db::pg("three_workers") else { return };
    several_workers_send_each_message_once(&db, 3);
}

#[test]
fn two_worker_processes_on_one_sqlite_file_never_send_twice() {
    let db = Db::sqlite();
    several_workers_send_each_message_once(&db, 2);
}

#[test]
fn a_dead_message_is_listed_and_revived() {
    let db = Db::sqlite();
    let print = tempfile::tempdir().unwrap();
    receipts(&db, 1);
    let addr = format!("127.0.0.1:{}", free_port());
    // Tries against a closed port over five days: an outage, so no attempt counts, and the
    // message is parked only once the outage tolerance (120 hours) has passed.
    let t0 = chrono::DateTime::parse_from_rfc3339("2025-03-03T09:00:00+07:00").unwrap();
    let mut t = t0;
    while t <= t0 + chrono::Duration::hours(121) {
        run_worker(&db, &t.to_rfc3339(), &addr, print.path());
        assert!(t >= t0 + chrono::Duration::hours(120) || outbox(&db, "dead").is_empty(), "dead early at {t}");
        t += chrono::Duration::hours(11);
    }
    let dead = outbox(&db, "dead");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["attempts"], 0);
    let listed = db.run(&["outbox", "--status", "dead"]);
    assert!(listed.stdout.contains("receipt") && listed.stdout.contains("unreachable"), "{}", listed.stdout);
    let id = dead[0]["id"].as_i64().unwrap().to_string();
    let revived = db.run(&["outbox", "retry", &id, "--at", &t.to_rfc3339(), "--json"]).json();
    assert_eq!(revived["status"], "pending");
    assert_eq!(revived["attempts"], 0);
    let smtp = SmtpSink::start();
    let r = run_worker(&db, &t.to_rfc3339(), &smtp.addr(), print.path());
    assert_eq!(r["outbox"]["sent"], 1, "{r}");
    assert_eq!(smtp.count(), 1);
    db.run(&["outbox", "retry", &id]).assert_user_error("already sent");
    db.run(&["outbox", "retry", "999999"]).assert_user_error("no outbox message 999999");
}

/// What a running worker reported: e-mails accepted, tries that failed, messages parked.
#[derive(Debug, Default)]
struct Tally {
    sent: std::sync::atomic::AtomicUsize,
    failed: std::sync::atomic::AtomicUsize,
    dead: std::sync::atomic::AtomicUsize,
}

impl motcua_worker::WorkerMetrics for Tally {
    fn email_sent(&self, _kind: &str, result: motcua_core::letters::EmailResult) {
        use motcua_core::letters::EmailResult;
        let n = match result {
            EmailResult::Sent => &self.sent,
            EmailResult::Failed => &self.failed,
            EmailResult::Dead => &self.dead,
        };
        n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn reminder_queued(&self, _: &motcua_core::AgencyCode) {}
    fn escalation_queued(&self, _: &motcua_core::AgencyCode) {}
    fn apology_issued(&self, _: &motcua_core::AgencyCode, _: motcua_core::letters::ApologyTimeliness) {}
    fn scheduler_tick(&self, _: std::time::Duration, _: chrono::DateTime<chrono::Utc>) {}
}

#[test]
fn a_running_worker_rides_out_a_thirty_hour_smtp_outage() {
    running_worker_outage(&Db::sqlite(), "sqlite");
}

#[test]
fn a_running_worker_rides_out_a_thirty_hour_smtp_outage_on_postgres() {
    if let Some(db) = Db::pg("running_outage") {
        running_worker_outage(&db, "postgresql");
    }
}

/// One worker process keeps running (its loop, its SMTP connections) on a clock the test moves
/// ten minutes at a time: the real SMTP server takes the first messages, is stopped for 30
/// simulated hours while more are queued, comes back answering 451 for twenty minutes, then
/// takes messages again. Nothing is parked, no try counts against a message, and the server
/// holds every message exactly once (Message-IDs counted across both of its lives).
fn running_worker_outage(db: &Db, backend: &str) {
    use motcua_store::{OutboxStatus, OutboxStore};
    use motcua_worker::{FixedNow, MailSettings, Mailer, Worker, WorkerConfig};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    let config = motcua::config::Config::load(&config_dir()).unwrap();
    let domain = Arc::new(config.domain().unwrap());
    let print = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut first = SmtpSink::start_on(port);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let store = rt.block_on(motcua_store::open(&db.url)).unwrap();
    let mut settings = MailSettings { backend: motcua_worker::config::Backend::Smtp, ..MailSettings::default() };
    settings.smtp.host = "127.0.0.1".into();
    settings.smtp.port = Some(port);
    settings.smtp.tls = motcua_worker::config::TlsMode::Plain;
    settings.smtp.timeout_seconds = 5;
    let mut wc = WorkerConfig::from_settings(&settings, &config.dir);
    wc.print_dir = print.path().to_path_buf();
    wc.tick_interval = Duration::from_millis(5);
    wc.owner = "outage-worker".into();
    // Longer than a step of the test's clock, so that no lease expires while a send is under
    // way (a lost lease is tested elsewhere).
    wc.lease = chrono::Duration::hours(1);
    let t0 = chrono::DateTime::parse_from_rfc3339("2025-03-03T09:00:00+07:00").unwrap().with_timezone(&chrono::Utc);
    let clock = Arc::new(FixedNow::new(t0));
    let tally = Arc::new(Tally::default());
    let worker = Worker::new(store.clone(), domain, Mailer::from_settings(&settings).unwrap(), clock.clone(), wc)
        .unwrap()
        .with_metrics(tally.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = rt.spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let rows = |status: OutboxStatus| rt.block_on(store.outbox(Some(status), 100_000)).unwrap();
    // Moves the clock to `t` and waits until the worker has dealt with every row due by then.
    let settle = |t: chrono::DateTime<chrono::Utc>| {
        clock.set(t);
        let started = Instant::now();
        while rows(OutboxStatus::Pending).iter().any(|m| m.next_attempt_at <= t) {
            assert!(!running.is_finished(), "the worker stopped");
            assert!(started.elapsed() < Duration::from_secs(60), "the worker did not deal with the rows due at {t}");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let step = chrono::Duration::minutes(10);

    // Up: the first messages go out at once.
    receipts(db, 6);
    settle(t0);
    assert_eq!((first.count(), rows(OutboxStatus::Sent).len()), (6, 6));

    // Down for 30 hours, messages queued at the start and every ten hours.
    first.stop();
    let outage_start = t0 + step;
    let outage_end = t0 + chrono::Duration::hours(30);
    let mut t = outage_start;
    let mut queued = 6;
    while t <= outage_end {
        if (t - outage_start).num_minutes() % 600 == 0 {
            clock.set(t);
            receipts(db, 4);
            queued += 4;
        }
        settle(t);
        assert!(rows(OutboxStatus::Dead).is_empty(), "nothing dies in the outage ({t})");
        t += step;
    }
    let pending = rows(OutboxStatus::Pending);
    assert_eq!(pending.len(), queued - 6);
    assert!(
        pending.iter().all(|m| m.attempts == 0
            && m.last_error.as_deref().is_some_and(|e| e.starts_with("mail server unreachable (no attempt counted)"))),
        "{pending:#?}"
    );
    let failed_in_outage = tally.failed.load(Ordering::SeqCst);

    // Back, but answering 451 ("try again later") for twenty minutes: not the message's fault.
    let outage = t - t0;
    let second = SmtpSink::start_deferring(port);
    second.defer(true);
    for _ in 0..2 {
        settle(t);
        t += step;
    }
    let pending = rows(OutboxStatus::Pending);
    assert_eq!(pending.len(), queued - 6);
    assert!(
        pending.iter().all(|m| m.attempts == 0
            && m.last_error
                .as_deref()
                .is_some_and(|e| e.contains("deferred the message (no attempt counted)") && e.contains("451"))),
        "{pending:#?}"
    );
    assert_eq!(second.count(), 0);

    // Taking messages again: everything arrives, once.
    second.defer(false);
    for _ in 0..2 {
        settle(t);
        t += step;
    }
    let sent = rows(OutboxStatus::Sent);
    assert_eq!(sent.len(), queued);
    assert!(rows(OutboxStatus::Pending).is_empty() && rows(OutboxStatus::Dead).is_empty());
    assert!(sent.iter().all(|m| m.attempts == 1 && m.last_error.is_none()), "{sent:#?}");
    let mut ids: Vec<String> = first
        .messages()
        .iter()
        .chain(second.messages().iter())
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect();
    let delivered = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((delivered, ids.len()), (queued, queued), "each message once at the server");
    let tries = tally.failed.load(Ordering::SeqCst);
    assert_eq!(tally.sent.load(Ordering::SeqCst), queued);
    assert_eq!(tally.dead.load(Ordering::SeqCst), 0);
    eprintln!(
        "figures ({backend}): server away {} simulated hours; messages queued {queued} ({} during the outage); \
         failed tries {failed_in_outage} while unreachable, {} while deferred; delivered {delivered}; \
         duplicates {}; dead 0",
        outage.num_minutes() as f64 / 60.0,
        queued - 6,
        tries - failed_in_outage,
        delivered - ids.len(),
    );
    let _ = stop.send(());
    rt.block_on(running).unwrap().unwrap();
    rt.block_on(store.close());
}
