//! The store conformance suite: every check is written once against the `Store` trait and run
//! on a fresh SQLite file always, and on a fresh PostgreSQL database when
//! `MOTCUA_TEST_PG_URL` is set (e.g. `postgres://postgres@127.0.0.1:5432/postgres`; each test
//! creates its own database `motcua_test_…` and drops it afterwards).
//!
//! The domain is the real configuration: `config/calendars/vn/*.toml` and
//! `config/catalog/{agencies,procedures}.toml`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Core's vocabulary against the lists frozen in the migrations.
#[path = "conformance/vocabulary.rs"]
mod vocabulary;

/// API tokens, the end of an account's credentials, the login lock.
#[path = "conformance/credentials.rs"]
mod credentials;

/// Which agencies held a dossier, the staff's search, the audit of personal data reads.
#[path = "conformance/privacy.rs"]
mod privacy;

/// The staff's search by code, folded name, ID number and phone; the desk's lists; the work
/// queue, paged and counted.
#[path = "conformance/findable.rs"]
mod findable;
/// The reception hall: numbering under concurrency, the ordering rule, the ticket's steps,
/// bookings, the day's end, counters.
#[path = "conformance/hall.rs"]
mod hall;
/// History brought in: quiet, idempotent, its overdue dossiers left to a person.
#[path = "conformance/history.rs"]
mod history;
/// The desk's letters to print: paged and counted, marked printed then handed over.
#[path = "conformance/letters.rs"]
mod letters;
/// Petitions, complaints and denunciations: codes, routing, steps on time and late, the report.
#[path = "conformance/petitions.rs"]
mod petitions;
/// The chair's scorecard: planted cases, the writer's sums against a replay of every dossier.
#[path = "conformance/scorecard.rs"]
mod scorecard;
/// Fees, payment methods, electronic results, digitised papers, portal sync and delay reasons
/// in the projection; old dossiers unknown; recompute after the migration.
#[path = "conformance/scorecard_data.rs"]
mod scorecard_data;
/// Staff accounts, sessions, ratings, the desk's waiting submissions and the audit log.
#[path = "conformance/staff.rs"]
mod staff;
/// The inspector's watch list: planted cases, the writer's tables against a replay.
#[path = "conformance/watchlist.rs"]
mod watchlist;

mod support {
    use std::future::Future;
    use std::path::{Path, PathBuf};
    use std::str::FromStr;
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicU32, Ordering};

    use chrono::{DateTime, NaiveDate, Utc};
    use motcua_core::calendar::{NamedDay, from_local};
    use motcua_core::{
        AgencyCode, Applicant, Calendar, CalendarData, CalendarYear, Catalog, Channel, ClassifyMode, Domain,
        OfficeHours, ProcedureCode,
    };
    use motcua_store::{NewDossier, PgStore, SqliteStore, Store};
    use sqlx::postgres::PgConnectOptions;
    use sqlx::{ConnectOptions, Connection, Executor};

    pub const CENTRE: &str = "000.00.02.H17";
    pub const DEPT: &str = "000.00.12.H17";
    pub const WARD: &str = "000.00.41.H17";
    /// City level, 10 working days; route centre → 000.00.12.H17 (lead) → centre.
    pub const CITY_PROC: &str = "1.004628";
    /// The lead agency of [`CITY_PROC`].
    pub const CITY_LEAD: &str = "000.00.12.H17";
    /// Ward level, 3 working days at the receiving ward.
    pub const WARD_PROC: &str = "1.001022";

    fn config() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"))
    }

    fn years() -> Vec<CalendarYear> {
        let dir = config().join("calendars/vn");
        let mut years = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                years.push(CalendarData::parse_year(&path.display().to_string(), &text).unwrap());
            }
        }
        years
    }

    fn build(years: Vec<CalendarYear>) -> Domain {
        let data = CalendarData::new(years).unwrap();
        let calendar = Calendar::new(&data, OfficeHours::standard());
        let read = |name: &str| std::fs::read_to_string(config().join("catalog").join(name)).unwrap();
        let catalog = Catalog::from_toml(&read("agencies.toml"), &read("procedures.toml")).unwrap();
        Domain::new(calendar, catalog, ClassifyMode::DateTime)
    }

    static DOMAIN: LazyLock<Domain> = LazyLock::new(|| build(years()));

    /// The shipped calendar and catalog.
    pub fn domain() -> Domain {
        DOMAIN.clone()
    }

    /// The shipped calendar with extra weekdays off (a calendar correction).
    pub fn domain_with_days_off(days: &[NaiveDate]) -> Domain {
        let mut years = years();
        for day in days {
            let y = years.iter_mut().find(|y| y.year == chrono::Datelike::year(day)).unwrap();
            y.days_off.push(NamedDay { date: *day, name: "Nghỉ bổ sung (thử nghiệm)".into() });
        }
        build(years)
    }

    /// A calendar that no longer covers `year` (nor anything before it).
    pub fn domain_from_year(year: i32) -> Domain {
        build(years().into_iter().filter(|y| y.year >= year).collect())
    }

    /// A local (+07:00) wall-clock instant.
    pub fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        from_local(NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, 0).unwrap())
    }

    pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    pub fn ag(s: &str) -> AgencyCode {
        s.parse().unwrap()
    }

    pub fn new_dossier(agency: &str, procedure: &str, name: &str) -> NewDossier {
        NewDossier {
            procedure: ProcedureCode::from_str(procedure).unwrap(),
            agency: ag(agency),
            applicant: Applicant {
                name: name.into(),
                email: Some("an.nguyen@example.vn".parse().unwrap()),
                phone: Some("0905 123 456".parse().unwrap()),
                id_number: Some("048090001234".into()),
                address: Some("12 Lê Duẩn, Hải Châu, Đà Nẵng".into()),
            },
            channel: Channel::InPerson,
            online: false,
            documents: Vec::new(),
            digitised: None,
        }
    }

    /// What a check needs beyond the trait: raw SQL, to prove the triggers (and run a
    /// migration's statement again), and the backend's directory of migrations.
    pub trait Backend: Store + motcua_store::StaffStore + Clone + 'static {
        fn raw(&self, sql: &str) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
        /// `migrations/<this>/`: "sqlite" or "postgres".
        fn migrations(&self) -> &'static str;
    }

    impl Backend for SqliteStore {
        async fn raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
            Ok(sqlx::query(sql).execute(self.writer()).await?.rows_affected())
        }
        fn migrations(&self) -> &'static str {
            "sqlite"
        }
    }

    impl Backend for motcua_store::AnyStore {
        async fn raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
            match self {
                motcua_store::AnyStore::Sqlite(s) => s.raw(sql).await,
                motcua_store::AnyStore::Pg(s) => s.raw(sql).await,
            }
        }
        fn migrations(&self) -> &'static str {
            match self {
                motcua_store::AnyStore::Sqlite(s) => s.migrations(),
                motcua_store::AnyStore::Pg(s) => s.migrations(),
            }
        }
    }

    impl Backend for PgStore {
        async fn raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
            Ok(sqlx::query(sql).execute(self.pool()).await?.rows_affected())
        }
        fn migrations(&self) -> &'static str {
            "postgres"
        }
    }

    /// The statement of migration `file` of `backend` that begins with `start`, up to its `;`.
    pub fn migration_statement(backend: &str, file: &str, start: &str) -> String {
        let path = config().join("../migrations").join(backend).join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let from = text.find(start).unwrap_or_else(|| panic!("no {start:?} in {}", path.display()));
        let len = text[from..].find(';').unwrap();
        text[from..from + len].to_string()
    }

    pub async fn sqlite_store(dir: &Path) -> SqliteStore {
        SqliteStore::open(dir.join("motcua.db")).await.unwrap()
    }

    static NEXT_DB: AtomicU32 = AtomicU32::new(0);

    /// A fresh, empty PostgreSQL database, dropped by [`PgDatabase::drop_now`].
    pub struct PgDatabase {
        admin: sqlx::PgConnection,
        pub name: String,
        pub options: PgConnectOptions,
        /// The URL of the new database.
        pub url: String,
    }

    impl PgDatabase {
        /// `None` (and a note on stderr) when `MOTCUA_TEST_PG_URL` is not set.
        pub async fn create(test: &str) -> Option<Self> {
            let Ok(url) = std::env::var("MOTCUA_TEST_PG_URL") else {
                eprintln!("skipped {test} on PostgreSQL: MOTCUA_TEST_PG_URL is not set");
                return None;
            };
            let admin_options = PgConnectOptions::from_str(&url).unwrap();
            let mut admin = admin_options.connect().await.unwrap();
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
            let name = format!(
                "motcua_test_{test}_{}_{}_{nanos}",
                std::process::id(),
                NEXT_DB.fetch_add(1, Ordering::Relaxed)
            );
            admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
            let (base, query) = url.split_once('?').map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
            let server = base
                .trim_end_matches('/')
                .rsplit_once('/')
                .filter(|(head, _)| !head.ends_with('/') && head.contains("//"))
                .map_or(base, |(head, _)| head);
            let new_url = match query {
                Some(q) => format!("{server}/{name}?{q}"),
                None => format!("{server}/{name}"),
            };
            Some(Self { admin, options: admin_options.database(&name), name, url: new_url })
        }

        pub async fn drop_now(mut self) {
            self.admin.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str()).await.unwrap();
            self.admin.close().await.unwrap();
        }
    }

    /// Runs `check` on a fresh PostgreSQL database, or says it is skipped.
    pub async fn with_pg<F, Fut>(name: &str, check: F)
    where
        F: FnOnce(PgStore) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(db) = PgDatabase::create(name).await else { return };
        let store = PgStore::connect_with(db.options.clone()).await.unwrap();
        let outcome = tokio::spawn(check(store.clone())).await;
        store.close().await;
        db.drop_now().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

mod checks {
    use std::collections::BTreeMap;

    pub use super::credentials::{
        a_password_reset_or_a_disable_ends_every_credential, login_failures_are_counted_locked_and_cleared,
        tokens_expire_are_listed_and_revoked,
    };
    pub use super::findable::{
        desk_lists_and_the_work_queue_are_paged_and_counted, dossiers_are_found_by_code_name_id_and_phone,
    };
    pub use super::hall::{
        hall_batches_of_calls_pick_as_the_rule_over_the_whole_queue,
        hall_bookings_are_limited_cancelled_and_checked_in, hall_counters_calling_at_once_are_answered_in_order,
        hall_numbers_never_repeat_or_skip_under_concurrency, hall_scripts_are_recorded_whole_or_not_at_all,
        hall_tickets_follow_the_ordering_rule_and_their_steps,
    };
    pub use super::history::history_is_quiet_idempotent_and_leaves_the_overdue_to_a_person;
    pub use super::letters::letters_to_print_are_paged_and_marked_printed_then_handed;
    pub use super::petitions::{
        petition_messages_are_written_with_their_event, petitions_are_filed_routed_answered_and_reported,
        reads_of_an_items_personal_data_are_audited, the_petitions_projection_is_rebuilt_from_its_log,
    };
    pub use super::privacy::{
        an_inspector_account_keeps_its_role_and_scope, personal_data_is_found_within_the_agencies_that_held_it,
    };
    pub use super::scorecard::the_scorecard_is_kept_by_the_writer_and_equals_a_replay;
    pub use super::scorecard_data::{
        an_acceptance_and_its_digitised_papers_are_written_all_or_none,
        old_dossiers_stay_unknown_and_recompute_fills_a_migrated_database,
        scorecard_data_is_projected_as_core_replays_it,
    };
    pub use super::staff::accounts_sessions_ratings_and_the_audit_log;
    pub use super::watchlist::{
        an_instant_with_nanoseconds_replays_to_what_was_written, history_without_an_officer_counts_under_unknown,
        the_watch_list_is_kept_by_the_writer_and_equals_a_replay,
    };

    use chrono::{DateTime, Duration, Utc};
    use motcua_core::analysis::{classify, national_on_time};
    use motcua_core::{
        ClassifyMode, DomainError, DossierCode, DossierError, Event, EventKind, Intake, Outcome, Status, Timeliness,
    };
    use motcua_store::{BatchItem, CountKey, CountValues, DossierRow, StoreError};

    use super::support::*;

    fn ev(at: chrono::DateTime<chrono::Utc>, kind: EventKind) -> Event {
        Event::new(at, Some("officer".into()), kind)
    }

    fn code(s: &str) -> DossierCode {
        s.parse().unwrap()
    }

    /// The intake of a ward dossier imported under its own `code`.
    fn ward_import(code: &DossierCode, name: &str) -> Intake {
        Intake {
            code: code.clone(),
            procedure: WARD_PROC.parse().unwrap(),
            agency: ag(WARD),
            applicant: new_dossier(WARD, WARD_PROC, name).applicant,
            channel: motcua_core::Channel::InPerson,
            documents: Vec::new(),
            digitised: None,
        }
    }

    /// Projections and aggregates are exactly what the log gives.
    async fn consistent<S: Backend>(s: &S, domain: &motcua_core::Domain) {
        let diff = s.recompute(domain, true).await.unwrap();
        assert!(diff.is_empty(), "projection drifted from the log: {diff:#?}");
    }

    /// The document checklist rides with the receipt event: read back as written, and an
    /// intake without one reads as an empty list.
    pub async fn intake_keeps_the_document_checklist<S: Backend>(s: S) {
        use motcua_core::{CopyKind, DocumentItem};
        let d = domain();
        let mut new = new_dossier(CENTRE, CITY_PROC, "Nguyễn Văn An");
        new.documents = vec![
            DocumentItem { name: "Tờ khai".into(), copy: CopyKind::Original, count: 1 },
            DocumentItem { name: "Giấy chứng nhận".into(), copy: CopyKind::Copy, count: 2 },
            DocumentItem { name: "Căn cước".into(), copy: CopyKind::Photocopy, count: 3 },
        ];
        let want = new.documents.clone();
        let dossier = s.intake(&d, new, at(2025, 3, 3, 9, 0), None).await.unwrap();
        assert_eq!(dossier.documents, want);
        let code = dossier.code.unwrap();
        let events = s.events(&code).await.unwrap();
        let EventKind::Received { intake } = &events[0].kind else { panic!("not a receipt: {events:?}") };
        assert_eq!(intake.documents, want);
        assert_eq!(d.replay(&events).unwrap().documents, want);
        let plain = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Lê B"), at(2025, 3, 3, 9, 5), None).await.unwrap();
        let events = s.events(plain.code.as_ref().unwrap()).await.unwrap();
        assert!(d.replay(&events).unwrap().documents.is_empty());
    }

    pub async fn intake_numbers_codes_per_agency_per_day<S: Backend>(s: S) {
        let d = domain();
        let t = at(2025, 3, 3, 9, 0);
        for i in 1..=3 {
            let dossier = s
                .intake(
                    &d,
                    new_dossier(CENTRE, CITY_PROC, "Nguyễn Văn An"),
                    t + Duration::minutes(i),
                    Some("desk1".into()),
                )
                .await
                .unwrap();
            assert_eq!(dossier.code.unwrap().as_str(), format!("000.00.02.H17-250303-000{i}"));
            assert_eq!(dossier.status, Some(Status::Received));
        }
        let ward = s.intake(&d, new_dossier(WARD, WARD_PROC, "Trần Thị Bình"), t, None).await.unwrap();
        assert_eq!(ward.code.unwrap().as_str(), "000.00.41.H17-250303-0001");

        // A rejected intake does not use up a number.
        let events = s.event_count().await.unwrap();
        let err = s.intake(&d, new_dossier(CENTRE, "9.999999", "X"), t, None).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected(DomainError::UnknownProcedure(_))), "{err}");
        assert_eq!(s.event_count().await.unwrap(), events);
        let fourth = s
            .intake(&d, new_dossier(CENTRE, CITY_PROC, "Lê Văn Cường"), t + Duration::minutes(10), None)
            .await
            .unwrap();
        assert_eq!(fourth.code.unwrap().as_str(), "000.00.02.H17-250303-0004");

        // A new day restarts at 0001; the day is the local (+07:00) date, not the UTC one.
        let next =
            s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Phạm Thị Dung"), at(2025, 3, 4, 8, 0), None).await.unwrap();
        assert_eq!(next.code.unwrap().as_str(), "000.00.02.H17-250304-0001");
        let after_midnight = at(2025, 3, 5, 0, 30);
        assert_eq!(after_midnight.format("%Y-%m-%d").to_string(), "2025-03-04");
        let late = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Hoàng Văn Em"), after_midnight, None).await.unwrap();
        assert_eq!(late.code.unwrap().as_str(), "000.00.02.H17-250305-0001");

        // A portal submission is numbered too, and waits at status 1.
        let mut online = new_dossier(CENTRE, CITY_PROC, "Võ Thị Giang");
        online.online = true;
        online.channel = motcua_core::Channel::Online;
        let online = s.intake(&d, online, at(2025, 3, 4, 21, 0), None).await.unwrap();
        assert_eq!(online.code.as_ref().unwrap().as_str(), "000.00.02.H17-250304-0002");
        assert_eq!(online.status, Some(Status::RegisteredOnline));
        assert_eq!(online.due_at, None);

        // An import keeps its own code and moves the counter past it.
        let imported = code("000.00.02.H17-250306-0007");
        let intake = Intake {
            code: imported.clone(),
            procedure: CITY_PROC.parse().unwrap(),
            agency: ag(CENTRE),
            applicant: new_dossier(CENTRE, CITY_PROC, "Đặng Văn Hải").applicant,
            channel: motcua_core::Channel::Postal,
            documents: Vec::new(),
            digitised: None,
        };
        let received = ev(at(2025, 3, 6, 9, 0), EventKind::Received { intake: intake.clone() });
        s.record(&d, &imported, received.clone()).await.unwrap();
        let after =
            s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Bùi Thị Khánh"), at(2025, 3, 6, 10, 0), None).await.unwrap();
        assert_eq!(after.code.unwrap().as_str(), "000.00.02.H17-250306-0008");
        let err = s.record(&d, &imported, received.clone()).await.unwrap_err();
        assert!(matches!(err, StoreError::Duplicate(ref c) if *c == imported), "{err}");
        let err = s.record(&d, &code("000.00.02.H17-250306-0009"), received).await.unwrap_err();
        assert!(matches!(err, StoreError::CodeMismatch { .. }), "{err}");
        consistent(&s, &d).await;
    }

    pub async fn lifecycle_updates_projection_and_counts<S: Backend>(s: S) {
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0); // Monday
        let first =
            s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Nguyễn Văn An"), t0, Some("desk1".into())).await.unwrap();
        let c = first.code.clone().unwrap();
        let steps = [
            ev(t0 + Duration::minutes(30), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2025, 3, 3, 14, 0), EventKind::Accepted),
            ev(
                at(2025, 3, 5, 10, 0),
                EventKind::SupplementRequested {
                    reason: "Thiếu bản sao giấy tờ".into(),
                    documents: vec!["Bản sao CCCD".into()],
                    reason_code: None,
                },
            ),
            ev(at(2025, 3, 7, 9, 0), EventKind::SupplementSupplied),
            ev(at(2025, 3, 18, 10, 0), EventKind::Transferred { to: ag(CENTRE) }),
            ev(at(2025, 3, 18, 11, 0), EventKind::Accepted),
            ev(
                at(2025, 3, 19, 15, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
            ev(at(2025, 3, 20, 8, 0), EventKind::Returned),
        ];
        let mut log = s.events(&c).await.unwrap();
        assert_eq!(log.len(), 1);
        assert!(matches!(&log[0].kind, EventKind::Received { intake } if intake.code == c));
        for e in steps {
            let got = s.record(&d, &c, e.clone()).await.unwrap();
            log.push(e);
            let want = d.replay(&log).unwrap();
            assert_eq!(got, want, "the state returned is core's replay of the log");
            let row = s.dossier_row(&c).await.unwrap().unwrap();
            assert_eq!(row, DossierRow::from_dossier(&d, &want).unwrap());
        }
        assert_eq!(s.events(&c).await.unwrap(), log, "the log round-trips");

        let state = d.replay(&log).unwrap();
        let row = s.dossier_row(&c).await.unwrap().unwrap();
        assert_eq!(row.status, Status::Returned);
        assert_eq!(row.lead_agency, ag(DEPT));
        assert_eq!(row.holder, Some(ag(CENTRE)));
        assert_eq!(row.event_count, 9);
        assert_eq!(row.supplement_count, 1);
        assert_eq!(row.deadline_revision, 1);
        assert_eq!(row.waited_seconds_closed, (at(2025, 3, 7, 9, 0) - at(2025, 3, 5, 10, 0)).num_seconds());
        assert_eq!(row.waiting_kind, None);
        assert_eq!(row.original_due_at, Some(at(2025, 3, 17, 9, 0)), "10 working days from Mon 3/3 09:00");
        assert_eq!(row.due_at, Some(at(2025, 3, 21, 9, 0)), "restarted by the supplement on Fri 7/3 09:00");
        let finished = at(2025, 3, 19, 15, 0);
        assert_eq!(row.finished_at, Some(finished));
        assert_eq!(row.returned_at, Some(at(2025, 3, 20, 8, 0)));
        assert_eq!(row.timeliness, Some(classify(finished, state.due_at.unwrap(), ClassifyMode::DateTime)));
        assert_eq!(row.timeliness, Some(Timeliness::Early));
        assert_eq!(row.national_on_time, national_on_time(&state, finished, finished));
        assert_eq!(row.applicant_email.as_ref().map(|e| e.as_str()), Some("an.nguyen@example.vn"));

        // A second dossier, at a ward, finished late.
        let w = s.intake(&d, new_dossier(WARD, WARD_PROC, "Trần Thị Bình"), at(2025, 3, 3, 10, 0), None).await.unwrap();
        let wc = w.code.clone().unwrap();
        assert_eq!(w.due_at, Some(at(2025, 3, 6, 10, 0)));
        s.record(&d, &wc, ev(at(2025, 3, 3, 10, 5), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
        s.record(&d, &wc, ev(at(2025, 3, 3, 10, 6), EventKind::Accepted)).await.unwrap();
        let done = s
            .record(
                &d,
                &wc,
                ev(
                    at(2025, 3, 7, 9, 0),
                    EventKind::Resolved {
                        outcome: Outcome::Refused,
                        reason: Some("Không đủ điều kiện".into()),
                        electronic: None,
                        reason_code: None,
                    },
                ),
            )
            .await
            .unwrap();
        let wrow = s.dossier_row(&wc).await.unwrap().unwrap();
        assert_eq!(wrow.timeliness, Some(Timeliness::Late));
        assert_eq!(wrow.lead_agency, ag(WARD));
        assert_eq!(
            wrow.national_on_time,
            national_on_time(&done, done.finished_at.unwrap(), done.finished_at.unwrap())
        );

        let counts: BTreeMap<CountKey, CountValues> = s
            .daily_counts(day(2025, 3, 1), day(2025, 3, 31))
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.key, r.counts))
            .collect();
        let key = |dd: u32, agency: &str, proc_: &str| CountKey {
            day: day(2025, 3, dd),
            agency: ag(agency),
            procedure: proc_.parse().unwrap(),
            channel: motcua_core::Channel::InPerson,
        };
        let national = |st: &motcua_core::Dossier| {
            let f = st.finished_at.unwrap();
            i64::from(national_on_time(st, f, f) == Some(true))
        };
        let mut want = BTreeMap::new();
        want.insert(key(3, DEPT, CITY_PROC), CountValues { received: 1, ..Default::default() });
        want.insert(
            key(19, DEPT, CITY_PROC),
            CountValues { finished: 1, early: 1, national_on_time: national(&state), ..Default::default() },
        );
        want.insert(key(3, WARD, WARD_PROC), CountValues { received: 1, ..Default::default() });
        want.insert(
            key(7, WARD, WARD_PROC),
            CountValues { finished: 1, late: 1, national_on_time: national(&done), ..Default::default() },
        );
        assert_eq!(counts, want);
        assert!(s.daily_counts(day(2025, 3, 4), day(2025, 3, 6)).await.unwrap().is_empty());
        consistent(&s, &d).await;
    }

    /// A write the database refuses half-way (here a code clash: the counter was set back
    /// behind a stored dossier) writes nothing, and the writer goes on: the next write is not
    /// caught in a transaction left open.
    pub async fn a_failed_write_rolls_back_and_the_writer_goes_on<S: Backend>(s: S) {
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        let first = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "A"), t0, None).await.unwrap().code.unwrap();
        assert_eq!(first.as_str(), "000.00.02.H17-250303-0001");
        let events = s.event_count().await.unwrap();
        s.raw("UPDATE dossier_sequences SET last_seq = 0").await.unwrap();
        for _ in 0..2 {
            let err = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "B"), t0, None).await.unwrap_err();
            assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
            assert_eq!(s.event_count().await.unwrap(), events, "nothing of the refused write is kept");
        }
        s.raw("UPDATE dossier_sequences SET last_seq = 1").await.unwrap();
        let next = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "C"), t0, None).await.unwrap().code.unwrap();
        assert_eq!(next.as_str(), "000.00.02.H17-250303-0002");
        assert_eq!(s.event_count().await.unwrap(), events + 1);
        assert_eq!(s.events(&next).await.unwrap().len(), 1);
        let c = s.record(&d, &next, ev(at(2025, 3, 3, 10, 0), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
        assert_eq!(c.holder, Some(ag(DEPT)));
        assert!(s.recompute(&d, true).await.unwrap().is_empty());
    }

    pub async fn rejected_commands_write_nothing<S: Backend>(s: S) {
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        let c = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Nguyễn Văn An"), t0, None).await.unwrap().code.unwrap();
        s.record(&d, &c, ev(at(2025, 3, 3, 10, 0), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
        let events = s.event_count().await.unwrap();
        let row = s.dossier_row(&c).await.unwrap();
        let log = s.events(&c).await.unwrap();
        let counts = s.daily_counts(day(2025, 1, 1), day(2025, 12, 31)).await.unwrap();

        let err = s.record(&d, &c, ev(at(2025, 3, 3, 11, 0), EventKind::Returned)).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Rejected(DomainError::Dossier(DossierError::IllegalTransition { .. }))),
            "{err}"
        );
        assert!(err.is_rejected());
        assert!(err.to_string().contains("cannot apply `returned`"), "{err}");
        let err = s
            .record(&d, &c, ev(at(2025, 3, 3, 11, 0), EventKind::Transferred { to: ag("000.00.99.H17") }))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Rejected(DomainError::UnknownAgency(_))), "{err}");
        let err = s.record(&d, &c, ev(at(2025, 3, 3, 9, 59), EventKind::Accepted)).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Rejected(DomainError::Dossier(DossierError::BeforeLastEvent { .. }))),
            "{err}"
        );
        let err = s
            .record(
                &d,
                &c,
                ev(
                    at(2025, 3, 3, 11, 0),
                    EventKind::Resolved {
                        outcome: Outcome::Approved,
                        reason: None,
                        electronic: None,
                        reason_code: None,
                    },
                ),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Rejected(DomainError::Dossier(DossierError::PendingHandoff { .. }))),
            "{err}"
        );
        let err = s.intake(&d, new_dossier("000.00.99.H17", CITY_PROC, "X"), t0, None).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected(DomainError::UnknownAgency(_))), "{err}");
        let err = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "X"), at(2019, 3, 4, 9, 0), None).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)), "outside the calendar: {err}");
        let missing = code("000.00.02.H17-250303-0999");
        let err = s.record(&d, &missing, ev(at(2025, 3, 3, 11, 0), EventKind::Accepted)).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(ref m) if *m == missing), "{err}");
        assert_eq!(err.to_string(), "dossier 000.00.02.H17-250303-0999 does not exist");

        assert_eq!(s.event_count().await.unwrap(), events);
        assert_eq!(s.dossier_row(&c).await.unwrap(), row);
        assert_eq!(s.events(&c).await.unwrap(), log);
        assert_eq!(s.daily_counts(day(2025, 1, 1), day(2025, 12, 31)).await.unwrap(), counts);
        assert_eq!(s.dossier_row(&missing).await.unwrap(), None);
        // The rejected intakes did not use a number either.
        let next = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Y"), t0, None).await.unwrap();
        assert_eq!(next.code.unwrap().as_str(), "000.00.02.H17-250303-0002");
    }

    pub async fn event_log_is_append_only<S: Backend>(s: S) {
        let d = domain();
        let c = s
            .intake(&d, new_dossier(CENTRE, CITY_PROC, "Nguyễn Văn An"), at(2025, 3, 3, 9, 0), None)
            .await
            .unwrap()
            .code
            .unwrap();
        let log = s.events(&c).await.unwrap();
        let err = s.raw("UPDATE dossier_events SET kind = 'tampered'").await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        let err = s.raw("UPDATE dossier_events SET at = recorded_at WHERE seq = 1").await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        let err = s.raw("DELETE FROM dossier_events").await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        assert_eq!(s.events(&c).await.unwrap(), log);
        assert_eq!(s.event_count().await.unwrap(), 1);
        // Projections are derived: they may be rebuilt.
        assert_eq!(s.raw("UPDATE dossiers SET applicant_name = applicant_name").await.unwrap(), 1);
    }

    pub async fn batch_writes_the_good_items_only<S: Backend>(s: S) {
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        let c1 = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "A"), t0, None).await.unwrap().code.unwrap();
        let c2 = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "B"), t0, None).await.unwrap().code.unwrap();
        let before = s.event_count().await.unwrap();
        let imported = code("000.00.41.H17-250303-0005");
        let import = ward_import(&imported, "C");
        let r = |c: &DossierCode, h: u32, kind: EventKind| BatchItem::Record {
            code: c.clone(),
            event: ev(at(2025, 3, 3, h, 0), kind),
        };
        let items = vec![
            r(&c1, 10, EventKind::Transferred { to: ag(DEPT) }),
            r(&c1, 11, EventKind::Returned), // illegal: rejected
            r(&c2, 10, EventKind::Transferred { to: ag(DEPT) }),
            r(&c1, 12, EventKind::Accepted), // sees the transfer earlier in the batch
            BatchItem::Intake {
                new: new_dossier(CENTRE, CITY_PROC, "D"),
                at: at(2025, 3, 3, 13, 0),
                by: None,
                backdate_reason: None,
            },
            BatchItem::Intake {
                new: new_dossier("000.00.99.H17", CITY_PROC, "E"),
                at: t0,
                by: None,
                backdate_reason: None,
            }, // unknown agency
            r(&code("000.00.02.H17-250303-0777"), 13, EventKind::Accepted), // no such dossier
            r(&imported, 9, EventKind::Received { intake: import.clone() }),
            r(&c2, 14, EventKind::Transferred { to: ag(CENTRE) }), // pending handoff: rejected
            r(&imported, 9, EventKind::Received { intake: import }), // imported a moment ago: duplicate
            BatchItem::Intake {
                new: new_dossier(WARD, WARD_PROC, "F"),
                at: at(2025, 3, 3, 15, 0),
                by: None,
                backdate_reason: None,
            },
        ];
        let results = s.record_batch(&d, items, at(2025, 4, 1, 9, 0)).await.unwrap();
        let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
        assert_eq!(ok, [true, false, true, true, true, false, false, true, false, false, true], "{results:#?}");
        assert!(matches!(results[1], Err(StoreError::Rejected(_))));
        assert!(matches!(results[5], Err(StoreError::Rejected(DomainError::UnknownAgency(_)))));
        assert!(matches!(results[6], Err(StoreError::NotFound(_))));
        assert!(matches!(
            results[8],
            Err(StoreError::Rejected(DomainError::Dossier(DossierError::PendingHandoff { .. })))
        ));
        assert!(matches!(results[9], Err(StoreError::Duplicate(_))));
        assert_eq!(results[4].as_ref().unwrap().code.as_ref().unwrap().as_str(), "000.00.02.H17-250303-0003");
        assert_eq!(
            results[10].as_ref().unwrap().code.as_ref().unwrap().as_str(),
            "000.00.41.H17-250303-0006",
            "after the imported 0005"
        );
        assert_eq!(s.event_count().await.unwrap(), before + 6);
        let kinds: Vec<&str> = s.events(&c1).await.unwrap().iter().map(|e| e.kind.name()).collect();
        assert_eq!(kinds, ["received", "transferred", "accepted"]);
        let row = s.dossier_row(&c1).await.unwrap().unwrap();
        assert_eq!(row.event_count, 3);
        assert!(!row.handoff_pending);
        assert!(s.dossier_row(&c2).await.unwrap().unwrap().handoff_pending);
        assert!(s.dossier_row(&imported).await.unwrap().is_some());
        // The log's sequence numbers are gapless per dossier.
        let mut seqs: BTreeMap<DossierCode, Vec<u32>> = BTreeMap::new();
        for e in s.events_after(0, 1000).await.unwrap() {
            seqs.entry(e.code).or_default().push(e.seq);
        }
        for (c, s) in &seqs {
            assert_eq!(*s, (1..=s.len() as u32).collect::<Vec<_>>(), "{c}");
        }
        // An empty batch is fine.
        assert!(s.record_batch(&d, Vec::new(), at(2025, 4, 1, 9, 0)).await.unwrap().is_empty());
        consistent(&s, &d).await;
    }

    /// A batch big enough to be written in overlapping parts (as import and simulate write:
    /// parts of 250 events on SQLite, 1,000 on PostgreSQL, this batch has 1,404 events) ends
    /// as one write would leave it: a dossier named again parts later has its last state, a
    /// refused item writes nothing, numbering runs on across parts, and projection and
    /// aggregates match the log.
    pub async fn a_big_batch_written_in_parts_ends_as_one<S: Backend>(s: S) {
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        let a = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "A"), t0, None).await.unwrap().code.unwrap();
        let b = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "B"), t0, None).await.unwrap().code.unwrap();
        let before = s.event_count().await.unwrap();
        let imported = code("000.00.41.H17-250303-0500");
        let import = ward_import(&imported, "C");
        let r = |c: &DossierCode, t: chrono::DateTime<chrono::Utc>, kind: EventKind| BatchItem::Record {
            code: c.clone(),
            event: ev(t, kind),
        };
        let mut items = vec![r(&a, at(2025, 3, 3, 9, 30), EventKind::Transferred { to: ag(DEPT) })];
        let intakes = |items: &mut Vec<BatchItem>, range: std::ops::Range<i64>| {
            for i in range {
                let new = new_dossier(CENTRE, CITY_PROC, &format!("D{i}"));
                let t = t0 + Duration::minutes(i);
                items.push(if i % 2 == 0 {
                    BatchItem::Intake { new, at: t, by: None, backdate_reason: None }
                } else {
                    let then = vec![
                        ev(t + Duration::minutes(5), EventKind::Transferred { to: ag(DEPT) }),
                        ev(t + Duration::minutes(6), EventKind::Accepted),
                    ];
                    BatchItem::IntakeWith { new, at: t, by: None, then }
                });
            }
        };
        intakes(&mut items, 1..60);
        items.push(r(&imported, t0, EventKind::Received { intake: import }));
        intakes(&mut items, 60..130);
        items.push(r(&a, at(2025, 3, 3, 10, 0), EventKind::Accepted));
        items.push(r(&b, at(2025, 3, 3, 10, 0), EventKind::Returned)); // illegal: refused
        // Intakes 1 to LAST - 1: the odd ones with two more events each.
        const LAST: i64 = 700;
        intakes(&mut items, 130..LAST);
        items.push(r(&imported, at(2025, 3, 4, 9, 0), EventKind::Accepted));
        let resolved =
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None };
        items.push(r(&a, at(2025, 3, 10, 10, 0), resolved));
        let n = items.len();
        let results = s.record_batch(&d, items, at(2025, 4, 1, 9, 0)).await.unwrap();
        assert_eq!(results.len(), n);
        let refused: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
        assert_eq!(refused, [132], "{:?}", results.get(132));
        // Each answer is the dossier's state after its own item.
        let counts = |i: usize| results[i].as_ref().unwrap().event_count;
        assert_eq!((counts(0), counts(131), counts(n - 1)), (2, 3, 4));
        assert_eq!(counts(1), 3, "intake, transfer and acceptance");
        assert_eq!(counts(2), 1);
        // Numbers run on across parts: 0001 and 0002 were taken before the batch.
        let codes: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter_map(|d| d.code.as_ref())
            .filter(|c| c.as_str().starts_with(CENTRE) && *c != &a && *c != &b)
            .map(|c| c.to_string())
            .collect();
        let expected: Vec<String> = (3..LAST + 2).map(|i| format!("{CENTRE}-250303-{i:04}")).collect();
        assert_eq!(codes, expected);
        // 349 plain intakes, 350 with two more events each, and five records.
        let added = 349 + 350 * 3 + 5;
        assert_eq!(s.event_count().await.unwrap(), before + added);
        let row = s.dossier_row(&a).await.unwrap().unwrap();
        assert_eq!((row.event_count, row.finished_at.is_some()), (4, true), "the last state of a dossier named thrice");
        assert_eq!(s.dossier_row(&b).await.unwrap().unwrap().event_count, 1);
        assert_eq!(s.dossier_row(&imported).await.unwrap().unwrap().event_count, 2);
        consistent(&s, &d).await;
    }

    pub async fn recompute_follows_a_calendar_correction<S: Backend>(s: S) {
        let d = domain();
        // X: received Mon 3/3 09:00, due Mon 17/3 09:00, resolved Mon 17/3 10:00: late.
        let x =
            s.intake(&d, new_dossier(CENTRE, CITY_PROC, "X"), at(2025, 3, 3, 9, 0), None).await.unwrap().code.unwrap();
        s.record(&d, &x, ev(at(2025, 3, 3, 9, 30), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
        s.record(&d, &x, ev(at(2025, 3, 3, 10, 0), EventKind::Accepted)).await.unwrap();
        s.record(
            &d,
            &x,
            ev(
                at(2025, 3, 17, 10, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        )
        .await
        .unwrap();
        // Y: open, received Tue 4/3 09:00, due Tue 18/3 09:00.
        let y =
            s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Y"), at(2025, 3, 4, 9, 0), None).await.unwrap().code.unwrap();
        // Z: received after the corrected day: unchanged.
        let z =
            s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Z"), at(2025, 3, 20, 9, 0), None).await.unwrap().code.unwrap();
        assert_eq!(s.dossier_row(&x).await.unwrap().unwrap().timeliness, Some(Timeliness::Late));
        assert!(s.recompute(&d, true).await.unwrap().is_empty());

        // The administrator adds Wed 12/3 as a day off.
        let fixed = domain_with_days_off(&[day(2025, 3, 12)]);
        let events = s.event_count().await.unwrap();
        let (old_x, old_y, old_z) = (
            s.dossier_row(&x).await.unwrap().unwrap(),
            s.dossier_row(&y).await.unwrap().unwrap(),
            s.dossier_row(&z).await.unwrap().unwrap(),
        );
        let counts_before = s.daily_counts(day(2025, 1, 1), day(2025, 12, 31)).await.unwrap();
        let diff = s.recompute(&fixed, true).await.unwrap();
        assert!(diff.dry_run);
        assert_eq!(diff.dossiers, 3);
        assert!(diff.unreplayable.is_empty() && diff.orphans.is_empty());
        let changed: Vec<&DossierCode> = diff.changed.iter().map(|c| &c.code).collect();
        assert_eq!(changed, [&x, &y]);
        let field = |c: &DossierCode, f: &str| {
            diff.changed.iter().find(|ch| ch.code == *c).unwrap().fields.iter().find(|fc| fc.field == f).cloned()
        };
        let due_x = field(&x, "due_at").expect("X's due date moves");
        assert_eq!(due_x.old.as_deref(), Some("2025-03-17 09:00:00+07:00"));
        assert_eq!(due_x.new.as_deref(), Some("2025-03-18 09:00:00+07:00"));
        let t = field(&x, "timeliness").expect("X becomes early");
        assert_eq!((t.old.as_deref(), t.new.as_deref()), (Some("late"), Some("early")));
        assert!(field(&x, "original_due_at").is_some());
        let due_y = field(&y, "due_at").expect("Y's due date moves");
        assert_eq!(due_y.new.as_deref(), Some("2025-03-19 09:00:00+07:00"));
        assert!(field(&y, "timeliness").is_none());
        let finish_cell = CountKey {
            day: day(2025, 3, 17),
            agency: ag(DEPT),
            procedure: CITY_PROC.parse().unwrap(),
            channel: motcua_core::Channel::InPerson,
        };
        let cell = diff.counts.iter().find(|c| c.key == finish_cell).expect("the finish day's cell changes");
        assert_eq!((cell.old.late, cell.old.early), (1, 0));
        assert_eq!((cell.new.late, cell.new.early), (0, 1));
        assert_eq!(diff.counts.len(), 1);
        // The dry run wrote nothing.
        assert_eq!(s.event_count().await.unwrap(), events);
        assert_eq!(s.dossier_row(&x).await.unwrap().unwrap(), old_x);
        assert_eq!(s.dossier_row(&y).await.unwrap().unwrap(), old_y);
        assert_eq!(s.daily_counts(day(2025, 1, 1), day(2025, 12, 31)).await.unwrap(), counts_before);

        // Applied: projections and aggregates follow the corrected calendar; the log is untouched.
        let applied = s.recompute(&fixed, false).await.unwrap();
        assert!(!applied.dry_run);
        assert_eq!(applied.changed, diff.changed);
        assert_eq!(applied.counts, diff.counts);
        assert_eq!(s.event_count().await.unwrap(), events);
        let new_x = s.dossier_row(&x).await.unwrap().unwrap();
        assert_eq!(
            new_x,
            DossierRow::from_dossier(&fixed, &fixed.replay(&s.events(&x).await.unwrap()).unwrap()).unwrap()
        );
        assert_eq!(new_x.due_at, Some(at(2025, 3, 18, 9, 0)));
        assert_eq!(new_x.timeliness, Some(Timeliness::Early));
        assert_eq!(s.dossier_row(&y).await.unwrap().unwrap().due_at, Some(at(2025, 3, 19, 9, 0)));
        assert_eq!(s.dossier_row(&z).await.unwrap().unwrap(), old_z);
        consistent(&s, &fixed).await;
        // New commands with the corrected domain build on the corrected state.
        s.record(&fixed, &y, ev(at(2025, 3, 21, 9, 0), EventKind::Withdrawn { reason: String::new() })).await.unwrap();
        consistent(&s, &fixed).await;

        // A calendar that no longer covers 2025: reported, not a panic, and nothing changes.
        let short = domain_from_year(2026);
        let diff = s.recompute(&short, false).await.unwrap();
        assert_eq!(diff.unreplayable.len(), 3, "{diff:#?}");
        assert!(diff.changed.is_empty() && diff.counts.is_empty(), "{diff:#?}");
        assert!(diff.unreplayable[0].error.contains("outside the calendar"), "{}", diff.unreplayable[0].error);
        assert_eq!(s.dossier_row(&x).await.unwrap().unwrap(), new_x);
        let err = s
            .record(&short, &z, ev(at(2025, 3, 21, 9, 0), EventKind::Withdrawn { reason: String::new() }))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unreplayable { .. }), "{err}");
        consistent(&s, &fixed).await;
    }

    pub async fn concurrent_records_never_lose_an_event<S: Backend>(s: S) {
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        let first = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Nguyễn Văn An"), t0, None).await.unwrap();
        let c = first.code.clone().unwrap();
        let to = first.due_at.unwrap() + Duration::days(30);
        const TASKS: usize = 6;
        const EACH: usize = 8;
        let mut handles = Vec::new();
        for task in 0..TASKS {
            let (s, d, c) = (s.clone(), d.clone(), c.clone());
            handles.push(tokio::spawn(async move {
                for i in 0..EACH {
                    let kind = EventKind::Rescheduled {
                        to,
                        reason: format!("task {task} #{i}"),
                        responsible: None,
                        automatic: false,
                        override_second: true,
                        reason_code: None,
                    };
                    s.record(&d, &c, ev(t0 + Duration::hours(1), kind)).await.unwrap();
                }
            }));
        }
        // Intakes racing on one agency and day get distinct numbers.
        let mut intakes = Vec::new();
        for i in 0..TASKS {
            let (s, d) = (s.clone(), d.clone());
            intakes.push(tokio::spawn(async move {
                s.intake(&d, new_dossier(WARD, WARD_PROC, &format!("Công dân {i}")), t0, None)
                    .await
                    .unwrap()
                    .code
                    .unwrap()
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let mut codes = Vec::new();
        for h in intakes {
            codes.push(h.await.unwrap().to_string());
        }
        codes.sort();
        let want: Vec<String> = (1..=TASKS).map(|i| format!("000.00.41.H17-250303-{i:04}")).collect();
        assert_eq!(codes, want);

        let n = 1 + TASKS * EACH;
        assert_eq!(s.events(&c).await.unwrap().len(), n);
        let seqs: Vec<u32> =
            s.events_after(0, 10_000).await.unwrap().into_iter().filter(|e| e.code == c).map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=n as u32).collect::<Vec<_>>());
        let row = s.dossier_row(&c).await.unwrap().unwrap();
        assert_eq!(row.event_count as usize, n);
        assert_eq!(row.reschedule_count as usize, TASKS * EACH);
        consistent(&s, &d).await;
    }

    /// Many single writes at once (the server's intake under load): every caller gets its own
    /// result, codes stay gapless per agency and day, refused writes leave no trace, and
    /// callers that give up midway leave the store consistent. Two `Domain` objects are in
    /// use, as two components of one process might hold.
    pub async fn concurrent_single_writes_each_get_their_own_result<S: Backend>(s: S) {
        use std::sync::Arc;
        let d1 = Arc::new(domain());
        let d2 = Arc::new(domain());
        let t0 = at(2025, 3, 3, 9, 0);
        // Dossiers that the records below reschedule (legal in any order) or try to return
        // (illegal while open).
        let mut targets = Vec::new();
        for i in 0..4 {
            let first = s.intake(&d1, new_dossier(DEPT, CITY_PROC, &format!("Hồ sơ {i}")), t0, None).await.unwrap();
            targets.push((first.code.clone().unwrap(), first.due_at.unwrap() + Duration::days(30)));
        }

        #[derive(Debug)]
        enum Kind {
            Intake { agency: &'static str, day: u32, name: String },
            RefusedIntake,
            Reschedule { target: usize, reason: String },
            RefusedRecord { target: usize },
            Missing,
        }
        const CALLERS: usize = 240;
        let plan: Vec<Kind> = (0..CALLERS)
            .map(|i| match i % 8 {
                0 | 3 => Kind::Intake { agency: CENTRE, day: 3 + (i as u32 / 8) % 2, name: format!("Công dân {i}") },
                1 | 6 => Kind::Intake { agency: WARD, day: 3 + (i as u32 / 8) % 2, name: format!("Công dân {i}") },
                2 => Kind::RefusedIntake,
                4 | 7 => Kind::Reschedule { target: i % 4, reason: format!("lý do {i}") },
                _ if i % 16 == 5 => Kind::RefusedRecord { target: i % 4 },
                _ => Kind::Missing,
            })
            .collect();
        let mut handles = Vec::new();
        for (i, kind) in plan.iter().enumerate() {
            let s = s.clone();
            let d = if i % 3 == 0 { Arc::clone(&d2) } else { Arc::clone(&d1) };
            let target = |t: usize| targets[t].clone();
            let job: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>> = match kind {
                Kind::Intake { agency, day, name } => {
                    let (new, at) = (
                        new_dossier(agency, if *agency == WARD { WARD_PROC } else { CITY_PROC }, name),
                        at(2025, 3, *day, 10, 0),
                    );
                    Box::pin(async move { s.intake(&d, new, at, Some("desk".into())).await })
                }
                Kind::RefusedIntake => {
                    let new = new_dossier("000.00.99.H17", CITY_PROC, "Không có đơn vị");
                    Box::pin(async move { s.intake(&d, new, t0, None).await })
                }
                Kind::Reschedule { target: t, reason } => {
                    let ((c, to), reason) = (target(*t), reason.clone());
                    let kind = EventKind::Rescheduled {
                        to,
                        reason,
                        responsible: None,
                        automatic: false,
                        override_second: true,
                        reason_code: None,
                    };
                    Box::pin(async move { s.record(&d, &c, ev(t0 + Duration::hours(1), kind)).await })
                }
                Kind::RefusedRecord { target: t } => {
                    let (c, _) = target(*t);
                    Box::pin(async move { s.record(&d, &c, ev(t0 + Duration::hours(2), EventKind::Returned)).await })
                }
                Kind::Missing => {
                    let c = code("000.00.02.H17-250303-0999");
                    Box::pin(async move { s.record(&d, &c, ev(t0 + Duration::hours(1), EventKind::Accepted)).await })
                }
            };
            handles.push(tokio::spawn(job));
        }
        let mut intakes: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
        let mut reschedules = [0usize; 4];
        for (h, kind) in handles.into_iter().zip(&plan) {
            let r = h.await.unwrap();
            match kind {
                Kind::Intake { agency, day, name } => {
                    let got = r.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
                    let c = got.code.clone().unwrap();
                    assert_eq!(got.applicant.name, *name, "the caller's own dossier");
                    assert_eq!(got.receiving_agency.as_ref().unwrap().as_str(), *agency);
                    assert!(c.as_str().starts_with(&format!("{agency}-2503{day:02}-")), "{c}");
                    let row = s.dossier_row(&c).await.unwrap().unwrap();
                    assert_eq!(row.applicant_name, *name, "{c} is stored with the caller's applicant");
                    assert_eq!(row.event_count, 1);
                    let (agency_day, n) = c.as_str().rsplit_once('-').unwrap();
                    let (agency, day) = agency_day.split_once('-').unwrap();
                    intakes.entry((agency.into(), day.into())).or_default().push(n.parse().unwrap());
                }
                Kind::RefusedIntake => {
                    assert!(matches!(r, Err(StoreError::Rejected(DomainError::UnknownAgency(_)))), "{r:?}");
                }
                Kind::Reschedule { target, reason } => {
                    let got = r.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
                    assert_eq!(got.code.as_ref(), Some(&targets[*target].0));
                    assert_eq!(&got.reschedules.last().unwrap().reason, reason, "the state right after this event");
                    reschedules[*target] += 1;
                }
                Kind::RefusedRecord { .. } => {
                    assert!(
                        matches!(
                            r,
                            Err(StoreError::Rejected(DomainError::Dossier(DossierError::IllegalTransition { .. })))
                        ),
                        "{r:?}"
                    );
                }
                Kind::Missing => assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}"),
            }
        }
        // Gapless numbers per agency and day (the four targets are DEPT's 0001…0004).
        for ((agency, day), mut numbers) in intakes.clone() {
            numbers.sort_unstable();
            assert_eq!(numbers, (1..=numbers.len() as u32).collect::<Vec<_>>(), "{agency} {day}");
        }
        assert_eq!(intakes.len(), 4);
        // The refused writes left nothing: no dossier of the unknown agency, no return, no
        // missing dossier, and every log has exactly the accepted events.
        let n_intakes: usize = intakes.values().map(Vec::len).sum();
        assert_eq!(n_intakes, plan.iter().filter(|k| matches!(k, Kind::Intake { .. })).count());
        let rows = s.dossiers_page(None, 10_000).await.unwrap();
        assert_eq!(rows.len(), n_intakes + targets.len());
        assert!(rows.iter().all(|r| r.receiving_agency.as_str() != "000.00.99.H17"));
        assert_eq!(s.dossier_row(&code("000.00.02.H17-250303-0999")).await.unwrap(), None);
        for (t, (c, _)) in targets.iter().enumerate() {
            let kinds: Vec<&str> = s.events(c).await.unwrap().iter().map(|e| e.kind.name()).collect::<Vec<_>>();
            assert_eq!(kinds.len(), 1 + reschedules[t], "{c}");
            assert!(kinds[1..].iter().all(|k| *k == "rescheduled"), "{kinds:?}");
            assert_eq!(s.dossier_row(c).await.unwrap().unwrap().reschedule_count as usize, reschedules[t]);
        }
        let total: usize = reschedules.iter().sum::<usize>() + n_intakes + targets.len();
        assert_eq!(s.event_count().await.unwrap() as usize, total);
        consistent(&s, &d1).await;

        // Callers that give up (a client hanging up) at any point: whatever was written is
        // whole, and numbers stay gapless.
        let mut handles = Vec::new();
        for i in 0..120u32 {
            let (s, d) = (s.clone(), Arc::clone(&d1));
            let new = new_dossier(WARD, WARD_PROC, &format!("Bỏ dở {i}"));
            handles.push(tokio::spawn(async move { s.intake(&d, new, at(2025, 3, 5, 10, 0), None).await }));
        }
        for (i, h) in handles.iter().enumerate() {
            if i % 3 == 0 {
                h.abort();
            }
            if i % 10 == 0 {
                tokio::task::yield_now().await;
            }
        }
        let mut finished = 0;
        for h in handles {
            match h.await {
                Ok(r) => {
                    r.unwrap();
                    finished += 1;
                }
                Err(e) => assert!(e.is_cancelled()),
            }
        }
        let rows = s.dossiers_page(None, 10_000).await.unwrap();
        let mut numbers: Vec<u32> = rows
            .iter()
            .filter_map(|r| r.code.as_str().strip_prefix("000.00.41.H17-250305-"))
            .map(|n| n.parse().unwrap())
            .collect();
        numbers.sort_unstable();
        assert!(numbers.len() >= finished, "{} stored, {finished} answered", numbers.len());
        assert_eq!(numbers, (1..=numbers.len() as u32).collect::<Vec<_>>());
        consistent(&s, &d1).await;
    }

    /// Letters for citizens with no e-mail address are the desk's outbox rows; the desk's page
    /// reads them per desk, newest first.
    pub async fn desk_letters_are_the_desks_outbox_rows<S: Backend + motcua_store::OutboxStore>(s: S) {
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        let apologise = |agency: &'static str, procedure: &'static str, name: &'static str, email: bool| {
            let (s, d) = (s.clone(), d.clone());
            async move {
                let mut new = new_dossier(agency, procedure, name);
                if !email {
                    new.applicant.email = None;
                }
                let first = s.intake(&d, new, t0, None).await.unwrap();
                let c = first.code.clone().unwrap();
                let kind = EventKind::Rescheduled {
                    to: first.due_at.unwrap() + Duration::days(7),
                    reason: "chờ xác minh".into(),
                    responsible: None,
                    automatic: false,
                    override_second: false,
                    reason_code: None,
                };
                s.record(&d, &c, ev(t0 + Duration::hours(1), kind)).await.unwrap();
                c
            }
        };
        let paper = apologise(CENTRE, CITY_PROC, "Không thư", false).await;
        let mailed = apologise(CENTRE, CITY_PROC, "Có thư", true).await;
        let ward = apologise(WARD, WARD_PROC, "Phường", false).await;
        let codes = |rows: Vec<motcua_store::OutboxMessage>| {
            rows.into_iter().map(|m| (m.dossier_code.unwrap(), m.kind, m.recipient)).collect::<Vec<_>>()
        };
        assert_eq!(
            codes(s.desk_letters(&[ag(CENTRE)], 100).await.unwrap()),
            [(paper.clone(), "apology".to_string(), format!("desk:{CENTRE}"))]
        );
        let both = codes(s.desk_letters(&[ag(CENTRE), ag(WARD)], 100).await.unwrap());
        assert_eq!(both.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), [ward, paper], "newest first");
        assert!(s.outbox_for(&mailed).await.unwrap().iter().any(|m| m.recipient == "an.nguyen@example.vn"));
        assert_eq!(s.desk_letters(&[ag(CENTRE), ag(WARD)], 1).await.unwrap().len(), 1);
        assert!(s.desk_letters(&[], 100).await.unwrap().is_empty());
        assert!(s.desk_letters(&[ag(DEPT)], 100).await.unwrap().is_empty());
    }

    pub async fn reads_by_period<S: Backend>(s: S) {
        let d = domain();
        let dossier = |name: &str, h: u32, dd: u32| (new_dossier(CENTRE, CITY_PROC, name), at(2025, 3, dd, h, 0));
        let finish = |c: DossierCode, dd: u32, h: u32| {
            let s = s.clone();
            let d = d.clone();
            async move {
                s.record(&d, &c, ev(at(2025, 3, dd, h - 1, 0), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
                s.record(&d, &c, ev(at(2025, 3, dd, h - 1, 30), EventKind::Accepted)).await.unwrap();
                s.record(
                    &d,
                    &c,
                    ev(
                        at(2025, 3, dd, h, 0),
                        EventKind::Resolved {
                            outcome: Outcome::Approved,
                            reason: None,
                            electronic: None,
                            reason_code: None,
                        },
                    ),
                )
                .await
                .unwrap();
            }
        };
        let (n, t) = dossier("A", 9, 3);
        let a = s.intake(&d, n, t, None).await.unwrap().code.unwrap();
        finish(a.clone(), 5, 10).await;
        let (n, t) = dossier("B", 9, 4);
        let b = s.intake(&d, n, t, None).await.unwrap().code.unwrap();
        let (n, t) = dossier("C", 9, 6);
        let c = s.intake(&d, n, t, None).await.unwrap().code.unwrap();
        finish(c.clone(), 6, 15).await;
        let mut online = new_dossier(CENTRE, CITY_PROC, "D");
        online.online = true;
        let dd = s.intake(&d, online, at(2025, 3, 3, 20, 0), None).await.unwrap().code.unwrap();

        let codes = |rows: Vec<DossierRow>| rows.into_iter().map(|r| r.code).collect::<Vec<_>>();
        assert_eq!(codes(s.open_at(at(2025, 3, 4, 12, 0)).await.unwrap()), [a.clone(), b.clone()]);
        assert_eq!(codes(s.open_at(at(2025, 3, 5, 12, 0)).await.unwrap()), vec![b.clone()]);
        assert_eq!(codes(s.open_at(at(2025, 3, 6, 12, 0)).await.unwrap()), [b.clone(), c.clone()]);
        assert_eq!(
            codes(s.open_at(at(2025, 3, 6, 15, 0)).await.unwrap()),
            vec![b.clone()],
            "finished at p1 is not open at p1"
        );
        assert_eq!(codes(s.open_at(at(2025, 3, 3, 8, 0)).await.unwrap()), Vec::<DossierCode>::new());

        assert_eq!(
            codes(s.finished_between(at(2025, 3, 5, 0, 0), at(2025, 3, 6, 0, 0)).await.unwrap()),
            vec![a.clone()]
        );
        assert_eq!(
            codes(s.finished_between(at(2025, 3, 5, 0, 0), at(2025, 3, 7, 0, 0)).await.unwrap()),
            [a.clone(), c.clone()]
        );
        assert_eq!(
            codes(s.finished_between(at(2025, 3, 5, 10, 0), at(2025, 3, 6, 15, 0)).await.unwrap()),
            vec![a.clone()],
            "[a, b)"
        );
        assert_eq!(
            codes(s.received_between(at(2025, 3, 3, 0, 0), at(2025, 3, 4, 0, 0)).await.unwrap()),
            vec![a.clone()],
            "D is not received yet"
        );
        assert_eq!(
            codes(s.received_between(at(2025, 3, 3, 0, 0), at(2025, 3, 7, 0, 0)).await.unwrap()),
            [a.clone(), b.clone(), c.clone()]
        );

        let mut all = [a.clone(), b.clone(), c.clone(), dd.clone()];
        all.sort();
        let page1 = codes(s.dossiers_page(None, 3).await.unwrap());
        let page2 = codes(s.dossiers_page(page1.last(), 3).await.unwrap());
        assert_eq!([page1, page2].concat(), all);

        let total = s.event_count().await.unwrap();
        let mut after = 0;
        let mut seen = 0;
        loop {
            let page = s.events_after(after, 4).await.unwrap();
            let Some(last) = page.last() else { break };
            assert!(page.windows(2).all(|w| w[0].id < w[1].id));
            assert!(page[0].id > after);
            after = last.id;
            seen += page.len() as u64;
        }
        assert_eq!(seen, total);
    }

    pub async fn report_counts_a_finish_at_the_as_of_instant<S: Backend>(s: S) {
        use motcua_store::report::{GroupBy, ReportQuery, report};
        let d = domain();
        let c =
            s.intake(&d, new_dossier(CENTRE, CITY_PROC, "A"), at(2025, 3, 3, 9, 0), None).await.unwrap().code.unwrap();
        s.record(&d, &c, ev(at(2025, 3, 3, 9, 30), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
        s.record(&d, &c, ev(at(2025, 3, 3, 10, 0), EventKind::Accepted)).await.unwrap();
        let finished = at(2025, 3, 5, 10, 0);
        s.record(
            &d,
            &c,
            ev(
                finished,
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        )
        .await
        .unwrap();
        let q = ReportQuery::new(day(2025, 3, 1), day(2025, 3, 31), GroupBy::Agency, finished);
        let r = report(&s, &d, &q).await.unwrap();
        assert_eq!((r.total.received, r.total.finished, r.total.early), (1, 1, 1), "{r:#?}");
        let before = ReportQuery { as_of: finished - Duration::seconds(1), ..q };
        let r = report(&s, &d, &before).await.unwrap();
        assert_eq!((r.total.finished, r.total.in_time), (0, 1), "{r:#?}");
    }

    /// A history that crosses the 2025 reform: dossiers of wards that ceased on 30/6/2025
    /// (one of them split between two new wards) and of today's wards. The report counts them
    /// under the agencies as they were, or with `as_successors` under today's (whole dossiers to
    /// the successor with the largest share); an agency filter narrows every grouping alike.
    /// An intake at a ceased ward after its last day is refused and writes nothing. The
    /// scorecard regroups the same history alike.
    pub async fn the_report_counts_history_under_successors_and_filters_every_grouping<
        S: Backend + motcua_store::scorecard::ScorecardStore + motcua_store::PetitionStore,
    >(
        s: S,
    ) {
        use motcua_store::report::{GroupBy, ReportQuery, report};
        let d = domain();
        // Thạch Thang → Hải Châu; Hòa Thuận Tây → Hải Châu 60 %, Hòa Cường 40 %; Hòa Cường Bắc
        // → Hòa Cường.
        let (thach_thang, hoa_thuan_tay, hoa_cuong_bac) = ("000.01.21.H17", "000.02.21.H17", "000.03.21.H17");
        let (hai_chau, hoa_cuong) = (WARD, "000.00.42.H17");
        let resolve =
            || EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None };
        let open = |agency: &'static str, when: DateTime<Utc>| {
            let (s, d) = (s.clone(), d.clone());
            async move {
                let c =
                    s.intake(&d, new_dossier(agency, WARD_PROC, "Lê Thị Hoa"), when, None).await.unwrap().code.unwrap();
                s.record(&d, &c, ev(when + Duration::minutes(10), EventKind::Accepted)).await.unwrap();
                c
            }
        };
        let a = open(thach_thang, at(2025, 6, 16, 9, 0)).await;
        s.record(&d, &a, ev(at(2025, 6, 17, 9, 0), resolve())).await.unwrap();
        let b = open(hoa_thuan_tay, at(2025, 6, 18, 9, 0)).await;
        s.record(&d, &b, ev(at(2025, 6, 25, 9, 0), resolve())).await.unwrap();
        let c = open(hoa_cuong_bac, at(2025, 6, 20, 9, 0)).await;
        // Finished after the reform, by the ward that received it.
        s.record(&d, &c, ev(at(2025, 7, 2, 9, 0), resolve())).await.unwrap();
        let city =
            s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Phan Văn Nam"), at(2025, 6, 20, 9, 0), None).await.unwrap();
        assert!(city.code.is_some());
        let e = open(hai_chau, at(2025, 7, 7, 9, 0)).await;
        s.record(&d, &e, ev(at(2025, 7, 8, 9, 0), resolve())).await.unwrap();
        open(hoa_cuong, at(2025, 7, 7, 9, 30)).await;

        // A ceased ward receives nothing after its last day.
        let events = s.event_count().await.unwrap();
        let err = s.intake(&d, new_dossier(thach_thang, WARD_PROC, "X"), at(2025, 7, 1, 9, 0), None).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected(DomainError::AgencyNotInForce(_))), "{err}");
        assert!(err.to_string().contains("ceased on 2025-06-30"), "{err}");
        assert_eq!(s.event_count().await.unwrap(), events, "a refused intake writes nothing");
        // Nor through the import's history path (a receipt carried by a foreign log) or a batch.
        let code: DossierCode = format!("{thach_thang}-250702-0001").parse().unwrap();
        let intake = Intake {
            code: code.clone(),
            procedure: WARD_PROC.parse().unwrap(),
            agency: ag(thach_thang),
            applicant: new_dossier(thach_thang, WARD_PROC, "X").applicant,
            channel: motcua_core::Channel::InPerson,
            documents: Vec::new(),
            digitised: None,
        };
        let receipt = ev(at(2025, 7, 2, 9, 0), EventKind::Received { intake });
        let imported =
            s.record_history(&d, vec![BatchItem::Record { code, event: receipt }], at(2025, 8, 1, 9, 0)).await.unwrap();
        assert!(matches!(imported[0], Err(StoreError::Rejected(DomainError::AgencyNotInForce(_)))), "{imported:?}");
        let batch = BatchItem::Intake {
            new: new_dossier(thach_thang, WARD_PROC, "X"),
            at: at(2025, 7, 2, 9, 0),
            by: None,
            backdate_reason: None,
        };
        let simulated = s.record_batch(&d, vec![batch], at(2025, 7, 2, 9, 0)).await.unwrap();
        assert!(matches!(simulated[0], Err(StoreError::Rejected(DomainError::AgencyNotInForce(_)))), "{simulated:?}");
        assert_eq!(s.event_count().await.unwrap(), events, "nothing written by either");

        let q = |by, as_of| ReportQuery::new(day(2025, 6, 1), day(2025, 7, 31), by, as_of);
        let rows = |r: &motcua_store::report::Report| {
            r.rows.iter().map(|x| (x.key.clone(), (x.counts.received, x.counts.finished))).collect::<Vec<_>>()
        };
        // Long after: every dossier finished but one of each kind.
        let late = at(2025, 8, 1, 9, 0);
        let was = report(&s, &d, &q(GroupBy::Agency, late)).await.unwrap();
        assert_eq!(
            rows(&was),
            vec![
                (CITY_LEAD.to_string(), (1, 0)),
                (hai_chau.to_string(), (1, 1)),
                (hoa_cuong.to_string(), (1, 0)),
                (thach_thang.to_string(), (1, 1)),
                (hoa_thuan_tay.to_string(), (1, 1)),
                (hoa_cuong_bac.to_string(), (1, 1)),
            ],
            "{was:#?}"
        );
        assert!(was.rows.iter().all(|r| !r.name.is_empty()), "ceased agencies keep their names");
        let now = ReportQuery { as_successors: true, ..q(GroupBy::Agency, late) };
        let today = report(&s, &d, &now).await.unwrap();
        assert_eq!(
            rows(&today),
            vec![(CITY_LEAD.to_string(), (1, 0)), (hai_chau.to_string(), (3, 3)), (hoa_cuong.to_string(), (2, 1)),],
            "{today:#?}"
        );
        assert_eq!(today.total, was.total, "regrouping moves dossiers, never adds or drops one");
        let sum = |r: &motcua_store::report::Report, keys: &[&str]| {
            r.rows.iter().filter(|x| keys.contains(&x.key.as_str())).fold(motcua_core::Counts::default(), |mut t, x| {
                t += x.counts;
                t
            })
        };
        let today_hai_chau = today.rows.iter().find(|r| r.key == hai_chau).unwrap().counts;
        assert_eq!(today_hai_chau, sum(&was, &[hai_chau, thach_thang, hoa_thuan_tay]));
        assert_eq!((today_hai_chau.late, today_hai_chau.early + today_hai_chau.on_time), (1, 2));

        // The filter, in every grouping and at instants that take each path of the read model:
        // the whole days, the partial last day, and a dossier replayed because it moved after
        // the report's instant.
        for as_of in [at(2025, 7, 1, 12, 0), at(2025, 7, 7, 15, 0), late] {
            for (agency, as_successors) in
                [(hai_chau, false), (hai_chau, true), (hoa_cuong, true), (hoa_thuan_tay, false), (CITY_LEAD, true)]
            {
                let mut totals = Vec::new();
                for by in [GroupBy::Agency, GroupBy::Procedure, GroupBy::Month] {
                    let mut query = ReportQuery { as_successors, ..q(by, as_of) };
                    query.agency = Some(ag(agency));
                    query.check(&d).unwrap();
                    let r = report(&s, &d, &query).await.unwrap();
                    if by == GroupBy::Agency {
                        assert!(r.rows.iter().all(|x| x.key == agency), "{r:#?}");
                    }
                    totals.push(r.total);
                }
                // The unfiltered report's row for that agency is what each grouping totals.
                let whole = report(&s, &d, &ReportQuery { as_successors, ..q(GroupBy::Agency, as_of) }).await.unwrap();
                let row = whole.rows.iter().find(|x| x.key == agency).map(|x| x.counts).unwrap_or_default();
                assert_eq!(totals, vec![row; 3], "{agency} as successors {as_successors} at {as_of}");
            }
        }
        // Narrowed by procedure: Hải Châu's ward procedure alone, as it was (1) and with its
        // predecessors' history (3).
        let mut by_procedure = q(GroupBy::Procedure, late);
        by_procedure.agency = Some(ag(hai_chau));
        let r = report(&s, &d, &by_procedure).await.unwrap();
        assert_eq!(rows(&r), vec![(WARD_PROC.to_string(), (1, 1))]);
        by_procedure.as_successors = true;
        let r = report(&s, &d, &by_procedure).await.unwrap();
        assert_eq!(rows(&r), vec![(WARD_PROC.to_string(), (3, 3))]);
        // By month, June's receipts are the old wards' and July's Hải Châu's own.
        let mut by_month = ReportQuery { as_successors: true, ..q(GroupBy::Month, late) };
        by_month.agency = Some(ag(hai_chau));
        let r = report(&s, &d, &by_month).await.unwrap();
        assert_eq!(rows(&r), vec![("2025-06".to_string(), (2, 2)), ("2025-07".to_string(), (1, 1))]);
        // A ceased agency is no filter of the successor view.
        let mut ceased = ReportQuery { as_successors: true, ..q(GroupBy::Agency, late) };
        ceased.agency = Some(ag(thach_thang));
        assert!(ceased.check(&d).unwrap_err().contains("counted under 000.00.41.H17"));
        super::scorecard::the_scorecard_counts_history_under_successors(
            &s,
            (day(2025, 6, 1), day(2025, 7, 31)),
            &[at(2025, 7, 1, 12, 0), at(2025, 7, 7, 15, 0), late],
            (hai_chau, &[thach_thang, hoa_thuan_tay]),
            thach_thang,
        )
        .await;
    }

    /// A dossier waiting for the citizen is neither in time nor overdue unless the wait began
    /// after its due instant (DOMAIN.md §5): the report's open tallies, its replay of dossiers
    /// that moved after the period's end and the scrape's overdue count all say what core says.
    pub async fn waiting_for_the_citizen_is_neither_in_time_nor_overdue<S: Backend + motcua_store::ServiceFigures>(
        s: S,
    ) {
        use motcua_core::analysis::{OpenState, count_dossier, open_state};
        use motcua_store::metrics::FiguresQuery;
        use motcua_store::report::{GroupBy, ReportQuery, report};
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        let mut codes = Vec::new();
        for name in ["waits in time", "waits after due", "runs overdue"] {
            let c = s.intake(&d, new_dossier(CENTRE, CITY_PROC, name), t0, None).await.unwrap().code.unwrap();
            s.record(&d, &c, ev(at(2025, 3, 3, 9, 30), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
            s.record(&d, &c, ev(at(2025, 3, 3, 10, 0), EventKind::Accepted)).await.unwrap();
            codes.push(c);
        }
        let due = s.dossier_row(&codes[0]).await.unwrap().unwrap().due_at.unwrap();
        let supplement =
            || EventKind::SupplementRequested {
                reason: "thiếu tờ khai".into(), documents: vec![], reason_code: None
            };
        s.record(&d, &codes[0], ev(at(2025, 3, 4, 9, 0), supplement())).await.unwrap();
        let late_request = due + Duration::days(7);
        s.record(&d, &codes[1], ev(late_request, supplement())).await.unwrap();

        let expected = |p1: DateTime<Utc>| {
            let (s, d, codes) = (&s, &d, &codes);
            async move {
                let mut c = motcua_core::Counts::default();
                let mut states = Vec::new();
                for code in codes {
                    let dossier = d.replay_until(s.events(code).await.unwrap().iter(), p1).unwrap();
                    count_dossier(&mut c, &dossier, at(2025, 3, 1, 0, 0), p1, d.classify);
                    states.push(open_state(&dossier, p1).unwrap());
                }
                (c, states)
            }
        };
        // Between the two requests (the second dossier's request is after this instant: the
        // report replays it), then long after both.
        for (p1, states) in [
            (due + Duration::days(3), [OpenState::WaitingForCitizen, OpenState::Overdue, OpenState::Overdue]),
            (at(2025, 6, 2, 9, 0), [OpenState::WaitingForCitizen, OpenState::Overdue, OpenState::Overdue]),
        ] {
            let (want, core_states) = expected(p1).await;
            assert_eq!(core_states, states, "core's word at {p1}");
            let q = ReportQuery::new(day(2025, 3, 1), motcua_core::calendar::to_local(p1).date(), GroupBy::Agency, p1);
            let r = report(&s, &d, &q).await.unwrap();
            assert_eq!((r.total.in_time, r.total.overdue, r.total.waiting), (0, 2, 1), "at {p1}: {r:#?}");
            assert_eq!(
                (r.total.in_time, r.total.overdue, r.total.waiting),
                (want.in_time, want.overdue, want.waiting),
                "the report says what core says at {p1}"
            );
        }
        let now = at(2025, 6, 2, 9, 0);
        let query = FiguresQuery {
            now,
            today: day(2025, 6, 2),
            window_starts: vec![day(2025, 6, 1)],
            known_past: None,
            known_working_time: None,
        };
        let figures = s.figures(&query).await.unwrap();
        let overdue: u64 = figures.overdue.iter().map(|o| o.overdue).sum();
        assert_eq!(overdue, 2, "the scrape counts the waiting dossier as neither: {:#?}", figures.overdue);
    }

    /// A finish after the due date with no apology before it records the apology it owes in the
    /// log (an `apologised` event, by the one who finished it), in the transaction that queues
    /// its letter; an on-time finish, or a late one already apologised for, records none. The
    /// same apology met again (a log imported back) adds nothing.
    pub async fn a_late_finish_records_its_apology<S: Backend + motcua_store::OutboxStore>(s: S) {
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        let open = |name: &'static str| {
            let s = s.clone();
            let d = d.clone();
            async move {
                let c = s.intake(&d, new_dossier(CENTRE, CITY_PROC, name), t0, None).await.unwrap().code.unwrap();
                s.record(&d, &c, ev(at(2025, 3, 3, 10, 0), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
                s.record(&d, &c, ev(at(2025, 3, 3, 11, 0), EventKind::Accepted)).await.unwrap();
                c
            }
        };
        let resolved =
            || EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None };
        let finish = |at| Event::new(at, Some("truong.phong".into()), resolved());
        let kinds = |s: &S, c: &DossierCode| {
            let s = s.clone();
            let c = c.clone();
            async move { s.events(&c).await.unwrap().into_iter().map(|e| e.kind.name()).collect::<Vec<_>>() }
        };
        // Late, never apologised for: the finish and its apology, one transaction.
        let late = open("Trễ hạn").await;
        let due = s.dossier_row(&late).await.unwrap().unwrap().due_at.unwrap();
        let finished = due + Duration::days(3);
        s.record(&d, &late, finish(finished)).await.unwrap();
        let log = s.events(&late).await.unwrap();
        assert_eq!(log.len(), 5, "{log:#?}");
        let apology = &log[4];
        assert_eq!((apology.at, apology.by.as_deref()), (finished, Some("truong.phong")));
        let EventKind::Apologised { responsible, reason } = &apology.kind else { panic!("{apology:?}") };
        assert_eq!(*responsible, ag(DEPT), "the department sat on it");
        let letter = s.outbox_for(&late).await.unwrap().into_iter().find(|m| m.kind == "apology_with_result");
        let letter = letter.expect("the letter is queued with the event");
        let payload: serde_json::Value = serde_json::from_str(&letter.payload).unwrap();
        assert_eq!(payload["apology"]["reason"].as_str(), Some(reason.as_str()), "the event says what the letter says");
        assert_eq!(payload["apology"]["responsible"]["code"].as_str(), Some(DEPT));
        let row = s.dossier_row(&late).await.unwrap().unwrap();
        assert_eq!(row.event_count, 5);
        // Met again, as a log imported back gives it (history): already present, nothing added.
        let back = s
            .record_history(&d, vec![BatchItem::Record { code: late.clone(), event: apology.clone() }], finished)
            .await
            .unwrap();
        assert!(matches!(back.as_slice(), [Err(StoreError::AlreadyPresent { .. })]), "{back:?}");
        assert_eq!(s.events(&late).await.unwrap().len(), 5);
        // A second apology at another instant is refused and writes nothing.
        let again = Event::new(finished + Duration::hours(1), None, apology.kind.clone());
        let err = s.record(&d, &late, again).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Rejected(DomainError::Dossier(DossierError::IllegalTransition { .. }))),
            "{err}"
        );
        assert_eq!(s.events(&late).await.unwrap().len(), 5);

        // On time: no apology.
        let on_time = open("Đúng hạn").await;
        s.record(&d, &on_time, finish(at(2025, 3, 5, 9, 0))).await.unwrap();
        assert_eq!(kinds(&s, &on_time).await.last(), Some(&"resolved"));
        assert!(s.outbox_for(&on_time).await.unwrap().iter().all(|m| !m.kind.starts_with("apology")));
        // An apology on an open dossier is refused.
        let open_one = open("Đang xử lý").await;
        let stray = Event::new(at(2025, 3, 5, 10, 0), None, apology.kind.clone());
        assert!(s.record(&d, &open_one, stray).await.is_err());
        assert_eq!(kinds(&s, &open_one).await.len(), 3);

        // Late, but apologised for before the due date: no second apology at the finish.
        let rescheduled = open("Đã xin lỗi").await;
        let due = s.dossier_row(&rescheduled).await.unwrap().unwrap().due_at.unwrap();
        let kind = EventKind::Rescheduled {
            to: due + Duration::days(7),
            reason: "Chờ ý kiến của sở".into(),
            responsible: Some(ag(DEPT)),
            automatic: false,
            override_second: false,
            reason_code: None,
        };
        s.record(&d, &rescheduled, ev(due - Duration::days(2), kind)).await.unwrap();
        s.record(&d, &rescheduled, finish(due + Duration::days(3))).await.unwrap();
        assert_eq!(kinds(&s, &rescheduled).await[3..], ["rescheduled", "resolved"]);

        // In a batch (an import): the apology follows the finish, and the batch's later items
        // see it.
        let batched = open("Nhập lô").await;
        let due = s.dossier_row(&batched).await.unwrap().unwrap().due_at.unwrap();
        let items = vec![
            BatchItem::Record { code: batched.clone(), event: finish(due + Duration::days(1)) },
            BatchItem::Record { code: batched.clone(), event: ev(due + Duration::days(2), EventKind::Returned) },
        ];
        let results = s.record_batch(&d, items, due + Duration::days(2)).await.unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(kinds(&s, &batched).await[3..], ["resolved", "apologised", "returned"]);
        consistent(&s, &d).await;
    }

    /// Dead messages are revived in bulk, of one kind or all, and the outbox counters follow.
    pub async fn dead_messages_are_revived_in_bulk<
        S: Backend + motcua_store::OutboxStore + motcua_store::ServiceFigures,
    >(
        s: S,
    ) {
        use motcua_store::OutboxStatus;
        let now = at(2025, 3, 20, 9, 0);
        let message = |i: usize, kind: &str| motcua_store::NewMessage {
            dedupe_key: format!("{kind}:{i}"),
            kind: kind.to_string(),
            dossier_code: None,
            deadline_revision: None,
            recipient: format!("m{i}@example.vn"),
            payload: "{}".to_string(),
            at: now,
        };
        let queued = (0..5).map(|i| message(i, if i < 2 { "apology" } else { "at_risk" })).collect::<Vec<_>>();
        assert_eq!(s.enqueue(queued).await.unwrap().len(), 5);
        let claimed = s.claim("w1", now, now + Duration::minutes(5), 100).await.unwrap();
        assert_eq!(claimed.len(), 5);
        let dead = motcua_store::outbox::Failure { error: "550 no such user", retry_at: None, counted: true };
        for m in &claimed {
            assert!(s.mark_failed(m.id, "w1", now, dead).await.unwrap());
        }
        let count = |status| {
            let s = &s;
            async move { s.outbox(Some(status), 100).await.unwrap().len() }
        };
        assert_eq!(count(OutboxStatus::Dead).await, 5);
        let later = now + Duration::hours(1);
        assert_eq!(s.retry_dead(Some("apology"), later).await.unwrap(), 2);
        let pending = s.outbox(Some(OutboxStatus::Pending), 100).await.unwrap();
        assert!(
            pending.iter().all(|m| m.kind == "apology" && m.attempts == 0 && m.last_error.is_none()),
            "{pending:#?}"
        );
        assert_eq!(s.retry_dead(Some("apology"), later).await.unwrap(), 0, "nothing dead of that kind is left");
        assert_eq!(s.retry_dead(None, later).await.unwrap(), 3);
        assert_eq!((count(OutboxStatus::Dead).await, count(OutboxStatus::Pending).await), (0, 5));
        let query = motcua_store::metrics::FiguresQuery {
            now: later,
            today: day(2025, 3, 20),
            window_starts: vec![day(2025, 3, 1)],
            known_past: None,
            known_working_time: None,
        };
        let kept = s.figures(&query).await.unwrap().outbox;
        assert!(s.recompute(&domain(), false).await.unwrap().is_empty());
        assert_eq!(kept, s.figures(&query).await.unwrap().outbox, "the counters moved with the rows");
        assert_eq!(s.claim("w2", later, later + Duration::minutes(5), 100).await.unwrap().len(), 5, "due again");
    }

    /// Notices gathered into a digest: one digest row per recipient and day, written with the
    /// notices it gathers (marked sent with its key) in one transaction; a second gather (or a
    /// racing one) adds nothing; rows queued after the cut-off, leased rows and other kinds
    /// stay; a notice held over the cap is claimed by no one and goes into the next digest;
    /// the counters follow.
    pub async fn digests_gather_each_notice_once<
        S: Backend + motcua_store::OutboxStore + motcua_store::ServiceFigures,
    >(
        s: S,
    ) {
        use motcua_core::letters::Digest;
        use motcua_store::OutboxStatus;
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        // Two dossiers' apology letters: real letters to gather.
        let mut letters = Vec::new();
        for name in ["Một", "Hai"] {
            let first = s.intake(&d, new_dossier(CENTRE, CITY_PROC, name), t0, None).await.unwrap();
            let c = first.code.clone().unwrap();
            let kind = EventKind::Rescheduled {
                to: first.due_at.unwrap() + Duration::days(7),
                reason: "chờ xác minh".into(),
                responsible: None,
                automatic: false,
                override_second: false,
                reason_code: None,
            };
            s.record(&d, &c, ev(t0 + Duration::hours(1), kind)).await.unwrap();
            let row = s.outbox_for(&c).await.unwrap().into_iter().find(|m| m.kind == "apology").unwrap();
            letters.push((c, row.payload));
        }
        // Clear the citizens' letters out of the way.
        let now = at(2025, 3, 4, 9, 0);
        let citizens = s.claim("w0", now, now + Duration::minutes(5), 100).await.unwrap();
        let ids: Vec<i64> = citizens.iter().map(|m| m.id).collect();
        assert_eq!(s.mark_sent(&ids, "w0", now).await.unwrap().len(), ids.len());
        let officer = "so@dept.example";
        let message =
            |key: &str, kind: &str, to: &str, i: usize, at: chrono::DateTime<chrono::Utc>| motcua_store::NewMessage {
                dedupe_key: key.to_string(),
                kind: kind.to_string(),
                dossier_code: Some(letters[i].0.clone()),
                deadline_revision: Some(0),
                recipient: to.to_string(),
                payload: letters[i].1.clone(),
                at,
            };
        let queued = vec![
            message("at_risk:a:0:so", "at_risk", officer, 0, at(2025, 3, 4, 10, 0)),
            message("reminder:a:0:so", "reminder", officer, 0, at(2025, 3, 4, 11, 0)),
            message("at_risk:b:0:so", "at_risk", officer, 1, at(2025, 3, 4, 12, 0)),
            message("escalation:b:0:so", "escalation", officer, 1, at(2025, 3, 4, 12, 0)),
            // After the cut-off (Wed 05/03 07:30): the next digest's.
            message("at_risk:b:1:so", "at_risk", officer, 1, at(2025, 3, 5, 8, 0)),
            message("at_risk:a:0:ward", "at_risk", "ward@example.vn", 0, at(2025, 3, 4, 10, 0)),
        ];
        assert_eq!(s.enqueue(queued).await.unwrap().len(), 6);
        let kinds = vec!["at_risk".to_string(), "reminder".to_string()];
        let (day5, until) = (day(2025, 3, 5), at(2025, 3, 5, 7, 30));
        let now = at(2025, 3, 5, 9, 0);
        // The dispatcher leaves the digested kinds alone: it claims the escalation only, and
        // gives it back to wait for the digest (over the cap).
        let claimed = s.claim_except("w1", now, now + Duration::minutes(5), 100, &kinds).await.unwrap();
        assert_eq!(claimed.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(), ["escalation"]);
        let esc = claimed[0].clone();
        assert_eq!(s.hold_for_digest(&[esc.id], "w2", now).await.unwrap(), Vec::<i64>::new(), "not its lease");
        assert_eq!(s.hold_for_digest(&[esc.id], "w1", now).await.unwrap(), vec![esc.id]);
        let held = s.outbox_message(esc.id).await.unwrap().unwrap();
        assert_eq!((held.status, held.digest.as_deref(), held.attempts), (OutboxStatus::Pending, Some("held"), 0));
        let none = s.claim_except("w1", now, now + Duration::minutes(5), 100, &kinds).await.unwrap();
        assert!(none.is_empty(), "held: claimed by none: {none:?}");
        // One ward notice is leased by a worker that still sends notices one by one.
        let leased = s.claim_except("w9", now, now + Duration::minutes(5), 100, &[]).await.unwrap();
        assert_eq!(leased.len(), 5, "each-mode claims every kind but the held");
        for m in &leased {
            if m.recipient != "ward@example.vn" {
                let f = motcua_store::outbox::Failure { error: "later", retry_at: Some(now), counted: false };
                assert!(s.mark_failed(m.id, "w9", now, f).await.unwrap());
            }
        }
        assert_eq!(s.digest_recipients(&kinds, until).await.unwrap(), [officer.to_string(), "ward@example.vn".into()]);
        // Two gathers at once for the officer: one digest.
        let (a, b) = tokio::join!(
            s.gather_digest(&d, officer, &kinds, day5, until, now),
            s.gather_digest(&d, officer, &kinds, day5, until, now)
        );
        let got: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].notices, got[0].dossiers, got[0].dead), (4, 2, 0));
        assert_eq!(got[0].key, "digest:so@dept.example:2025-03-05");
        assert_eq!(s.gather_digest(&d, officer, &kinds, day5, until, now).await.unwrap(), None, "once a day");
        // The leased ward notice is not taken from its worker.
        assert_eq!(s.gather_digest(&d, "ward@example.vn", &kinds, day5, until, now).await.unwrap(), None);
        let rows = s.outbox(None, 1000).await.unwrap();
        let mine: Vec<_> = rows.iter().filter(|m| m.recipient == officer).collect();
        let gathered: Vec<_> = mine.iter().filter(|m| m.digest.as_deref() == Some(got[0].key.as_str())).collect();
        assert_eq!(gathered.len(), 4);
        assert!(gathered.iter().all(|m| m.status == OutboxStatus::Sent && m.sent_at == Some(now)));
        let late = mine.iter().find(|m| m.dedupe_key == "at_risk:b:1:so").unwrap();
        assert_eq!((late.status, late.digest.as_deref()), (OutboxStatus::Pending, None), "the next day's");
        let digest = mine.iter().find(|m| m.kind == "digest").unwrap();
        assert_eq!((digest.status, digest.dossier_code.as_ref()), (OutboxStatus::Pending, None));
        let parsed: Digest = serde_json::from_str(&digest.payload).unwrap();
        assert_eq!((parsed.entries.len(), parsed.notices, parsed.date), (2, 4, day5));
        // The dispatcher sends the digest like any row; it counts as one message today.
        let out = s.claim_except("w1", now, now + Duration::minutes(5), 100, &kinds).await.unwrap();
        assert_eq!(out.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(), ["digest"]);
        s.mark_sent(&[out[0].id], "w1", now).await.unwrap();
        let sent = s.sent_since(at(2025, 3, 5, 0, 0)).await.unwrap();
        let to_officer: Vec<_> = sent.iter().filter(|c| c.recipient == officer).collect();
        assert_eq!(to_officer.len(), 1, "{sent:?}");
        assert_eq!((to_officer[0].kind.as_str(), to_officer[0].messages), ("digest", 1));
        // Another notice about the first dossier for the next day; the second dossier (whose
        // late notice waits for that day) is resolved meanwhile.
        let more = vec![message("at_risk:a:1:so", "at_risk", officer, 0, at(2025, 3, 5, 8, 30))];
        assert_eq!(s.enqueue(more).await.unwrap().len(), 1);
        let b = &letters[1].0;
        s.record(&d, b, ev(at(2025, 3, 5, 10, 0), EventKind::Accepted)).await.unwrap();
        s.record(
            &d,
            b,
            ev(
                at(2025, 3, 5, 11, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        )
        .await
        .unwrap();
        // The next working day: the late notice is left out (the dossier finished), the other
        // listed with its dossier's due date now.
        let g = s
            .gather_digest(&d, officer, &kinds, day(2025, 3, 6), at(2025, 3, 6, 7, 30), at(2025, 3, 6, 7, 30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((g.notices, g.dossiers, g.dropped), (1, 1, 1));
        let rows = s.outbox(None, 1000).await.unwrap();
        let late = rows.iter().find(|m| m.dedupe_key == "at_risk:b:1:so").unwrap();
        assert_eq!((late.status, late.digest.as_deref()), (OutboxStatus::Sent, Some(motcua_store::outbox::DROPPED)));
        assert!(late.last_error.as_deref().unwrap_or("").contains("no longer applies"), "{late:?}");
        let next = rows.iter().find(|m| m.dedupe_key == "digest:so@dept.example:2025-03-06").unwrap();
        let parsed: Digest = serde_json::from_str(&next.payload).unwrap();
        let a_due = s.dossier_row(&letters[0].0).await.unwrap().unwrap().due_at;
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!((&parsed.entries[0].code, parsed.entries[0].due_at), (&letters[0].0, a_due));
        // Counters equal a recount.
        assert!(s.recompute(&d, true).await.unwrap().is_empty());
    }

    /// The counters the write path keeps equal the counters `recompute` sets again from the
    /// rows they count, after single writes, a batch written in parts, and every move of an
    /// outbox message (sent, dead, retried, retried later).
    pub async fn counters_equal_a_recount<S: Backend + motcua_store::OutboxStore + motcua_store::ServiceFigures>(s: S) {
        use motcua_store::metrics::FiguresQuery;
        let d = domain();
        let t0 = at(2025, 3, 3, 9, 0);
        let a = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "A"), t0, None).await.unwrap().code.unwrap();
        let w = s.intake(&d, new_dossier(WARD, WARD_PROC, "W"), t0, None).await.unwrap().code.unwrap();
        s.record(&d, &a, ev(at(2025, 3, 12, 9, 0), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
        s.record(&d, &w, ev(at(2025, 3, 3, 9, 30), EventKind::Accepted)).await.unwrap();
        s.record(
            &d,
            &w,
            ev(
                at(2025, 3, 3, 10, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        )
        .await
        .unwrap();
        let mut items = Vec::new();
        for i in 0..150 {
            let new = new_dossier(
                if i % 3 == 0 { WARD } else { CENTRE },
                if i % 3 == 0 { WARD_PROC } else { CITY_PROC },
                &format!("B{i}"),
            );
            let t = t0 + Duration::minutes(i);
            let then = if i % 2 == 0 {
                vec![]
            } else {
                vec![ev(t + Duration::minutes(5), EventKind::Transferred { to: ag(DEPT) })]
            };
            items.push(BatchItem::IntakeWith { new, at: t, by: None, then });
        }
        items.push(BatchItem::Record { code: a.clone(), event: ev(at(2025, 3, 12, 9, 30), EventKind::Accepted) });
        assert!(s.record_batch(&d, items, at(2025, 4, 1, 9, 0)).await.unwrap().iter().all(|r| r.is_ok()));
        // Every message moves once: some sent, one dead then retried, one put off.
        let now = at(2025, 3, 20, 9, 0);
        let message = |i: usize, kind: &str| motcua_store::NewMessage {
            dedupe_key: format!("{kind}:{i}"),
            kind: kind.to_string(),
            dossier_code: Some(a.clone()),
            deadline_revision: Some(0),
            recipient: format!("m{i}@example.vn"),
            payload: "{}".to_string(),
            at: t0,
        };
        let queued = (0..6).map(|i| message(i, if i % 2 == 0 { "reminder" } else { "apology" })).collect::<Vec<_>>();
        assert_eq!(s.enqueue(queued.clone()).await.unwrap().len(), 6);
        assert!(s.enqueue(queued).await.unwrap().is_empty(), "known dedupe keys are skipped and not counted");
        let claimed = s.claim("w1", now, now + Duration::minutes(5), 1000).await.unwrap();
        assert!(claimed.len() > 3, "the intakes queue receipts: {}", claimed.len());
        let ids: Vec<i64> = claimed.iter().map(|m| m.id).collect();
        let failure = |error, retry_at, counted| motcua_store::outbox::Failure { error, retry_at, counted };
        assert!(s.mark_failed(ids[0], "w1", now, failure("550 no such user", None, true)).await.unwrap());
        let later = Some(now + Duration::hours(1));
        assert!(s.mark_failed(ids[1], "w1", now, failure("421 try later", later, true)).await.unwrap());
        assert!(s.mark_failed(ids[2], "w1", now, failure("cannot connect", later, false)).await.unwrap());
        let rows = s.outbox(None, 1000).await.unwrap();
        let attempts = |id: i64| rows.iter().find(|m| m.id == id).unwrap().attempts;
        assert_eq!((attempts(ids[1]), attempts(ids[2])), (1, 0), "an unreachable server costs the message no attempt");
        assert_eq!(s.mark_sent(&ids[3..], "w1", now).await.unwrap().len(), ids.len() - 3);
        assert!(s.retry_message(ids[0], now).await.unwrap());

        let query = FiguresQuery {
            now,
            today: day(2025, 3, 20),
            window_starts: vec![day(2025, 3, 1)],
            known_past: None,
            known_working_time: None,
        };
        let kept = s.figures(&query).await.unwrap();
        assert!(!kept.open.is_empty() && !kept.totals.is_empty() && !kept.outbox.is_empty(), "{kept:#?}");
        assert!(kept.at_risk.iter().any(|(_, n)| *n > 0), "a dossier at risk is counted: {kept:#?}");
        // Spoil every counter: the recompute must set each one again from what it counts.
        for table in [
            "metric_open_dossiers SET dossiers = dossiers + 7, at_risk = at_risk + 1",
            "metric_outbox SET messages = messages + 5",
            "metric_agency_totals SET received = received + 3",
            "metric_agency_days SET finished = finished + 2",
        ] {
            assert!(s.raw(&format!("UPDATE {table}")).await.unwrap() > 0, "{table}");
        }
        assert_ne!(s.figures(&query).await.unwrap().open, kept.open);
        let diff = s.recompute(&d, false).await.unwrap();
        assert!(diff.is_empty(), "{diff:#?}");
        let recounted = s.figures(&query).await.unwrap();
        assert_eq!(kept.open, recounted.open);
        assert_eq!(kept.at_risk, recounted.at_risk);
        assert_eq!(kept.totals, recounted.totals);
        assert_eq!(kept.today, recounted.today);
        assert_eq!(kept.past, recounted.past);
        assert_eq!(kept.outbox, recounted.outbox);
        // The rebuild counts a change on every agency, so that a scrape re-reads its past days.
        assert!(recounted.past_changes.by_agency.iter().all(|(a, n)| kept.past_changes.by_agency.get(a) < Some(n)));
    }

    /// Every event keeps both instants: as stated (`at`) and as recorded (the caller's "now",
    /// per item even inside one group commit), and a backdating reason in its payload; the
    /// backdated ones of a period are read by when they were recorded.
    pub async fn backdated_events_keep_both_instants<S: Backend>(s: S) {
        use motcua_store::{Capability, NewStaff};
        let d = domain();
        let t = at(2025, 3, 3, 9, 0);
        let c = s
            .intake_stamped(&d, new_dossier(CENTRE, CITY_PROC, "A"), t, Some("desk1".into()), None, t)
            .await
            .unwrap()
            .code
            .unwrap();
        // Keyed in two days later from paper, with a reason.
        let keyed = at(2025, 3, 5, 14, 0);
        let mut late = ev(at(2025, 3, 3, 9, 30), EventKind::Transferred { to: ag(DEPT) });
        late.backdate_reason = Some("Nhập lại từ sổ giấy khi mất điện".into());
        late.by = Some("records1".into());
        s.record_stamped(&d, &c, late, keyed).await.unwrap();
        // Two single writes at once (one group commit), each with its own "now".
        let c2 = s
            .intake_stamped(&d, new_dossier(CENTRE, CITY_PROC, "B"), t, None, Some("Sổ tiếp nhận giấy".into()), t)
            .await
            .unwrap()
            .code
            .unwrap();
        let (n1, n2) = (at(2025, 3, 5, 15, 0), at(2025, 3, 5, 15, 5));
        let (a, b) = tokio::join!(
            s.record_stamped(&d, &c, ev(n1, EventKind::Accepted), n1),
            s.record_stamped(&d, &c2, ev(at(2025, 3, 5, 8, 0), EventKind::Transferred { to: ag(DEPT) }), n2),
        );
        a.unwrap();
        b.unwrap();
        let log = s.logged_events(&c).await.unwrap();
        let stamps: Vec<_> = log.iter().map(|e| (e.seq, e.event.at, e.recorded_at)).collect();
        assert_eq!(stamps, [(1, t, t), (2, at(2025, 3, 3, 9, 30), keyed), (3, n1, n1)]);
        assert_eq!(log[1].event.backdate_reason.as_deref(), Some("Nhập lại từ sổ giấy khi mất điện"));
        assert_eq!(log[0].event.backdate_reason, None);
        let first = &s.logged_events(&c2).await.unwrap()[0];
        assert_eq!(first.event.backdate_reason.as_deref(), Some("Sổ tiếp nhận giấy"), "an intake keeps its reason");
        assert_eq!(s.events(&c).await.unwrap()[1], log[1].event, "the reason is part of the event");
        // The backdated events recorded on 5/3, in the order recorded; not those stated on time.
        let found = s.backdated_events(at(2025, 3, 5, 0, 0), at(2025, 3, 6, 0, 0), None, 100).await.unwrap();
        let seen: Vec<_> = found.iter().map(|e| (e.code.clone(), e.seq, e.recorded_at)).collect();
        assert_eq!(seen, [(c.clone(), 2, keyed), (c2.clone(), 2, n2)]);
        assert_eq!(s.backdated_events(at(2025, 3, 5, 0, 0), at(2025, 3, 6, 0, 0), None, 1).await.unwrap().len(), 1);
        let one = s.backdated_events(at(2025, 3, 5, 0, 0), at(2025, 3, 6, 0, 0), Some("records1"), 100).await.unwrap();
        assert_eq!(one.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
        assert_eq!(one[0].code, c);
        assert!(s.backdated_events(at(2025, 3, 3, 0, 0), at(2025, 3, 5, 0, 0), None, 100).await.unwrap().is_empty());
        consistent(&s, &d).await;

        // The paper-history capability, granted and taken back by name.
        let new = NewStaff {
            username: "records1".into(),
            display_name: "Cán bộ lưu trữ".into(),
            role: motcua_store::Role::Desk,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
            agencies: vec![ag(CENTRE)],
            at: t,
        };
        assert!(s.add_staff(new).await.unwrap().unwrap().capabilities.is_empty());
        assert!(s.set_capability("records1", Capability::PaperHistory, true, t).await.unwrap());
        assert!(s.set_capability("records1", Capability::PaperHistory, true, t).await.unwrap(), "granting twice");
        let (row, _) = s.staff_credentials("records1").await.unwrap().unwrap();
        assert_eq!(row.capabilities, [Capability::PaperHistory]);
        assert!(row.may(Capability::PaperHistory));
        assert!(s.set_capability("records1", Capability::PaperHistory, false, t).await.unwrap());
        assert!(!s.staff_list().await.unwrap()[0].may(Capability::PaperHistory));
        assert!(!s.set_capability("nobody", Capability::PaperHistory, true, t).await.unwrap());
    }

    /// The projection's at-risk flag is core's rule as of the last event.
    pub async fn at_risk_is_projected<S: Backend>(s: S) {
        let d = domain();
        let c =
            s.intake(&d, new_dossier(CENTRE, CITY_PROC, "B"), at(2025, 3, 3, 9, 0), None).await.unwrap().code.unwrap();
        assert!(!s.dossier_row(&c).await.unwrap().unwrap().at_risk, "fresh dossier");
        // The desk sits on it for most of the limit: the department's budget no longer fits.
        s.record(&d, &c, ev(at(2025, 3, 12, 9, 0), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
        let row = s.dossier_row(&c).await.unwrap().unwrap();
        assert!(row.at_risk, "{row:?}");
        s.record(&d, &c, ev(at(2025, 3, 12, 9, 30), EventKind::Accepted)).await.unwrap();
        s.record(
            &d,
            &c,
            ev(
                at(2025, 3, 12, 10, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        )
        .await
        .unwrap();
        assert!(!s.dossier_row(&c).await.unwrap().unwrap().at_risk, "finished dossiers are never at risk");
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let store = super::support::sqlite_store(dir.path()).await;
                super::checks::$name(store.clone()).await;
                store.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::support::with_pg(stringify!($name), super::checks::$name).await;
            }
        }
    )*};
}

conformance!(
    an_instant_with_nanoseconds_replays_to_what_was_written,
    intake_numbers_codes_per_agency_per_day,
    intake_keeps_the_document_checklist,
    lifecycle_updates_projection_and_counts,
    rejected_commands_write_nothing,
    a_failed_write_rolls_back_and_the_writer_goes_on,
    event_log_is_append_only,
    batch_writes_the_good_items_only,
    a_big_batch_written_in_parts_ends_as_one,
    recompute_follows_a_calendar_correction,
    concurrent_records_never_lose_an_event,
    concurrent_single_writes_each_get_their_own_result,
    desk_letters_are_the_desks_outbox_rows,
    reads_by_period,
    report_counts_a_finish_at_the_as_of_instant,
    the_report_counts_history_under_successors_and_filters_every_grouping,
    at_risk_is_projected,
    counters_equal_a_recount,
    dead_messages_are_revived_in_bulk,
    a_late_finish_records_its_apology,
    tokens_expire_are_listed_and_revoked,
    a_password_reset_or_a_disable_ends_every_credential,
    login_failures_are_counted_locked_and_cleared,
    accounts_sessions_ratings_and_the_audit_log,
    personal_data_is_found_within_the_agencies_that_held_it,
    an_inspector_account_keeps_its_role_and_scope,
    backdated_events_keep_both_instants,
    waiting_for_the_citizen_is_neither_in_time_nor_overdue,
    the_watch_list_is_kept_by_the_writer_and_equals_a_replay,
    history_without_an_officer_counts_under_unknown,
    dossiers_are_found_by_code_name_id_and_phone,
    desk_lists_and_the_work_queue_are_paged_and_counted,
    letters_to_print_are_paged_and_marked_printed_then_handed,
    digests_gather_each_notice_once,
    history_is_quiet_idempotent_and_leaves_the_overdue_to_a_person,
    petitions_are_filed_routed_answered_and_reported,
    the_scorecard_is_kept_by_the_writer_and_equals_a_replay,
    scorecard_data_is_projected_as_core_replays_it,
    an_acceptance_and_its_digitised_papers_are_written_all_or_none,
    old_dossiers_stay_unknown_and_recompute_fills_a_migrated_database,
    petition_messages_are_written_with_their_event,
    the_petitions_projection_is_rebuilt_from_its_log,
    reads_of_an_items_personal_data_are_audited,
    hall_numbers_never_repeat_or_skip_under_concurrency,
    hall_counters_calling_at_once_are_answered_in_order,
    hall_batches_of_calls_pick_as_the_rule_over_the_whole_queue,
    hall_tickets_follow_the_ordering_rule_and_their_steps,
    hall_bookings_are_limited_cancelled_and_checked_in,
    hall_scripts_are_recorded_whole_or_not_at_all,
);

/// SQLite only: migration 21 rebuilds `staff` (a new role in its CHECK) and keeps every
/// account's id, agencies, sessions, tokens and capabilities, which refer to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migration_21_keeps_the_accounts_and_what_refers_to_them() {
    use motcua_store::{Capability, Role, SqliteStore, StaffStore};
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use support::*;

    // A database at version 20, from the migrations before the rebuild.
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before");
    std::fs::create_dir(&before).unwrap();
    let all = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0021" {
            std::fs::copy(&path, before.join(&name)).unwrap();
        }
    }
    let path = dir.path().join("motcua.db");
    let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true).foreign_keys(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(before.as_path()).await.unwrap().run(&pool).await.unwrap();
    let t = "'2025-03-10T02:00:00.000000Z'";
    let later = "'2099-03-10T02:00:00.000000Z'";
    for sql in [
        format!(
            "INSERT INTO staff (id, username, display_name, role, password_hash, disabled, created_at, password_changed_at) VALUES (1, 'gone', 'G', 'desk', 'h', 0, {t}, {t})"
        ),
        format!(
            "INSERT INTO staff (id, username, display_name, role, password_hash, disabled, created_at, password_changed_at) VALUES (2, 'desk', 'D', 'desk', 'h', 0, {t}, {t})"
        ),
        format!(
            "INSERT INTO staff (id, username, display_name, role, password_hash, disabled, created_at, password_changed_at) VALUES (3, 'chair', 'C', 'chair', 'h', 0, {t}, {t})"
        ),
        "DELETE FROM staff WHERE id = 1".to_string(),
        format!("INSERT INTO staff_agencies (staff_id, agency) VALUES (2, '{CENTRE}'), (2, '{WARD}')"),
        format!(
            "INSERT INTO sessions (id_hash, staff_id, csrf, created_at, expires_at) VALUES ('s1', 2, 'c1', {t}, {later})"
        ),
        format!(
            "INSERT INTO api_tokens (id, token_hash, staff_id, name, created_at, expires_at) VALUES (7, 't7', 3, 'report', {t}, {later})"
        ),
        format!("INSERT INTO staff_capabilities (staff_id, capability, granted_at) VALUES (2, 'paper_history', {t})"),
    ] {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let s = SqliteStore::open(&path).await.unwrap();
    let now = at(2025, 3, 10, 10, 0);
    let (desk, _) = s.staff_credentials("desk").await.unwrap().unwrap();
    assert_eq!((desk.id, desk.role), (2, Role::Desk));
    let mut agencies = desk.agencies.clone();
    agencies.sort();
    let mut expected = vec![ag(CENTRE), ag(WARD)];
    expected.sort();
    assert_eq!(agencies, expected);
    assert_eq!(desk.capabilities, vec![Capability::PaperHistory]);
    assert_eq!(s.session("s1", now).await.unwrap().unwrap().staff, desk);
    let token = s.token_staff("t7", now).await.unwrap().unwrap();
    assert_eq!((token.token_id, token.staff.username.as_str()), (7, "chair"));
    // The new role is taken; a deleted account's id is not handed out again.
    let new = motcua_store::NewStaff {
        username: "thanhtra".into(),
        display_name: "T".into(),
        role: Role::Inspector,
        password_hash: "h".into(),
        agencies: vec![],
        at: now,
    };
    let inspector = s.add_staff(new).await.unwrap().unwrap();
    assert_eq!((inspector.id, inspector.role), (4, Role::Inspector));
    assert_eq!(s.staff_list().await.unwrap().len(), 3);
    // Foreign keys hold on the rebuilt table: an agency of no account is refused.
    assert!(
        sqlx::query("INSERT INTO staff_agencies (staff_id, agency) VALUES (99, 'x')")
            .execute(s.writer())
            .await
            .is_err()
    );
    s.close().await;
}

/// SQLite only: two independent stores (as two processes would) writing one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_writers_on_one_file() {
    use motcua_core::{Event, EventKind};
    use motcua_store::{SqliteStore, Store};
    use support::*;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let one = SqliteStore::open(&path).await.unwrap();
    let two = SqliteStore::open(&path).await.unwrap();
    let d = domain();
    let t0 = at(2025, 3, 3, 9, 0);
    let first = one.intake(&d, new_dossier(CENTRE, CITY_PROC, "A"), t0, None).await.unwrap();
    let c = first.code.clone().unwrap();
    let to = first.due_at.unwrap() + chrono::Duration::days(30);
    let mut handles = Vec::new();
    for (i, s) in [one.clone(), two.clone(), one.clone(), two.clone()].into_iter().enumerate() {
        let (d, c) = (d.clone(), c.clone());
        handles.push(tokio::spawn(async move {
            for j in 0..10 {
                let kind = EventKind::Rescheduled {
                    to,
                    reason: format!("{i}/{j}"),
                    responsible: None,
                    automatic: false,
                    override_second: true,
                    reason_code: None,
                };
                s.record(&d, &c, Event::new(t0, None, kind)).await.unwrap();
                let n = s.intake(&d, new_dossier(WARD, WARD_PROC, "B"), t0, None).await.unwrap();
                assert!(n.code.is_some());
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(one.events(&c).await.unwrap().len(), 41);
    assert_eq!(two.dossier_row(&c).await.unwrap().unwrap().event_count, 41);
    let last =
        two.dossiers_page(None, 1000).await.unwrap().into_iter().filter(|r| r.receiving_agency == ag(WARD)).count();
    assert_eq!(last, 40, "forty ward dossiers, no number handed out twice");
    assert!(one.recompute(&d, true).await.unwrap().is_empty());
    one.close().await;
    two.close().await;
}

/// `open` picks the backend by URL, creates the SQLite file and its directory, and the
/// `AnyStore` it returns behaves as the backend does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_by_url() {
    use motcua_store::{AnyStore, Store, StoreError};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/data/motcua.db");
    let store = motcua_store::open(&format!("sqlite://{}", path.display())).await.unwrap();
    assert!(matches!(store, AnyStore::Sqlite(_)));
    assert_eq!(store.backend(), "sqlite");
    assert!(path.exists());
    store.migrate().await.unwrap();
    checks::lifecycle_updates_projection_and_counts(store.clone()).await;
    store.close().await;
    // Reopening finds the data and applies no migration twice.
    let again = motcua_store::open(&format!("sqlite://{}", path.display())).await.unwrap();
    assert!(again.event_count().await.unwrap() > 0);
    again.close().await;

    let err = motcua_store::open("mysql://root:secret@localhost/db").await.unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)));
    assert!(!err.to_string().contains("secret"), "{err}");
    assert!(matches!(motcua_store::open("sqlite::memory:").await, Err(StoreError::UnsupportedUrl(_))));

    if let Some(db) = support::PgDatabase::create("open_by_url").await {
        let store = motcua_store::open(&db.url).await.unwrap();
        assert_eq!(store.backend(), "postgres");
        checks::lifecycle_updates_projection_and_counts(store.clone()).await;
        store.close().await;
        db.drop_now().await;
    }
}
