//! The desk's small things on the pages: the transfer form proposes the route's next step and
//! never the holder; irreversible actions ask for a confirmation first and write only once
//! confirmed; the citizen's rating has no default; letters to print are marked printed and
//! handed over, filtered by those marks, a page at a time with their count.

use motcua_core::DossierCode;
use motcua_server::Action;
use motcua_store::{DeskLetterStore, LetterFilter, Role, StaffStore, Store, Window};
use reqwest::StatusCode;
use serde_json::json;

use super::{CENTRE, ID, TOURISM, TestApp, action_body, csrf_of, expect_problem, password};

/// The `<select name="to">` of the dossier page's transfer form.
fn transfer_select(page: &str) -> &str {
    let form = &page[page.find("id=\"action-transfer\"").expect("a transfer form")..];
    let select = &form[form.find("<select name=\"to\"").unwrap()..];
    &select[..select.find("</select>").unwrap()]
}

/// The value of the option selected in a `<select>`.
fn selected(select: &str) -> Option<&str> {
    let i = select.find(" selected>")?;
    let opt = &select[..i];
    let v = &opt[opt.rfind("value=\"").unwrap() + 7..];
    Some(&v[..v.find('"').unwrap()])
}

async fn page_as(app: &TestApp, role: Role, path: &str) -> (StatusCode, String) {
    let (c, _) = app.client(role);
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn post_form(app: &TestApp, role: Role, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
    let (c, csrf) = app.client(role);
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("_csrf", csrf.as_str()));
    let r = c.post(app.url(path)).form(&fields).send().await.unwrap();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), location, r.text().await.unwrap())
}

async fn log_len(app: &TestApp, code: &str) -> usize {
    app.store.events(&code.parse::<DossierCode>().unwrap()).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transfer_form_proposes_the_routes_next_step_and_never_the_holder() {
    let app = TestApp::spawn().await;
    // 1.004628's route: the centre's desk → tourism (the lead) → the centre's desk.
    let (s, v) = app.intake(Role::Desk, super::intake_body(CENTRE)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let code = v["code"].as_str().unwrap().to_string();
    let (s, page) = page_as(&app, Role::Desk, &format!("/dossiers/{code}")).await;
    assert_eq!(s, StatusCode::OK);
    let select = transfer_select(&page);
    assert_eq!(selected(select), Some(TOURISM), "the route's next step is preselected: {select}");
    assert!(!select.contains(&format!("value=\"{CENTRE}\"")), "the holder is not offered: {select}");
    assert!(select.contains("value=\"\""), "an explicit choice is there too");

    // At tourism: the next step is back to the centre's desk, and tourism is not offered.
    assert_eq!(app.act(Role::Desk, &code, "transfer", json!({"to": TOURISM})).await.0, StatusCode::OK);
    assert_eq!(app.act(Role::Agency, &code, "accept", json!({})).await.0, StatusCode::OK);
    let page = page_as(&app, Role::Agency, &format!("/dossiers/{code}")).await.1;
    let select = transfer_select(&page);
    assert_eq!(selected(select), Some(CENTRE), "{select}");
    assert!(!select.contains(&format!("value=\"{TOURISM}\"")), "{select}");
    // Sending it to the agency that holds it is refused, and writes nothing.
    let before = log_len(&app, &code).await;
    let (s, v) = app.act(Role::Agency, &code, "transfer", json!({"to": TOURISM})).await;
    expect_problem(&v, "transfer-to-holder", 409);
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _, _) = post_form(&app, Role::Agency, &format!("/dossiers/{code}/transfer"), &[("to", TOURISM)]).await;
    assert_eq!(s, StatusCode::CONFLICT, "the page's form too");
    assert_eq!(log_len(&app, &code).await, before);

    // Back at the desk, the route has no step left: nothing is preselected but "choose".
    assert_eq!(app.act(Role::Agency, &code, "transfer", json!({"to": CENTRE})).await.0, StatusCode::OK);
    assert_eq!(app.act(Role::Desk, &code, "accept", json!({})).await.0, StatusCode::OK);
    let page = page_as(&app, Role::Desk, &format!("/dossiers/{code}?lang=en")).await.1;
    let select = transfer_select(&page);
    assert_eq!(selected(select), Some(""), "{select}");
    assert!(select.contains("Choose the receiving agency") && !select.contains(&format!("value=\"{CENTRE}\"")));
    // A transfer posted without a choice is refused with the page, nothing written.
    let before = log_len(&app, &code).await;
    let (s, _, html) = post_form(&app, Role::Desk, &format!("/dossiers/{code}/transfer"), &[("to", "")]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("id=\"action-error\""));
    assert_eq!(log_len(&app, &code).await, before);
    app.shutdown().await;
}

/// Resolve, stop, return, withdraw and refuse at receipt: the first post shows what will
/// happen and writes nothing; the confirmation posts the same fields with `confirm=1` and
/// writes; a refused first post is refused as the write would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irreversible_actions_ask_for_a_confirmation_and_write_only_once_confirmed() {
    let app = TestApp::spawn().await;
    for (action, role, consequence) in [
        (Action::Resolve, Role::Agency, "thời hạn dừng"),
        (Action::Stop, Role::Head, "Hồ sơ bị dừng xử lý"),
        (Action::Return, Role::Desk, "Kết quả được trao cho công dân"),
        (Action::Withdraw, Role::Desk, "Công dân rút hồ sơ"),
        (Action::RefuseOnline, Role::Desk, "bị từ chối tiếp nhận"),
    ] {
        let name = action.name();
        let code = app.dossier_for(action).await;
        let path = format!("/dossiers/{code}/{name}");
        let fields: Vec<(String, String)> = action_body(action)
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::Array(a) => a.iter().map(|i| i.as_str().unwrap()).collect::<Vec<_>>().join("\n"),
                    v => v.as_str().unwrap().to_string(),
                };
                (k.clone(), v)
            })
            .collect();
        let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let before = log_len(&app, &code).await;
        let page = page_as(&app, role, &format!("/dossiers/{code}")).await.1;
        assert!(page.contains(&format!("id=\"action-{name}\"")), "{name} offered");

        // The first post: a confirmation page, nothing written.
        let (s, _, html) = post_form(&app, role, &path, &form).await;
        assert_eq!(s, StatusCode::OK, "{name}: {html}");
        assert!(html.contains("id=\"confirm-form\"") && html.contains("Xác nhận"), "{name}: {html}");
        assert!(html.contains(&format!("id=\"confirm-code\">{code}<")), "{name}: the dossier's code");
        assert!(html.contains(consequence), "{name}: what will happen: {html}");
        assert!(html.contains("name=\"confirm\" value=\"1\""), "{name}");
        assert!(html.contains(&format!("action=\"{path}\"")), "{name}: posts back to the action");
        assert!(html.contains(&format!("href=\"/dossiers/{code}\" id=\"confirm-back\"")), "{name}: a way back");
        assert!(html.contains(&format!("name=\"_csrf\" value=\"{}\"", app.client(role).1)), "{name}: the token");
        for (k, v) in &fields {
            assert!(html.contains(&format!("name=\"{k}\" value=\"{v}\"")), "{name}: {k} posted again: {html}");
        }
        assert!(!html.contains("<script>") && !html.contains(" onclick="), "no inline script");
        assert_eq!(log_len(&app, &code).await, before, "{name}: the log is unchanged after the first post");

        // Without its token the confirmation is refused and writes nothing.
        let (c, _) = app.client(role);
        let mut bare: Vec<(&str, &str)> = form.clone();
        bare.push(("confirm", "1"));
        let r = c.post(app.url(&path)).form(&bare).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{name}");
        assert_eq!(log_len(&app, &code).await, before);

        // Confirmed: written, back to the dossier.
        let mut confirmed = form.clone();
        confirmed.push(("confirm", "1"));
        let (s, location, _) = post_form(&app, role, &path, &confirmed).await;
        assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, format!("/dossiers/{code}").as_str()), "{name}");
        assert_eq!(log_len(&app, &code).await, before + 1, "{name}: one event once confirmed");
    }

    // A first post the write would refuse is refused the same way, with no confirmation page.
    let code = app.dossier_for(Action::Stop).await;
    let before = log_len(&app, &code).await;
    let (s, _, _) = post_form(&app, Role::Chair, &format!("/dossiers/{code}/stop"), &[("reason", "x")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a chair changes nothing");
    let (s, _, html) = post_form(&app, Role::Head, &format!("/dossiers/{code}/stop"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT, "a stop needs its reason: {html}");
    assert!(html.contains("id=\"action-error\"") && !html.contains("confirm-form"));
    // The return of a dossier not yet resolved: refused before any confirmation.
    let (s, _, html) = post_form(&app, Role::Desk, &format!("/dossiers/{code}/return"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{html}");
    assert!(!html.contains("confirm-form"));
    assert_eq!(log_len(&app, &code).await, before);
    // The English page says it in English.
    let code = app.dossier_for(Action::Resolve).await;
    let (c, csrf) = app.client(Role::Agency);
    let r = c
        .post(app.url(&format!("/dossiers/{code}/resolve?lang=en")))
        .form(&[("_csrf", csrf.as_str()), ("refused", "on"), ("reason", "thiếu điều kiện")])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("REFUSAL") && html.contains(">Confirm: ") && html.contains(">Back<"), "{html}");
    assert!(html.contains("name=\"refused\" value=\"on\""));
    // Actions that can be undone or corrected need no confirmation.
    let code = app.dossier_for(Action::Accept).await;
    let (s, _, _) = post_form(&app, Role::Agency, &format!("/dossiers/{code}/accept"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    app.shutdown().await;
}

/// The rating form starts with no star chosen, and a rating sent without one is refused with
/// a message, nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rating_has_no_default_and_needs_a_choice() {
    let app = TestApp::spawn().await;
    let code = app.dossier_for(Action::Return).await;
    assert_eq!(app.act(Role::Desk, &code, "return", json!({})).await.0, StatusCode::OK);
    let p = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let form = p.get(app.url(&format!("/tra-cuu?ma={code}"))).send().await.unwrap().text().await.unwrap();
    let pc = csrf_of(&form);
    let r = p
        .post(app.url("/tra-cuu"))
        .form(&[("_csrf", pc.as_str()), ("code", code.as_str()), ("id_number", ID)])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    let rating = &html[html.find("id=\"rating-form\"").expect("the rating form")..];
    let rating = &rating[..rating.find("</form>").unwrap()];
    assert_eq!(rating.matches("type=\"radio\" name=\"score\"").count(), 5, "{rating}");
    assert!(!rating.contains("checked") && !rating.contains("selected"), "no star chosen: {rating}");
    assert!(rating.contains("required"), "the browser asks for a choice too");
    let parsed: DossierCode = code.parse().unwrap();
    for score in [None, Some(""), Some("0"), Some("6")] {
        let mut f = vec![("_csrf", pc.as_str()), ("code", code.as_str()), ("id_number", ID)];
        if let Some(s) = score {
            f.push(("score", s));
        }
        let r = p.post(app.url("/tra-cuu/danh-gia")).form(&f).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{score:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains("Xin chọn số sao (từ 1 đến 5)"), "{html}");
        assert!(html.contains("id=\"rating-form\""), "the form again");
        assert!(app.store.rating(&parsed).await.unwrap().is_none(), "nothing stored");
    }
    let r = p
        .post(app.url("/tra-cuu/danh-gia"))
        .form(&[("_csrf", pc.as_str()), ("code", code.as_str()), ("id_number", ID), ("score", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.store.rating(&parsed).await.unwrap().unwrap().score, 3);
    app.shutdown().await;
}

/// A letter for the centre's desk (a citizen with no e-mail address whose dossier was
/// rescheduled); its outbox id, the newest.
pub(super) async fn desk_letter(app: &TestApp) -> (String, i64) {
    let code = app.dossier_for(Action::Reschedule).await;
    let (s, v) = app.act(Role::Head, &code, "reschedule", action_body(Action::Reschedule)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let page = app.store.desk_letter_page(&[CENTRE.parse().unwrap()], LetterFilter::All, Window::page(1, 1)).await;
    let letter = page.unwrap().rows.remove(0);
    assert_eq!(letter.message.dossier_code.as_ref().map(ToString::to_string), Some(code.clone()));
    (code, letter.message.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn letters_to_print_are_marked_printed_then_handed_filtered_and_paged() {
    let app = TestApp::spawn().await;
    let (first, id1) = desk_letter(&app).await;
    let (second, id2) = desk_letter(&app).await;
    let (third, id3) = desk_letter(&app).await;
    let html = page_as(&app, Role::Desk, "/outbox").await.1;
    assert!(html.contains("1–3 trên 3"), "the count: {html}");
    assert!(html.contains(&format!("id=\"printed-{id1}\"")) && !html.contains(&format!("id=\"handed-{id1}\"")));

    // Handed over before printed: refused with the list, nothing written.
    let (s, _, html) = post_form(&app, Role::Desk, &format!("/outbox/{id1}/handed"), &[("back", "/outbox")]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(html.contains("id=\"mark-error\"") && html.contains("Phiếu phải được in trước khi trao"), "{html}");
    // Printed at 10:15 Vietnam time (03:15 UTC), shown at +07:00 with who.
    app.set_now(super::local("2025-03-10 10:15"));
    let (s, location, _) =
        post_form(&app, Role::Desk, &format!("/outbox/{id1}/printed"), &[("back", "/outbox?filter=not_printed")]).await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/outbox?filter=not_printed"));
    let letters = app.store.desk_letter_page(&[CENTRE.parse().unwrap()], LetterFilter::All, Window::page(1, 10)).await;
    let marked = letters.unwrap().rows.into_iter().find(|l| l.message.id == id1).unwrap();
    let printed = marked.printed.expect("the mark");
    assert_eq!((printed.by.as_str(), printed.at), ("desk", super::local("2025-03-10 10:15")));
    let html = page_as(&app, Role::Desk, "/outbox").await.1;
    assert!(html.contains("✓ desk, 10/03/2025 10:15"), "{html}");
    assert!(html.contains(&format!("id=\"handed-{id1}\"")), "now it can be handed over");
    // Twice: refused, the first mark kept.
    let (s, _, html) = post_form(&app, Role::Desk, &format!("/outbox/{id1}/printed"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(html.contains("Phiếu đã được đánh dấu như vậy. (desk, 10/03/2025 10:15)"), "{html}");
    app.set_now(super::local("2025-03-10 11:00"));
    let (s, _, _) = post_form(&app, Role::Desk, &format!("/outbox/{id1}/handed"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, _) = post_form(&app, Role::Desk, &format!("/outbox/{id2}/printed"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // The filters.
    let html = page_as(&app, Role::Desk, "/outbox?filter=not_printed").await.1;
    assert!(html.contains("1–1 trên 1") && html.contains(&third) && !html.contains(&second) && !html.contains(&first));
    assert!(html.contains("<option value=\"not_printed\" selected>"), "{html}");
    let html = page_as(&app, Role::Desk, "/outbox?filter=not_handed&lang=en").await.1;
    assert!(html.contains("1–2 of 2") && html.contains(&third) && html.contains(&second) && !html.contains(&first));
    assert_eq!(page_as(&app, Role::Desk, "/outbox?filter=nonsense").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    // Paged, with the count, links keeping the filter.
    let html = page_as(&app, Role::Desk, "/outbox?per_page=2&lang=vi").await.1;
    assert!(html.contains("1–2 trên 3") && html.contains("href=\"/outbox?page=2&#38;per_page=2\""), "{html}");
    assert!(html.contains(&third) && html.contains(&second) && !html.contains(&format!(">{first}<")));
    let html = page_as(&app, Role::Desk, "/outbox?page=2&per_page=2").await.1;
    assert!(html.contains("3–3 trên 3") && html.contains(&first), "{html}");
    let html = page_as(&app, Role::Desk, "/outbox?filter=not_handed&per_page=1").await.1;
    assert!(html.contains("href=\"/outbox?filter=not_handed&#38;page=2&#38;per_page=1\""), "{html}");

    // Who may mark: the desk at its own desks. Others are refused and nothing is written.
    let count = |app: &TestApp| {
        let s = app.store.clone();
        async move {
            let l = s.desk_letter_page(&[CENTRE.parse().unwrap()], LetterFilter::All, Window::page(1, 50)).await;
            l.unwrap()
                .rows
                .iter()
                .map(|l| usize::from(l.printed.is_some()) + usize::from(l.handed.is_some()))
                .sum::<usize>()
        }
    };
    let marks = count(&app).await;
    for role in [Role::Agency, Role::Head, Role::Chair, Role::Admin, Role::Inspector] {
        let (s, _, _) = post_form(&app, role, &format!("/outbox/{id3}/printed"), &[]).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}");
        let html = page_as(&app, role, "/outbox").await.1;
        assert!(!html.contains(&format!("id=\"printed-{id3}\"")), "{role} is offered no mark");
    }
    app.add_staff("desk.ward", Role::Desk, vec!["000.00.41.H17".parse().unwrap()]).await;
    let (c, csrf) = app.login("desk.ward", &password(Role::Desk)).await;
    let r = c.post(app.url(&format!("/outbox/{id3}/printed"))).form(&[("_csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "another desk's letter");
    let (c, _) = app.client(Role::Desk);
    let r = c.post(app.url(&format!("/outbox/{id3}/printed"))).form(&[("back", "/outbox")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "without its token");
    let (s, _, _) = post_form(&app, Role::Desk, "/outbox/999999/printed", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, location, _) =
        post_form(&app, Role::Desk, &format!("/outbox/{id3}/printed"), &[("back", "https://evil.example/")]).await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/outbox"), "back only to the list");
    assert_eq!(count(&app).await, marks + 1);
    app.shutdown().await;
}
