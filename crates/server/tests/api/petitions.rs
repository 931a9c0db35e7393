//! Petitions through the API: a citizen files a complaint about a dossier without logging in
//! (the code and ID number checked like the lookup's, rate limited like it), gets a receipt
//! code and the due date of the next step; the item is routed to the agency responsible; the
//! desk's queue of items shows it with its urgency; an officer accepts and answers it (a late
//! answer counted late); the lookup shows the answer; an inspector reads and changes nothing.

use chrono::Duration;
use motcua_server::{Action, ServerConfig};
use reqwest::StatusCode;
use serde_json::json;

use super::{ID, Role, TOURISM, TestApp};

async fn file_public(app: &TestApp, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
    let r = reqwest::Client::new().post(app.url("/api/v1/lookup/petitions")).json(&body).send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_files_a_complaint_and_reads_the_answer_on_the_lookup() {
    let mut app =
        TestApp::spawn_with(ServerConfig { lookup_burst: 6, lookup_per_minute: 1, ..ServerConfig::default() }).await;
    // A dossier held by tourism (received at the centre, transferred and accepted).
    let code = app.dossier_for(Action::Resolve).await;
    let before = app.event_count().await;
    let (s, v) = file_public(
        &app,
        json!({"code": code, "id_number": "000000000000", "kind": "complaint", "name": "An", "text": "Quá hạn"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(app.event_count().await, before, "a wrong ID number writes nothing");
    let (s, v) = file_public(
        &app,
        json!({"code": code, "id_number": ID, "kind": "complaint", "name": "Nguyễn Thị An", "text": "Hồ sơ quá hạn"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let item = v["code"].as_str().unwrap().to_string();
    assert!(item.starts_with("KN-"), "{item}");
    assert_eq!(v["next_step"], "decide");
    let due = v["next_due_at"].as_str().unwrap().to_string();
    // General filing needs an agency; an unknown kind is a 422.
    let (s, _) = file_public(&app, json!({"name": "B", "text": "Đường hỏng"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = file_public(&app, json!({"agency": TOURISM, "name": "B", "text": "Đường hỏng"})).await;
    assert_eq!((s, v["code"].as_str().map(|c| c.starts_with("PA-"))), (StatusCode::CREATED, Some(true)), "{v}");

    // Routed to the agency holding the lead step (tourism); in its queue with its urgency.
    let (s, list) = app.get(Role::Agency, "/api/v1/petitions?open=true").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let row = list["petitions"].as_array().unwrap().iter().find(|r| r["code"] == item.as_str()).unwrap().clone();
    assert_eq!((row["agency"].as_str(), row["urgency"].as_str()), (Some(TOURISM), Some("in_time")));
    assert_eq!(row["dossier_code"], code.as_str());

    // The inspector reads and changes nothing.
    let (s, _) = app.get(Role::Inspector, &format!("/api/v1/petitions/{item}")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.post(Role::Inspector, &format!("/api/v1/petitions/{item}/accept"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Accepted, then answered after its 30 days: late.
    let (s, v) = app.post(Role::Agency, &format!("/api/v1/petitions/{item}/accept"), json!({})).await;
    assert_eq!((s, v["next_step"].as_str()), (StatusCode::OK, Some("resolve")), "{v}");
    let resolve_due = v["next_due_at"].as_str().unwrap().to_string();
    assert_ne!(resolve_due, due);
    let (s, v) = app.post(Role::Agency, &format!("/api/v1/petitions/{item}/answer"), json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an answer needs its text: {v}");
    app.set_now(app.now() + Duration::days(40));
    app.relogin(Role::Agency).await;
    let (s, v) = app
        .post(
            Role::Agency,
            &format!("/api/v1/petitions/{item}/answer"),
            json!({"text": "Đã trả kết quả và xin lỗi công dân."}),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str(), v["resolve_late"].as_bool()),
        (StatusCode::OK, Some("answered"), Some(true)),
        "{v}"
    );
    let (s, v) = app.post(Role::Agency, &format!("/api/v1/petitions/{item}/answer"), json!({"text": "lần hai"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    // The lookup shows the item and its answer.
    let (s, v) = app.lookup(&code, ID).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let shown = &v["petitions"][0];
    assert_eq!(
        (shown["code"].as_str(), shown["answer"].as_str()),
        (Some(item.as_str()), Some("Đã trả kết quả và xin lỗi công dân."))
    );

    // Rate limited like the lookup: the burst is spent.
    let mut limited = false;
    for _ in 0..8 {
        let (s, _) = file_public(&app, json!({"agency": TOURISM, "name": "C", "text": "x"})).await;
        limited |= s == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "filing is rate limited");
    app.shutdown().await;
}

/// An inspector reads an item's personal data one item at a time, and each such read is in
/// the audit of reads (subject `petition`) before the data is shown; the inspector's list is
/// masked and records nothing; the officer of the item's own agency reads it unaudited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inspectors_reads_of_an_items_personal_data_are_audited() {
    let app = TestApp::spawn().await;
    let (s, v) = file_public(
        &app,
        json!({"agency": TOURISM, "name": "Hồ Thị Mai", "email": "mai.ho@example.vn", "phone": "0905111222", "text": "Hướng dẫn viên thu thêm phí"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let item = v["code"].as_str().unwrap().to_string();
    let reads = || async { super::personal_data_reads(&app).await };
    assert!(reads().await.is_empty());
    // The own agency: shown, not audited.
    let (s, v) = app.get(Role::Agency, &format!("/api/v1/petitions/{item}")).await;
    assert_eq!((s, v["item"]["applicant"]["name"].as_str()), (StatusCode::OK, Some("Hồ Thị Mai")), "{v}");
    assert_eq!(v["personal_data"], "shown");
    let (_, list) = app.get(Role::Agency, "/api/v1/petitions").await;
    assert_eq!(list["petitions"][0]["applicant_name"], "Hồ Thị Mai");
    assert!(reads().await.is_empty());
    // The inspector's list: masked, nothing recorded.
    let (s, list) = app.get(Role::Inspector, "/api/v1/petitions").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let row = &list["petitions"][0];
    assert_eq!((row["applicant_name"].as_str(), row["personal_data"].as_str()), (Some("***"), Some("masked")));
    assert!(row["applicant_email"].is_null() && row["applicant_phone"].is_null(), "{row}");
    assert!(reads().await.is_empty());
    // One item read whole: shown, and recorded first.
    let (s, v) = app.get(Role::Inspector, &format!("/api/v1/petitions/{item}")).await;
    assert_eq!((s, v["item"]["applicant"]["email"].as_str()), (StatusCode::OK, Some("mai.ho@example.vn")), "{v}");
    let r = reads().await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!((r[0]["code"].as_str(), r[0]["subject"].as_str()), (Some(item.as_str()), Some("petition")));
    assert_eq!(r[0]["route"], "GET /api/v1/petitions/{petition}");
    assert_eq!(r[0]["fields"], json!(["name", "phone", "email"]));
    // Its page too.
    let (s, page) = app.page(Role::Inspector, &format!("/petitions/{item}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Hồ Thị Mai"), "{page}");
    let r = reads().await;
    assert_eq!((r.len(), r[0]["route"].as_str()), (2, Some("GET /petitions/{petition}")));
}
