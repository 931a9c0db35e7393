//! The scorecard's data through the API: the payment gateway's integration account marks a
//! dossier paid with its token and may do nothing else; amounts, methods and reason codes are
//! checked (422, nothing written); the lookup shows a citizen-caused wait as the citizen's.

use motcua_server::Action;
use motcua_store::{Role, StaffStore, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{ID, TestApp, expect_problem};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_gateway_marks_paid_with_its_token_and_nothing_else() {
    let app = TestApp::spawn().await;
    app.add_staff("gateway", Role::Payment, vec![]).await;
    let (gateway, _) = app.store.staff_credentials("gateway").await.unwrap().unwrap();
    let token = motcua_server::mint_token(&app.store, gateway.id, "payment platform", None, app.now()).await.unwrap();
    let client = reqwest::Client::new();
    let bearer = format!("Bearer {}", token.secret);
    let code = app.dossier_for(Action::Paid).await;

    // Reads and other writes: 403, nothing written.
    let before = app.event_count().await;
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/v1/dossiers/{code}")),
        (reqwest::Method::GET, "/api/v1/queue".to_string()),
        (reqwest::Method::POST, format!("/api/v1/dossiers/{code}/resolve")),
        (reqwest::Method::POST, format!("/api/v1/dossiers/{code}/return")),
        (reqwest::Method::POST, "/api/v1/tokens".to_string()),
    ] {
        let r = client
            .request(method.clone(), app.url(&path))
            .header("authorization", &bearer)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    assert_eq!(app.event_count().await, before);
    // A bad method: 422, nothing written.
    let paid = |body: Value| {
        client.post(app.url(&format!("/api/v1/dossiers/{code}/paid"))).header("authorization", &bearer).json(&body)
    };
    let r = paid(json!({"method": "card"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    expect_problem(&r.json().await.unwrap(), "invalid-input", 422);
    assert_eq!(app.event_count().await, before);
    // The payment reported: recorded with its method and reference, by the gateway's account.
    let r = paid(json!({"method": "online", "receipt": "VNPAY-20250310-77"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    assert_eq!(app.event_count().await, before + 1);
    let (_, log) = app.events(Role::Chair, &code).await;
    let last = log["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["type"].as_str(), last["method"].as_str()), (Some("paid"), Some("online")), "{last}");
    assert_eq!((last["receipt"].as_str(), last["by"].as_str()), (Some("VNPAY-20250310-77"), Some("gateway")));
    let row = app.store.dossier_row(&code.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(row.payment_method, Some(motcua_core::PaymentMethod::Online));
    // Reported twice: the dossier no longer waits for a payment.
    let r = paid(json!({"method": "online"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_and_reason_codes_are_checked_and_the_lookup_shows_whose_wait_it_is() {
    let app = TestApp::spawn().await;
    let code = app.dossier_for(Action::RequestPayment).await;
    let before = app.event_count().await;
    for body in [json!({"amount_vnd": -5}), json!({"amount_vnd": 1.5}), json!({"amount_vnd": "năm nghìn"})] {
        let (s, v) = app.act(Role::Agency, &code, "request-payment", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    let (s, v) =
        app.act(Role::Agency, &code, "request-supplement", json!({"reason": "Thiếu", "reason_code": "bus_late"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("bus_late"), "{v}");
    assert_eq!(app.event_count().await, before, "refused requests wrote nothing");
    // The catalog's fee when no amount is given.
    let (s, v) = app.act(Role::Agency, &code, "request-payment", json!({"reason": "Phí thẩm định"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let row = app.store.dossier_row(&code.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(row.fee_vnd, Some(3_000_000));

    // A supplement asked for the citizen's missing papers: the lookup says the wait is theirs.
    let other = app.dossier_for(Action::RequestSupplement).await;
    let body = json!({"reason": "Thiếu bản sao", "documents": ["Bản sao"], "reason_code": "citizen_incomplete"});
    let (s, v) = app.act(Role::Agency, &other, "request-supplement", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/lookup"))
        .json(&json!({"code": other, "id_number": ID}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["delay"]["cause"], "citizen", "{v}");
    assert_eq!(v["delay"]["text"], "Chờ công dân bổ sung", "{v}");
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/lookup"))
        .json(&json!({"code": code, "id_number": ID}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(v["delay"].is_null(), "no reason code, no delay shown: {v}");
    app.shutdown().await;
}
