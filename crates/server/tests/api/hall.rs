//! The reception hall through the API: a phone takes a number without login (limited per
//! client), the hall's event stream sends the full state then the call within a second, the
//! counter signs in, calls, finishes; the citizen follows the ticket and rates it once; issuing
//! outside office hours is refused; bookings (slots, limit, cancel, check-in, late); the report;
//! the pages. Also the authorization table's set-up for the hall's routes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use motcua_core::hall::{BookingRequest, HallCode, TicketChannel, TicketEvent, TicketEventKind};
use motcua_server::ServerConfig;
use motcua_store::{HallStore, NewTicket};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Role, TestApp, local};

async fn public_post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new().post(app.url(path)).json(&body).send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or_default())
}

async fn public_get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new().get(app.url(path)).send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or_default())
}

/// Reads server-sent events until one satisfies `want` (or the deadline).
async fn next_event(r: &mut reqwest::Response, buf: &mut String, want: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
            if let Ok(v) = serde_json::from_str::<Value>(&data)
                && want(&v)
            {
                return Some(v);
            }
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        let chunk = tokio::time::timeout(left, r.chunk()).await.ok()?.ok()??;
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_takes_a_number_and_sees_itself_called_over_sse() {
    let app = TestApp::spawn_with(ServerConfig { hall_issue_limits: Some((3, 100)), ..ServerConfig::default() }).await;
    let (s, v) = app.get(Role::Desk, "/api/v1/halls").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let hcc = v["halls"].as_array().unwrap().iter().find(|h| h["code"] == "HCC").unwrap().clone();
    assert_eq!(hcc["areas"][0]["letter"], "A");
    assert!(hcc["counters"].as_array().unwrap().len() >= 2);

    // The TV (or a phone) listens: the full state first.
    let mut sse = reqwest::Client::new().get(app.url("/api/v1/halls/HCC/events")).send().await.unwrap();
    assert_eq!(sse.status(), StatusCode::OK);
    assert!(sse.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut buf = String::new();
    let state = next_event(&mut sse, &mut buf, |v| v["type"] == "state").await.unwrap();
    assert_eq!(state["areas"][0]["waiting"], 0);

    // A phone takes a number without login; the fourth in an hour from one client is refused.
    let (s, t) = public_post(&app, "/api/v1/halls/HCC/take", json!({"area": "A"})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!((t["number"].as_str(), t["ahead"].as_u64()), (Some("A-001"), Some(0)));
    let id = t["id"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let (s, _) = public_post(&app, "/api/v1/halls/HCC/take", json!({"area": "B", "channel": "kiosk"})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, v) = public_post(&app, "/api/v1/halls/HCC/take", json!({"area": "A"})).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    let (s, _) = public_post(&app, "/api/v1/halls/NOPE/take", json!({"area": "A"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(next_event(&mut sse, &mut buf, |v| v["type"] == "issued").await.is_some());

    // The counter signs in and calls; a counter not signed in cannot; an agency officer cannot.
    let (s, v) = app.post(Role::Desk, "/api/v1/halls/HCC/counters/2/call", json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["detail"].as_str().is_some_and(|d| d.contains("is not signed in at counter 2")), "{v}");
    let (s, _) = app.post(Role::Agency, "/api/v1/halls/HCC/counters/1/sign-in", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app.post(Role::Desk, "/api/v1/halls/HCC/counters/1/sign-in", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sent = Instant::now();
    let (s, v) = app.post(Role::Desk, "/api/v1/halls/HCC/counters/1/call", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["called"]["number"], "A-001");
    assert_eq!(v["called"]["text"], "Mời số A-001 đến quầy 1");
    let called = next_event(&mut sse, &mut buf, |v| v["type"] == "called").await.unwrap();
    assert!(sent.elapsed() < Duration::from_secs(1), "the screen hears the call within a second");
    assert_eq!(called["text"], "Mời số A-001 đến quầy 1");
    assert_eq!(called["ticket"]["id"], id.as_str());
    assert!(called["ticket"].get("called_by").is_none(), "no officer's name on the public stream");
    let (s, v) = app.post(Role::Desk, "/api/v1/halls/HCC/counters/1/call", json!({})).await;
    assert_eq!((s, v["called"].clone(), v["message"].as_str()), (StatusCode::OK, Value::Null, Some("no one waiting")));

    // The phone sees itself called; the citizen rates the finished ticket once.
    let (s, p) = public_get(&app, &format!("/api/v1/halls/tickets/{id}/position")).await;
    assert_eq!(
        (s, p["status"].as_str(), p["text"].as_str()),
        (StatusCode::OK, Some("called"), Some("Mời số A-001 đến quầy 1"))
    );
    let (s, _) = public_post(&app, &format!("/api/v1/halls/tickets/{id}/rating"), json!({"rating": "satisfied"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "not finished yet");
    let (s, v) = app.post(Role::Desk, &format!("/api/v1/halls/tickets/{id}/finish"), json!({})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("done")), "{v}");
    let (s, _) = app.post(Role::Head, &format!("/api/v1/halls/tickets/{id}/start"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A dossier received from the ticket: the ticket's rating is its rating too.
    let dossier: motcua_core::DossierCode = "000.00.02.H17-250310-0001".parse().unwrap();
    let ticket_id: motcua_core::hall::TicketId = id.parse().unwrap();
    let link = TicketEvent::new(app.now(), None, TicketEventKind::Linked { dossier: dossier.clone() });
    app.store.record_ticket(&app.domain, &ticket_id, link, app.now()).await.unwrap();
    let (s, v) =
        public_post(&app, &format!("/api/v1/halls/tickets/{id}/rating"), json!({"rating": "very_satisfied"})).await;
    assert_eq!((s, v["rating"].as_str()), (StatusCode::OK, Some("very_satisfied")), "{v}");
    {
        use motcua_store::StaffStore as _;
        assert_eq!(app.store.rating(&dossier).await.unwrap().map(|r| r.score), Some(5));
    }
    let (s, v) =
        public_post(&app, &format!("/api/v1/halls/tickets/{id}/rating"), json!({"rating": "dissatisfied"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["type"], "https://motcua.example/problems/already-rated");

    // The queue, the ticket's log and the report.
    let (s, v) = app.get(Role::Head, "/api/v1/halls/HCC/queue").await;
    assert_eq!((s, v["tickets"].as_array().map(Vec::len)), (StatusCode::OK, Some(3)));
    let (s, v) = app.get(Role::Chair, &format!("/api/v1/halls/tickets/{id}")).await;
    assert_eq!((s, v["events"].as_array().map(Vec::len)), (StatusCode::OK, Some(5)), "{v}");
    let (s, v) = app.get(Role::Chair, "/api/v1/halls/HCC/report?by=channel").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.get(Role::Chair, "/api/v1/halls/HCC/report?by=area").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["total"]["issued"].as_u64(), v["total"]["served"].as_u64()), (Some(3), Some(1)));
    assert_eq!(v["total"]["by_channel"]["kiosk"], 2);
    assert_eq!(v["total"]["ratings"]["very_satisfied"], 1);
    let (c, _) = app.client(Role::Chair);
    let csv = c.get(app.url("/api/v1/halls/HCC/report?by=counter&format=csv")).send().await.unwrap();
    assert!(csv.text().await.unwrap().starts_with("key,issued,served"));

    // Outside office hours: refused, nothing issued.
    app.set_now(local("2025-03-10 12:00"));
    let (s, v) = public_post(&app, "/api/v1/halls/HCC/take", json!({"area": "C"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["type"], "https://motcua.example/problems/hall-closed");
    assert!(v["detail"].as_str().unwrap().contains("13:30"), "{v}");

    // The pages: TV, phone, kiosk, the poster's QR codes, the printable ticket, the script.
    for (path, needle) in [
        ("/sanh/HCC/tv", "data-page=\"tv\""),
        ("/sanh/HCC/lay-so", "data-area=\"A\""),
        ("/sanh/HCC/kiosk", "data-page=\"kiosk\""),
        ("/sanh/HCC/qr", "<svg"),
        ("/assets/hall.js", "speechSynthesis"),
    ] {
        let r = reqwest::Client::new().get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.text().await.unwrap().contains(needle), "{path}");
    }
    let page = reqwest::Client::new().get(app.url(&format!("/sanh/ve/{id}"))).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("A-001") && page.contains("Đã đánh giá: Rất hài lòng"), "{page}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_by_slot_cancel_and_check_in() {
    let app =
        TestApp::spawn_with(ServerConfig { hall_issue_limits: Some((100, 100)), ..ServerConfig::default() }).await;
    // Now: Mon 10/3/2025 09:00. Tomorrow's slots of area B: 2 places each.
    let (s, v) = public_get(&app, "/api/v1/halls/HCC/slots?day=2025-03-11&area=B").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let slots = v["slots"].as_array().unwrap();
    assert_eq!(slots[0]["slot"], "2025-03-11T07:30");
    assert_eq!((slots[0]["places"].as_u64(), slots[0]["left"].as_u64()), (Some(2), Some(2)));
    let book = |name: &str| json!({"area": "B", "slot": "2025-03-11T09:00", "name": name, "phone": "0905123456"});
    let (s, b1) = public_post(&app, "/api/v1/halls/HCC/bookings", book("Phạm Thị Hoa")).await;
    assert_eq!(s, StatusCode::CREATED, "{b1}");
    let code = b1["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    let (s, _) = public_post(&app, "/api/v1/halls/HCC/bookings", book("Lê Văn Hùng")).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = public_post(&app, "/api/v1/halls/HCC/bookings", book("Trần Văn Ba")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the slot is full: {v}");
    let (s, _) =
        public_post(&app, "/api/v1/halls/HCC/bookings", json!({"area": "B", "slot": "2025-03-15T09:00", "name": "X"}))
            .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a Saturday");
    let (_, v) = public_get(&app, "/api/v1/halls/HCC/slots?day=2025-03-11&area=B").await;
    let nine = v["slots"].as_array().unwrap().iter().find(|s| s["slot"] == "2025-03-11T09:00").unwrap().clone();
    assert_eq!(nine["left"], 0);
    // Cancel, then the place is free again.
    let (s, v) = public_post(&app, &format!("/api/v1/halls/bookings/{code}/cancel"), json!({})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    let (s, _) = public_post(&app, "/api/v1/halls/HCC/bookings", book("Trần Văn Ba")).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = public_post(&app, "/api/v1/halls/bookings/ZZZZZZZZ/check-in", json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The next day: 11 minutes late loses the slot; another citizen on time gets a ticket.
    let (_, b) = public_post(
        &app,
        "/api/v1/halls/HCC/bookings",
        json!({"area": "A", "slot": "2025-03-11T10:00", "name": "Đỗ Thị Tư"}),
    )
    .await;
    let late_code = b["code"].as_str().unwrap().to_string();
    let (_, b) = public_post(
        &app,
        "/api/v1/halls/HCC/bookings",
        json!({"area": "A", "slot": "2025-03-11T10:30", "name": "Võ Văn Năm"}),
    )
    .await;
    let on_time = b["code"].as_str().unwrap().to_string();
    app.set_now(local("2025-03-11 10:11"));
    let (s, v) = public_post(&app, &format!("/api/v1/halls/bookings/{late_code}/check-in"), json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["type"], "https://motcua.example/problems/booking-refused");
    let (s, t) = public_post(&app, &format!("/api/v1/halls/bookings/{on_time}/check-in"), json!({})).await;
    assert_eq!((s, t["number"].as_str()), (StatusCode::CREATED, Some("A-001")), "{t}");
    app.shutdown().await;
}

/// Posts one form of the desk's counter panel (with the session's CSRF token): the status,
/// the redirect's target and the page.
async fn panel_post(app: &TestApp, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let (c, csrf) = app.client(Role::Desk);
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("_csrf", csrf));
    let r = c.post(app.url("/counter")).form(&form).send().await.unwrap();
    let s = r.status();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (s, location, r.text().await.unwrap())
}

async fn queue_page(app: &TestApp, query: &str) -> String {
    let (c, _) = app.client(Role::Desk);
    c.get(app.url(&format!("/queue{query}"))).send().await.unwrap().text().await.unwrap()
}

/// The counter panel beside the desk's work queue: plain forms posted to `/counter`, each step
/// written through the hall's API calls. Sign in, "no one waiting", call, recall twice, no-show,
/// call, start, transfer (keeping the waiting start), finish, the intake form with the ticket
/// filled that links the dossier received, sign out; a refused step shows its reason in the
/// panel and writes nothing; no CSRF token, or an officer of no hall, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_panel_works_the_queue_through_the_halls_calls() {
    let app = TestApp::spawn().await;
    let hall: HallCode = "HCC".parse().unwrap();
    let day = app.now().date_naive();
    let page = queue_page(&app, "").await;
    assert!(page.contains("id=\"counter-sign-in\"") && page.contains("value=\"HCC/3\""), "{page}");
    let (c, _) = app.client(Role::Head);
    let head = c.get(app.url("/queue")).send().await.unwrap().text().await.unwrap();
    assert!(!head.contains("id=\"counter\""), "the panel is the desk's");

    // Without the CSRF token: refused, no one signed in.
    let (c, _) = app.client(Role::Desk);
    let r = c.post(app.url("/counter")).form(&[("step", "sign-in"), ("place", "HCC/1")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(app.store.counter_sessions(&hall).await.unwrap().is_empty());
    // Calling before signing in: the reason in the panel, nothing written.
    let (s, _, body) = panel_post(&app, &[("step", "call"), ("place", "HCC/1")]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("id=\"counter-error\">Trạng thái của số thứ tự không cho phép"), "{body}");
    assert!(app.store.counter_sessions(&hall).await.unwrap().is_empty());

    let (s, to, _) = panel_post(&app, &[("step", "sign-in"), ("place", "HCC/1")]).await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/queue#counter"));
    let sessions = app.store.counter_sessions(&hall).await.unwrap();
    assert_eq!(sessions.iter().map(|s| (s.counter, s.staff.as_str())).collect::<Vec<_>>(), [(1, "desk")]);

    // No one waiting: said clearly, nothing called.
    let (s, to, _) = panel_post(&app, &[("step", "call"), ("place", "HCC/1")]).await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/queue?counter_note=none#counter"));
    assert!(queue_page(&app, "?counter_note=none").await.contains("Không còn ai chờ."));

    let issue = |area: char| NewTicket { hall: hall.clone(), area, channel: TicketChannel::Qr, priority: None };
    let first = app.store.issue_ticket(&app.domain, issue('A'), app.now(), None, app.now()).await.unwrap();
    let second = app.store.issue_ticket(&app.domain, issue('A'), app.now(), None, app.now()).await.unwrap();
    panel_post(&app, &[("step", "call"), ("place", "HCC/1")]).await;
    let t = app.store.ticket(&first.id).await.unwrap().unwrap();
    assert_eq!((t.status.name(), t.counter, t.called_by.as_deref()), ("called", Some(1), Some("desk")));
    let page = queue_page(&app, "").await;
    assert!(page.contains("id=\"counter-ticket-number\">A-001<"), "{page}");
    assert!(!page.contains("id=\"counter-no-show\""), "no no-show before the hall's recalls");

    // Recalled twice (the hall's recalls), then a no-show.
    let id = first.id.to_string();
    let (s, _, body) = panel_post(&app, &[("step", "no-show"), ("ticket", &id)]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    for _ in 0..2 {
        let (s, _, body) = panel_post(&app, &[("step", "recall"), ("place", "HCC/1"), ("ticket", &id)]).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    }
    assert!(queue_page(&app, "").await.contains("id=\"counter-no-show\""));
    panel_post(&app, &[("step", "no-show"), ("ticket", &id)]).await;
    let t = app.store.ticket(&first.id).await.unwrap().unwrap();
    assert_eq!((t.status.name(), t.recalls), ("no_show", 2));

    // The next: started, transferred to area D at counter 3 (its waiting start kept), called
    // there by no one yet; then a third ticket served and finished.
    panel_post(&app, &[("step", "call"), ("place", "HCC/1")]).await;
    let id2 = second.id.to_string();
    panel_post(&app, &[("step", "start"), ("ticket", &id2)]).await;
    assert_eq!(app.store.ticket(&second.id).await.unwrap().unwrap().status.name(), "serving");
    let (s, _, _) =
        panel_post(&app, &[("step", "transfer"), ("ticket", &id2), ("area", "D"), ("to_counter", "3")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let t = app.store.ticket(&second.id).await.unwrap().unwrap();
    assert_eq!((t.status.name(), t.area, t.for_counter, t.transfers), ("waiting", 'D', Some(3), 1));
    assert_eq!(t.waiting_since, second.waiting_since, "a transfer keeps the waiting start");
    let third = app.store.issue_ticket(&app.domain, issue('A'), app.now(), None, app.now()).await.unwrap();
    panel_post(&app, &[("step", "call"), ("place", "HCC/1")]).await;
    let id3 = third.id.to_string();
    panel_post(&app, &[("step", "finish"), ("ticket", &id3)]).await;
    let t = app.store.ticket(&third.id).await.unwrap().unwrap();
    assert_eq!(t.status.name(), "done");
    assert_eq!(app.store.ticket_events(&third.id).await.unwrap().len(), 3, "issued, called, finished");

    // The last served ticket leads to the intake form with the ticket filled; the dossier
    // received is linked to it.
    let page = queue_page(&app, "").await;
    let href = format!("/intake?ticket={id3}&#38;agency=000.00.02.H17&#38;procedure=1.001193");
    assert!(page.contains(&href) && page.contains("id=\"counter-last-number\">A-003<"), "{page}");
    let (c, csrf) = app.client(Role::Desk);
    let form = c.get(app.url(&href.replace("&#38;", "&"))).send().await.unwrap().text().await.unwrap();
    assert!(form.contains(&format!("id=\"ticket\" name=\"ticket\" maxlength=\"40\" value=\"{id3}\"")), "{form}");
    let intake = |ticket: &str| {
        vec![
            ("_csrf", csrf.clone()),
            ("procedure", "1.001193".to_string()),
            ("agency", "000.00.02.H17".to_string()),
            ("applicant", "Trần Thị Bình".to_string()),
            ("ticket", ticket.to_string()),
        ]
    };
    let before = app.event_count().await;
    let r = c.post(app.url("/intake")).form(&intake(&id)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT, "a no-show's ticket");
    assert!(r.text().await.unwrap().contains("id=\"intake-error\""));
    assert_eq!(app.event_count().await, before, "refused: nothing received");
    let r = c.post(app.url("/intake")).form(&intake("A-003")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "by its number at the agency's hall");
    let receipt = r.headers()["location"].to_str().unwrap().to_string();
    let t = app.store.ticket(&third.id).await.unwrap().unwrap();
    assert_eq!(t.dossiers.len(), 1);
    assert_eq!(receipt, format!("/dossiers/{}/receipt", t.dossiers[0]));
    assert_eq!(app.store.day_tickets(&hall, day).await.unwrap().len(), 3);

    // An officer of an agency without a hall, and a desk officer of no hall's agency, get no
    // panel or are refused; signing out empties the counter.
    let (s, _, _) = panel_post(&app, &[("step", "sign-out"), ("place", "HCC/1")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(app.store.counter_sessions(&hall).await.unwrap().is_empty());
    let (c, csrf) = app.client(Role::Agency);
    let r = c.post(app.url("/counter")).form(&[("step", "sign-in"), ("place", "HCC/1"), ("_csrf", csrf)]).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::FORBIDDEN);
    assert!(app.store.counter_sessions(&hall).await.unwrap().is_empty());
    app.shutdown().await;
}

/// The counter's tablet page and what it reads: the counter's last finished ticket of the day
/// (no officer's name), none before one is finished, 404 for a counter the hall does not have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rating_tablet_reads_the_counters_last_finished_ticket() {
    let app = TestApp::spawn().await;
    let hall: HallCode = "HCC".parse().unwrap();
    let (s, v) = public_get(&app, "/api/v1/halls/HCC/counters/2/last-finished").await;
    assert_eq!((s, v["ticket"].clone()), (StatusCode::OK, Value::Null), "{v}");
    let (s, _) = public_get(&app, "/api/v1/halls/HCC/counters/99/last-finished").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let now = app.now();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let new = NewTicket { hall: hall.clone(), area: 'A', channel: TicketChannel::Kiosk, priority: None };
        let t = app.store.issue_ticket(&app.domain, new, now, None, now).await.unwrap();
        for kind in [TicketEventKind::Called { counter: 2 }, TicketEventKind::Finished] {
            app.store
                .record_ticket(&app.domain, &t.id, TicketEvent::new(now, Some("desk".into()), kind), now)
                .await
                .unwrap();
        }
        ids.push(t.id.to_string());
        app.set_now(now + chrono::Duration::minutes(5));
    }
    let (s, v) = public_get(&app, "/api/v1/halls/HCC/counters/2/last-finished").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((v["ticket"]["id"].as_str(), v["ticket"]["status"].as_str()), (Some(ids[1].as_str()), Some("done")));
    assert!(v["ticket"].get("called_by").is_none(), "{v}");
    let r = reqwest::Client::new().get(app.url("/sanh/HCC/quay/2/danh-gia")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("data-page=\"tablet\"") && page.contains("data-counter=\"2\""), "{page}");
    assert_eq!(page.matches("data-rating=").count(), 4, "{page}");
    let r = reqwest::Client::new().get(app.url("/sanh/HCC/quay/99/danh-gia")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// The authorization table's set-up

static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// A fresh slot of Mon 10/3/2025 for each booking the table makes (area A takes 4 a slot).
fn next_slot() -> String {
    let slots = ["09:30", "10:00", "10:30", "11:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"];
    let n = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) / 4;
    format!("2025-03-10T{}", slots[n % slots.len()])
}

/// Fills a hall route's placeholders with what the route needs: a ticket in the right state,
/// a fresh booking, the desk officer signed in at counter 1.
pub(crate) async fn authz_path(app: &TestApp, path: &str) -> String {
    let hall: HallCode = "HCC".parse().unwrap();
    let now = app.now();
    let mut path = path.replace("{hall}", "HCC").replace("{counter}", "1");
    if path.contains("/counters/1/call") || path.contains("/counters/1/sign-out") {
        app.store.sign_counter(&app.domain, &hall, 1, Some("desk"), now, now).await.unwrap();
    }
    if path.contains("{ticket}") {
        let new = NewTicket { hall: hall.clone(), area: 'A', channel: TicketChannel::Desk, priority: None };
        let t = app.store.issue_ticket(&app.domain, new, now, None, now).await.unwrap();
        let step = |kind| TicketEvent::new(now, Some("setup".into()), kind);
        let wants_called = path.ends_with("{step}") || path.ends_with("/rating");
        if wants_called {
            app.store
                .record_ticket(&app.domain, &t.id, step(TicketEventKind::Called { counter: 1 }), now)
                .await
                .unwrap();
        }
        if path.ends_with("/rating") {
            app.store.record_ticket(&app.domain, &t.id, step(TicketEventKind::Finished), now).await.unwrap();
        }
        path = path.replace("{ticket}", &t.id.to_string()).replace("{step}", "finish");
    }
    if path.contains("{booking}") {
        let slot = chrono::NaiveDateTime::parse_from_str(&next_slot(), "%Y-%m-%dT%H:%M").unwrap();
        let req = BookingRequest {
            code: motcua_server::hall::new_booking_code(),
            hall,
            area: 'A',
            slot,
            name: "Người đặt lịch".into(),
            phone: None,
            priority: None,
        };
        let b = app.store.book(&app.domain, req, now, now).await.unwrap();
        path = path.replace("{booking}", &b.code);
    }
    path
}

/// The body a hall route is posted with in the table.
pub(crate) fn authz_body(path: &str) -> Value {
    if path.ends_with("/bookings") {
        json!({"area": "A", "slot": next_slot(), "name": "Người đặt lịch"})
    } else if path.ends_with("/rating") {
        json!({"rating": "satisfied"})
    } else if path.ends_with("/take") || path.ends_with("/tickets") {
        json!({"area": "A"})
    } else {
        json!({})
    }
}

/// Five counters press "call" at the same moment, four times over: the calls are written
/// together, each ticket is called once, every counter gets one while tickets wait, and the
/// hall's order holds (its day's first priority ticket first).
#[tokio::test]
async fn counters_calling_at_once_each_get_their_own_ticket() {
    let app = TestApp::spawn().await;
    let hall: HallCode = "HCC".parse().unwrap();
    let today = motcua_core::calendar::to_local(app.now()).date();
    let counters: Vec<u16> = app
        .domain
        .halls
        .hall(&hall, today)
        .unwrap()
        .counters_on(today)
        .filter(|c| c.areas.contains(&'A'))
        .map(|c| c.number)
        .take(5)
        .collect();
    assert!(counters.len() >= 3, "HCC has counters for area A: {counters:?}");
    for i in 0..20 {
        let priority = (i == 7).then_some(motcua_core::hall::PriorityKind::Elderly);
        let new = NewTicket { hall: hall.clone(), area: 'A', channel: TicketChannel::Desk, priority };
        app.store.issue_ticket(&app.domain, new, app.now(), None, app.now()).await.unwrap();
    }
    let mut officers = Vec::new();
    for n in &counters {
        let name = format!("desk.q{n}");
        app.add_staff(&name, Role::Desk, vec![super::CENTRE.parse().unwrap()]).await;
        let (c, csrf) = app.login(&name, &super::password(Role::Desk)).await;
        let r = c
            .post(app.url(&format!("/api/v1/halls/HCC/counters/{n}/sign-in")))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        officers.push((*n, c, csrf));
    }
    let mut called = Vec::new();
    let mut first_round = Vec::new();
    for round in 0..4 {
        let calls = officers.iter().map(|(n, c, csrf)| {
            let req = c.post(app.url(&format!("/api/v1/halls/HCC/counters/{n}/call"))).header("x-csrf-token", csrf);
            async move {
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                let v: Value = r.json().await.unwrap();
                (v["called"]["number"].as_str().map(str::to_string), v["called"]["counter"].as_u64())
            }
        });
        for (number, counter) in futures_util::future::join_all(calls).await {
            let number = number.expect("twenty wait: every counter gets one");
            assert!(counter.is_some());
            if round == 0 {
                first_round.push(number.clone());
            }
            called.push(number);
        }
    }
    let distinct: std::collections::BTreeSet<&String> = called.iter().collect();
    assert_eq!(distinct.len(), called.len(), "no ticket called twice: {called:?}");
    assert_eq!(called.len(), 4 * counters.len());
    assert!(first_round.contains(&"A-008".to_string()), "the priority ticket goes in the first round: {first_round:?}");
    let day = app.store.day_tickets(&hall, today).await.unwrap();
    assert_eq!(day.iter().filter(|t| t.called_at.is_some()).count(), called.len());
}
