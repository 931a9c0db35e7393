//! What the Prometheus exporter (motcua-exporter) reads at scrape time, and the one thing it
//! writes: measured handoff and dwell times.
//!
//! Every read here is sized by the number of agencies, statuses or outbox kinds, or by the
//! small set of open dossiers past their appointment — never by history or by the number of
//! open dossiers. The counters (`metric_*` tables) are kept by the write path on both backends,
//! in the transaction of the write that changes them (`write::counters` says how; migration
//! 0012 dropped the last triggers). The open
//! dossiers a scrape judges are read from the covering indexes of 0006 alone. Rows come back
//! raw: classification, national facts and working time are the exporter's business (through
//! core). Open means core's `vocab::OPEN`.
//!
//! This module holds the trait, its types and the SQL both backends share; each backend reads
//! in its own `figures.rs`.
//!
//! What keeps a scrape cheap beyond that:
//! - on SQLite each read returns its rows packed into one JSON array (`json_group_array`),
//!   decoded here: sqlx hands SQLite rows over from its worker thread one at a time, which costs
//!   about as much as finding them. PostgreSQL rows are read as rows (building JSON there costs
//!   more than the rows do);
//! - window sums over past days are not re-read at every scrape. The caller keeps them with the
//!   number of changes each agency's past days had when they were read ([`PastChanges`]); the
//!   store re-reads, in the same snapshot, only the agencies whose number grew;
//! - likewise the working-time histogram cells: the caller keeps them with the version they
//!   were read at ([`WorkingTimeVersion`]) and the store reads only the cells stamped since.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use motcua_core::deadlines::WaitKind;
use motcua_core::{Channel, DossierCode, Status};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};

use crate::error::StoreError;
use crate::model::CountValues;
use crate::sql;
use crate::sql::Dialect;

/// Non-terminal dossiers of one lead agency in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCount {
    pub agency: String,
    pub status: Status,
    pub dossiers: u64,
}

/// `daily_counts` summed over days and procedures, for one lead agency and channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyTotals {
    pub agency: String,
    pub channel: Channel,
    pub counts: CountValues,
}

/// `daily_counts` summed over some local days and every procedure and channel, for one agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyWindow {
    pub agency: String,
    pub counts: CountValues,
}

/// Open dossiers (core's `vocab::OPEN`) of one lead agency overdue at the scrape's now (core's
/// `analysis::open_state_of`: `due_at < now`, unless waiting for the citizen since before the
/// due instant; comparisons of instants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueCount {
    pub agency: String,
    pub overdue: u64,
    /// Those with no apology letter (`reschedule_count = 0`).
    pub without_apology: u64,
}

/// An open dossier (core's `vocab::OPEN`) that may be late by the national rule at the scrape's
/// now: past its receipt's appointment, or with a second supplement request. Any other open
/// dossier is on time: its effective end (now, or the start of an open wait, minus closed
/// waits) cannot be after an appointment that is not past.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalCandidate {
    pub agency: String,
    pub received_at: Option<DateTime<Utc>>,
    pub original_due_at: Option<DateTime<Utc>>,
    pub supplement_count: u32,
    pub waiting_kind: Option<WaitKind>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub waited_seconds_closed: i64,
}

/// Outbox messages of one kind in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxCount {
    pub kind: String,
    pub status: String,
    pub messages: u64,
}

/// One bucket of a working-time histogram (not cumulative): observations whose value is at
/// most `le_seconds` and above the next smaller bound (`-1` is +Inf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingTimeBucket {
    /// `handoff_delay` or `dwell`.
    pub metric: String,
    pub agency: String,
    pub le_seconds: i64,
    pub observations: u64,
    pub seconds: i64,
}

/// An event that may have completed a handoff (`accepted`) or an agency's dwell (`transferred`,
/// `resolved`, `withdrawn`, `stopped`), waiting to be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    pub id: i64,
    pub code: DossierCode,
    pub seq: u32,
}

/// A measured working time, to be added to a histogram bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingTimeObservation {
    /// The queue row it was measured for; it is added only if this call removes that row.
    pub queue_id: i64,
    /// `handoff_delay` or `dwell`.
    pub metric: &'static str,
    pub agency: String,
    pub le_seconds: i64,
    pub seconds: i64,
}

/// How many times each agency's `daily_counts` of days before `today` have changed, as of one
/// read. Within a day the numbers only grow, so an agency whose number is unchanged has the
/// same past-day sums as when it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PastChanges {
    pub today: NaiveDate,
    pub by_agency: BTreeMap<String, i64>,
}

/// Where the working-time histogram cells stand: the last version stamped on a changed cell,
/// and how many times cells were deleted or moved (migration 0006).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkingTimeVersion {
    pub version: i64,
    pub resets: i64,
}

/// One agency's sums over each window's days before `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastSums {
    pub agency: String,
    /// One per window of the query, in its order (zero for a window that is only today).
    pub windows: Vec<CountValues>,
}

/// What one scrape asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiguresQuery<'a> {
    pub now: DateTime<Utc>,
    /// The local day of `now`: every window ends with it, and its cells are read at each scrape.
    pub today: NaiveDate,
    /// The first local day of each window (at most `today`).
    pub window_starts: Vec<NaiveDate>,
    /// The past-day sums the caller holds, by the changes they were read at (`None`: none).
    pub known_past: Option<&'a PastChanges>,
    /// The version of the working-time cells the caller holds (`None`: none).
    pub known_working_time: Option<WorkingTimeVersion>,
}

/// Everything a scrape reads, from one consistent snapshot of the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub open: Vec<OpenCount>,
    pub totals: Vec<AgencyTotals>,
    /// Each agency's `daily_counts` of `today` (up to now: no event is stamped after now).
    pub today: Vec<AgencyWindow>,
    /// The changes to each agency's past days in this snapshot.
    pub past_changes: PastChanges,
    /// Past-day sums read by this scrape: of every agency when `past_complete` (the caller's
    /// were for another day, or it had none), else of the agencies whose past changed since
    /// `known_past` (listed even when their sums are now zero). The caller's sums of any other
    /// agency are still right.
    pub past: Vec<PastSums>,
    pub past_complete: bool,
    pub overdue: Vec<OverdueCount>,
    pub national_candidates: Vec<NationalCandidate>,
    /// Open dossiers (core's `vocab::OPEN`) at risk per agency: core's flag, kept in the projection
    /// since migration 0002 and counted per agency and status by the write path (`write::counters`).
    pub at_risk: Vec<(String, u64)>,
    pub outbox: Vec<OutboxCount>,
    pub oldest_pending_message: Option<DateTime<Utc>>,
    /// Working-time histogram cells: all of them when `working_time_complete`, else those
    /// changed since `known_working_time`.
    pub working_time: Vec<WorkingTimeBucket>,
    pub working_time_complete: bool,
    pub working_time_version: WorkingTimeVersion,
    /// Events waiting to be measured into `working_time`.
    pub handoff_queue: u64,
}

/// The exporter's queries, on each backend.
pub trait ServiceFigures: Send + Sync {
    /// Reads every figure of a scrape in one read transaction.
    fn figures(&self, q: &FiguresQuery<'_>) -> impl Future<Output = Result<Figures, StoreError>> + Send;

    /// The oldest `limit` events waiting to be measured.
    fn handoff_queue(&self, limit: u32) -> impl Future<Output = Result<Vec<QueuedEvent>, StoreError>> + Send;

    /// Removes the queue rows `done` and adds the observations of the rows this call removed
    /// (a row another process removed first is not counted twice), in one transaction. With
    /// `wait = false` on SQLite, gives up (`Ok(None)`) when the writer is busy rather than
    /// waiting for it. Returns the number of queue rows removed.
    fn record_working_time(
        &self,
        done: &[i64],
        observations: &[WorkingTimeObservation],
        wait: bool,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;
}

// ---------------------------------------------------------------------------------------------
// SQL, in the shape both backends share. `$n` placeholders work on both (sqlx binds `$n` on
// SQLite by number).

const COUNT_COLUMNS: &str = "received, finished, early, on_time, late, national_on_time";
const NATIONAL_FACTS: [&str; 7] = [
    "lead_agency",
    "received_at",
    "original_due_at",
    "supplement_count",
    "waiting_kind",
    "waiting_since",
    "waited_seconds_closed",
];

/// A query for rows. On SQLite they come packed into one JSON array of arrays (`[]` when
/// there is none): sqlx hands each SQLite row over from its worker thread one at a time, which
/// costs about as much as finding it. PostgreSQL rows arrive in one stream and cost little,
/// while building JSON there costs a microsecond a row: plain rows.
fn select(d: Dialect, row: &str, from: &str) -> String {
    match d {
        Dialect::Sqlite => packed(d, row, from),
        Dialect::Postgres => format!("SELECT {row} FROM {from}"),
    }
}

/// A query returning its rows as one JSON array of arrays (`[]` when there is none), on
/// either backend.
fn packed(d: Dialect, row: &str, from: &str) -> String {
    match d {
        Dialect::Sqlite => format!("SELECT json_group_array(json_array({row})) FROM {from}"),
        Dialect::Postgres => {
            format!("SELECT COALESCE(json_agg(json_build_array({row})), '[]'::json)::text FROM {from}")
        }
    }
}

/// An integer column as a 64-bit integer (PostgreSQL's `integer` does not decode as one).
fn int(d: Dialect, expr: &str) -> String {
    match d {
        Dialect::Sqlite => expr.to_string(),
        Dialect::Postgres => format!("({expr})::bigint"),
    }
}

/// A table read through a named index (SQLite's planner may otherwise prefer walking
/// `dossiers_lead_agency` for a GROUP BY, which reads every row).
fn indexed(d: Dialect, table: &str, index: &str) -> String {
    match d {
        Dialect::Sqlite => format!("{table} INDEXED BY {index}"),
        Dialect::Postgres => table.to_string(),
    }
}

/// The fixed queries of a scrape on one backend.
pub(crate) struct Queries {
    pub(crate) open: String,
    pub(crate) totals: String,
    /// `$1` = today.
    pub(crate) live: String,
    /// `$1` = now.
    pub(crate) overdue: String,
    /// `$1` = now.
    pub(crate) national: String,
    pub(crate) outbox: String,
    pub(crate) oldest_pending: String,
    pub(crate) working_time: String,
    /// `$1` = the version the caller holds.
    pub(crate) working_time_since: String,
    pub(crate) working_time_version: &'static str,
    pub(crate) queue_length: &'static str,
}

impl Queries {
    fn new(d: Dialect) -> Self {
        let facts = NATIONAL_FACTS
            .iter()
            .map(|c| if *c == "supplement_count" { int(d, c) } else { (*c).to_string() })
            .collect::<Vec<_>>()
            .join(", ");
        let raw_facts = NATIONAL_FACTS.join(", ");
        let cell = "metric, agency, le_seconds, observations, seconds";
        Self {
            open: select(
                d,
                &format!("agency, {}, dossiers, at_risk", int(d, "status")),
                "metric_open_dossiers WHERE dossiers <> 0 OR at_risk <> 0",
            ),
            totals: select(d, &format!("agency, channel, {COUNT_COLUMNS}, changes"), "metric_agency_totals"),
            live: select(
                d,
                &format!("agency, {}, {COUNT_COLUMNS}, changes", int(d, "CASE WHEN day = $1 THEN 1 ELSE 0 END")),
                "metric_agency_days WHERE day >= $1",
            ),
            overdue: select(
                d,
                "lead_agency, n, w",
                &format!(
                    "(SELECT lead_agency, COUNT(*) AS n, SUM(CASE WHEN reschedule_count = 0 THEN 1 ELSE 0 END) AS w \
                     FROM {} WHERE {open} AND due_at < $1 AND {running} GROUP BY lead_agency) o",
                    indexed(d, "dossiers", "metric_open_overdue"),
                    open = *sql::OPEN,
                    running = sql::CLOCK_NOT_STOPPED
                ),
            ),
            national: select(
                d,
                &facts,
                &format!(
                    "(SELECT {raw_facts} FROM {} WHERE {open} AND original_due_at < $1 \
                     UNION ALL SELECT {raw_facts} FROM {} WHERE {open} AND supplement_count > 1 \
                     AND original_due_at >= $1) c",
                    indexed(d, "dossiers", "metric_open_national"),
                    indexed(d, "dossiers", "metric_open_supplements"),
                    open = *sql::OPEN
                ),
            ),
            outbox: select(d, "kind, status, messages", "metric_outbox WHERE messages <> 0"),
            oldest_pending: select(
                d,
                "oldest",
                "(SELECT MIN(created_at) AS oldest FROM outbox WHERE status = 'pending') o",
            ),
            working_time: select(d, cell, "metric_working_time"),
            working_time_since: select(d, cell, "metric_working_time WHERE version > $1"),
            working_time_version: "SELECT version, resets FROM metric_working_time_version WHERE id = 1",
            queue_length: "SELECT COUNT(*) FROM metric_handoff_queue",
        }
    }
}

pub(crate) static SQLITE: LazyLock<Queries> = LazyLock::new(|| Queries::new(Dialect::Sqlite));
pub(crate) static POSTGRES: LazyLock<Queries> = LazyLock::new(|| Queries::new(Dialect::Postgres));

/// Sums over each window's past days (`$1` = today, `$2` = the earliest first day, `$3…` the
/// first day of each window that has past days), per agency; with `filtered`, only of the
/// agencies bound last (a JSON array of codes on SQLite, a text array on PostgreSQL).
pub(crate) fn past_query(d: Dialect, starts: usize, filtered: bool) -> String {
    let mut sums = Vec::with_capacity(starts * 6);
    for w in 0..starts {
        for c in COUNT_COLUMNS.split(", ") {
            sums.push(format!("SUM(CASE WHEN day >= ${} THEN {c} ELSE 0 END) AS {c}_{w}", w + 3));
        }
    }
    let filter = match (filtered, d) {
        (false, _) => String::new(),
        (true, Dialect::Sqlite) => format!(" AND agency IN (SELECT value FROM json_each(${}))", starts + 3),
        (true, Dialect::Postgres) => format!(" AND agency = ANY(${})", starts + 3),
    };
    let columns: Vec<String> =
        (0..starts).flat_map(|w| COUNT_COLUMNS.split(", ").map(move |c| format!("{c}_{w}"))).collect();
    // PostgreSQL's SUM(bigint) is numeric: cast back.
    let cast = |c: &String| match d {
        Dialect::Sqlite => c.clone(),
        Dialect::Postgres => format!("{c}::bigint"),
    };
    packed(
        d,
        &format!("agency, {}", columns.iter().map(cast).collect::<Vec<_>>().join(", ")),
        &format!(
            "(SELECT agency, {} FROM metric_agency_days WHERE day >= $2 AND day < $1{filter} GROUP BY agency) p",
            sums.join(", ")
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Decoding the JSON arrays.

pub(crate) fn decode<T: DeserializeOwned>(json: Option<String>, what: &str) -> Result<Vec<T>, StoreError> {
    match json {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}"))),
    }
}

/// An instant in a scrape's JSON: fixed-width UTC text (`2025-02-07T10:00:00.000000Z`, as
/// SQLite keeps instants), other RFC 3339 text, or integer microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonInstant(pub(crate) DateTime<Utc>);

/// The fixed-width text form, without going through a general parser (a scrape reads
/// thousands of them).
fn fixed_width_instant(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 27 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[19] != b'.' || b[26] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let day = NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)?;
    let time = NaiveTime::from_hms_micro_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 26)?)?;
    Some(day.and_time(time).and_utc())
}

impl<'de> Deserialize<'de> for JsonInstant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = JsonInstant;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an instant: RFC 3339 text or microseconds since the epoch")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<JsonInstant, E> {
                fixed_width_instant(s)
                    .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)))
                    .map(JsonInstant)
                    .ok_or_else(|| E::custom(format!("{s:?} is not an instant")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<JsonInstant, E> {
                DateTime::from_timestamp_micros(n)
                    .map(JsonInstant)
                    .ok_or_else(|| E::custom(format!("{n} µs is not an instant")))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<JsonInstant, E> {
                let n = i64::try_from(n).map_err(|_| E::custom(format!("{n} µs is not an instant")))?;
                self.visit_i64(n)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A row of a code followed by integers: `[agency, n1, n2, …]`.
#[derive(Debug)]
struct CodeAndNumbers(String, Vec<i64>);

impl<'de> Deserialize<'de> for CodeAndNumbers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CodeAndNumbers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of a code and integers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CodeAndNumbers, A::Error> {
                let code: String = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let mut numbers = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(n) = seq.next_element::<i64>()? {
                    numbers.push(n);
                }
                Ok(CodeAndNumbers(code, numbers))
            }
        }
        deserializer.deserialize_seq(V)
    }
}

fn counts(n: &[i64]) -> CountValues {
    let at = |i: usize| n.get(i).copied().unwrap_or(0);
    CountValues { received: at(0), finished: at(1), early: at(2), on_time: at(3), late: at(4), national_on_time: at(5) }
}

fn status_of(n: i64) -> Result<Status, StoreError> {
    u8::try_from(n)
        .ok()
        .and_then(Status::from_code)
        .ok_or_else(|| StoreError::Corrupt(format!("metric_open_dossiers.status = {n}")))
}

fn channel_of(s: &str) -> Result<Channel, StoreError> {
    Channel::parse(s).ok_or_else(|| StoreError::Corrupt(format!("metric_agency_totals.channel = {s:?}")))
}

/// agency, status, open dossiers, of which at risk.
type OpenRow = (String, i64, i64, i64);
/// agency, channel, the six counts, changes.
type TotalsRow = (String, String, i64, i64, i64, i64, i64, i64, i64);
/// agency, 1 if the day is today (else a later day), the six counts, changes.
type LiveRow = (String, i64, i64, i64, i64, i64, i64, i64, i64);
/// agency, overdue, of which without an apology.
type OverdueRow = (String, i64, i64);
/// The columns of [`NATIONAL_FACTS`].
pub(crate) type NationalRow<T> = (String, Option<T>, Option<T>, i64, Option<String>, Option<T>, i64);
/// kind, status, messages.
type OutboxRow = (String, String, i64);
/// metric, agency, bucket bound, observations, seconds.
type CellRow = (String, String, i64, i64, i64);

/// Which working-time cells a scrape reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cells {
    /// The caller's are current.
    Unchanged,
    /// Those stamped after this version.
    Since(i64),
    All,
}

pub(crate) fn cells_to_read(known: Option<WorkingTimeVersion>, now: WorkingTimeVersion) -> Cells {
    match known.filter(|k| k.resets == now.resets) {
        Some(k) if k.version == now.version => Cells::Unchanged,
        Some(k) => Cells::Since(k.version),
        None => Cells::All,
    }
}

/// The rows a scrape read, on either backend, before they become [`Figures`].
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) open: Vec<OpenRow>,
    pub(crate) totals: Vec<TotalsRow>,
    pub(crate) live: Vec<LiveRow>,
    pub(crate) overdue: Vec<OverdueRow>,
    pub(crate) national: Vec<NationalRow<DateTime<Utc>>>,
    pub(crate) outbox: Vec<OutboxRow>,
    pub(crate) oldest_pending: Option<DateTime<Utc>>,
    pub(crate) working_time: Vec<CellRow>,
    pub(crate) queue_length: i64,
}

impl Rows {
    /// The figures, with the changes of each agency's past days (its totals' changes less
    /// those of its cells from today on); past sums are read afterwards.
    pub(crate) fn into_figures(
        self,
        today: NaiveDate,
        version: WorkingTimeVersion,
        cells: Cells,
    ) -> Result<Figures, StoreError> {
        let mut f = Figures::default();
        let mut at_risk: BTreeMap<String, u64> = BTreeMap::new();
        for (agency, status, n, r) in self.open {
            let dossiers = sql::count(n, "metric_open_dossiers.dossiers")?;
            let status = status_of(status)?;
            if motcua_core::vocab::OPEN.contains(status) {
                *at_risk.entry(agency.clone()).or_default() += sql::count(r, "metric_open_dossiers.at_risk")?;
            }
            if dossiers > 0 {
                f.open.push(OpenCount { agency, status, dossiers });
            }
        }
        f.at_risk = at_risk.into_iter().collect();
        let mut changes: BTreeMap<String, i64> = BTreeMap::new();
        for (agency, channel, received, finished, early, on_time, late, national_on_time, n) in self.totals {
            *changes.entry(agency.clone()).or_default() += n;
            let counts = CountValues { received, finished, early, on_time, late, national_on_time };
            f.totals.push(AgencyTotals { agency, channel: channel_of(&channel)?, counts });
        }
        // Rows come in no particular order (json_agg, a heap scan): in key order.
        f.totals.sort_by(|a, b| (&a.agency, a.channel.name()).cmp(&(&b.agency, b.channel.name())));
        for (agency, is_today, received, finished, early, on_time, late, national_on_time, n) in self.live {
            *changes.entry(agency.clone()).or_default() -= n;
            if is_today == 1 {
                let counts = CountValues { received, finished, early, on_time, late, national_on_time };
                f.today.push(AgencyWindow { agency, counts });
            }
        }
        f.past_changes = PastChanges { today, by_agency: changes };
        for (agency, overdue, without) in self.overdue {
            let overdue = sql::count(overdue, "overdue count")?;
            f.overdue.push(OverdueCount { agency, overdue, without_apology: sql::count(without, "overdue count")? });
        }
        for (agency, received_at, original_due_at, supplements, kind, waiting_since, closed) in self.national {
            f.national_candidates.push(NationalCandidate {
                agency,
                received_at,
                original_due_at,
                supplement_count: u32::try_from(supplements)
                    .map_err(|_| StoreError::Corrupt(format!("supplement_count = {supplements}")))?,
                waiting_kind: kind.as_deref().map(sql::wait_kind_from).transpose()?,
                waiting_since,
                waited_seconds_closed: closed,
            });
        }
        for (kind, status, n) in self.outbox {
            f.outbox.push(OutboxCount { kind, status, messages: sql::count(n, "metric_outbox.messages")? });
        }
        f.outbox.sort_by(|a, b| (&a.kind, &a.status).cmp(&(&b.kind, &b.status)));
        f.oldest_pending_message = self.oldest_pending;
        for (metric, agency, le_seconds, n, seconds) in self.working_time {
            let observations = sql::count(n, "metric_working_time.observations")?;
            f.working_time.push(WorkingTimeBucket { metric, agency, le_seconds, observations, seconds });
        }
        f.working_time.sort_by(|a, b| (&a.metric, &a.agency, a.le_seconds).cmp(&(&b.metric, &b.agency, b.le_seconds)));
        f.working_time_complete = cells == Cells::All;
        f.working_time_version = version;
        f.handoff_queue = sql::count(self.queue_length, "metric_handoff_queue length")?;
        Ok(f)
    }
}

/// Which agencies' past days this scrape must read: `None` for all of them.
pub(crate) fn stale_agencies(known: Option<&PastChanges>, now: &PastChanges) -> Option<Vec<String>> {
    let known = known.filter(|k| k.today == now.today)?;
    Some(
        now.by_agency
            .iter()
            .filter(|(agency, n)| known.by_agency.get(*agency) != Some(*n))
            .map(|(agency, _)| agency.clone())
            .collect(),
    )
}

/// The windows that have days before today: (index in the query, first day).
pub(crate) fn past_windows(q: &FiguresQuery<'_>) -> Vec<(usize, NaiveDate)> {
    q.window_starts.iter().copied().enumerate().filter(|(_, first)| *first < q.today).collect()
}

/// Decoded past sums, spread back over every window of the query; `stale` agencies with no
/// row get zeros.
pub(crate) fn past_sums(
    json: Option<String>,
    windows: &[(usize, NaiveDate)],
    all: usize,
    stale: Option<&[String]>,
) -> Result<Vec<PastSums>, StoreError> {
    let mut out: BTreeMap<String, Vec<CountValues>> = BTreeMap::new();
    for agency in stale.unwrap_or_default() {
        out.insert(agency.clone(), vec![CountValues::default(); all]);
    }
    for CodeAndNumbers(agency, n) in decode::<CodeAndNumbers>(json, "past window sums")? {
        let sums = out.entry(agency).or_insert_with(|| vec![CountValues::default(); all]);
        for (k, (i, _)) in windows.iter().enumerate() {
            if let Some(s) = sums.get_mut(*i) {
                *s = counts(n.get(k * 6..).unwrap_or_default());
            }
        }
    }
    Ok(out.into_iter().map(|(agency, windows)| PastSums { agency, windows }).collect())
}

/// Observations summed per histogram cell, for the rows actually removed.
pub(crate) fn cells(
    observations: &[WorkingTimeObservation],
    removed: &BTreeSet<i64>,
) -> BTreeMap<(&'static str, String, i64), (i64, i64)> {
    let mut out: BTreeMap<(&'static str, String, i64), (i64, i64)> = BTreeMap::new();
    for o in observations.iter().filter(|o| removed.contains(&o.queue_id)) {
        let c = out.entry((o.metric, o.agency.clone(), o.le_seconds)).or_default();
        c.0 += 1;
        c.1 += o.seconds;
    }
    out
}

/// Reads the past-day sums this scrape needs into `$f` (see [`Figures::past`]), in the
/// transaction `$tx`; `$bind` binds the list of agencies to re-read.
macro_rules! read_past {
    ($tx:ident, $dialect:expr, $q:expr, $f:expr, |$query:ident, $agencies:ident| $bind:expr) => {{
        let (q, f): (&$crate::metrics::FiguresQuery<'_>, &mut $crate::metrics::Figures) = ($q, $f);
        let stale = $crate::metrics::stale_agencies(q.known_past, &f.past_changes);
        let windows = $crate::metrics::past_windows(q);
        if stale.as_ref().is_none_or(|s| !s.is_empty()) {
            let mut json = None;
            if let Some(first) = windows.iter().map(|(_, d)| *d).min() {
                let sql = $crate::metrics::past_query($dialect, windows.len(), stale.is_some());
                let mut $query = sqlx::query_scalar::<_, Option<String>>(&sql).bind(q.today).bind(first);
                for (_, d) in &windows {
                    $query = $query.bind(*d);
                }
                if let Some($agencies) = &stale {
                    $query = $bind;
                }
                json = $query.fetch_one(&mut *$tx).await?;
            }
            f.past = $crate::metrics::past_sums(json, &windows, q.window_starts.len(), stale.as_deref())?;
        }
        f.past_complete = stale.is_none();
    }};
}
pub(crate) use read_past;

/// A measuring pass takes the next version once, for every cell it changes: the version row
/// stays locked until the pass commits, so versions are handed out in commit order and a
/// snapshot that sees version V sees every cell stamped V or less ([`crate::write::counters`]).
pub(crate) const NEXT_WORKING_TIME_VERSION: &str =
    "UPDATE metric_working_time_version SET version = version + 1 WHERE id = 1 RETURNING version";

/// Adds observations to a histogram cell and stamps it with the pass's version.
pub(crate) const UPSERT_WORKING_TIME: &str = "INSERT INTO metric_working_time \
     (metric, agency, le_seconds, observations, seconds, version) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (metric, agency, le_seconds) DO UPDATE SET \
     observations = metric_working_time.observations + excluded.observations, \
     seconds = metric_working_time.seconds + excluded.seconds, version = excluded.version";

/// Writes the cells of the observations whose queue rows this pass `removed`, in the open
/// transaction `$tx`, for either backend.
macro_rules! record_cells {
    ($tx:ident, $observations:expr, $removed:expr) => {{
        let cells = $crate::metrics::cells($observations, $removed);
        if !cells.is_empty() {
            let version: i64 =
                sqlx::query_scalar($crate::metrics::NEXT_WORKING_TIME_VERSION).fetch_one(&mut *$tx).await?;
            for ((metric, agency, le), (n, secs)) in cells {
                sqlx::query($crate::metrics::UPSERT_WORKING_TIME)
                    .bind(metric)
                    .bind(agency)
                    .bind(le)
                    .bind(n)
                    .bind(secs)
                    .bind(version)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}
pub(crate) use record_cells;

/// The measuring queue's read, written once for both backends and expanded inside each
/// backend's `impl ServiceFigures`; `$pool` names the method giving the pool it reads from.
macro_rules! queue_read {
    ($pool:ident) => {
        async fn handoff_queue(&self, limit: u32) -> Result<Vec<QueuedEvent>, StoreError> {
            let rows: Vec<(i64, String, i32)> =
                sqlx::query_as("SELECT id, dossier_code, seq FROM metric_handoff_queue ORDER BY id LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(self.$pool())
                    .await?;
            rows.into_iter()
                .map(|(id, code, seq)| {
                    Ok(QueuedEvent {
                        id,
                        code: $crate::sql::parse("metric_handoff_queue", "dossier_code", &code)?,
                        seq: $crate::sql::uint(seq, "metric_handoff_queue.seq")?,
                    })
                })
                .collect()
        }
    };
}
pub(crate) use queue_read;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn instants_decode_from_fixed_width_text_rfc3339_and_micros() {
        let want = DateTime::parse_from_rfc3339("2025-02-07T10:00:00.000123Z").unwrap().with_timezone(&Utc);
        let rows: Vec<(JsonInstant, JsonInstant, JsonInstant)> = serde_json::from_str(&format!(
            "[[\"2025-02-07T10:00:00.000123Z\", \"2025-02-07T17:00:00.000123+07:00\", {}]]",
            want.timestamp_micros()
        ))
        .unwrap();
        assert_eq!(rows, vec![(JsonInstant(want), JsonInstant(want), JsonInstant(want))]);
        assert_eq!(fixed_width_instant("2025-02-30T10:00:00.000000Z"), None);
        assert_eq!(fixed_width_instant("2025-02-07T10:00:00.00000xZ"), None);
        assert!(serde_json::from_str::<JsonInstant>("\"yesterday\"").is_err());
    }

    #[test]
    fn only_agencies_whose_past_changed_are_stale() {
        let day = NaiveDate::from_ymd_opt(2025, 3, 5).unwrap();
        let changes = |pairs: &[(&str, i64)]| PastChanges {
            today: day,
            by_agency: pairs.iter().map(|(a, n)| ((*a).to_string(), *n)).collect(),
        };
        let known = changes(&[("A", 3), ("B", 7)]);
        let now = changes(&[("A", 3), ("B", 8), ("C", 0)]);
        assert_eq!(stale_agencies(Some(&known), &now), Some(vec!["B".to_string(), "C".to_string()]));
        assert_eq!(stale_agencies(None, &now), None, "nothing known: read all");
        let yesterday = PastChanges { today: day.pred_opt().unwrap(), ..known };
        assert_eq!(stale_agencies(Some(&yesterday), &now), None, "another day: read all");
    }

    #[test]
    fn past_sums_spread_over_windows_and_zero_stale_agencies() {
        let day = |d| NaiveDate::from_ymd_opt(2025, 3, d).unwrap();
        // Windows 1d (only today), 7d, 30d (by first day): the last two have past days.
        let windows = [(1, day(1)), (2, day(1))];
        let json = "[[\"A\", 1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]]".to_string();
        let stale = ["A".to_string(), "B".to_string()];
        let sums = past_sums(Some(json), &windows, 3, Some(&stale)).unwrap();
        assert_eq!(sums.len(), 2);
        assert_eq!(sums[0].windows[0], CountValues::default());
        assert_eq!(sums[0].windows[1].national_on_time, 6);
        assert_eq!(sums[0].windows[2].received, 10);
        assert_eq!(sums[1], PastSums { agency: "B".into(), windows: vec![CountValues::default(); 3] });
    }

    #[test]
    fn past_query_names_one_placeholder_per_window() {
        let q = past_query(Dialect::Postgres, 2, true);
        assert!(q.contains("$3") && q.contains("$4") && q.contains("ANY($5)"), "{q}");
        let q = past_query(Dialect::Sqlite, 1, false);
        assert!(q.contains("$3") && !q.contains("$4") && !q.contains("json_each"), "{q}");
    }
}
