//! The PostgreSQL register: many stateless server and worker processes on one database.
//!
//! A read-modify-write locks the projection rows of the dossiers it touches with
//! `SELECT … FOR UPDATE` (in code order, so two batches never wait on each other in a cycle)
//! before it reads their logs; code counters are serialised with transaction-scoped advisory
//! locks, so a rejected intake writes nothing, not even a counter row. A dossier created
//! concurrently by two imports of the same code is caught by the primary key: one of them fails
//! as a duplicate.
//!
//! Concurrent single writes of one process share transactions through the group commit
//! ([`crate::write::group`]), as on SQLite: intakes at one desk all wait for the same code counter's
//! lock, so one transaction per intake would serialise them behind one commit each.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::DossierCode;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Encode, Postgres, Type};

use crate::error::StoreError;
use crate::model::DossierRow;
use crate::sql::{self, At, Dialect, decode_dossier};
use crate::write::counters::{CounterDeltas, bind_counter_rows};
use crate::write::group::{self, GroupCommit};

/// How long a command waits for a connection before it fails as "database unavailable".
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
use tx::PgTx;

mod columns;
mod figures;
mod hall;
mod letters;
mod outbox;
mod petitions;
mod register;
mod staff;
mod tx;

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

pub(super) const D: Dialect = Dialect::Postgres;

pub(super) fn dossier_from(r: &PgRow) -> Result<DossierRow, StoreError> {
    decode_dossier!(r)
}

pub(super) fn codes_text(codes: &[DossierCode]) -> Vec<String> {
    codes.iter().map(ToString::to_string).collect()
}

/// Adds what a write did to the counters ([`crate::write::counters`]), in its transaction.
pub(crate) async fn add_to_counters(conn: &mut sqlx::PgConnection, deltas: &CounterDeltas) -> Result<(), StoreError> {
    for (q, rows) in deltas.statements(D) {
        bind_counter_rows!(sqlx::query(&q).persistent(false), &rows).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The advisory lock key text of a code counter.
pub(super) fn counter_lock(agency: &str, day: NaiveDate) -> String {
    format!("motcua:dossier_sequences:{agency}:{day}")
}

impl Type<Postgres> for At {
    fn type_info() -> <Postgres as sqlx::Database>::TypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for At {
    fn encode_by_ref(&self, buf: &mut <Postgres as sqlx::Database>::ArgumentBuffer<'_>) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

/// The dossier register on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    pub(super) group: GroupCommit,
}

impl PgStore {
    /// Connects to `postgres://…` and migrates the database (with the names migration 18 leaves
    /// to fold).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        // Named, so that an operator (and the outage test) can find motcua's sessions in
        // pg_stat_activity (unless the URL names them otherwise).
        let options = options.statement_cache_capacity(sql::STATEMENT_CACHE);
        let options =
            if options.get_application_name().is_none() { options.application_name("motcua") } else { options };
        // A request that cannot get a connection within ACQUIRE_TIMEOUT (the server restarting,
        // every connection busy) fails with an error the server answers 503 — never a hang.
        let pool =
            PgPoolOptions::new().max_connections(10).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        let store = Self { pool, group: GroupCommit::new(group::DEFAULT_CAP) };
        // The folded names SQL does not compute (migration 18).
        store.fold_missing_names().await?;
        Ok(store)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(super) async fn begin(&self) -> Result<PgTx, StoreError> {
        Ok(PgTx::new(self.pool.begin().await?))
    }
}
