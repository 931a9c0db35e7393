//! The staff store on both backends, beyond credentials: accounts (a taken name writes
//! nothing), web sessions (expiry, logout, purge, the end of a disabled account's), citizens'
//! ratings (once per dossier, counted per lead agency), the online submissions waiting at the
//! desk and the audit log of the event log.

use chrono::Duration;
use motcua_core::{Channel, Event, EventKind};
use motcua_store::{NewStaff, Rating, RatingCounts, Role};

use super::support::*;

fn staff(username: &str, role: Role, agencies: &[&str], at: chrono::DateTime<chrono::Utc>) -> NewStaff {
    NewStaff {
        username: username.into(),
        display_name: format!("Cán bộ {username}"),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        agencies: agencies.iter().map(|a| ag(a)).collect(),
        at,
    }
}

pub async fn accounts_sessions_ratings_and_the_audit_log<S: Backend>(s: S) {
    let t0 = at(2025, 3, 10, 9, 0);

    // Accounts: a taken username writes nothing; the list shows every account and its agencies.
    let an = s.add_staff(staff("an.nv", Role::Desk, &[CENTRE], t0)).await.unwrap().unwrap();
    assert!(s.add_staff(staff("an.nv", Role::Head, &[DEPT], t0)).await.unwrap().is_none(), "name taken");
    let binh = s.add_staff(staff("binh.tt", Role::Head, &[CENTRE, DEPT], t0)).await.unwrap().unwrap();
    let list = s.staff_list().await.unwrap();
    let names: Vec<_> = list.iter().map(|r| (r.username.as_str(), r.role, r.agencies.len())).collect();
    assert_eq!(names, [("an.nv", Role::Desk, 1), ("binh.tt", Role::Head, 2)]);
    assert!(list.iter().all(|r| !r.disabled && r.created_at == t0));

    // Sessions: live until they expire, ended by logout, purged once expired.
    let h = Duration::hours;
    s.create_session("sess-an", an.id, "csrf-an", t0, t0 + h(8)).await.unwrap();
    s.create_session("sess-short", an.id, "csrf-short", t0, t0 + Duration::minutes(30)).await.unwrap();
    s.create_session("sess-binh", binh.id, "csrf-binh", t0, t0 + h(8)).await.unwrap();
    let live = s.session("sess-an", t0 + h(1)).await.unwrap().unwrap();
    assert_eq!((live.staff.username.as_str(), live.csrf.as_str()), ("an.nv", "csrf-an"));
    assert_eq!(live.expires_at, t0 + h(8));
    assert!(s.session("sess-short", t0 + Duration::minutes(29)).await.unwrap().is_some());
    assert!(s.session("sess-short", t0 + h(1)).await.unwrap().is_none(), "expired");
    assert!(s.session("no-such-session", t0).await.unwrap().is_none());
    assert_eq!(s.purge_sessions(t0 + h(1)).await.unwrap(), 1, "the expired one only");
    assert_eq!(s.purge_sessions(t0 + h(1)).await.unwrap(), 0);
    s.delete_session("sess-an").await.unwrap();
    assert!(s.session("sess-an", t0 + h(1)).await.unwrap().is_none(), "logged out");

    // A disabled account's sessions end, and stay ended when it is enabled again.
    assert!(s.session("sess-binh", t0 + h(1)).await.unwrap().is_some());
    assert!(s.set_staff_disabled("binh.tt", true, t0 + h(2)).await.unwrap());
    assert!(s.session("sess-binh", t0 + h(2)).await.unwrap().is_none());
    assert!(s.staff_list().await.unwrap().iter().any(|r| r.username == "binh.tt" && r.disabled));
    assert!(s.set_staff_disabled("binh.tt", false, t0 + h(3)).await.unwrap());
    assert!(s.session("sess-binh", t0 + h(3)).await.unwrap().is_none());
    assert!(!s.set_staff_disabled("nobody", true, t0).await.unwrap());

    // The online submissions waiting at the desk: until accepted.
    let d = domain();
    let online = |name: &str| {
        let mut n = new_dossier(CENTRE, CITY_PROC, name);
        n.channel = Channel::Online;
        n.online = true;
        n
    };
    let waiting = s.intake(&d, online("Chờ tiếp nhận"), t0, None).await.unwrap().code.unwrap();
    let accepted = s.intake(&d, online("Đã tiếp nhận"), t0, None).await.unwrap().code.unwrap();
    let at_desk = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Tại quầy"), t0, None).await.unwrap().code.unwrap();
    s.record(&d, &accepted, Event::new(t0 + h(1), Some("an.nv".into()), EventKind::AcceptedOnline)).await.unwrap();
    let rows = s.registered_online(&[ag(CENTRE)], 10).await.unwrap();
    assert_eq!(rows.iter().map(|r| &r.code).collect::<Vec<_>>(), [&waiting]);
    assert!(s.registered_online(&[ag(WARD)], 10).await.unwrap().is_empty(), "another agency's desk");

    // Ratings: once per dossier; counted per lead agency over a period.
    let lead = s.dossier_row(&accepted).await.unwrap().unwrap().lead_agency;
    let five =
        Rating { code: accepted.clone(), score: 5, comment: Some("Nhanh, chu đáo".into()), rated_at: t0 + h(24) };
    assert!(s.rate(&five).await.unwrap());
    assert!(!s.rate(&Rating { score: 1, ..five.clone() }).await.unwrap(), "a dossier is rated once");
    assert_eq!(s.rating(&accepted).await.unwrap(), Some(five.clone()));
    let two = Rating { code: at_desk.clone(), score: 2, comment: None, rated_at: t0 + h(25) };
    assert!(s.rate(&two).await.unwrap());
    assert!(s.rating(&waiting).await.unwrap().is_none());
    let counts = s.rating_counts(t0, t0 + h(48)).await.unwrap();
    assert_eq!(counts, [(lead.clone(), RatingCounts { ratings: 2, score_sum: 7, satisfied: 1, dissatisfied: 1 })]);
    let first_day = s.rating_counts(t0, t0 + h(25)).await.unwrap();
    assert_eq!(first_day, [(lead, RatingCounts { ratings: 1, score_sum: 5, satisfied: 1, dissatisfied: 0 })]);

    // The audit log: the whole event log, newest first, a page at a time.
    let all = s.audit(None, None, 100).await.unwrap();
    assert_eq!(all.len(), 4, "{all:#?}");
    assert_eq!(
        (all[0].code.as_str(), all[0].kind.as_str(), all[0].by.as_deref()),
        (accepted.as_str(), "accepted_online", Some("an.nv"))
    );
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let older = s.audit(Some(all[1].id), None, 100).await.unwrap();
    assert_eq!(older, all[2..].to_vec());
    assert_eq!(s.audit(None, None, 1).await.unwrap(), all[..1].to_vec());
}
