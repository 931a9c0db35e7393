//! Personal data on both backends: which agencies received or held a dossier, the staff's
//! search by ID number or name within those agencies, and the append-only audit of reads of
//! personal data.

use chrono::Duration;
use motcua_core::{DossierCode, Event, EventKind};
use motcua_store::{DossierSearch, NewPersonalDataRead, Paged, StaffStore, Window};

use super::support::*;

fn ev(at: chrono::DateTime<chrono::Utc>, kind: EventKind) -> Event {
    Event::new(at, Some("officer".into()), kind)
}

fn codes(found: &Paged<motcua_store::DossierRow>) -> Vec<DossierCode> {
    found.rows.iter().map(|r| r.code.clone()).collect()
}

fn by_id(id: &str) -> DossierSearch {
    DossierSearch { id_number: Some(id.into()), ..DossierSearch::default() }
}

/// The first `n` found.
fn first(n: u32) -> Window {
    Window { offset: 0, limit: n }
}

/// The receiving agency and every transfer's recipient hold a dossier (a transfer not yet
/// accepted too); a search within agencies finds only their dossiers; every read is kept.
pub async fn personal_data_is_found_within_the_agencies_that_held_it<S: Backend + StaffStore>(s: S) {
    let d = domain();
    let t0 = at(2025, 3, 10, 9, 0);
    // At the centre, transferred to the department and accepted there.
    let a = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Nguyễn Văn An"), t0, None).await.unwrap().code.unwrap();
    s.record(&d, &a, ev(t0 + Duration::minutes(10), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
    s.record(&d, &a, ev(t0 + Duration::minutes(20), EventKind::Accepted)).await.unwrap();
    // The same citizen at the ward, never transferred.
    let b = s.intake(&d, new_dossier(WARD, WARD_PROC, "Nguyễn Văn An"), t0 + Duration::hours(1), None).await.unwrap();
    let b = b.code.unwrap();
    // Another citizen at the centre, sent to the department, not yet accepted.
    let mut other = new_dossier(CENTRE, CITY_PROC, "Trần Thị Bình");
    other.applicant.id_number = Some("048190000123".into());
    let c = s.intake(&d, other, t0 + Duration::hours(2), None).await.unwrap().code.unwrap();
    s.record(&d, &c, ev(t0 + Duration::hours(3), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();

    assert_eq!(s.agencies_that_held(&a).await.unwrap(), vec![ag(CENTRE), ag(DEPT)]);
    assert_eq!(s.agencies_that_held(&b).await.unwrap(), vec![ag(WARD)]);
    assert_eq!(s.agencies_that_held(&c).await.unwrap(), vec![ag(CENTRE), ag(DEPT)], "a pending transfer holds");
    let mut online = new_dossier(WARD, WARD_PROC, "Lê Văn Cường");
    (online.online, online.channel) = (true, motcua_core::Channel::Online);
    online.applicant.id_number = Some("048090009999".into());
    let online = s.intake(&d, online, t0 + Duration::hours(4), None).await.unwrap().code.unwrap();
    assert_eq!(s.agencies_that_held(&online).await.unwrap(), vec![ag(WARD)], "an online submission's desk");
    let unknown: DossierCode = "000.00.02.H17-250310-0999".parse().unwrap();
    assert!(s.agencies_that_held(&unknown).await.unwrap().is_empty());

    // The public lookup's read: the ID number by the code exactly as typed; a miss, a code in
    // another case, a malformed one (or an injection attempt) and a dossier without an ID
    // number all read nothing.
    assert_eq!(s.lookup_id_number(a.as_str()).await.unwrap().as_deref(), Some("048090001234"));
    assert_eq!(s.lookup_id_number(c.as_str()).await.unwrap().as_deref(), Some("048190000123"));
    assert_eq!(s.lookup_id_number(unknown.as_str()).await.unwrap(), None);
    assert_eq!(s.lookup_id_number(&a.as_str().to_lowercase()).await.unwrap(), None);
    assert_eq!(s.lookup_id_number(&format!(" {a}")).await.unwrap(), None);
    for typed in ["", "nonsense", "' OR '1'='1", "000.00.02.H17-250310-%"] {
        assert_eq!(s.lookup_id_number(typed).await.unwrap(), None, "{typed:?}");
    }
    let mut anonymous = new_dossier(WARD, WARD_PROC, "Đỗ Thị Em");
    anonymous.applicant.id_number = None;
    let anonymous = s.intake(&d, anonymous, t0 + Duration::hours(5), None).await.unwrap().code.unwrap();
    assert_eq!(s.lookup_id_number(anonymous.as_str()).await.unwrap(), None);

    // By ID number: city-wide both of the citizen's dossiers, newest change first; within an
    // agency only what it received or held.
    let id = "048090001234";
    assert_eq!(codes(&s.search_dossiers(&by_id(id), None, first(10)).await.unwrap()), vec![b.clone(), a.clone()]);
    assert_eq!(codes(&s.search_dossiers(&by_id(id), Some(&[ag(DEPT)]), first(10)).await.unwrap()), vec![a.clone()]);
    assert_eq!(codes(&s.search_dossiers(&by_id(id), Some(&[ag(WARD)]), first(10)).await.unwrap()), vec![b.clone()]);
    assert_eq!(codes(&s.search_dossiers(&by_id(id), Some(&[ag(CENTRE)]), first(10)).await.unwrap()), vec![a.clone()]);
    assert!(s.search_dossiers(&by_id(id), Some(&[]), first(10)).await.unwrap().rows.is_empty());
    assert!(s.search_dossiers(&by_id("048090001"), None, first(10)).await.unwrap().rows.is_empty(), "the whole number");
    assert_eq!(codes(&s.search_dossiers(&by_id(id), None, first(1)).await.unwrap()), vec![b.clone()], "the limit");
    // By part of the name; both terms must match.
    let name = |n: &str| DossierSearch { applicant: Some(n.into()), ..DossierSearch::default() };
    assert_eq!(
        codes(&s.search_dossiers(&name("Thị Bình"), Some(&[ag(DEPT)]), first(10)).await.unwrap()),
        vec![c.clone()]
    );
    assert!(s.search_dossiers(&name("Thị Bình"), Some(&[ag(WARD)]), first(10)).await.unwrap().rows.is_empty());
    assert!(s.search_dossiers(&name("50%"), None, first(10)).await.unwrap().rows.is_empty(), "no pattern characters");
    let both = DossierSearch { id_number: Some(id.into()), applicant: Some("Văn An".into()), ..Default::default() };
    assert_eq!(codes(&s.search_dossiers(&both, Some(&[ag(CENTRE)]), first(10)).await.unwrap()), vec![a.clone()]);
    let both = DossierSearch {
        id_number: Some("048190000123".into()),
        applicant: Some("Văn An".into()),
        ..Default::default()
    };
    assert!(s.search_dossiers(&both, None, first(10)).await.unwrap().rows.is_empty());
    assert!(s.search_dossiers(&DossierSearch::default(), None, first(10)).await.unwrap().rows.is_empty());

    // The audit of reads: newest first, paged by id, fields kept in order; append-only.
    let read = |code: &DossierCode, route: &str, fields: &[&str], minutes: i64| NewPersonalDataRead {
        staff: "chair".into(),
        code: code.clone().into(),
        route: route.into(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        at: t0 + Duration::minutes(minutes),
    };
    s.record_personal_data_reads(&[read(&a, "GET /api/v1/dossiers/{code}", &["name", "id_number", "phone"], 30)])
        .await
        .unwrap();
    s.record_personal_data_reads(&[read(&b, "GET /dossiers/{code}", &["name"], 40), read(&c, "search", &[], 41)])
        .await
        .unwrap();
    s.record_personal_data_reads(&[]).await.unwrap();
    let all = s.personal_data_reads(None, None, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter().map(|r| r.code.to_string()).collect::<Vec<_>>(),
        vec![c.to_string(), b.to_string(), a.to_string()]
    );
    assert_eq!(all[2].fields, vec!["name", "id_number", "phone"]);
    assert_eq!((all[2].staff.as_str(), all[2].route.as_str()), ("chair", "GET /api/v1/dossiers/{code}"));
    assert_eq!(all[2].read_at, t0 + Duration::minutes(30));
    assert!(all[0].fields.is_empty());
    let older = s.personal_data_reads(Some(all[1].id), None, 10).await.unwrap();
    assert_eq!(older.iter().map(|r| r.id).collect::<Vec<_>>(), vec![all[2].id]);
    assert_eq!(s.personal_data_reads(None, None, 1).await.unwrap().len(), 1);
    // An inspector's agencies see the reads of the dossiers they received or held, and only
    // those; no agency, none.
    let read_codes = |rows: Vec<motcua_store::PersonalDataRead>| {
        rows.into_iter().map(|r| r.code).collect::<Vec<motcua_store::ReadOf>>()
    };
    let dept = [ag(DEPT)];
    assert_eq!(
        read_codes(s.personal_data_reads(None, Some(&dept), 10).await.unwrap()),
        vec![c.clone().into(), a.clone().into()]
    );
    let ward = [ag(WARD)];
    assert_eq!(read_codes(s.personal_data_reads(None, Some(&ward), 10).await.unwrap()), vec![b.clone().into()]);
    assert!(s.personal_data_reads(None, Some(&[]), 10).await.unwrap().is_empty());
    let older = s.personal_data_reads(Some(all[0].id), Some(&dept), 10).await.unwrap();
    assert_eq!(read_codes(older), vec![motcua_store::ReadOf::from(a.clone())], "paged within the agencies too");

    // The event log likewise: the whole log, or the events of the agencies' dossiers.
    let log = s.audit(None, None, 1000).await.unwrap();
    assert_eq!(log.len() as u64, s.event_count().await.unwrap());
    let of_ward = s.audit(None, Some(&ward), 1000).await.unwrap();
    let mut ward_codes: Vec<String> = of_ward.iter().map(|r| r.code.clone()).collect();
    ward_codes.dedup();
    assert_eq!(ward_codes, vec![anonymous.to_string(), online.to_string(), b.to_string()], "newest first");
    let of_dept = s.audit(None, Some(&dept), 1000).await.unwrap();
    assert_eq!(of_dept.len(), 5, "a: intake, transfer, accept; c: intake, transfer");
    assert!(of_dept.iter().all(|r| r.code == a.as_str() || r.code == c.as_str()));
    assert!(of_dept.windows(2).all(|w| w[0].id > w[1].id));
    let before = s.audit(Some(of_dept[2].id), Some(&dept), 1000).await.unwrap();
    assert_eq!(before.iter().map(|r| r.id).collect::<Vec<_>>(), of_dept[3..].iter().map(|r| r.id).collect::<Vec<_>>());
    assert!(s.audit(None, Some(&[]), 1000).await.unwrap().is_empty());
    assert_eq!(s.audit(None, Some(&ward), 1).await.unwrap().len(), 1);

    assert!(s.raw("UPDATE personal_data_reads SET staff = 'nobody'").await.is_err());
    assert!(s.raw("DELETE FROM personal_data_reads").await.is_err());
    assert_eq!(s.personal_data_reads(None, None, 10).await.unwrap(), all);
}

/// An inspector's account keeps its role and its scope: the whole city with no agency, else
/// the agencies it was given. The schema takes no other role name.
pub async fn an_inspector_account_keeps_its_role_and_scope<S: Backend + StaffStore>(s: S) {
    use motcua_store::{NewStaff, Role};
    let t0 = at(2025, 3, 10, 9, 0);
    let new = |username: &str, agencies: Vec<motcua_core::AgencyCode>| NewStaff {
        username: username.into(),
        display_name: "Thanh tra".into(),
        role: Role::Inspector,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        agencies,
        at: t0,
    };
    let city = s.add_staff(new("thanhtra", vec![])).await.unwrap().unwrap();
    assert_eq!((city.role, city.agencies.len()), (Role::Inspector, 0));
    let scoped = s.add_staff(new("thanhtra.so", vec![ag(DEPT), ag(WARD)])).await.unwrap().unwrap();
    let (read, _) = s.staff_credentials("thanhtra.so").await.unwrap().unwrap();
    assert_eq!(read, scoped);
    assert_eq!(read.role, Role::Inspector);
    let mut agencies = read.agencies.clone();
    agencies.sort();
    let mut expected = vec![ag(DEPT), ag(WARD)];
    expected.sort();
    assert_eq!(agencies, expected);
    assert_eq!("inspector".parse::<Role>().unwrap(), Role::Inspector);
    assert!(s
        .raw("INSERT INTO staff (username, display_name, role, password_hash, disabled, created_at, password_changed_at) \
              VALUES ('x', 'x', 'nobody', 'h', 0, '2025-03-10T02:00:00.000000Z', '2025-03-10T02:00:00.000000Z')")
        .await
        .is_err());
    assert_eq!(s.staff_list().await.unwrap().len(), 2);
}
