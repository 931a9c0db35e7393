//! The register: the [`Store`] trait every caller of the dossier log uses. Each backend
//! implements it in its own `register.rs`, over the shared write path in [`crate::write`].

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::watchlist::{WatchCellRef, WatchCounts, WatchFacts, WatchQuery};
use motcua_core::{AgencyCode, Domain, Dossier, DossierCode, Event};

use crate::error::StoreError;
use crate::model::{
    BatchItem, CountValues, DailyCountRow, DossierRow, LoggedEvent, NewDossier, OpenFacts, OpenTally, RecomputeDiff,
    Totals,
};
use crate::staff::{Paged, Window};

/// The dossier register. Writes are atomic: a command the domain rejects writes nothing.
///
/// Time ranges are half-open, `[a, b)`, except [`Store::open_at`], which reads the state at
/// the instant `p1`.
pub trait Store: Send + Sync {
    /// Applies the migrations that are not applied yet.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Opens a dossier: allocates the next code of the receiving agency for the local date of
    /// `at` and records `Received` (or `RegisteredOnline` for a portal submission). The log's
    /// `recorded_at` is the system clock's now; see [`Store::intake_stamped`].
    fn intake(
        &self,
        domain: &Domain,
        new: NewDossier,
        at: DateTime<Utc>,
        by: Option<String>,
    ) -> impl Future<Output = Result<Dossier, StoreError>> + Send;

    /// [`Store::intake`], recorded at `recorded_at` (the caller's injected "now"): the event
    /// keeps both instants, as stated (`at`) and as recorded, and the reason it is backdated
    /// if one is given.
    fn intake_stamped(
        &self,
        domain: &Domain,
        new: NewDossier,
        at: DateTime<Utc>,
        by: Option<String>,
        backdate_reason: Option<String>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Dossier, StoreError>> + Send;

    /// Records one event on a dossier and returns its new state. A `Received` or
    /// `RegisteredOnline` event for a code that does not exist yet imports that dossier with its
    /// own code (which must be the intake's). The log's `recorded_at` is the system clock's
    /// now; see [`Store::record_stamped`].
    fn record(
        &self,
        domain: &Domain,
        code: &DossierCode,
        event: Event,
    ) -> impl Future<Output = Result<Dossier, StoreError>> + Send;

    /// [`Store::record`], recorded at `recorded_at` (the caller's injected "now").
    fn record_stamped(
        &self,
        domain: &Domain,
        code: &DossierCode,
        event: Event,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Dossier, StoreError>> + Send;

    /// Several events on one dossier, all or none, in one transaction of their own: each
    /// applied to the state the previous one left; if core refuses any of them, nothing is
    /// written and that refusal is the answer. The dossier after the last (an acceptance with
    /// the papers digitised at it). Every event is recorded at `recorded_at`.
    fn record_all(
        &self,
        domain: &Domain,
        code: &DossierCode,
        events: Vec<Event>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Dossier, StoreError>> + Send;

    /// Group commit: every item in one transaction, each with its own result. An item the
    /// domain rejects writes nothing and the others proceed; a database failure fails the whole
    /// batch (outer error) and writes nothing. Every event is recorded at `recorded_at` (the
    /// caller's "now").
    fn record_batch(
        &self,
        domain: &Domain,
        items: Vec<BatchItem>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Result<Dossier, StoreError>>, StoreError>> + Send;

    /// [`Store::record_batch`] for history brought in from elsewhere (`import`, `simulate`):
    /// the events imply no message (history is quiet); an event identical to one already in
    /// its dossier's log is answered [`StoreError::AlreadyPresent`] and writes nothing, so that
    /// the same file can be brought in again; and a dossier it leaves past due, its clock
    /// running and no apology, at `recorded_at` (core's `letters::apology_due`), is marked for
    /// a person to decide ([`crate::OutboxStore::imported_overdue`]): the scheduler's automatic
    /// apology is for deadlines that pass while motcua runs.
    fn record_history(
        &self,
        domain: &Domain,
        items: Vec<BatchItem>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Result<Dossier, StoreError>>, StoreError>> + Send;

    /// A dossier's log, in order (empty if there is no such dossier).
    fn events(&self, code: &DossierCode) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    /// A dossier's log with each event's position and `recorded_at`, in order.
    fn logged_events(&self, code: &DossierCode) -> impl Future<Output = Result<Vec<LoggedEvent>, StoreError>> + Send;

    /// Backdated events: those recorded in `[a, b)` whose stated instant (`at`) is earlier than
    /// their `recorded_at` (recorded by the staff account `by`, if given), in the order they
    /// were recorded, at most `limit`. The gap in working time is the caller's to compute
    /// (core's calendar), never SQL's.
    fn backdated_events(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
        by: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LoggedEvent>, StoreError>> + Send;

    fn dossier_row(&self, code: &DossierCode) -> impl Future<Output = Result<Option<DossierRow>, StoreError>> + Send;

    /// For the public lookup: the applicant's ID number of the dossier whose code is `code`
    /// exactly as typed (a malformed code is matched too, and matches nothing); `None` when no
    /// dossier has that code or its applicant gave no ID number. One row of one column is read
    /// whether or not the dossier exists, so that a hit and a miss do the same work.
    fn lookup_id_number(&self, code: &str) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Events in the whole log.
    fn event_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The log in id order, after `after_id` (0 for the start), at most `limit` events.
    fn events_after(
        &self,
        after_id: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LoggedEvent>, StoreError>> + Send;

    /// Aggregate rows for local days `from..=to`.
    fn daily_counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<DailyCountRow>, StoreError>> + Send;

    /// The aggregates of local days `from..=to` summed per agency, per procedure or in all
    /// (key `""`): what a report reads, from the per-agency day table when it can.
    fn count_totals(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        by: Totals,
    ) -> impl Future<Output = Result<Vec<(String, CountValues)>, StoreError>> + Send;

    /// Dossiers finished in `[a, b)`.
    fn finished_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;

    /// Dossiers received in `[a, b)`.
    fn received_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;

    /// Dossiers received at or before `p1` and not finished by then.
    fn open_at(&self, p1: DateTime<Utc>) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;

    /// Per group (`by`: lead agency, procedure, or all under `""`), the dossiers open now,
    /// received at or before `p1`, with no event after `p1` (their projection is their state
    /// at `p1`) and a due instant and receipt appointment: how many, how many past due at `p1`,
    /// how many with the appointment at or after `p1` and at most one supplement request.
    fn open_tallies(
        &self,
        p1: DateTime<Utc>,
        by: Totals,
    ) -> impl Future<Output = Result<Vec<(String, OpenTally)>, StoreError>> + Send;

    /// The dossiers open at `p1` outside [`Store::open_tallies`]' third count, which a report
    /// judges one at a time: those of the tallies with the appointment before `p1` or more
    /// than one supplement request, and those with an event after `p1` (still open, or
    /// finished after `p1`). In code order.
    fn open_to_judge(&self, p1: DateTime<Utc>) -> impl Future<Output = Result<Vec<OpenFacts>, StoreError>> + Send;

    /// Projection rows in code order, after `after`.
    fn dossiers_page(
        &self,
        after: Option<&DossierCode>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;

    /// Rebuilds projections and aggregates from the log with this domain's calendar and
    /// catalog, and says what changes. With `dry_run` nothing is written; otherwise all of it
    /// is written in one transaction. The log itself is never touched.
    fn recompute(
        &self,
        domain: &Domain,
        dry_run: bool,
    ) -> impl Future<Output = Result<RecomputeDiff, StoreError>> + Send;

    /// The watch list's facts ([`crate::write::watch`]): the occurrences dated in
    /// `[start, end)` and the daily sums of the local days `from..=to`, of one agency if given.
    fn watch_facts(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        from: NaiveDate,
        to: NaiveDate,
        agency: Option<&AgencyCode>,
    ) -> impl Future<Output = Result<WatchFacts, StoreError>> + Send;

    /// What the watch list for `q` is built from without every code ([`WatchCounts`]): the
    /// singles of the query's whole days summed from `watch_counts`, the occurrences of
    /// repeated kinds and of the day the as-of instant cuts, and the daily sums of the days
    /// `from..=last_day`, of the query's agency if it names one.
    fn watch_counts(&self, q: &WatchQuery) -> impl Future<Output = Result<WatchCounts, StoreError>> + Send;

    /// The codes of one count of the watch list for `q`, in order, one window of them, and how
    /// many the count has (the drill-down behind each count).
    fn watch_dossiers(
        &self,
        q: &WatchQuery,
        cell: &WatchCellRef,
        window: Window,
    ) -> impl Future<Output = Result<Paged<DossierCode>, StoreError>> + Send;
}

/// What the register does the same on both backends, written once and expanded inside each
/// backend's `impl Store`: migrations, a batch in one transaction, single writes through the
/// group commit, and the plain
/// reads (`$n` placeholders, instants bound as [`crate::sql::At`]). `$pool` names the pool
/// reads use, `$writer` the one migrations run on.
macro_rules! register_shared {
    ($pool:ident, $writer:ident) => {
        async fn record_batch(
            &self,
            domain: &Domain,
            items: Vec<BatchItem>,
            recorded_at: DateTime<Utc>,
        ) -> Result<Vec<Result<Dossier, StoreError>>, StoreError> {
            $crate::write::group::record_in_own_tx(self, domain, items, recorded_at, false).await
        }

        async fn record_all(
            &self,
            domain: &Domain,
            code: &DossierCode,
            events: Vec<Event>,
            recorded_at: DateTime<Utc>,
        ) -> Result<Dossier, StoreError> {
            $crate::write::group::record_all_or_none(self, domain, code, events, recorded_at).await
        }

        async fn record_history(
            &self,
            domain: &Domain,
            items: Vec<BatchItem>,
            recorded_at: DateTime<Utc>,
        ) -> Result<Vec<Result<Dossier, StoreError>>, StoreError> {
            $crate::write::group::record_in_own_tx(self, domain, items, recorded_at, true).await
        }

        async fn migrate(&self) -> Result<(), StoreError> {
            MIGRATOR.run(&self.$writer).await?;
            // The folded names SQL does not compute (migration 18).
            self.fold_missing_names().await?;
            Ok(())
        }

        async fn intake(
            &self,
            domain: &Domain,
            new: NewDossier,
            at: DateTime<Utc>,
            by: Option<String>,
        ) -> Result<Dossier, StoreError> {
            let now = motcua_core::calendar::truncate_to_micros(chrono::Utc::now());
            let item = $crate::model::BatchItem::Intake { new, at, by, backdate_reason: None };
            self.group.intake(self, domain, item, now).await
        }

        async fn intake_stamped(
            &self,
            domain: &Domain,
            new: NewDossier,
            at: DateTime<Utc>,
            by: Option<String>,
            backdate_reason: Option<String>,
            recorded_at: DateTime<Utc>,
        ) -> Result<Dossier, StoreError> {
            let item = $crate::model::BatchItem::Intake { new, at, by, backdate_reason };
            self.group.intake(self, domain, item, recorded_at).await
        }

        async fn record(&self, domain: &Domain, code: &DossierCode, event: Event) -> Result<Dossier, StoreError> {
            let now = motcua_core::calendar::truncate_to_micros(chrono::Utc::now());
            self.group.record(self, domain, code, event, now).await
        }

        async fn record_stamped(
            &self,
            domain: &Domain,
            code: &DossierCode,
            event: Event,
            recorded_at: DateTime<Utc>,
        ) -> Result<Dossier, StoreError> {
            self.group.record(self, domain, code, event, recorded_at).await
        }

        async fn events(&self, code: &DossierCode) -> Result<Vec<Event>, StoreError> {
            let rows = sqlx::query(
                "SELECT seq, CAST(payload AS TEXT) AS payload FROM dossier_events WHERE dossier_code = $1 ORDER BY seq",
            )
            .bind(code.as_str())
            .fetch_all(&self.$pool)
            .await?;
            rows.iter().map(|r| $crate::sql::decode_event!(code.as_str(), r)).collect()
        }

        async fn dossier_row(&self, code: &DossierCode) -> Result<Option<DossierRow>, StoreError> {
            let row = sqlx::query(&format!("{} WHERE code = $1", $crate::sql::select_dossiers()))
                .bind(code.as_str())
                .fetch_optional(&self.$pool)
                .await?;
            row.as_ref().map(|r| $crate::sql::decode_dossier!(r)).transpose()
        }

        async fn lookup_id_number(&self, code: &str) -> Result<Option<String>, StoreError> {
            // A scalar subquery: one row, NULL when no dossier has the code.
            let id: Option<String> =
                sqlx::query_scalar("SELECT (SELECT applicant_id_number FROM dossiers WHERE code = $1)")
                    .bind(code)
                    .fetch_one(&self.$pool)
                    .await?;
            Ok(id)
        }

        async fn event_count(&self) -> Result<u64, StoreError> {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossier_events").fetch_one(&self.$pool).await?;
            $crate::sql::count(n, "event count")
        }

        async fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<LoggedEvent>, StoreError> {
            let q = format!("{} WHERE id > $1 ORDER BY id LIMIT $2", $crate::sql::SELECT_LOGGED);
            let rows = sqlx::query(&q).bind(after_id).bind(i64::from(limit)).fetch_all(&self.$pool).await?;
            rows.iter().map(|r| $crate::sql::decode_logged!(r)).collect()
        }

        async fn logged_events(&self, code: &DossierCode) -> Result<Vec<LoggedEvent>, StoreError> {
            let q = format!("{} WHERE dossier_code = $1 ORDER BY seq", $crate::sql::SELECT_LOGGED);
            let rows = sqlx::query(&q).bind(code.as_str()).fetch_all(&self.$pool).await?;
            rows.iter().map(|r| $crate::sql::decode_logged!(r)).collect()
        }

        async fn backdated_events(
            &self,
            a: DateTime<Utc>,
            b: DateTime<Utc>,
            by: Option<&str>,
            limit: u32,
        ) -> Result<Vec<LoggedEvent>, StoreError> {
            // `at < recorded_at` matches the partial index of migration 13.
            let q = format!(
                "{} WHERE at < recorded_at AND recorded_at >= $1 AND recorded_at < $2{} ORDER BY recorded_at, id LIMIT $3",
                $crate::sql::SELECT_LOGGED,
                if by.is_some() { " AND by_staff = $4" } else { "" }
            );
            let mut query = sqlx::query(&q).bind(At(a)).bind(At(b)).bind(i64::from(limit));
            if let Some(by) = by {
                query = query.bind(by);
            }
            let rows = query.fetch_all(&self.$pool).await?;
            rows.iter().map(|r| $crate::sql::decode_logged!(r)).collect()
        }

        async fn daily_counts(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailyCountRow>, StoreError> {
            let rows = sqlx::query(
                "SELECT * FROM daily_counts WHERE day >= $1 AND day <= $2 ORDER BY day, agency, procedure, channel",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&self.$pool)
            .await?;
            rows.iter().map(|r| $crate::sql::decode_counts!(r)).collect()
        }

        async fn count_totals(
            &self,
            from: NaiveDate,
            to: NaiveDate,
            by: Totals,
        ) -> Result<Vec<(String, $crate::model::CountValues)>, StoreError> {
            use sqlx::Row as _;
            let rows = sqlx::query(&by.sql()).bind(from).bind(to).fetch_all(&self.$pool).await?;
            // An empty sum (no day in range, `All`) is NULL: no row.
            rows.iter()
                .filter(|r| !matches!(r.try_get::<Option<i64>, _>(1), Ok(None)))
                .map(|r| {
                    let n = |i: usize| r.try_get::<Option<i64>, _>(i).map(|v| v.unwrap_or(0));
                    Ok((
                        r.try_get::<String, _>(0)?,
                        $crate::model::CountValues {
                            received: n(1)?,
                            finished: n(2)?,
                            early: n(3)?,
                            on_time: n(4)?,
                            late: n(5)?,
                            national_on_time: n(6)?,
                        },
                    ))
                })
                .collect()
        }

        async fn finished_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
            let q = format!(
                "{} WHERE finished_at >= $1 AND finished_at < $2 ORDER BY finished_at, code",
                $crate::sql::select_dossiers()
            );
            let rows = sqlx::query(&q).bind(At(a)).bind(At(b)).fetch_all(&self.$pool).await?;
            rows.iter().map(|r| $crate::sql::decode_dossier!(r)).collect()
        }

        async fn received_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
            let q = format!(
                "{} WHERE received_at >= $1 AND received_at < $2 ORDER BY received_at, code",
                $crate::sql::select_dossiers()
            );
            let rows = sqlx::query(&q).bind(At(a)).bind(At(b)).fetch_all(&self.$pool).await?;
            rows.iter().map(|r| $crate::sql::decode_dossier!(r)).collect()
        }

        async fn watch_facts(
            &self,
            start: DateTime<Utc>,
            end: DateTime<Utc>,
            from: NaiveDate,
            to: NaiveDate,
            agency: Option<&motcua_core::AgencyCode>,
        ) -> Result<motcua_core::watchlist::WatchFacts, StoreError> {
            use $crate::write::watch as w;
            let mut out = motcua_core::watchlist::WatchFacts::default();
            let only = if agency.is_some() { " AND agency = $3" } else { "" };
            let q = format!("{} WHERE at >= $1 AND at < $2{only} ORDER BY at, dossier_code, kind, idx", w::SELECT_OCCURRENCES);
            let mut query = sqlx::query(&q).bind(At(start)).bind(At(end));
            if let Some(a) = agency {
                query = query.bind(a.as_str());
            }
            for r in &query.fetch_all(&self.$pool).await? {
                out.occurrences.push(w::decode_occurrence!(r)?);
            }
            let days = format!("WHERE day >= $1 AND day <= $2{only}");
            let q = format!("{} {days}", w::SELECT_HANDOFFS);
            let mut query = sqlx::query(&q).bind(from).bind(to);
            if let Some(a) = agency {
                query = query.bind(a.as_str());
            }
            for r in &query.fetch_all(&self.$pool).await? {
                let (cell, sums) = w::decode_handoffs!(r)?;
                out.handoffs.insert(cell, sums);
            }
            let q = format!("{} {days}", w::SELECT_BACKDATED);
            let mut query = sqlx::query(&q).bind(from).bind(to);
            if let Some(a) = agency {
                query = query.bind(a.as_str());
            }
            for r in &query.fetch_all(&self.$pool).await? {
                let (cell, sums) = w::decode_backdated!(r)?;
                out.backdated.insert(cell, sums);
            }
            Ok(out)
        }

        async fn watch_counts(
            &self,
            q: &motcua_core::watchlist::WatchQuery,
        ) -> Result<motcua_core::watchlist::WatchCounts, StoreError> {
            use $crate::write::watch as w;
            let mut out = motcua_core::watchlist::WatchCounts::default();
            let agency = q.agency.as_ref();
            let only = if agency.is_some() { " AND agency = $3" } else { "" };
            if let Some((first, last)) = q.whole_days() {
                let sql = w::select_singles(only);
                let mut query = sqlx::query(&sql).bind(first).bind(last);
                if let Some(a) = agency {
                    query = query.bind(a.as_str());
                }
                for r in &query.fetch_all(&self.$pool).await? {
                    let (key, n) = w::decode_singles!(r)?;
                    out.singles.insert(key, n);
                }
            }
            let (start, end, cut) = (q.start(), q.end(), q.cut_day_start());
            // The distinct dossiers of the occurrences of a kind repeated on their dossier (a
            // partial index), then those of the singles of the day the as-of instant cuts:
            // disjoint per dossier and kind, so their counts add up.
            let mut reads = vec![(start, end, "repeated")];
            if cut < end {
                reads.push((cut, end, "NOT repeated"));
            }
            for (a, b, which) in reads {
                for group in [w::Grouping::Agency, w::Grouping::Officer, w::Grouping::Kind] {
                    let sql = w::select_distinct(group, which, only);
                    let mut query = sqlx::query(&sql).bind(At(a)).bind(At(b));
                    if let Some(x) = agency {
                        query = query.bind(x.as_str());
                    }
                    for r in &query.fetch_all(&self.$pool).await? {
                        w::decode_distinct!(r, group, out.distinct)?;
                    }
                }
            }
            let days = format!("WHERE day >= $1 AND day <= $2{only}");
            let sql = w::select_handoff_sums(&days);
            let mut query = sqlx::query(&sql).bind(q.from).bind(q.last_day());
            if let Some(a) = agency {
                query = query.bind(a.as_str());
            }
            for r in &query.fetch_all(&self.$pool).await? {
                let (holder, sums) = w::decode_handoff_sums!(r)?;
                out.handoffs.insert(holder, sums);
            }
            let sql = w::select_backdated_sums(&days);
            let mut query = sqlx::query(&sql).bind(q.from).bind(q.last_day());
            if let Some(a) = agency {
                query = query.bind(a.as_str());
            }
            for r in &query.fetch_all(&self.$pool).await? {
                let (holder, sums) = w::decode_backdated_sums!(r)?;
                out.backdated.insert(holder, sums);
            }
            Ok(out)
        }

        async fn watch_dossiers(
            &self,
            q: &motcua_core::watchlist::WatchQuery,
            cell: &motcua_core::watchlist::WatchCellRef,
            window: $crate::staff::Window,
        ) -> Result<$crate::staff::Paged<DossierCode>, StoreError> {
            use sqlx::Row as _;
            let mut cond = String::from("at >= $1 AND at < $2 AND kind = $3");
            let mut binds: Vec<&str> = Vec::new();
            if let Some(a) = &q.agency {
                binds.push(a.as_str());
                cond.push_str(&format!(" AND agency = ${}", 3 + binds.len()));
            }
            if let Some(k) = &cell.key {
                binds.push(k.as_str());
                let column = match q.by {
                    motcua_core::watchlist::WatchBy::Agency => "agency",
                    motcua_core::watchlist::WatchBy::Officer => "officer",
                };
                cond.push_str(&format!(" AND {column} = ${}", 3 + binds.len()));
            }
            let count = format!("SELECT COUNT(DISTINCT dossier_code) AS n FROM watch_occurrences WHERE {cond}");
            let mut query = sqlx::query(&count).bind(At(q.start())).bind(At(q.end())).bind(cell.kind.name());
            for b in &binds {
                query = query.bind(*b);
            }
            let n: i64 = query.fetch_one(&self.$pool).await?.try_get("n")?;
            let total = $crate::sql::count(n, "watch_occurrences")?;
            let page = format!(
                "SELECT DISTINCT dossier_code FROM watch_occurrences WHERE {cond} ORDER BY dossier_code LIMIT ${} OFFSET ${}",
                4 + binds.len(),
                5 + binds.len()
            );
            let mut query = sqlx::query(&page).bind(At(q.start())).bind(At(q.end())).bind(cell.kind.name());
            for b in &binds {
                query = query.bind(*b);
            }
            let offset = i64::try_from(window.offset).unwrap_or(i64::MAX);
            let rows = query.bind(i64::from(window.limit)).bind(offset).fetch_all(&self.$pool).await?;
            let mut codes = Vec::with_capacity(rows.len());
            for r in &rows {
                let code: String = r.try_get("dossier_code")?;
                codes.push($crate::sql::parse::<DossierCode>("watch_occurrences", "dossier_code", &code)?);
            }
            Ok($crate::staff::Paged { total, rows: codes })
        }

        async fn dossiers_page(&self, after: Option<&DossierCode>, limit: u32) -> Result<Vec<DossierRow>, StoreError> {
            let q = format!("{} WHERE code > $1 ORDER BY code LIMIT $2", $crate::sql::select_dossiers());
            let rows = sqlx::query(&q)
                .bind(after.map(DossierCode::as_str).unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(&self.$pool)
                .await?;
            rows.iter().map(|r| $crate::sql::decode_dossier!(r)).collect()
        }
    };
}
pub(crate) use register_shared;
