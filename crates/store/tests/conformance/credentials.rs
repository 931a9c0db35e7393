//! Credentials on both backends: API tokens (expiry, last use, list, revoke), the end of every
//! session and token of an account whose password is reset or which is disabled, and the
//! wrong-password count and lock of an account name.

use chrono::{DateTime, Duration, Utc};
use motcua_store::{LoginFailures, NewStaff, NewToken, Role, StaffRow, StaffStore};

use super::support::*;

async fn account<S: StaffStore>(s: &S, username: &str, when: DateTime<Utc>) -> StaffRow {
    let new = NewStaff {
        username: username.into(),
        display_name: format!("Cán bộ {username}"),
        role: Role::Desk,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        agencies: vec![ag(CENTRE)],
        at: when,
    };
    s.add_staff(new).await.unwrap().unwrap()
}

async fn token<S: StaffStore>(s: &S, staff: &StaffRow, hash: &str, name: &str, when: DateTime<Utc>, days: i64) -> i64 {
    let new = NewToken {
        token_hash: hash.into(),
        staff_id: staff.id,
        name: name.into(),
        at: when,
        expires_at: when + Duration::days(days),
    };
    s.create_token(new).await.unwrap()
}

/// A token works until it expires or is revoked; the list shows every token of an account
/// (never a secret), newest first; an officer revokes only their own.
pub async fn tokens_expire_are_listed_and_revoked<S: StaffStore>(s: S) {
    let t0 = at(2025, 3, 10, 9, 0);
    let an = account(&s, "an.nv", t0).await;
    let binh = account(&s, "binh.tt", t0).await;
    let portal = token(&s, &an, "hash-portal", "portal", t0, 90).await;
    let short = token(&s, &an, "hash-short", "one day", t0, 1).await;
    let other = token(&s, &binh, "hash-binh", "binh", t0, 90).await;

    let used = s.token_staff("hash-portal", t0).await.unwrap().unwrap();
    assert_eq!((used.staff.username.as_str(), used.token_id, used.last_used_at), ("an.nv", portal, None));
    assert_eq!(used.expires_at, t0 + Duration::days(90));
    s.touch_token(portal, t0 + Duration::minutes(1)).await.unwrap();
    let used = s.token_staff("hash-portal", t0).await.unwrap().unwrap();
    assert_eq!(used.last_used_at, Some(t0 + Duration::minutes(1)));
    assert!(s.token_staff("unknown", t0).await.unwrap().is_none());

    // Expiry: live just before, refused at the instant.
    let day = t0 + Duration::days(1);
    assert!(s.token_staff("hash-short", day - Duration::seconds(1)).await.unwrap().is_some());
    assert!(s.token_staff("hash-short", day).await.unwrap().is_none());

    let mine = s.tokens(Some(an.id)).await.unwrap();
    assert_eq!(mine.iter().map(|t| t.id).collect::<Vec<_>>(), vec![short, portal], "newest first");
    assert_eq!(mine[1].name, "portal");
    assert_eq!(mine[1].last_used_at, Some(t0 + Duration::minutes(1)));
    assert_eq!((mine[0].state(t0), mine[0].state(day)), ("active", "expired"));
    assert_eq!(s.tokens(None).await.unwrap().len(), 3);

    // Another account's token is not found for this one, and stays live.
    let t1 = t0 + Duration::hours(1);
    assert_eq!(s.revoke_token(other, Some(an.id), t1).await.unwrap(), None);
    assert!(s.token_staff("hash-binh", t1).await.unwrap().is_some());
    assert_eq!(s.revoke_token(9_999, None, t1).await.unwrap(), None);
    // Revoking twice keeps the first instant.
    let revoked = s.revoke_token(portal, Some(an.id), t1).await.unwrap().unwrap();
    assert_eq!((revoked.revoked_at, revoked.state(t1)), (Some(t1), "revoked"));
    let again = s.revoke_token(portal, None, t1 + Duration::hours(1)).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(t1));
    assert!(s.token_staff("hash-portal", t1).await.unwrap().is_none());
    // An administrator (no owner given) revokes any account's.
    assert!(s.revoke_token(other, None, t1).await.unwrap().is_some());
    assert!(s.token_staff("hash-binh", t1).await.unwrap().is_none());
}

/// A password reset and a disable end every session and revoke every token of the account,
/// and of no other; enabling the account again brings none back.
pub async fn a_password_reset_or_a_disable_ends_every_credential<S: StaffStore>(s: S) {
    let t0 = at(2025, 3, 10, 9, 0);
    let an = account(&s, "an.nv", t0).await;
    let binh = account(&s, "binh.tt", t0).await;
    let old = token(&s, &an, "hash-old", "old", t0, 90).await;
    let t1 = t0 + Duration::hours(1);
    s.revoke_token(old, None, t1).await.unwrap().unwrap();
    token(&s, &an, "hash-a1", "a1", t0, 90).await;
    token(&s, &an, "hash-a2", "a2", t0, 90).await;
    token(&s, &binh, "hash-b", "b", t0, 90).await;
    let end = t0 + Duration::days(2);
    for (id, who) in [("sess-a1", &an), ("sess-a2", &an), ("sess-b", &binh)] {
        s.create_session(id, who.id, "csrf", t0, end).await.unwrap();
    }

    let t2 = t0 + Duration::hours(2);
    assert!(s.set_staff_password("an.nv", "$argon2id$new", t2).await.unwrap());
    for (hash, sess) in [("hash-a1", "sess-a1"), ("hash-a2", "sess-a2")] {
        assert!(s.token_staff(hash, t2).await.unwrap().is_none(), "{hash} revoked by the reset");
        assert!(s.session(sess, t2).await.unwrap().is_none(), "{sess} ended by the reset");
    }
    let listed = s.tokens(Some(an.id)).await.unwrap();
    let revoked: Vec<_> = listed.iter().map(|t| (t.name.as_str(), t.revoked_at)).collect();
    assert_eq!(revoked, vec![("a2", Some(t2)), ("a1", Some(t2)), ("old", Some(t1))], "an earlier revocation stays");
    assert!(s.token_staff("hash-b", t2).await.unwrap().is_some(), "another account's token is untouched");
    assert!(s.session("sess-b", t2).await.unwrap().is_some(), "another account's session is untouched");

    // A new token after the reset works, until the account is disabled.
    token(&s, &an, "hash-a3", "a3", t2, 90).await;
    assert!(s.token_staff("hash-a3", t2).await.unwrap().is_some());
    let t3 = t0 + Duration::hours(3);
    assert!(s.set_staff_disabled("an.nv", true, t3).await.unwrap());
    assert!(s.set_staff_disabled("an.nv", false, t3).await.unwrap());
    assert!(s.token_staff("hash-a3", t3).await.unwrap().is_none(), "enabling again brings no token back");
    assert_eq!(s.tokens(Some(an.id)).await.unwrap()[0].revoked_at, Some(t3));
    s.create_session("sess-a3", an.id, "csrf", t3, end).await.unwrap();
    assert!(s.set_staff_disabled("an.nv", true, t3).await.unwrap());
    assert!(s.session("sess-a3", t3).await.unwrap().is_none());

    // No such account: false, nothing written.
    assert!(!s.set_staff_password("nobody", "$argon2id$x", t3).await.unwrap());
    assert!(!s.set_staff_disabled("nobody", true, t3).await.unwrap());
    assert!(s.token_staff("hash-b", t3).await.unwrap().is_some());
}

/// Wrong passwords are counted per account name, atomically; the lock is set once, when the
/// count reaches the limit, and only clearing ends it.
pub async fn login_failures_are_counted_locked_and_cleared<S: StaffStore + Clone + 'static>(s: S) {
    let t0 = at(2025, 3, 10, 9, 0);
    assert_eq!(s.login_failures("an.nv").await.unwrap(), None);
    let mut last = None;
    for i in 1..=4u32 {
        let t = t0 + Duration::minutes(i64::from(i));
        let f = s.count_login_failure("an.nv", t, 3).await.unwrap();
        assert_eq!((f.failures, f.last_failure_at), (i, t));
        let locked_at = if i >= 3 { Some(t0 + Duration::minutes(3)) } else { None };
        assert_eq!(f.locked_at, locked_at, "failure {i}");
        last = Some(f);
    }
    assert_eq!(s.login_failures("an.nv").await.unwrap(), last);
    let once = s.count_login_failure("binh.tt", t0, 1).await.unwrap();
    assert_eq!(
        once,
        LoginFailures { account: "binh.tt".into(), failures: 1, last_failure_at: t0, locked_at: Some(t0) }
    );

    // Concurrent failures each count.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.count_login_failure("many", t0, 1_000).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.login_failures("many").await.unwrap().unwrap().failures, 20);

    assert!(s.clear_login_failures("an.nv").await.unwrap());
    assert!(!s.clear_login_failures("an.nv").await.unwrap());
    assert_eq!(s.login_failures("an.nv").await.unwrap(), None);
    assert!(s.login_failures("binh.tt").await.unwrap().is_some(), "other names keep their counts");
}
