//! The desk's official papers through `motcua form`: the document checklist kept at intake
//! (SQLite and PostgreSQL), each form in the rule set of the dossier's receipt, and each form
//! with 8 documents printed by headless Chromium (`--print-to-pdf`) on exactly one A4 page.
//! With `MOTCUA_FORM_SCREENSHOTS=DIR` the test also writes each form's screenshot there (how
//! docs/forms/*.png are made).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::desk::Db;

const CENTRE: &str = "000.00.02.H17";
const TOURISM: &str = "000.00.12.H17";
const TRAVEL_LICENCE: &str = "1.004628"; // 10 working days, centre → department → centre

/// The pages of a PDF: its `/Type /Page` objects (not `/Type /Pages`, the page tree). Chromium
/// writes no object streams, so every page object is visible in the file as text.
pub fn pdf_page_count(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    let compact = b"/Type/Page";
    let count = |n: &[u8]| {
        pdf.windows(n.len())
            .enumerate()
            .filter(|(i, w)| *w == n && pdf.get(i + n.len()).is_none_or(|c| *c != b's'))
            .count()
    };
    count(needle) + count(compact)
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|n| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|d| d.join(n)).find(|p| p.is_file())
    })
}

fn headless(chromium: &Path, args: &[&str], html: &Path) {
    let out = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .args(args)
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Prints an HTML page to PDF with headless Chromium and counts its pages.
fn printed_pages(chromium: &Path, dir: &Path, name: &str, html: &str) -> usize {
    let page = dir.join(format!("{name}.html"));
    let pdf = dir.join(format!("{name}.pdf"));
    std::fs::write(&page, html).unwrap();
    headless(chromium, &["--no-pdf-header-footer", &format!("--print-to-pdf={}", pdf.display())], &page);
    pdf_page_count(&std::fs::read(&pdf).unwrap())
}

fn screenshot(chromium: &Path, dir: &Path, name: &str, html: &str, landscape: bool) {
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let size = if landscape { "--window-size=1180,860" } else { "--window-size=860,1200" };
    headless(
        chromium,
        &["--hide-scrollbars", size, &format!("--screenshot={}", dir.join(format!("{name}.png")).display())],
        &page,
    );
}

const DOCUMENTS: [&str; 8] = [
    "Đơn đề nghị cấp giấy phép kinh doanh dịch vụ lữ hành nội địa:original:1",
    "Bản sao Giấy chứng nhận đăng ký doanh nghiệp hoặc Giấy chứng nhận đăng ký đầu tư:copy:1",
    "Giấy chứng nhận ký quỹ kinh doanh dịch vụ lữ hành nội địa:original:1",
    "Bản sao có chứng thực quyết định bổ nhiệm hoặc hợp đồng lao động của người phụ trách:copy:2",
    "Bản sao có chứng thực văn bằng, chứng chỉ của người phụ trách kinh doanh:copy:2",
    "Căn cước công dân của người đại diện theo pháp luật:photocopy:1",
    "Văn bản ủy quyền cho người nộp hồ sơ (nếu có):original:1",
    "Danh sách hướng dẫn viên du lịch và thẻ hướng dẫn viên:photocopy:3",
];

fn write(db: &Db, args: &[&str]) {
    let run = db.run(args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
}

/// A dossier received with 8 documents at `at`, taken through transfer, a supplement request
/// of 8 papers, a new date and its return; its code.
fn full_dossier(db: &Db, at: &str, year: &str) -> String {
    let mut args: Vec<&str> = vec![
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Công ty TNHH Du lịch Biển Xanh Đà Nẵng (người đại diện: Nguyễn Thị Minh Châu)",
        "--phone",
        "0905123456",
        "--email",
        "bienxanh@example.vn",
        "--address",
        "135 đường Nguyễn Văn Linh, phường Thạc Gián, quận Thanh Khê, thành phố Đà Nẵng",
        "--id-number",
        "048190000123",
        "--at",
        at,
        "--by",
        "desk.an",
    ];
    for d in DOCUMENTS {
        args.extend(["--document", d]);
    }
    let v = db.ok(&args);
    let code = v["code"].as_str().unwrap().to_string();
    let t = |s: &str| format!("{year}-{s}");
    write(db, &["transfer", &code, "--to", TOURISM, "--at", &t("03-04T08:00:00+07:00"), "--by", "desk.an"]);
    write(db, &["accept", &code, "--at", &t("03-04T09:00:00+07:00"), "--by", "tour.binh"]);
    let mut supp = vec![
        "request-supplement".to_string(),
        code.clone(),
        "--reason".into(),
        "Hồ sơ thiếu giấy tờ chứng minh năng lực của người phụ trách kinh doanh lữ hành".into(),
        "--at".into(),
        t("03-05T10:00:00+07:00"),
        "--by".into(),
        "tour.binh".into(),
    ];
    for d in DOCUMENTS {
        supp.extend(["--document".to_string(), d.split(':').next().unwrap().to_string()]);
    }
    write(db, &supp.iter().map(String::as_str).collect::<Vec<_>>());
    write(db, &["supplement", &code, "--at", &t("03-06T09:00:00+07:00"), "--by", "desk.an"]);
    write(
        db,
        &[
            "reschedule",
            &code,
            "--to",
            &t("03-31"),
            "--reason",
            "Cần xác minh thêm thông tin ký quỹ với ngân hàng",
            "--at",
            &t("03-13T09:00:00+07:00"),
            "--by",
            "tour.binh",
        ],
    );
    write(db, &["transfer", &code, "--to", CENTRE, "--at", &t("03-20T09:00:00+07:00"), "--by", "tour.binh"]);
    write(db, &["accept", &code, "--at", &t("03-20T10:00:00+07:00"), "--by", "desk.an"]);
    write(db, &["resolve", &code, "--at", &t("03-20T11:00:00+07:00"), "--by", "desk.an"]);
    write(db, &["return", &code, "--at", &t("03-23T09:00:00+07:00"), "--by", "desk.an"]);
    code
}

/// An online submission refused at receipt; its code.
fn refused_dossier(db: &Db, at: &str, refused_at: &str) -> String {
    let v = db.ok(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Lê Văn Cường",
        "--channel",
        "online",
        "--address",
        "12 Lê Lợi, phường Hải Châu, thành phố Đà Nẵng",
        "--at",
        at,
    ]);
    let code = v["code"].as_str().unwrap().to_string();
    write(
        db,
        &[
            "refuse-online",
            &code,
            "--reason",
            "Thủ tục không thuộc thẩm quyền giải quyết của Trung tâm; đề nghị nộp tại Ủy ban nhân dân phường",
            "--at",
            refused_at,
            "--by",
            "desk.an",
        ],
    );
    code
}

fn form(db: &Db, args: &[&str]) -> String {
    let run = db.run(&[&["form"], args].concat());
    assert_eq!(run.code, 0, "form {args:?}: {}", run.stderr);
    run.stdout
}

fn intake_with_documents_round_trips(db: &Db) {
    let code = full_dossier(db, "2026-03-03T09:10:00+07:00", "2026");
    // The log keeps the checklist with the receipt event.
    let export = db.run(&["export", "--format", "jsonl"]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    let received = export.stdout.lines().find(|l| l.contains("\"received\"")).unwrap();
    assert!(received.contains(r#""documents":[{"name":"Đơn đề nghị cấp giấy phép kinh doanh dịch vụ lữ hành nội địa","copy":"original","count":1}"#), "{received}");
    // The receipt's columns show it: Bản chính / Bản sao / Bản photo.
    let text = form(db, &["receipt", &code]);
    assert!(text.contains("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"), "{text}");
    assert!(text.contains("Mẫu số 01, Thông tư số 03/2025/TT-VPCP"), "{text}");
    assert!(text.contains("| Danh sách hướng dẫn viên du lịch và thẻ hướng dẫn viên | | | 03"), "{text}");
    assert!(
        text.contains("| Bản sao Giấy chứng nhận đăng ký doanh nghiệp hoặc Giấy chứng nhận đăng ký đầu tư | | 01 |"),
        "{text}"
    );
    // The appointment reads as the closing time of the due day, never "sau 17:00".
    assert!(text.contains("Thời gian trả kết quả giải quyết hồ sơ: 17:00 giờ, ngày 17/03/2026"), "{text}");
    assert!(!text.contains("sau 17:00"), "{text}");
    // A bad checklist line is refused with exit 2 and writes nothing.
    let before = db.event_count();
    let bad = db.run(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "A",
        "--document",
        "Tờ khai:scan:1",
    ]);
    bad.assert_user_error("scan");
    assert_eq!(db.event_count(), before);
}

#[test]
fn intake_with_documents_round_trips_on_sqlite() {
    intake_with_documents_round_trips(&Db::sqlite());
}

#[test]
fn intake_with_documents_round_trips_on_postgres() {
    if let Some(db) = Db::pg("forms_intake_documents") {
        intake_with_documents_round_trips(&db);
    }
}

#[test]
fn each_form_follows_the_rule_set_of_its_receipt() {
    let db = Db::sqlite();
    let old = full_dossier(&db, "2025-03-03T09:10:00+07:00", "2025");
    let new = full_dossier(&db, "2026-03-03T09:10:00+07:00", "2026");
    let html = |kind: &str, code: &str| form(&db, &[kind, code, "--format", "html"]);
    let a_old = html("apology", &old);
    let a_new = html("apology", &new);
    assert!(
        a_old.contains("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ") && a_old.contains("Thông tư số 01/2018/TT-VPCP")
    );
    assert!(a_new.contains("VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT"), "{a_new}");
    assert!(a_new.contains("Mẫu số 04, Thông tư số 03/2025/TT-VPCP") && !a_new.contains("TT-VPCP/PXL"));
    // The number is core's, as `motcua letter` and the print queue print it (no "-1").
    assert!(a_new.contains(&format!("Số: {new}/PXL")), "{a_new}");
    assert!(!a_new.contains("-1/PXL"));
    let c_old = html("control", &old);
    let c_new = html("control", &new);
    assert!(c_old.contains("Mẫu số 05, Thông tư số 01/2018/TT-VPCP"));
    assert!(c_new.contains("Mẫu số 06, Thông tư số 03/2025/TT-VPCP"));
    // One row per handoff, the return to the citizen last (the result came back to the desk
    // with the second transfer, so no row of its own).
    let rows = c_new.matches("<tr><td class=\"c\">").count();
    let body = c_new.split("<tbody>").nth(1).unwrap_or_default();
    assert_eq!(rows, 3, "desk → tourism, tourism → desk, handed back: {body}");
    assert!(body.contains("Tổ chức, cá nhân: Công ty TNHH Du lịch Biển Xanh"), "{body}");
    assert!(c_new.contains("Sở Du lịch") && c_new.contains("04/03/2026 08:00") && c_new.contains("04/03/2026 09:00"));
    let s = html("supplement", &new);
    assert!(s.contains("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ") && s.contains("Mẫu số 02"));
    assert!(s.contains("Hồ sơ thiếu giấy tờ chứng minh năng lực"));
    let refused = refused_dossier(&db, "2026-03-03T08:00:00+07:00", "2026-03-03T10:00:00+07:00");
    let r = html("refusal", &refused);
    assert!(
        r.contains("PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ") && r.contains("Mẫu số 03, Thông tư số 03/2025/TT-VPCP")
    );
    assert!(r.contains("Thủ tục không thuộc thẩm quyền"));
    // A paper the dossier does not have is a user error.
    db.run(&["form", "refusal", &new]).assert_user_error("was not refused");
    db.run(&["form", "letter", &new]).assert_user_error("unknown form");
    // The book: CSV with a BOM for Excel, the 2025 numbering for a 2026 period.
    let csv = form(&db, &["book", "--from", "2026-03-01", "--to", "2026-03-31", "--agency", CENTRE]);
    assert!(csv.starts_with("\u{feff}STT,Mã hồ sơ,Tên thủ tục hành chính,"), "{csv}");
    // The refused online submission was never received: not in the book.
    assert_eq!(csv.lines().count(), 2, "header and the dossier received in March 2026: {csv}");
    assert!(!csv.contains(&refused));
    assert!(csv.contains(&new) && !csv.contains(&old));
    let book =
        form(&db, &["book", "--from", "2025-03-01", "--to", "2025-03-31", "--agency", CENTRE, "--format", "html"]);
    assert!(
        book.contains("SỔ THEO DÕI HỒ SƠ")
            && book.contains("Mẫu số 06, Thông tư số 01/2018/TT-VPCP")
            && book.contains(&old)
    );
    db.run(&["form", "book", "--from", "2026-03-31", "--to", "2026-03-01", "--agency", CENTRE])
        .assert_user_error("after");
}

#[test]
fn every_form_with_8_documents_prints_on_one_a4_page() {
    let Some(chromium) = chromium() else {
        eprintln!("every_form_with_8_documents_prints_on_one_a4_page: no chromium; skipped");
        return;
    };
    let db = Db::sqlite();
    let code = full_dossier(&db, "2026-03-03T09:10:00+07:00", "2026");
    let refused = refused_dossier(&db, "2026-03-03T08:00:00+07:00", "2026-03-03T10:00:00+07:00");
    let dir = tempfile::tempdir().unwrap();
    let shots = std::env::var_os("MOTCUA_FORM_SCREENSHOTS").map(PathBuf::from);
    for (kind, c) in
        [("receipt", &code), ("supplement", &code), ("refusal", &refused), ("apology", &code), ("control", &code)]
    {
        let html = form(&db, &[kind, c, "--format", "html"]);
        assert_eq!(printed_pages(&chromium, dir.path(), kind, &html), 1, "{kind} does not fit one page");
        if let Some(s) = &shots {
            screenshot(&chromium, s, kind, &html, false);
        }
    }
    let book = form(
        &db,
        &[
            "book",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--agency",
            CENTRE,
            "--format",
            "html",
            "--as-of",
            "2026-03-31T17:00:00+07:00",
        ],
    );
    assert_eq!(printed_pages(&chromium, dir.path(), "book", &book), 1);
    if let Some(s) = &shots {
        screenshot(&chromium, s, "book", &book, true);
    }
    // The check can fail: a receipt with 40 documents does not fit one page.
    let mut args: Vec<String> =
        ["intake", "--procedure", TRAVEL_LICENCE, "--agency", CENTRE, "--applicant", "Trần Thị Bình"]
            .iter()
            .map(ToString::to_string)
            .collect();
    for i in 0..40 {
        args.extend(["--document".to_string(), format!("Giấy tờ số {i}:original:1")]);
    }
    let long = db.ok(&args.iter().map(String::as_str).collect::<Vec<_>>())["code"].as_str().unwrap().to_string();
    let html = form(&db, &["receipt", &long, "--format", "html"]);
    assert!(printed_pages(&chromium, dir.path(), "long", &html) >= 2);
}

#[test]
fn pdf_page_count_counts_pages_not_the_page_tree() {
    let two = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n4 0 obj <</Type/Page/Parent 2 0 R>> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    assert_eq!(pdf_page_count(two), 2);
    let one = b"2 0 obj << /Type /Pages /Count 1 >> endobj 3 0 obj << /Type /Page >> endobj";
    assert_eq!(pdf_page_count(one), 1);
    assert_eq!(pdf_page_count(b"no pages"), 0);
}
