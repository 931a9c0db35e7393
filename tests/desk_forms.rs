//! The desk's forms that carry the scorecard's data, posted through the real server (`motcua
//! serve` on port 0, its clock on a working morning) by a desk officer's session, on SQLite and
//! PostgreSQL: the intake form's digitised papers, the acceptance's digitised papers, the
//! supplement request's reason code, the payment request's amount, the payment's method and
//! receipt, the result's electronic flag (through the confirmation page). Each event is read
//! back from the API's log of the dossier; each bad value answers the page with its error and
//! writes nothing.

use serde_json::Value;

use crate::desk::Db;
use crate::server::{Server, add_staff};
use crate::support::*;

const CENTRE: &str = "000.00.02.H17";
const TRAVEL_LICENCE: &str = "1.004628"; // fee 3,000,000 VND in config/catalog
const PASSWORD: &str = "mật-khẩu-dài";
const PAPER_0: &str = "Đơn đề nghị cấp giấy phép";
const PAPER_1: &str = "Bản sao Giấy chứng nhận đăng ký doanh nghiệp";

/// What a form post answered: status, `Location`, page.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

struct Desk<'a> {
    c: reqwest::Client,
    server: &'a Server,
    csrf: String,
}

impl Desk<'_> {
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &self.csrf));
        let r = self.c.post(self.server.url(path)).form(&form).send().await.unwrap();
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        Answer { status, location, body: r.text().await.unwrap() }
    }

    /// The dossier's log as the API gives it.
    async fn events(&self, code: &str) -> Vec<Value> {
        let r = self.c.get(self.server.url(&format!("/api/v1/dossiers/{code}/events"))).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().await.unwrap();
        v["events"].as_array().unwrap().clone()
    }

    /// A JSON request to the API with the session's CSRF header: status and body.
    async fn api(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.c.post(self.server.url(path)).header("x-csrf-token", &self.csrf).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        let problem = r.headers().get("content-type").is_some_and(|t| t == "application/problem+json");
        let v: Value = r.json().await.unwrap();
        assert_eq!(problem, status >= 400, "{status}: {v}");
        (status, v)
    }

    /// Posts an action form of the dossier page.
    async fn act(&self, code: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        self.post(&format!("/dossiers/{code}/{action}"), fields).await
    }

    /// A refused action: the dossier page again with the error (409), and the log unchanged.
    async fn refused(&self, code: &str, action: &str, fields: &[(&str, &str)], says: &str) {
        let before = self.events(code).await.len();
        let a = self.act(code, action, fields).await;
        assert_eq!(a.status, 409, "{action} {fields:?}: {}", a.body);
        let error = a.body.split("id=\"action-error\">").nth(1).unwrap_or_else(|| panic!("no error shown: {}", a.body));
        let error = error.split("</div>").next().unwrap();
        assert!(error.contains(says), "{action} {fields:?}: the page says {error:?}, not {says:?}");
        assert_eq!(self.events(code).await.len(), before, "{action} {fields:?} wrote nothing");
    }

    /// A written action: a redirect to the dossier page, and the log's new events.
    async fn written(&self, code: &str, action: &str, fields: &[(&str, &str)]) -> Vec<Value> {
        let before = self.events(code).await.len();
        let a = self.act(code, action, fields).await;
        assert_eq!((a.status, a.location.as_deref()), (303, Some(format!("/dossiers/{code}").as_str())), "{}", a.body);
        self.events(code).await.split_off(before)
    }
}

/// The hidden fields of the confirmation form, as the browser would post them again.
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    let form = page.split("id=\"confirm-form\"").nth(1).unwrap();
    form.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|s| {
            let name = s.split('"').next().unwrap().to_string();
            let value = s.split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
            (name, value)
        })
        .filter(|(n, _)| n != "_csrf")
        .collect()
}

fn desk_forms_write_the_scorecard_data(db: &Db) {
    add_staff(db, "desk.an", "desk", &[CENTRE], PASSWORD);
    let server = Server::start_with(db, &config_dir(), &["--clock-from", "2026-03-10T09:00:00+07:00", "--no-worker"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build();
        let c = c.unwrap();
        let login = serde_json::json!({"username": "desk.an", "password": PASSWORD});
        let session: Value =
            c.post(server.url("/api/v1/session")).json(&login).send().await.unwrap().json().await.unwrap();
        let desk = Desk { c, server: &server, csrf: session["csrf_token"].as_str().unwrap().to_string() };

        // The catalog's fee, on the API.
        let catalog: Value = desk.c.get(server.url("/api/v1/catalog")).send().await.unwrap().json().await.unwrap();
        let licence = catalog["procedures"].as_array().unwrap().iter().find(|p| p["code"] == TRAVEL_LICENCE).unwrap();
        assert_eq!(licence["fee"], serde_json::json!({"kind": "fixed", "vnd": 3_000_000}));

        // Intake: the checklist's rows, the first ticked as digitised.
        let rows = [
            ("procedure", TRAVEL_LICENCE),
            ("agency", CENTRE),
            ("applicant", "Trần Thị Bình"),
            ("channel", "in_person"),
            ("doc_name_0", PAPER_0),
            ("doc_copy_0", "original"),
            ("doc_count_0", "1"),
            ("doc_name_1", PAPER_1),
            ("doc_copy_1", "copy"),
            ("doc_count_1", "1"),
        ];
        let events_before = db.event_count();
        let both = [&rows[..], &[("doc_digitised_0", "on"), ("digitised_none", "on")]].concat();
        let a = desk.post("/intake", &both).await;
        assert_eq!(a.status, 422, "{}", a.body);
        assert!(a.body.contains("id=\"intake-error\">Đã đánh dấu giấy tờ số hóa"), "{}", a.body);
        assert_eq!(db.event_count(), events_before, "a refused intake writes nothing");

        let a = desk.post("/intake", &[&rows[..], &[("doc_digitised_0", "on")]].concat()).await;
        assert_eq!(a.status, 303, "{}", a.body);
        let location = a.location.unwrap();
        let code = location.strip_prefix("/dossiers/").unwrap().strip_suffix("/receipt").unwrap().to_string();
        let log = desk.events(&code).await;
        assert_eq!(log.len(), 1);
        assert_eq!((log[0]["type"].as_str(), log[0]["by"].as_str()), (Some("received"), Some("desk.an")));
        assert_eq!(log[0]["intake"]["digitised"], serde_json::json!([PAPER_0]));
        assert_eq!(log[0]["intake"]["documents"].as_array().map(Vec::len), Some(2));

        // The dossier page offers the checklist's papers at acceptance; the one digitised at
        // intake is shown ticked.
        let page = desk.c.get(server.url(&format!("/dossiers/{code}"))).send().await.unwrap().text().await.unwrap();
        let accept = page.split("id=\"action-accept\"").nth(1).unwrap().split("</form>").next().unwrap();
        assert!(accept.contains(&format!("name=\"digitised_1\" value=\"{PAPER_1}\">")), "{accept}");
        assert!(accept.contains(&format!("name=\"digitised_0\" value=\"{PAPER_0}\" checked disabled")), "{accept}");

        // Acceptance: a paper not in the checklist is refused; the second paper is recorded.
        desk.refused(&code, "accept", &[("digitised_0", "Sổ đỏ")], "“Sổ đỏ” không có trong danh mục giấy tờ").await;
        let new = desk.written(&code, "accept", &[("digitised_1", PAPER_1)]).await;
        let kinds: Vec<&str> = new.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["accepted", "digitised"]);
        assert_eq!(new[1]["documents"], serde_json::json!([PAPER_1]));
        assert_eq!(new[0]["at"], new[1]["at"], "the papers are digitised at the acceptance");

        // A supplement request's reason code.
        let reason = ("reason", "Thiếu giấy chứng nhận ký quỹ");
        desk.refused(&code, "request-supplement", &[reason, ("reason_code", "no_such_code")], "no_such_code").await;
        let new = desk.written(&code, "request-supplement", &[reason, ("reason_code", "citizen_incomplete")]).await;
        assert_eq!(
            (new[0]["type"].as_str(), new[0]["reason_code"].as_str()),
            (Some("supplement_requested"), Some("citizen_incomplete"))
        );
        desk.written(&code, "supplement", &[]).await;

        // The payment request's amount, then the payment's method and receipt.
        let page = desk.c.get(server.url(&format!("/dossiers/{code}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("<span id=\"catalog-fee\">3000000 VND</span>"), "the catalog's fee beside the amount");
        desk.refused(&code, "request-payment", &[("amount_vnd", "ba triệu")], "ba triệu").await;
        let new = desk.written(&code, "request-payment", &[("amount_vnd", "2500000")]).await;
        assert_eq!(
            (new[0]["type"].as_str(), new[0]["amount_vnd"].as_u64()),
            (Some("payment_requested"), Some(2_500_000))
        );
        desk.refused(&code, "paid", &[("method", "bitcoin")], "bitcoin").await;
        let new = desk.written(&code, "paid", &[("method", "bank_transfer"), ("receipt", "BL-2026-0042")]).await;
        assert_eq!(
            (new[0]["type"].as_str(), new[0]["method"].as_str(), new[0]["receipt"].as_str()),
            (Some("paid"), Some("bank_transfer"), Some("BL-2026-0042"))
        );

        // The result, issued electronically: a reason code on an approval is refused before the
        // confirmation; the confirmation page carries the flag and writes nothing itself.
        let before = desk.events(&code).await.len();
        desk.refused(
            &code,
            "resolve",
            &[("electronic", "on"), ("reason_code", "agency_workload")],
            "Chỉ ghi mã lý do khi từ chối",
        )
        .await;
        let a = desk.act(&code, "resolve", &[("electronic", "on")]).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.body.contains("id=\"confirm-form\""), "{}", a.body);
        assert_eq!(desk.events(&code).await.len(), before, "the confirmation page writes nothing");
        let again = hidden_fields(&a.body);
        assert!(again.contains(&("electronic".to_string(), "on".to_string())), "{again:?}");
        let again: Vec<(&str, &str)> = again.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let new = desk.written(&code, "resolve", &again).await;
        assert_eq!(
            (new[0]["type"].as_str(), new[0]["outcome"].as_str(), new[0]["electronic"].as_bool()),
            (Some("resolved"), Some("approved"), Some(true))
        );

        // The same on the API: at intake and at acceptance, a paper not in the checklist is a
        // 422 problem and nothing is written; the acceptance's papers follow it in the log.
        let intake = serde_json::json!({
            "procedure": TRAVEL_LICENCE, "agency": CENTRE, "applicant": "Lê Văn Cường",
            "documents": [{"name": PAPER_0}, {"name": PAPER_1, "copy": "copy"}],
        });
        let events_before = db.event_count();
        let mut stray = intake.clone();
        stray["digitised"] = serde_json::json!(["Sổ đỏ"]);
        let (s, v) = desk.api("/api/v1/dossiers", stray).await;
        assert_eq!((s, v["type"].as_str()), (422, Some("https://motcua.example/problems/invalid-input")), "{v}");
        assert!(v["detail"].as_str().unwrap().contains("Sổ đỏ"), "{v}");
        assert_eq!(db.event_count(), events_before);
        let mut none = intake.clone();
        none["digitised"] = serde_json::json!([]);
        let (s, v) = desk.api("/api/v1/dossiers", none).await;
        assert_eq!(s, 201, "{v}");
        let other = v["code"].as_str().unwrap().to_string();
        assert_eq!(desk.events(&other).await[0]["intake"]["digitised"], serde_json::json!([]), "[]: none digitised");
        let accept = format!("/api/v1/dossiers/{other}/accept");
        let (s, v) = desk.api(&accept, serde_json::json!({"digitised": [PAPER_0, "Sổ đỏ"]})).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(desk.events(&other).await.len(), 1, "neither the acceptance nor a paper written");
        let (s, v) = desk
            .api(
                &format!("/api/v1/dossiers/{other}/transfer"),
                serde_json::json!({"to": "000.00.12.H17", "digitised": [PAPER_0]}),
            )
            .await;
        assert_eq!(s, 422, "papers are digitised at acceptance, not with a transfer: {v}");
        let (s, v) = desk.api(&accept, serde_json::json!({"digitised": [PAPER_1, PAPER_0]})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!((v["event"]["kind"].as_str(), v["event"]["seq"].as_u64()), (Some("accepted"), Some(2)), "{v}");
        let log = desk.events(&other).await;
        let kinds: Vec<&str> = log.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["received", "accepted", "digitised"]);
        assert_eq!(log[2]["documents"], serde_json::json!([PAPER_1, PAPER_0]));

        // What the forms wrote is what the dossier says.
        let d: Value =
            desk.c.get(server.url(&format!("/api/v1/dossiers/{code}"))).send().await.unwrap().json().await.unwrap();
        assert_eq!(d["status"], 9, "{d}");
    });
}

#[test]
fn desk_forms_write_the_scorecard_data_on_sqlite() {
    desk_forms_write_the_scorecard_data(&Db::sqlite());
}

#[test]
fn desk_forms_write_the_scorecard_data_on_postgres() {
    if let Some(db) = Db::pg("desk_forms") {
        desk_forms_write_the_scorecard_data(&db);
    }
}
