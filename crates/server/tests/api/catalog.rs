//! The catalog across the 2025 reform: an intake at a ward that ceased on 30/6/2025 is refused
//! after that day (422, nothing written); the report counts history as it was or under today's
//! agencies (`as_successors=true`), narrowed to one agency in every grouping, and so does the
//! chair's scorecard; the pages offer only the agencies in force.

use super::*;

/// phường Thạch Thang (before 1/7/2025), succeeded by phường Hải Châu.
const OLD_WARD: &str = "000.01.21.H17";
const HAI_CHAU: &str = "000.00.41.H17";
const WARD_PROC: &str = "1.001022";

/// A report's or a scorecard's rows: each key with the count at `pointer` in its row.
fn keyed(v: &Value, pointer: &str) -> Vec<(String, u64)> {
    let rows = v["rows"].as_array().unwrap();
    rows.iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r.pointer(pointer).unwrap().as_u64().unwrap()))
        .collect()
}

fn ward_intake(agency: &str) -> Value {
    json!({"procedure": WARD_PROC, "agency": agency, "applicant": "Lê Văn Cường", "id_number": ID})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceased_ward_receives_nothing_and_its_history_reports_under_its_successor() {
    let ttl = std::time::Duration::from_secs(200 * 86400);
    let app = TestApp::spawn_with(ServerConfig { session_ttl: ttl, ..ServerConfig::default() }).await;
    app.add_staff("ban.mot.cua", Role::Desk, vec![OLD_WARD.parse().unwrap(), HAI_CHAU.parse().unwrap()]).await;
    let (c, csrf) = app.login("ban.mot.cua", &password(Role::Desk)).await;
    let intake = |body: Value| {
        let (c, csrf) = (c.clone(), csrf.clone());
        let url = app.url("/api/v1/dossiers");
        async move {
            let r = c.post(url).header("x-csrf-token", csrf).json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    app.set_now(local("2025-06-20 09:00"));
    let (s, v) = intake(ward_intake(OLD_WARD)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // After its last day: refused, with its successor named, and nothing written.
    app.set_now(local("2025-07-02 09:00"));
    let before = app.event_count().await;
    let (s, v) = intake(ward_intake(OLD_WARD)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    expect_problem(&v, "agency-not-in-force", 422);
    let detail = v["detail"].as_str().unwrap();
    assert!(detail.contains("ceased on 2025-06-30") && detail.contains(HAI_CHAU), "{detail}");
    assert_eq!(app.event_count().await, before);
    let (s, v) = intake(ward_intake(HAI_CHAU)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let keys = |v: &Value| keyed(v, "/received");
    let period = "from=2025-06-01&to=2025-07-31&as_of=2025-07-03T09:00:00%2B07:00";
    let (s, v) = app.report(Role::Chair, &format!("{period}&by=agency")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(keys(&v), vec![(HAI_CHAU.to_string(), 1), (OLD_WARD.to_string(), 1)]);
    assert_eq!(v["as_successors"], false);
    let (s, v) = app.report(Role::Chair, &format!("{period}&by=agency&as_successors=true")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(keys(&v), vec![(HAI_CHAU.to_string(), 2)]);
    assert_eq!((v["as_successors"].clone(), v["agencies_as_of"].clone()), (json!(true), json!("2025-07-03")));
    // The agency filter in the other groupings.
    let (_, v) = app.report(Role::Chair, &format!("{period}&by=procedure&agency={HAI_CHAU}")).await;
    assert_eq!(keys(&v), vec![(WARD_PROC.to_string(), 1)]);
    let (_, v) = app.report(Role::Chair, &format!("{period}&by=procedure&agency={HAI_CHAU}&as_successors=true")).await;
    assert_eq!(keys(&v), vec![(WARD_PROC.to_string(), 2)]);
    let (_, v) = app.report(Role::Chair, &format!("{period}&by=month&agency={OLD_WARD}")).await;
    assert_eq!(keys(&v), vec![("2025-06".to_string(), 1), ("2025-07".to_string(), 0)]);
    // A ceased agency is no filter of the successor view; a bad switch is refused.
    let (s, v) = app.report(Role::Chair, &format!("{period}&agency={OLD_WARD}&as_successors=true")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    expect_problem(&v, "invalid-input", 422);
    let (s, v) = app.report(Role::Chair, &format!("{period}&as_successors=maybe")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // The scorecard: the same switch, the same rows (2.1's population is the report's).
    let received = |v: &Value| keyed(v, "/on_time_2_1/denominator");
    let (s, v) = app.get(Role::Chair, &format!("/api/v1/scorecard?{period}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(received(&v), vec![(HAI_CHAU.to_string(), 1), (OLD_WARD.to_string(), 1)]);
    assert_eq!(v["as_successors"], false);
    let (s, v) = app.get(Role::Chair, &format!("/api/v1/scorecard?{period}&as_successors=true")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(received(&v), vec![(HAI_CHAU.to_string(), 2)]);
    assert_eq!((v["as_successors"].clone(), v["agencies_as_of"].clone()), (json!(true), json!("2025-07-03")));
    let (_, only) =
        app.get(Role::Chair, &format!("/api/v1/scorecard?{period}&as_successors=true&agency={HAI_CHAU}")).await;
    assert_eq!(only["total"], v["total"], "narrowed to the one agency every row is counted under");
    let (s, v) =
        app.get(Role::Chair, &format!("/api/v1/scorecard?{period}&as_successors=true&agency={OLD_WARD}")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.get(Role::Chair, &format!("/api/v1/scorecard?{period}&as_successors=perhaps")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // The pages: the report's toggle, and an intake form without the ceased ward.
    let (chair, _) = app.client(Role::Chair);
    let page =
        chair.get(app.url(&format!("/report?{period}&as_successors=true"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"name="as_successors" value="true" checked"#), "{page}");
    assert!(page.contains("as_successors=true"), "the CSV link keeps the view");
    assert!(!page.contains(&format!("<small>{OLD_WARD}</small>")), "no row of the ceased ward");
    let url = app.url(&format!("/scorecard?{period}&as_successors=true"));
    let card = chair.get(url).send().await.unwrap().text().await.unwrap();
    assert!(card.contains(r#"name="as_successors" value="true" checked"#), "{card}");
    assert!(card.contains(&format!(r#"data-key="{HAI_CHAU}""#)), "{card}");
    assert!(!card.contains(&format!(r#"data-key="{OLD_WARD}""#)), "no row of the ceased ward");
    let csv_link = card.lines().find(|l| l.contains(r#"id="csv""#)).unwrap_or_default();
    assert!(csv_link.contains("as_successors=true"), "the CSV link keeps the view: {csv_link}");
    let form = c.get(app.url("/intake")).send().await.unwrap().text().await.unwrap();
    assert!(form.contains(&format!("value=\"{HAI_CHAU}\"")), "{form}");
    assert!(!form.contains(&format!("value=\"{OLD_WARD}\"")), "the ceased ward is not offered");
    // Posted anyway (a stale form): refused in Vietnamese, its successor named, nothing written.
    let before = app.event_count().await;
    let csrf_field = csrf_of(&form);
    let r = c
        .post(app.url("/intake"))
        .form(&[
            ("_csrf", csrf_field.as_str()),
            ("procedure", WARD_PROC),
            ("agency", OLD_WARD),
            ("applicant", "Võ Thị Hoa"),
            ("id_number", ID),
            ("channel", "in_person"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("đã chấm dứt hoạt động") && page.contains("Ủy ban nhân dân phường Hải Châu"), "{page}");
    assert_eq!(app.event_count().await, before);
    app.shutdown().await;
}
