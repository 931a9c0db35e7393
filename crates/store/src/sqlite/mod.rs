//! The SQLite register: the embedded default (`sqlite://data/motcua.db`).
//!
//! WAL journal, `synchronous=FULL` (receipts are legal records), foreign keys on, a busy
//! timeout. Every write goes through ONE writer connection and starts with `BEGIN IMMEDIATE`,
//! so a read-modify-write holds the database's write lock from its first read: a second
//! process writing the same file waits (busy timeout) instead of interleaving. Reads use a
//! separate pool of read-only connections, which WAL lets run beside the writer. Concurrent
//! single writes (`intake`, `record`) share transactions through the group commit
//! ([`crate::write::group`]): one fsync for every item queued while the previous commit ran. A
//! background task checkpoints the WAL on its own connection, off the commit path.
//!
//! Instants are stored as fixed-width UTC text (`2025-02-07T10:00:00.000000Z`), so that text
//! order is time order in range queries.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Encode, Sqlite, Type};
use tokio::sync::watch;

use crate::error::StoreError;
use crate::model::DossierRow;
use crate::sql::{self, At, Dialect, decode_dossier};
use crate::write::counters::{CounterDeltas, bind_counter_rows};
use crate::write::group::{self, GroupCommit};
use tx::SqliteTx;

mod backup;
mod figures;
mod hall;
mod letters;
mod outbox;
mod petitions;
mod register;
mod staff;
mod tx;

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// Adds what a write did to the counters ([`crate::write::counters`]), in its transaction.
pub(crate) async fn add_to_counters(
    conn: &mut sqlx::SqliteConnection,
    deltas: &CounterDeltas,
) -> Result<(), StoreError> {
    for (q, rows) in deltas.statements(D) {
        bind_counter_rows!(sqlx::query(&q).persistent(false), &rows).execute(&mut *conn).await?;
    }
    Ok(())
}

/// How long a writer waits for another process holding the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
pub(super) const D: Dialect = Dialect::Sqlite;
/// How often the background checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// WAL frames after which a commit checkpoints by itself (SQLite's default is 1,000; the
/// background checkpointer normally leaves it nothing much to copy).
const WRITER_AUTOCHECKPOINT: u32 = 10_000;
/// Codes per `IN (…)` list.
pub(super) const IN_CHUNK: usize = 500;

/// An instant as stored: fixed-width UTC text, `2025-02-07T10:00:00.000000Z`.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    let n = t.naive_utc();
    // A leap second's nanoseconds run past 10^9: keep the width fixed.
    let micros = (n.nanosecond() / 1000).min(999_999);
    let year = n.year();
    if !(0..=9999).contains(&year) {
        return format!(
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            n.month(),
            n.day(),
            n.hour(),
            n.minute(),
            n.second()
        );
    }
    // The write path stamps several instants per row: digits written in place, no formatter.
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year.unsigned_abs());
    put(5, 2, n.month());
    put(8, 2, n.day());
    put(11, 2, n.hour());
    put(14, 2, n.minute());
    put(17, 2, n.second());
    put(20, 6, micros);
    b.iter().map(|&c| char::from(c)).collect()
}

pub(super) fn dossier_from(r: &SqliteRow) -> Result<DossierRow, StoreError> {
    decode_dossier!(r)
}

impl Type<Sqlite> for At {
    fn type_info() -> <Sqlite as sqlx::Database>::TypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for At {
    fn encode_by_ref(&self, buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(ts(self.0), buf)
    }
}

/// The dossier register on one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// How the file is opened (the backup opens a connection of its own with them).
    options: Arc<SqliteConnectOptions>,
    pub(super) group: GroupCommit,
    /// Stops the background checkpointer (dropped with the last clone, it stops too).
    checkpoints: Arc<watch::Sender<bool>>,
}

/// Copies the WAL into the database file beside the writer, on a connection of its own, so
/// that a commit seldom pays for a checkpoint (the copy and an fsync of the database file).
/// A passive checkpoint never waits for a lock and never blocks the writer; the writer's own
/// automatic checkpoint (at [`WRITER_AUTOCHECKPOINT`] frames) remains as a bound on the WAL
/// and then only has the last moments' frames left to copy.
async fn checkpointer(options: SqliteConnectOptions, mut stop: watch::Receiver<bool>) {
    let Ok(mut conn) = options.connect().await else { return };
    loop {
        tokio::select! {
            r = stop.changed() => if r.is_err() || *stop.borrow() { break },
            () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
        }
        // Failure is harmless (the writer's automatic checkpoint still runs): try again later.
        let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut conn).await;
    }
    let _ = conn.close().await;
}

impl SqliteStore {
    /// Opens (creating it and its directory if missing) the database file and migrates it
    /// (with the names migration 18 leaves to fold).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if tokio::fs::metadata(path).await.is_ok_and(|m| m.is_dir()) {
            let what = format!("{} is a folder; give the path of a database file in it", path.display());
            return Err(StoreError::Io(std::io::Error::new(std::io::ErrorKind::IsADirectory, what)));
        }
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            tokio::fs::create_dir_all(dir).await?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", "-32768")
            .pragma("temp_store", "memory")
            .statement_cache_capacity(sql::STATEMENT_CACHE);
        // No ping before each acquire: the connections are to a local file, and a batch would
        // pay one more trip to SQLite's thread for it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(300))
            .connect_with(
                options.clone().create_if_missing(true).pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT.to_string()),
            )
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.clone().read_only(true))
            .await?;
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(checkpointer(options.clone(), stopped));
        let store = Self {
            writer,
            reader,
            options: Arc::new(options),
            group: GroupCommit::new(group::DEFAULT_CAP),
            checkpoints: Arc::new(stop),
        };
        // The folded names SQL does not compute (migration 18).
        store.fold_missing_names().await?;
        Ok(store)
    }

    /// The single writer connection (a pool of one). Everything that writes goes through it.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    #[cfg(test)]
    pub(crate) fn group(&self) -> &GroupCommit {
        &self.group
    }

    /// The read-only pool.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Connection options of the file (no create): for a connection that must not be one of
    /// the pools', such as the backup's.
    pub(crate) fn file_options(&self) -> SqliteConnectOptions {
        (*self.options).clone()
    }

    pub async fn close(&self) {
        let _ = self.checkpoints.send(true);
        self.reader.close().await;
        self.writer.close().await;
    }

    pub(super) async fn begin_write(&self) -> Result<SqliteTx, StoreError> {
        Ok(SqliteTx::new(self.writer.acquire().await?, "BEGIN IMMEDIATE;\n"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn instants_are_fixed_width_so_text_order_is_time_order() {
        let a = Utc.with_ymd_and_hms(2025, 2, 7, 10, 0, 0).unwrap();
        let b = a + chrono::Duration::microseconds(1);
        let c = a + chrono::Duration::nanoseconds(500_000_001);
        assert_eq!(ts(a), "2025-02-07T10:00:00.000000Z");
        assert_eq!(ts(c), "2025-02-07T10:00:00.500000Z");
        assert!(ts(a) < ts(b) && ts(b) < ts(c));
        assert_eq!(DateTime::parse_from_rfc3339(&ts(b)).unwrap(), b);
        let late = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::microseconds(987_654);
        assert_eq!(ts(late), "2026-12-31T23:59:59.987654Z");
        let early = Utc.with_ymd_and_hms(7, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(ts(early), "0007-01-02T03:04:05.000000Z");
        let far = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(ts(far), "10000-01-01T00:00:00.000000Z");
    }
}
