//! The SQLite write transaction: the writer's `BEGIN IMMEDIATE` transaction driven by hand,
//! the engine's [`WriteTx`] and [`ScanTx`] on it, and the group commit's [`Committer`].

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::{DossierCode, Event};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Row, Sqlite};

use super::outbox::{self as sqlite_outbox, bind_message};
use super::{D, IN_CHUNK, SqliteStore, add_to_counters, ts};
use crate::error::StoreError;
use crate::model::{CountChange, DailyCountRow, DossierRow};
use crate::sql::{self, bind_counts, bind_dossier, persistent, write_chunked};
use crate::write::counters::bind_counter_rows;
use crate::write::engine::{CounterKey, Mark, ScanTx, WriteTx, Writes};
use crate::write::group::Committer;
use crate::write::watch::bind_watch_rows;

/// Binds one row of [`INSERT_EVENTS`]; `$stamps` formats its recording instant.
macro_rules! bind_event {
    ($q:expr, $e:expr, $stamps:expr) => {{
        let e: &crate::write::engine::EventRow = $e;
        $q.bind(e.code.as_str())
            .bind(i64::from(e.seq))
            .bind(ts(e.at))
            .bind(e.kind)
            .bind(e.by.as_deref())
            .bind(e.payload.as_str())
            .bind($stamps.text(e.recorded_at))
    }};
}

/// The recording instants of a batch's events as stored: most events of a batch share one,
/// which is formatted once.
#[derive(Default)]
struct Stamps(Option<(DateTime<Utc>, String)>);

impl Stamps {
    fn text(&mut self, t: DateTime<Utc>) -> String {
        match &self.0 {
            Some((last, text)) if *last == t => text.clone(),
            _ => {
                let text = ts(t);
                self.0 = Some((t, text.clone()));
                text
            }
        }
    }
}

/// `OR ROLLBACK`, as every multi-row write of a transaction: see [`sql::insert_into`].
const INSERT_EVENTS: &str =
    "INSERT OR ROLLBACK INTO dossier_events (dossier_code, seq, at, kind, by_staff, payload, recorded_at)";

/// Follows an INSERT of `?` events (never skipped: a clash ends the transaction), in the same
/// trip: those the exporter measures join its queue ([`crate::write::counters`]). The rows
/// of that INSERT are the ones with the highest ids: SQLite has one writer.
static QUEUE_INSERTED_EVENTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT OR ROLLBACK INTO metric_handoff_queue (event_id, dossier_code, seq) \
         SELECT id, dossier_code, seq FROM dossier_events WHERE id > (SELECT MAX(id) FROM dossier_events) - ? \
         AND {} ORDER BY id",
        *sql::MEASURED_KINDS
    )
});

/// A value bound ahead of its statement's trip, as an owned value: handing the statement to
/// SQLite's thread then moves the values instead of copying every borrowed text there.
trait OwnedArg {
    type Owned: for<'q> sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + Send + 'static;
    fn owned(self) -> Self::Owned;
}

impl OwnedArg for &str {
    type Owned = String;
    fn owned(self) -> String {
        self.to_owned()
    }
}

impl OwnedArg for Option<&str> {
    type Owned = Option<String>;
    fn owned(self) -> Option<String> {
        self.map(str::to_owned)
    }
}

macro_rules! owned_as_is {
    ($($t:ty),*) => {$(
        impl OwnedArg for $t {
            type Owned = $t;
            fn owned(self) -> $t {
                self
            }
        }
    )*};
}
owned_as_is!(String, Option<String>, bool, Option<bool>, i32, i64, Option<i32>, Option<i64>, NaiveDate);

/// The values of a statement, bound in order (`.bind`, as on a query, so that the binding
/// macros serve both).
#[derive(Default)]
struct OwnedArgs {
    args: SqliteArguments<'static>,
    failed: Option<sqlx::error::BoxDynError>,
}

impl OwnedArgs {
    fn bind<T: OwnedArg>(mut self, value: T) -> Self {
        if self.failed.is_none()
            && let Err(e) = sqlx::Arguments::add(&mut self.args, value.owned())
        {
            self.failed = Some(e);
        }
        self
    }

    fn finish(self) -> Result<SqliteArguments<'static>, StoreError> {
        match self.failed {
            None => Ok(self.args),
            Some(e) => Err(StoreError::Database(sqlx::Error::Encode(e))),
        }
    }
}

/// A write made ready for its trip to SQLite's thread ([`WriteTx::ready`]): the part of a big
/// batch is built and bound while SQLite still runs the part before.
pub(crate) enum SqliteReady {
    /// One multi-statement query and its values; `keep`: keep it prepared.
    Trip { sql: String, args: SqliteArguments<'static>, keep: bool },
    /// Too many rows for one trip: written in chunks when sent.
    Chunks(Writes),
}

/// `rows` rows of `cols` NULLs: the padding of [`sql::sqlite_rows`].
fn pad(mut args: OwnedArgs, rows: usize, cols: usize) -> OwnedArgs {
    for _ in 0..rows * cols {
        args = args.bind(None::<String>);
    }
    args
}

/// The part of a big batch pads its events to a multiple of this many rows…
const EVENTS_QUANTUM: usize = 64;
/// …its projection, outbox and code counter rows to a multiple of this many…
const ROWS_QUANTUM: usize = 16;
/// …and its aggregate cells (sent on their own, after the last part) to a multiple of this many.
const COUNTS_QUANTUM: usize = 64;

/// Writes with at most this many rows of each kind keep their one-trip statement prepared.
const ONE_TRIP_ROWS: usize = 16;

/// The statements and values of writes that fit one trip ([`SqliteTx::fits_one_trip`]),
/// after `lead` (a deferred `BEGIN`, or nothing) and ending with `COMMIT` if `commit`, and
/// whether to keep them prepared. A small write (a group commit of single writes) has
/// statements of its exact sizes; the part of a big batch pads its bulk rows (events,
/// projection rows, outbox rows) to a few fixed sizes, so that each part of each batch reuses
/// the statements prepared for the last.
fn one_trip(lead: &str, w: &Writes, commit: bool) -> Result<(String, SqliteArguments<'static>, bool), StoreError> {
    let small = SqliteTx::is_small(w);
    let padded = |rows: usize, quantum: usize, cols: usize| {
        let p = rows.div_ceil(quantum) * quantum;
        if small || p > sql::rows_per_statement(cols) { rows } else { p }
    };
    let events = padded(w.events.len(), EVENTS_QUANTUM, 7);
    let created = padded(w.created.len(), ROWS_QUANTUM, sql::DOSSIER_COLUMNS.len());
    let updated = padded(w.updated.len(), ROWS_QUANTUM, sql::DOSSIER_COLUMNS.len());
    let outbox = padded(w.outbox.len(), ROWS_QUANTUM, sqlite_outbox::MESSAGE_COLUMNS);
    let counts = padded(w.counts.len(), COUNTS_QUANTUM, sql::COUNT_COLUMNS.len());
    let counters = padded(w.counters.len(), ROWS_QUANTUM, 3);
    let mut q = String::from(lead);
    if events > 0 {
        q.push_str(&format!(
            "{INSERT_EVENTS} {};\n{};\n",
            sql::sqlite_rows(w.events.len(), events, 7),
            *QUEUE_INSERTED_EVENTS
        ));
    }
    // The rows of `updated` exist (read in this transaction, or created by an earlier part
    // of it): their upsert only updates. The engine counts both in `w.metric`.
    for (rows, padded, upsert) in [(&w.created, created, false), (&w.updated, updated, true)] {
        if padded > 0 {
            let source = sql::sqlite_rows(rows.len(), padded, sql::DOSSIER_COLUMNS.len());
            q.push_str(&sql::insert_dossiers_from(D, &source, upsert));
            q.push_str(";\n");
        }
    }
    if counts > 0 {
        let source = sql::sqlite_rows(w.counts.len(), counts, sql::COUNT_COLUMNS.len());
        q.push_str(&sql::upsert_counts_from(D, &source, true));
        q.push_str(";\n");
    }
    if counters > 0 {
        q.push_str(&upsert_counters(&sql::sqlite_rows(w.counters.len(), counters, 3)));
        q.push_str(";\n");
    }
    let metric = w.metric.statements(D);
    for (sql, _) in &metric {
        q.push_str(sql);
        q.push_str(";\n");
    }
    let watch = w.watch.statements(D);
    for (sql, _) in &watch {
        q.push_str(sql);
        q.push_str(";\n");
    }
    if outbox > 0 {
        let source = sql::sqlite_rows(w.outbox.len(), outbox, sqlite_outbox::MESSAGE_COLUMNS);
        q.push_str(&sqlite_outbox::insert_sql_from(&source, false));
        q.push_str(";\n");
        q.push_str(sqlite_outbox::COUNT_INSERTED_MESSAGES);
        q.push_str(";\n");
    }
    if commit {
        q.push_str("COMMIT;\n");
    }
    // Anonymous parameters are taken in order across the statements; padding rows are
    // NULL. Bulk rows and aggregates together (a batch written at once) have shapes that
    // seldom recur; a batch written in parts sends its aggregates on their own. The counter
    // and watch-list statements have as many rows as the batch has keys, unpadded: a trip
    // carrying them has a shape of its own nearly every batch and is not kept (kept, every
    // batch of an import added a prepared program of several hundred kilobytes to the
    // statement cache, and the process grew by about 1 MB a batch until the cache was full).
    let bulk = events + created + updated + outbox > 0;
    let varying = !metric.is_empty() || !watch.is_empty();
    let keep = small || (!varying && (!bulk || (counts == 0 && counters == 0)));
    let mut args = OwnedArgs::default();
    let mut stamps = Stamps::default();
    for e in &w.events {
        args = bind_event!(args, e, stamps);
    }
    args = pad(args, events - w.events.len(), 7);
    if events > 0 {
        args = args.bind(w.events.len() as i64);
    }
    for r in &w.created {
        args = bind_dossier!(args, r, ts);
    }
    args = pad(args, created - w.created.len(), sql::DOSSIER_COLUMNS.len());
    for r in &w.updated {
        args = bind_dossier!(args, r, ts);
    }
    args = pad(args, updated - w.updated.len(), sql::DOSSIER_COLUMNS.len());
    for (k, v) in &w.counts {
        args = bind_counts!(args, k, v);
    }
    args = pad(args, counts - w.counts.len(), sql::COUNT_COLUMNS.len());
    for ((agency, day), last) in &w.counters {
        args = args.bind(agency.as_str()).bind(*day).bind(sql::int(*last));
    }
    args = pad(args, counters - w.counters.len(), 3);
    for (_, rows) in &metric {
        args = bind_counter_rows!(args, rows);
    }
    for (_, rows) in &watch {
        args = bind_watch_rows!(args, rows, ts);
    }
    for m in &w.outbox {
        args = bind_message!(args, m);
    }
    args = pad(args, outbox - w.outbox.len(), sqlite_outbox::MESSAGE_COLUMNS);
    if outbox > 0 {
        args = args.bind(w.outbox.len() as i64);
    }
    Ok((q, args.finish()?, keep))
}

/// Sets code counters to the larger of the stored and the new last number, from `source`
/// ([`sql::sqlite_rows`]).
fn upsert_counters(source: &str) -> String {
    format!(
        "INSERT OR ROLLBACK INTO dossier_sequences (agency, day, last_seq) {source} \
         ON CONFLICT (agency, day) DO UPDATE SET last_seq = MAX(dossier_sequences.last_seq, excluded.last_seq)"
    )
}

/// Where a [`SqliteTx`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxState {
    /// Nothing sent yet: this `BEGIN` goes with the first statement.
    Deferred(&'static str),
    Open,
    /// Committed or rolled back: the connection is clean.
    Ended,
}

/// A transaction on the writer (or, for a dry run, a reader), driven by hand rather than by
/// sqlx's `Transaction`, so that its `BEGIN` travels with its first statement and, in a group
/// commit, its `COMMIT` with its writes: a small batch is two trips to the connection's thread
/// instead of four. Dropped while open (a failure between statements, a runtime shutting
/// down), its connection is closed — which rolls the transaction back — instead of going back
/// to the pool mid-transaction.
pub(crate) struct SqliteTx {
    conn: PoolConnection<Sqlite>,
    state: TxState,
}

impl SqliteTx {
    pub(super) fn new(conn: PoolConnection<Sqlite>, begin: &'static str) -> Self {
        Self { conn, state: TxState::Deferred(begin) }
    }

    /// What goes before the next statement: the deferred `BEGIN`, once.
    fn lead(&mut self) -> &'static str {
        match self.state {
            TxState::Deferred(begin) => {
                // Counted open even if the trip fails: then `rollback` or the drop cleans up.
                self.state = TxState::Open;
                begin
            }
            TxState::Open | TxState::Ended => "",
        }
    }

    /// Sends the deferred `BEGIN` on its own, before a statement that does not carry it.
    async fn open(&mut self) -> Result<(), StoreError> {
        let lead = self.lead();
        if !lead.is_empty() {
            sqlx::query(lead).execute(&mut *self.conn).await?;
        }
        Ok(())
    }

    async fn end(&mut self, how: &'static str) -> Result<(), StoreError> {
        match self.state {
            TxState::Open => {
                sqlx::query(how).execute(&mut *self.conn).await?;
                self.state = TxState::Ended;
            }
            // Nothing was sent: there is nothing to end.
            TxState::Deferred(_) => self.state = TxState::Ended,
            TxState::Ended => {}
        }
        Ok(())
    }

    pub(super) async fn commit(mut self) -> Result<(), StoreError> {
        self.end("COMMIT").await
    }

    pub(super) async fn rollback(mut self) -> Result<(), StoreError> {
        self.end("ROLLBACK").await
    }

    /// The writes of a small batch and the `COMMIT` in one trip; larger ones in chunks, then
    /// the `COMMIT`.
    async fn flush_commit(mut self, w: &Writes) -> Result<(), StoreError> {
        let done = if Self::fits_one_trip(w) {
            self.flush_one_trip(w, true).await.map(|()| self.state = TxState::Ended)
        } else {
            match self.flush(w).await {
                Ok(()) => self.end("COMMIT").await,
                Err(e) => Err(e),
            }
        };
        if done.is_err() {
            // If this fails too (the failed trip already ended it), the drop closes the
            // connection.
            let _ = self.end("ROLLBACK").await;
        }
        done
    }

    /// Every kind of row fits one statement: the writes can go in one trip.
    fn fits_one_trip(w: &Writes) -> bool {
        let fits = |rows: usize, cols: usize| rows <= sql::rows_per_statement(cols);
        fits(w.events.len(), 7)
            && fits(w.created.len(), sql::DOSSIER_COLUMNS.len())
            && fits(w.updated.len(), sql::DOSSIER_COLUMNS.len())
            && fits(w.counts.len(), sql::COUNT_COLUMNS.len())
            && fits(w.counters.len(), 3)
            && fits(w.outbox.len(), 8)
    }

    /// The shapes that recur (group commits of a few single writes) are kept prepared; the
    /// parts of a big batch vary and are not.
    fn is_small(w: &Writes) -> bool {
        [w.events.len(), w.created.len(), w.updated.len(), w.counts.len(), w.counters.len(), w.outbox.len()]
            .iter()
            .chain(w.watch.rows().iter())
            .all(|n| *n <= ONE_TRIP_ROWS)
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.state == TxState::Open {
            self.conn.close_on_drop();
        }
    }
}

impl Committer for SqliteStore {
    type Tx = SqliteTx;

    async fn begin(&self) -> Result<SqliteTx, StoreError> {
        self.begin_write().await
    }

    async fn rollback(tx: SqliteTx) -> Result<(), StoreError> {
        tx.rollback().await
    }

    async fn commit(tx: SqliteTx) -> Result<(), StoreError> {
        tx.commit().await
    }

    async fn flush_commit(tx: SqliteTx, writes: &Writes) -> Result<(), StoreError> {
        tx.flush_commit(writes).await
    }
}

impl WriteTx for SqliteTx {
    const WRITES_IN_PARTS: bool = true;

    async fn load(&mut self, codes: &[DossierCode]) -> Result<HashMap<DossierCode, Vec<Event>>, StoreError> {
        // BEGIN IMMEDIATE already holds the write lock: reading is locking.
        let mut out: HashMap<DossierCode, Vec<Event>> = HashMap::new();
        for chunk in codes.chunks(IN_CHUNK) {
            let q = format!(
                "{}SELECT dossier_code, seq, payload FROM dossier_events WHERE dossier_code IN ({}) ORDER BY dossier_code, seq",
                self.lead(),
                sql::list(D, chunk.len())
            );
            let mut query = sqlx::query(&q).persistent(persistent(chunk.len(), IN_CHUNK));
            for c in chunk {
                query = query.bind(c.as_str());
            }
            for r in query.fetch_all(&mut *self.conn).await? {
                let code: String = r.try_get("dossier_code")?;
                let event = sql::decode_event!(&code, &r)?;
                out.entry(sql::parse("dossier_events", "dossier_code", &code)?).or_default().push(event);
            }
        }
        Ok(out)
    }

    async fn counters(&mut self, keys: &[CounterKey]) -> Result<HashMap<CounterKey, u32>, StoreError> {
        let mut out = HashMap::new();
        let per = IN_CHUNK / 2;
        for chunk in keys.chunks(per) {
            let q = format!(
                "{}SELECT agency, day, last_seq FROM dossier_sequences WHERE (agency, day) IN (VALUES {})",
                self.lead(),
                sql::values(D, chunk.len(), 2)
            );
            let mut query = sqlx::query(&q).persistent(persistent(chunk.len(), per));
            for (agency, day) in chunk {
                query = query.bind(agency.as_str()).bind(*day);
            }
            for r in query.fetch_all(&mut *self.conn).await? {
                let (key, last) = sql::decode_counter!(&r)?;
                out.insert(key, last);
            }
        }
        Ok(out)
    }

    async fn flush(&mut self, w: &Writes) -> Result<(), StoreError> {
        if Self::fits_one_trip(w) { self.flush_one_trip(w, false).await } else { self.flush_chunked(w).await }
    }

    type Ready = SqliteReady;

    fn ready(w: Writes) -> Result<SqliteReady, StoreError> {
        if !Self::fits_one_trip(&w) {
            return Ok(SqliteReady::Chunks(w));
        }
        let (sql, args, keep) = one_trip("", &w, false)?;
        Ok(SqliteReady::Trip { sql, args, keep })
    }

    async fn send(&mut self, ready: SqliteReady) -> Result<(), StoreError> {
        match ready {
            SqliteReady::Trip { sql, args, keep } => {
                // Built without the deferred `BEGIN`: sent on its own if still owed.
                self.open().await?;
                self.send_trip(&sql, args, keep).await
            }
            SqliteReady::Chunks(w) => self.flush_chunked(&w).await,
        }
    }

    async fn mark_imported(&mut self, marks: &[Mark]) -> Result<(), StoreError> {
        self.open().await?;
        for m in marks {
            sqlx::query(
                "INSERT INTO imported_overdue (dossier_code, due_at, marked_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (dossier_code) DO UPDATE SET due_at = excluded.due_at, marked_at = excluded.marked_at",
            )
            .bind(m.code.as_str())
            .bind(sql::At(m.due_at))
            .bind(sql::At(m.marked_at))
            .execute(&mut *self.conn)
            .await?;
        }
        Ok(())
    }
}

impl SqliteTx {
    /// Writes that fit ([`SqliteTx::fits_one_trip`]) as one multi-statement query (ending
    /// with `COMMIT` if `commit`): one trip to SQLite's thread.
    async fn flush_one_trip(&mut self, w: &Writes, commit: bool) -> Result<(), StoreError> {
        let (sql, args, keep) = one_trip(self.lead(), w, commit)?;
        self.send_trip(&sql, args, keep).await
    }

    async fn send_trip(&mut self, sql: &str, args: SqliteArguments<'static>, keep: bool) -> Result<(), StoreError> {
        sqlx::query_with(sql, args).persistent(keep).execute(&mut *self.conn).await?;
        Ok(())
    }

    /// Writes too big for one trip: the rows in chunks, then the outbox.
    async fn flush_chunked(&mut self, w: &Writes) -> Result<(), StoreError> {
        self.flush_chunks(w).await?;
        sqlite_outbox::insert(&mut self.conn, &w.outbox, false).await?;
        Ok(())
    }

    async fn flush_chunks(&mut self, w: &Writes) -> Result<(), StoreError> {
        self.open().await?;
        let per = sql::rows_per_statement(7);
        for chunk in w.events.chunks(per) {
            let q = format!(
                "{INSERT_EVENTS} {};\n{}",
                sql::sqlite_rows(chunk.len(), chunk.len(), 7),
                *QUEUE_INSERTED_EVENTS
            );
            let mut query = sqlx::query(&q).persistent(persistent(chunk.len(), per));
            let mut stamps = Stamps::default();
            for e in chunk {
                query = bind_event!(query, e, stamps);
            }
            query.bind(chunk.len() as i64).execute(&mut *self.conn).await?;
        }
        self.write_rows(&w.created, false).await?;
        self.write_rows(&w.updated, true).await?;
        let counts = sql::COUNT_COLUMNS.len();
        write_chunked!(self.conn, w.counts, counts, |n| sql::upsert_counts(D, n, true), |query, c| bind_counts!(
            query, &c.0, &c.1
        ));
        write_chunked!(self.conn, w.counters, 3, |n| upsert_counters(&sql::sqlite_rows(n, n, 3)), |query, c| query
            .bind(c.0.0.as_str())
            .bind(c.0.1)
            .bind(sql::int(c.1)));
        add_to_counters(&mut self.conn, &w.metric).await?;
        for (q, rows) in w.watch.statements(D) {
            bind_watch_rows!(sqlx::query(&q).persistent(false), &rows, ts).execute(&mut *self.conn).await?;
        }
        Ok(())
    }

    /// Inserts (or upserts) projection rows (the engine counts them in `Writes::metric`).
    async fn write_rows(&mut self, rows: &[DossierRow], upsert: bool) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.open().await?;
        let cols = sql::DOSSIER_COLUMNS.len();
        write_chunked!(self.conn, rows, cols, |n| sql::insert_dossiers(D, n, upsert), |query, r| bind_dossier!(
            query, r, ts
        ));
        Ok(())
    }
}

impl SqliteTx {
    /// The connection, with the deferred `BEGIN` sent: what [`sql::scan_tx!`] reads on.
    async fn scan_conn(&mut self) -> Result<&mut sqlx::SqliteConnection, StoreError> {
        self.open().await?;
        Ok(&mut self.conn)
    }
}

impl ScanTx for SqliteTx {
    sql::scan_tx!(D);

    async fn delete_rows(&mut self, codes: &[DossierCode]) -> Result<(), StoreError> {
        self.open().await?;
        for chunk in codes.chunks(IN_CHUNK) {
            let q = format!("DELETE FROM dossiers WHERE code IN ({})", sql::list(D, chunk.len()));
            let mut query = sqlx::query(&q).persistent(false);
            for c in chunk {
                query = query.bind(c.as_str());
            }
            query.execute(&mut *self.conn).await?;
        }
        Ok(())
    }
}
