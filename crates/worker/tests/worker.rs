//! The worker driven step by step (no sleeping): the outbox rows a write implies, the
//! scheduler run twice over one instant, two workers at once, retries with backoff, dead rows
//! and their revival, and a lease taken over after its owner died. Every check runs on a fresh
//! SQLite file, and on a fresh PostgreSQL database when `MOTCUA_TEST_PG_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use motcua_core::calendar::from_local;
use motcua_core::{
    AgencyCode, Applicant, Calendar, CalendarData, Catalog, Channel, ClassifyMode, Domain, DossierCode, Event,
    EventKind, OfficeHours, Outcome, ProcedureCode,
};
use motcua_store::{AnyStore, NewDossier, OutboxStatus, OutboxStore, Store};
use motcua_worker::{FixedNow, MailSettings, Mailer, MemoryMailbox, Worker, WorkerConfig};

const CENTRE: &str = "000.00.02.H17";
const TOURISM: &str = "000.00.12.H17";
/// 10 working days; centre → tourism department (lead) → centre.
const LICENCE: &str = "1.004628";

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

fn domain() -> Domain {
    let dir = config_dir();
    let mut years = Vec::new();
    for entry in std::fs::read_dir(dir.join("calendars/vn")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            years.push(CalendarData::parse_year("", &std::fs::read_to_string(&path).unwrap()).unwrap());
        }
    }
    let calendar = Calendar::new(&CalendarData::new(years).unwrap(), OfficeHours::standard());
    let read = |n: &str| std::fs::read_to_string(dir.join("catalog").join(n)).unwrap();
    Domain::new(
        calendar,
        Catalog::from_toml(&read("agencies.toml"), &read("procedures.toml")).unwrap(),
        ClassifyMode::DateTime,
    )
}

fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    from_local(NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, 0).unwrap())
}

fn ag(s: &str) -> AgencyCode {
    s.parse().unwrap()
}

fn ev(at: DateTime<Utc>, kind: EventKind) -> Event {
    Event::new(at, Some("officer".into()), kind)
}

fn new_dossier(name: &str, email: Option<&str>, online: bool) -> NewDossier {
    NewDossier {
        procedure: ProcedureCode::from_str(LICENCE).unwrap(),
        agency: ag(CENTRE),
        applicant: Applicant {
            name: name.into(),
            email: email.map(|e| e.parse().unwrap()),
            phone: Some("0905123456".parse().unwrap()),
            id_number: None,
            address: Some("12 Lê Duẩn, Hải Châu, Đà Nẵng".into()),
        },
        channel: if online { Channel::Online } else { Channel::InPerson },
        online,
        documents: Vec::new(),
        digitised: None,
    }
}

/// A fresh store: SQLite in `dir`, or a new PostgreSQL database (dropped at the end).
struct Backend {
    store: AnyStore,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Backend {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = motcua_store::open(&format!("sqlite://{}", dir.path().join("m.db").display())).await.unwrap();
        Self { store, pg: None, _dir: dir }
    }

    async fn pg(test: &str) -> Option<Self> {
        use sqlx::{Connection, Executor};
        let Ok(base) = std::env::var("MOTCUA_TEST_PG_URL") else {
            eprintln!("{test}: MOTCUA_TEST_PG_URL is not set; PostgreSQL half skipped");
            return None;
        };
        let name = format!("motcua_worker_{test}_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.unwrap();
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        let i = base.rfind('/').unwrap();
        let url = format!("{}/{name}", &base[..i]);
        let store = motcua_store::open(&url).await.unwrap();
        Some(Self { store, pg: Some((base, name)), _dir: tempfile::tempdir().unwrap() })
    }

    async fn finish(self) {
        self.store.close().await;
        if let Some((base, name)) = self.pg {
            use sqlx::{Connection, Executor};
            let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
            admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.unwrap();
        }
    }
}

struct Setup {
    domain: Arc<Domain>,
    print: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        Self { domain: Arc::new(domain()), print: tempfile::tempdir().unwrap() }
    }

    fn worker(
        &self,
        store: &AnyStore,
        owner: &str,
        tweak: impl FnOnce(&mut WorkerConfig),
    ) -> (Worker<AnyStore>, MemoryMailbox) {
        let mut c = WorkerConfig::from_settings(&MailSettings::default(), &config_dir());
        c.owner = owner.into();
        c.print_dir = self.print.path().to_path_buf();
        c.from = "Bộ phận Một cửa <motcua@hcc.danang.example>".into();
        tweak(&mut c);
        let (mailer, mailbox) = Mailer::memory();
        let clock = Arc::new(FixedNow::new(at(2025, 1, 1, 0, 0)));
        (Worker::new(store.clone(), Arc::clone(&self.domain), mailer, clock, c).unwrap(), mailbox)
    }
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let b = super::Backend::sqlite().await;
                super::$name(&b.store).await;
                b.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(b) = super::Backend::pg(stringify!($name)).await else { return };
                super::$name(&b.store).await;
                b.finish().await;
            }
        }
    )*};
}

both!(
    an_event_and_the_messages_it_implies_are_written_together,
    the_scheduler_run_twice_over_one_instant_adds_nothing,
    failures_back_off_then_park_as_dead_until_revived,
    an_expired_lease_is_taken_over_and_the_late_owner_cannot_mark,
    shutdown_finishes_the_work_in_flight_and_leaves_no_lease,
    a_backdated_due_date_below_the_last_horizon_is_caught_by_the_next_full_pass,
    a_payload_that_is_not_a_letter_fails_with_the_reason,
    hostile_stored_names_neither_stop_the_batch_nor_reach_a_header_raw,
    reminders_go_out_as_one_daily_digest_per_address,
    notices_over_the_daily_cap_roll_into_the_next_digest,
);

async fn kinds(store: &AnyStore, code: &DossierCode) -> Vec<(String, String)> {
    store.outbox_for(code).await.unwrap().into_iter().map(|m| (m.kind, m.recipient)).collect()
}

async fn an_event_and_the_messages_it_implies_are_written_together(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    let x = store
        .intake(d, new_dossier("Nguyễn Thị Hoa", Some("hoa@example.vn"), true), at(2025, 3, 3, 8, 0), None)
        .await
        .unwrap();
    let code = x.code.unwrap();
    assert!(kinds(store, &code).await.is_empty(), "a registration implies nothing yet");
    // Refused by core: neither the event nor a message is written.
    let err = store.record(d, &code, ev(at(2025, 3, 3, 8, 30), EventKind::Accepted)).await.unwrap_err();
    assert!(err.is_rejected(), "{err}");
    assert!(kinds(store, &code).await.is_empty());
    store.record(d, &code, ev(at(2025, 3, 3, 9, 0), EventKind::AcceptedOnline)).await.unwrap();
    assert_eq!(kinds(store, &code).await, vec![("receipt".to_string(), "hoa@example.vn".to_string())]);
    // The same message again (a replayed write, a second worker) adds nothing.
    let row = store.outbox_for(&code).await.unwrap().remove(0);
    let again = motcua_store::NewMessage {
        dedupe_key: row.dedupe_key.clone(),
        kind: row.kind.clone(),
        dossier_code: Some(code.clone()),
        deadline_revision: row.deadline_revision,
        recipient: row.recipient.clone(),
        payload: row.payload.clone(),
        at: row.created_at,
    };
    assert!(store.enqueue(vec![again]).await.unwrap().is_empty());
    // Finished late with no apology: the result notice and the letter that goes with it.
    for e in [
        ev(at(2025, 3, 3, 9, 30), EventKind::Transferred { to: ag(TOURISM) }),
        ev(at(2025, 3, 3, 10, 0), EventKind::Accepted),
        ev(at(2025, 3, 18, 9, 0), EventKind::Transferred { to: ag(CENTRE) }),
        ev(at(2025, 3, 18, 9, 30), EventKind::Accepted),
        ev(
            at(2025, 3, 18, 10, 0),
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
        ),
    ] {
        store.record(d, &code, e).await.unwrap();
    }
    let k = kinds(store, &code).await;
    assert!(k.contains(&("result_ready".into(), "hoa@example.vn".into())), "{k:?}");
    assert!(k.contains(&("apology_with_result".into(), "hoa@example.vn".into())), "{k:?}");
    // A citizen with no e-mail: the apology is queued for printing at the receiving desk.
    let y = store.intake(d, new_dossier("Trần Văn Bình", None, false), at(2025, 3, 3, 8, 0), None).await.unwrap();
    let code2 = y.code.unwrap();
    store
        .record(
            d,
            &code2,
            ev(
                at(2025, 3, 4, 9, 0),
                EventKind::Rescheduled {
                    to: at(2025, 3, 25, 17, 0),
                    reason: "Cần xác minh thêm".into(),
                    responsible: None,
                    automatic: false,
                    override_second: false,
                    reason_code: None,
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(kinds(store, &code2).await, vec![("apology".to_string(), format!("desk:{CENTRE}"))]);
    let (w, mail) = s.worker(store, "w1", |_| {});
    let stats = w.run_pending_jobs(at(2025, 3, 18, 10, 0)).await.unwrap();
    assert_eq!((stats.sent, stats.printed, stats.retried), (3, 1, 0), "{stats:?}");
    assert_eq!(mail.sent().len(), 3);
    let printed: Vec<_> = std::fs::read_dir(s.print.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(printed.len(), 2, "text and HTML: {printed:?}");
    let txt = printed.iter().find(|p| p.extension().is_some_and(|e| e == "txt")).unwrap();
    let txt = std::fs::read_to_string(txt).unwrap();
    assert!(txt.contains("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ") && txt.contains("Trần Văn Bình"), "{txt}");
    assert!(txt.contains("Cần xác minh thêm") && txt.contains("Thứ Ba 25/03/2025 17:00"), "{txt}");
    assert!(w.run_pending_jobs(at(2025, 3, 18, 10, 0)).await.unwrap().claimed == 0);
}

async fn the_scheduler_run_twice_over_one_instant_adds_nothing(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    let mut codes = Vec::new();
    for i in 0..3 {
        let x = store
            .intake(
                d,
                new_dossier(&format!("Công dân {i}"), Some(&format!("c{i}@example.vn")), false),
                at(2025, 3, 3, 8, 0),
                None,
            )
            .await
            .unwrap();
        let code = x.code.unwrap();
        store.record(d, &code, ev(at(2025, 3, 3, 9, 0), EventKind::Transferred { to: ag(TOURISM) })).await.unwrap();
        store.record(d, &code, ev(at(2025, 3, 3, 9, 30), EventKind::Accepted)).await.unwrap();
        codes.push(code);
    }
    // Due Mon 17/03 08:00: in its last working day from Fri 14/03 08:00.
    let (w1, _) = s.worker(store, "w1", |_| {});
    let (w2, _) = s.worker(store, "w2", |_| {});
    let early = w1.tick(at(2025, 3, 14, 7, 59)).await.unwrap();
    assert_eq!(early.reminders, 0);
    let t = at(2025, 3, 14, 9, 0);
    let first = w1.tick(t).await.unwrap();
    assert_eq!(first.reminders, 6, "officers and head of the holder, for each of 3 dossiers: {first:?}");
    let k = kinds(store, &codes[0]).await;
    assert_eq!(
        k,
        vec![
            ("reminder".to_string(), "motcua@sodulich.danang.example".to_string()),
            ("reminder".to_string(), "giamdoc@sodulich.danang.example".to_string()),
        ]
    );
    let again = w1.tick(t).await.unwrap();
    assert_eq!(again, Default::default(), "a second run over the same instant adds nothing");
    assert_eq!(w2.tick(t).await.unwrap().reminders, 0, "nor does a second worker");
    // One dossier resolved in time, one rescheduled by its agency before the due date.
    store.record(d, &codes[1], ev(at(2025, 3, 14, 10, 0), EventKind::Transferred { to: ag(CENTRE) })).await.unwrap();
    store.record(d, &codes[1], ev(at(2025, 3, 14, 10, 30), EventKind::Accepted)).await.unwrap();
    store
        .record(
            d,
            &codes[1],
            ev(
                at(2025, 3, 14, 11, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        )
        .await
        .unwrap();
    store
        .record(
            d,
            &codes[2],
            ev(
                at(2025, 3, 14, 11, 0),
                EventKind::Rescheduled {
                    to: at(2025, 3, 21, 17, 0),
                    reason: "Chờ ý kiến liên ngành".into(),
                    responsible: None,
                    automatic: false,
                    override_second: false,
                    reason_code: None,
                },
            ),
        )
        .await
        .unwrap();
    // Past due: two workers tick the same instant at once; one automatic apology in all.
    let late = at(2025, 3, 17, 9, 0);
    let (a, b) = tokio::join!(w1.tick(late), w2.tick(late));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.apologies + b.apologies, 1, "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    let events = store.events(&codes[0]).await.unwrap();
    let resched: Vec<_> = events.iter().filter(|e| matches!(e.kind, EventKind::Rescheduled { .. })).collect();
    assert_eq!(resched.len(), 1);
    let EventKind::Rescheduled { automatic, responsible, to, .. } = &resched[0].kind else { unreachable!() };
    assert!(automatic);
    assert_eq!(responsible.as_ref(), Some(&ag(TOURISM)));
    assert!(*to > late);
    let k = kinds(store, &codes[0]).await;
    assert!(k.iter().any(|(kind, to)| kind == "apology" && to == "c0@example.vn"), "{k:?}");
    assert!(k.iter().any(|(kind, _)| kind == "escalation"), "{k:?}");
    let before = store.outbox(None, 1000).await.unwrap().len();
    assert_eq!(w1.tick(late).await.unwrap(), Default::default());
    assert_eq!(w2.tick(late + Duration::hours(1)).await.unwrap().apologies, 0);
    assert_eq!(store.outbox(None, 1000).await.unwrap().len(), before);
}

async fn failures_back_off_then_park_as_dead_until_revived(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    let x = store
        .intake(d, new_dossier("Lê Thị Cúc", Some("cuc@example.vn"), true), at(2025, 3, 3, 8, 0), None)
        .await
        .unwrap();
    let code = x.code.unwrap();
    store.record(d, &code, ev(at(2025, 3, 3, 9, 0), EventKind::AcceptedOnline)).await.unwrap();
    let (w, mail) = s.worker(store, "w1", |c| c.max_attempts = 3);
    let t0 = at(2025, 3, 3, 9, 0);
    mail.fail_next(2);
    let r = w.run_pending_jobs(t0).await.unwrap();
    assert_eq!((r.claimed, r.retried, r.sent), (1, 1, 0), "{r:?}");
    let row = store.outbox(None, 10).await.unwrap().remove(0);
    assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 1));
    assert_eq!(row.next_attempt_at, t0 + Duration::seconds(30));
    assert!(row.last_error.as_deref().unwrap().contains("550 rejected"));
    assert_eq!(w.run_pending_jobs(t0 + Duration::seconds(29)).await.unwrap().claimed, 0, "not before the backoff");
    let r = w.run_pending_jobs(t0 + Duration::seconds(30)).await.unwrap();
    assert_eq!(r.retried, 1);
    let row = store.outbox(None, 10).await.unwrap().remove(0);
    assert_eq!(row.next_attempt_at, t0 + Duration::seconds(90), "doubled");
    let r = w.run_pending_jobs(t0 + Duration::seconds(90)).await.unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(mail.sent().len(), 1, "delivered once");
    // A message that never goes through is parked after max_attempts, and can be revived.
    store.record(d, &code, ev(at(2025, 3, 3, 9, 30), EventKind::Transferred { to: ag(TOURISM) })).await.unwrap();
    store.record(d, &code, ev(at(2025, 3, 3, 10, 0), EventKind::Accepted)).await.unwrap();
    store.record(d, &code, ev(at(2025, 3, 4, 9, 0), EventKind::Transferred { to: ag(CENTRE) })).await.unwrap();
    store.record(d, &code, ev(at(2025, 3, 4, 9, 30), EventKind::Accepted)).await.unwrap();
    store
        .record(
            d,
            &code,
            ev(
                at(2025, 3, 4, 10, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        )
        .await
        .unwrap();
    mail.fail_next(100);
    let mut t = at(2025, 3, 4, 10, 0);
    let mut dead = 0;
    for _ in 0..10 {
        let r = w.run_pending_jobs(t).await.unwrap();
        dead += r.dead;
        t += Duration::hours(1);
    }
    assert_eq!(dead, 1);
    let parked = store.outbox(Some(OutboxStatus::Dead), 10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!((parked[0].kind.as_str(), parked[0].attempts), ("result_ready", 3));
    mail.fail_next(0);
    assert!(store.retry_message(parked[0].id, t).await.unwrap());
    assert_eq!(w.run_pending_jobs(t).await.unwrap().sent, 1);
    assert_eq!(mail.sent().len(), 2);
    assert!(!store.retry_message(parked[0].id, t).await.unwrap(), "a sent message is not revived");
}

async fn an_expired_lease_is_taken_over_and_the_late_owner_cannot_mark(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    for i in 0..5 {
        let x = store
            .intake(
                d,
                new_dossier(&format!("Công dân {i}"), Some(&format!("c{i}@example.vn")), true),
                at(2025, 3, 3, 8, 0),
                None,
            )
            .await
            .unwrap();
        store.record(d, &x.code.unwrap(), ev(at(2025, 3, 3, 9, 0), EventKind::AcceptedOnline)).await.unwrap();
    }
    let t0 = at(2025, 3, 3, 9, 0);
    // Worker A leases everything, then dies before marking anything.
    let taken = store.claim("worker-a", t0, t0 + Duration::minutes(5), 100).await.unwrap();
    assert_eq!(taken.len(), 5);
    let (b, mail) = s.worker(store, "worker-b", |_| {});
    assert_eq!(b.run_pending_jobs(t0 + Duration::minutes(4)).await.unwrap().claimed, 0, "A's lease still holds");
    let r = b.run_pending_jobs(t0 + Duration::minutes(5)).await.unwrap();
    assert_eq!((r.claimed, r.sent), (5, 5), "{r:?}");
    assert_eq!(mail.sent().len(), 5);
    let ids: Vec<i64> = taken.iter().map(|m| m.id).collect();
    assert!(store.mark_sent(&ids, "worker-a", t0 + Duration::minutes(6)).await.unwrap().is_empty());
    let late = motcua_store::outbox::Failure { error: "late", retry_at: None, counted: true };
    assert!(!store.mark_failed(ids[0], "worker-a", t0 + Duration::minutes(6), late).await.unwrap());
    // Message-IDs are the row's own: a resend would carry the same one.
    let mut idset: Vec<_> = mail.sent().into_iter().map(|m| m.message_id.unwrap()).collect();
    idset.sort();
    idset.dedup();
    assert_eq!(idset.len(), 5);
    assert!(idset.iter().all(|i| i.starts_with("<outbox-") && i.ends_with("@motcua.hcc.danang.example>")), "{idset:?}");
}

async fn shutdown_finishes_the_work_in_flight_and_leaves_no_lease(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    for i in 0..3 {
        let x = store
            .intake(
                d,
                new_dossier(&format!("Công dân {i}"), Some(&format!("c{i}@example.vn")), true),
                at(2025, 3, 3, 8, 0),
                None,
            )
            .await
            .unwrap();
        store.record(d, &x.code.unwrap(), ev(at(2025, 3, 3, 9, 0), EventKind::AcceptedOnline)).await.unwrap();
    }
    // The clock says 10:00; shutdown is asked for before the first pass even starts.
    let mut c = WorkerConfig::from_settings(&MailSettings::default(), &config_dir());
    c.print_dir = s.print.path().to_path_buf();
    let (mailer, mail) = Mailer::memory();
    let clock = Arc::new(FixedNow::new(at(2025, 3, 3, 10, 0)));
    let w = Worker::new(store.clone(), Arc::clone(&s.domain), mailer, clock, c).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tx.send(()).unwrap();
    w.run(async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    let rows = store.outbox(None, 10).await.unwrap();
    assert!(rows.iter().all(|m| m.locked_by.is_none()), "no row is left leased: {rows:?}");
    let sent = rows.iter().filter(|m| m.status == OutboxStatus::Sent).count();
    assert_eq!(sent, mail.sent().len(), "what was claimed was sent and marked");
}

async fn a_backdated_due_date_below_the_last_horizon_is_caught_by_the_next_full_pass(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    let open = |name: &'static str, received: DateTime<Utc>| async move {
        let x = store.intake(d, new_dossier(name, None, false), received, None).await.unwrap();
        let code = x.code.unwrap();
        store.record(d, &code, ev(received, EventKind::Transferred { to: ag(TOURISM) })).await.unwrap();
        store.record(d, &code, ev(received, EventKind::Accepted)).await.unwrap();
        code
    };
    let (w, _) = s.worker(store, "w1", |_| {});
    open("Một", at(2025, 3, 3, 8, 0)).await; // due Mon 17/03 08:00
    assert_eq!(w.tick(at(2025, 3, 14, 9, 0)).await.unwrap().reminders, 2);
    // The next tick reads only what entered the window since (horizon 17/03 09:00 → 09:05).
    open("Hai", at(2025, 3, 3, 9, 3)).await; // due 17/03 09:03
    // A paper dossier keyed in after the fact, due below the last horizon.
    open("Ba", at(2025, 3, 3, 8, 30)).await; // due 17/03 08:30
    assert_eq!(w.tick(at(2025, 3, 14, 9, 5)).await.unwrap().reminders, 2, "only the one that entered the window");
    // Within the hour the incremental passes do not see it; the hourly full pass does.
    assert_eq!(w.tick(at(2025, 3, 14, 9, 30)).await.unwrap().reminders, 0);
    assert_eq!(w.tick(at(2025, 3, 14, 10, 0)).await.unwrap().reminders, 2, "the full pass");
    assert_eq!(w.tick(at(2025, 3, 14, 10, 0)).await.unwrap().reminders, 0);
}

/// A row whose payload is not core's letter (an unknown timeliness, a missing field) is not
/// guessed at: it fails with the reason, and after max_attempts it is dead; the good row beside
/// it is sent.
async fn a_payload_that_is_not_a_letter_fails_with_the_reason(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    let x = store
        .intake(d, new_dossier("Phạm Văn Đức", Some("duc@example.vn"), false), at(2025, 3, 3, 8, 0), None)
        .await
        .unwrap();
    let code = x.code.unwrap();
    let reschedule = EventKind::Rescheduled {
        to: at(2025, 3, 25, 17, 0),
        reason: "Cần xác minh thêm".into(),
        responsible: None,
        automatic: false,
        override_second: false,
        reason_code: None,
    };
    store.record(d, &code, ev(at(2025, 3, 4, 9, 0), reschedule)).await.unwrap();
    let row = store.outbox_for(&code).await.unwrap().remove(0);
    assert_eq!(row.kind, "apology");
    let mut unknown: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
    unknown["apology"]["timeliness"] = serde_json::json!("someday");
    let bad = |suffix: &str, payload: String| motcua_store::NewMessage {
        dedupe_key: format!("{}:{suffix}", row.dedupe_key),
        kind: row.kind.clone(),
        dossier_code: Some(code.clone()),
        deadline_revision: row.deadline_revision,
        recipient: row.recipient.clone(),
        payload,
        at: row.created_at,
    };
    let rows = vec![bad("unknown", unknown.to_string()), bad("empty", "{}".into())];
    assert_eq!(store.enqueue(rows).await.unwrap().len(), 2);
    let (w, mail) = s.worker(store, "w1", |c| c.max_attempts = 1);
    let r = w.run_pending_jobs(at(2025, 3, 4, 9, 0)).await.unwrap();
    assert_eq!((r.claimed, r.sent, r.dead, r.retried), (3, 1, 2, 0), "{r:?}");
    assert_eq!(mail.sent().len(), 1, "only the letter is sent");
    let dead = store.outbox(Some(OutboxStatus::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 2);
    for m in &dead {
        let error = m.last_error.as_deref().unwrap();
        assert!(error.contains("the payload is not a letter"), "{error}");
        if m.dedupe_key.ends_with(":unknown") {
            assert!(error.contains("someday"), "{error}");
        }
    }
}

/// Names stored before intake checked them (or by an old import) can hold line breaks and
/// escapes: each letter still goes out, the name is flattened in the `To` header, no header is
/// injected, and the innocent letter of the same batch is delivered.
async fn hostile_stored_names_neither_stop_the_batch_nor_reach_a_header_raw(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    let people = [
        ("X\nY", "x@example.vn"),
        ("A\r\nB", "b@example.vn"),
        ("Bcc: victim@example.vn\r\nSubject: won", "v@example.vn"),
        ("\u{1b}[31mĐỏ\u{1b}[0m", "red@example.vn"),
        ("Lê Văn Chính", "chinh@example.vn"),
    ];
    for (name, email) in people {
        let x = store.intake(d, new_dossier(name, Some(email), false), at(2025, 3, 3, 8, 0), None).await.unwrap();
        let reschedule = EventKind::Rescheduled {
            to: at(2025, 3, 25, 17, 0),
            reason: "Cần xác minh thêm".into(),
            responsible: None,
            automatic: false,
            override_second: false,
            reason_code: None,
        };
        store.record(d, &x.code.unwrap(), ev(at(2025, 3, 4, 9, 0), reschedule)).await.unwrap();
    }
    let (w, mail) = s.worker(store, "w1", |_| {});
    let r = w.run_pending_jobs(at(2025, 3, 4, 9, 0)).await.unwrap();
    assert_eq!((r.claimed, r.sent, r.dead, r.retried), (5, 5, 0, 0), "{r:?}");
    let sent = mail.sent();
    assert_eq!(sent.len(), 5);
    for m in &sent {
        let raw = String::from_utf8_lossy(&m.raw);
        let headers = raw.split("\r\n\r\n").next().unwrap_or("");
        assert!(!headers.contains('\u{1b}'), "an escape reached the headers:\n{headers}");
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "a header was injected:\n{headers}");
        assert_eq!(headers.lines().filter(|l| l.starts_with("Subject:")).count(), 1, "{headers}");
        for line in headers.split("\r\n") {
            assert!(!line.contains('\n') && !line.contains('\r'), "a bare line break in a header: {line:?}");
        }
    }
    let to: Vec<String> = sent
        .iter()
        .map(|m| {
            let raw = String::from_utf8_lossy(&m.raw).to_string();
            raw.split("\r\n").find(|l| l.starts_with("To:")).unwrap_or("").to_string()
        })
        .collect();
    assert!(to.iter().any(|t| t.contains("\"X Y\"") || t.contains("X Y")), "{to:?}");
    assert!(to.iter().any(|t| t.contains("A B")), "{to:?}");
}

/// Three dossiers held by the tourism department, due Mon 17/03/2025 08:00 (in their last
/// working day from Fri 14/03 08:00).
async fn three_due_monday(store: &AnyStore, d: &Domain) -> Vec<DossierCode> {
    let mut codes = Vec::new();
    for i in 0..3 {
        let x = store
            .intake(d, new_dossier(&format!("Công dân {i}"), None, false), at(2025, 3, 3, 8, 0), None)
            .await
            .unwrap();
        let code = x.code.unwrap();
        store.record(d, &code, ev(at(2025, 3, 3, 9, 0), EventKind::Transferred { to: ag(TOURISM) })).await.unwrap();
        store.record(d, &code, ev(at(2025, 3, 3, 9, 30), EventKind::Accepted)).await.unwrap();
        codes.push(code);
    }
    codes
}

async fn reminders_go_out_as_one_daily_digest_per_address(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    let codes = three_due_monday(store, d).await;
    let (w1, mail1) = s.worker(store, "w1", |_| {});
    let (w2, mail2) = s.worker(store, "w2", |_| {});
    let t = at(2025, 3, 14, 9, 0);
    let tick = w1.tick(t).await.unwrap();
    assert_eq!((tick.reminders, tick.digests), (6, 0), "queued after Friday's 07:30: Monday's digest: {tick:?}");
    assert_eq!(w1.run_pending_jobs(t).await.unwrap().claimed, 0, "reminders do not go alone");
    assert!(mail1.sent().is_empty());
    // Saturday is no working day: no digest.
    assert_eq!(w1.tick(at(2025, 3, 15, 8, 0)).await.unwrap().digests, 0);
    // Monday 07:29: not yet; 07:45: one digest for the officers' address, one for the head's.
    assert_eq!(w1.tick(at(2025, 3, 17, 7, 29)).await.unwrap().digests, 0);
    let monday = at(2025, 3, 17, 7, 45);
    let (a, b) = tokio::join!(w1.tick(monday), w2.tick(monday));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.digests + b.digests, a.digested + b.digested), (2, 6), "{a:?} {b:?}");
    assert_eq!(w2.tick(monday + Duration::minutes(5)).await.unwrap().digests, 0, "one digest a day");
    let rows = store.outbox(None, 1000).await.unwrap();
    let digests: Vec<_> = rows.iter().filter(|m| m.kind == "digest").collect();
    let mut to: Vec<&str> = digests.iter().map(|m| m.recipient.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["giamdoc@sodulich.danang.example", "motcua@sodulich.danang.example"]);
    assert_eq!(digests[0].dedupe_key, format!("digest:{}:2025-03-17", digests[0].recipient));
    for r in rows.iter().filter(|m| m.kind == "reminder") {
        let key = format!("digest:{}:2025-03-17", r.recipient);
        assert_eq!(r.digest.as_deref(), Some(key.as_str()), "each reminder in its address's digest once");
    }
    // A worker claims the digests and dies before sending: once its lease has passed, another
    // sends them, each once, with the row's Message-ID.
    let taken = store.claim("dead-worker", monday, monday + Duration::minutes(5), 100).await.unwrap();
    assert_eq!(taken.len(), 2);
    assert_eq!(w2.run_pending_jobs(monday + Duration::minutes(1)).await.unwrap().claimed, 0);
    let after = monday + Duration::minutes(6);
    let st = w2.run_pending_jobs(after).await.unwrap();
    assert_eq!(st.sent, 2, "{st:?}");
    let sent = mail2.sent();
    assert_eq!(sent.len(), 2);
    for m in &sent {
        let row = digests.iter().find(|r| m.to == vec![r.recipient.clone()]).unwrap();
        let id =
            motcua_worker::compose::message_id(row.id, &row.dedupe_key, &"motcua@hcc.danang.example".parse().unwrap());
        assert_eq!(m.message_id.as_deref(), Some(id.as_str()));
    }
    assert!(w1.run_pending_jobs(after).await.unwrap().claimed == 0);
    // What it says: the three dossiers, soonest due first, with the time left.
    let digest: motcua_core::letters::Digest = serde_json::from_str(&digests[0].payload).unwrap();
    let r = w1.templates().render_digest(motcua_core::Lang::Vi, &digest, &digests[0].recipient).unwrap();
    assert!(r.subject.contains("3 hồ sơ sắp đến hạn hoặc có nguy cơ trễ hạn"), "{}", r.subject);
    for c in &codes {
        assert!(r.text.contains(c.as_str()), "{}", r.text);
    }
    assert!(r.text.contains("Hạn: Thứ Hai 17/03/2025 08:00; còn lại: 0 ngày 0 giờ 15 phút làm việc"), "{}", r.text);
    assert!(r.text.contains("ngày làm việc cuối trước hạn"), "{}", r.text);
    let en = w1.templates().render_digest(motcua_core::Lang::En, &digest, &digests[0].recipient).unwrap();
    assert!(en.subject.contains("3 dossiers due soon"), "{}", en.subject);
}

async fn notices_over_the_daily_cap_roll_into_the_next_digest(store: &AnyStore) {
    let s = Setup::new();
    let d = &s.domain;
    three_due_monday(store, d).await;
    let each = |c: &mut WorkerConfig| {
        c.digest.at_risk = motcua_worker::DigestMode::Each;
        c.digest.cap_per_recipient_day = 2;
    };
    let (w, mail) = s.worker(store, "w1", each);
    let t = at(2025, 3, 14, 9, 0);
    assert_eq!(w.tick(t).await.unwrap().reminders, 6);
    let st = w.run_pending_jobs(t).await.unwrap();
    assert_eq!((st.sent, st.held), (4, 2), "two to each address, one each held: {st:?}");
    assert_eq!(mail.sent().len(), 4);
    let per_address = |at| {
        let store = store.clone();
        async move {
            let mut n: std::collections::BTreeMap<String, u64> = Default::default();
            for c in store.sent_since(at).await.unwrap() {
                *n.entry(c.recipient).or_default() += c.messages;
            }
            n
        }
    };
    assert!(per_address(at(2025, 3, 14, 0, 0)).await.values().all(|n| *n == 2));
    let held = store.outbox(Some(OutboxStatus::Pending), 100).await.unwrap();
    assert_eq!(held.len(), 2);
    assert!(held.iter().all(|m| m.digest.as_deref() == Some("held") && m.attempts == 0), "{held:#?}");
    // Later that day: still held, claimed by no one.
    assert_eq!(w.run_pending_jobs(at(2025, 3, 14, 15, 0)).await.unwrap().claimed, 0);
    // Monday's digests carry them.
    let monday = at(2025, 3, 17, 7, 30);
    let tick = w.tick(monday).await.unwrap();
    assert_eq!((tick.digests, tick.digested), (2, 2), "{tick:?}");
    assert_eq!(w.run_pending_jobs(monday).await.unwrap().sent, 2);
    assert_eq!(mail.sent().len(), 6, "every reminder reached its address: alone or in a digest");
    assert!(store.outbox(Some(OutboxStatus::Pending), 100).await.unwrap().is_empty());
}
