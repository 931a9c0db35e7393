//! SQL text shared in shape by both backends (the placeholder style differs), and the mapping
//! between projection rows and database rows.

use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use motcua_core::deadlines::WaitKind;
use motcua_core::{Event, Outcome, Timeliness, vocab};

use crate::error::StoreError;

/// `status IN (2, 4, 5, 6)`: the open statuses ([`vocab::OPEN`]). The partial indexes of the
/// migrations carry these words, which SQLite's planner matches as written.
pub(crate) static OPEN: LazyLock<String> = LazyLock::new(|| vocab::OPEN.sql_in("status"));

/// An open dossier waiting for the citizen with its clock stopped: the wait began at or before
/// its due instant (core's `analysis::open_state_of`; instants compared, nothing counted).
pub(crate) const WAITING_FOR_CITIZEN: &str = "(waiting_since IS NOT NULL AND waiting_since <= due_at)";

/// An open dossier whose clock is not stopped by a wait for the citizen (core's
/// `analysis::open_state_of`): past due once `due_at` is before the instant it is judged at.
pub(crate) const CLOCK_NOT_STOPPED: &str = "(waiting_since IS NULL OR waiting_since > due_at)";

/// `status IN (1, 2, 4, 5, 6)`: not finished ([`vocab::NOT_FINISHED`]), the statuses the
/// gauge of dossiers by status counts.
pub(crate) static NOT_FINISHED: LazyLock<String> = LazyLock::new(|| vocab::NOT_FINISHED.sql_in("status"));

/// `d.status IN (2, 4)`: the agency's clock runs ([`vocab::AGENCY_CLOCK`]), on `dossiers d`.
pub(crate) static AGENCY_CLOCK: LazyLock<String> = LazyLock::new(|| vocab::AGENCY_CLOCK.sql_in("d.status"));

/// `kind IN ('transferred', …)`: the events the exporter measures
/// ([`vocab::MEASURED_EVENT_KINDS`]).
pub(crate) static MEASURED_KINDS: LazyLock<String> =
    LazyLock::new(|| format!("kind IN {}", vocab::measured_kinds_sql_list()));

/// An instant as a bind parameter: fixed-width UTC text on SQLite (as every other instant of
/// the SQLite schema), `timestamptz` on PostgreSQL. Each backend encodes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At(pub(crate) DateTime<Utc>);

/// Placeholder style: `?` (SQLite) or `$n` (PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// The verb of the multi-row writes of a write transaction. On SQLite, `OR ROLLBACK`: a
/// constraint that fails ends the whole transaction, which the write path would roll back
/// anyway, so SQLite keeps no statement journal (a copy of every page a statement first
/// touches, which it needs only to undo one statement of several). PostgreSQL has no such
/// clause and needs none.
pub(crate) fn insert_into(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "INSERT OR ROLLBACK INTO",
        Dialect::Postgres => "INSERT INTO",
    }
}

/// The columns of `dossiers`, in the order [`bind_dossier!`] binds them. One is not a field of
/// [`crate::DossierRow`]: `applicant_name_folded`, the name as the staff's search compares it
/// (`motcua_core::text::fold`), computed as the row is bound.
pub(crate) const DOSSIER_COLUMNS: [&str; 43] = [
    "code",
    "procedure",
    "receiving_agency",
    "lead_agency",
    "channel",
    "status",
    "holder",
    "handoff_pending",
    "handoff_from",
    "handoff_sent_at",
    "applicant_name",
    "applicant_name_folded",
    "applicant_email",
    "applicant_phone",
    "applicant_id_number",
    "applicant_address",
    "registered_at",
    "received_at",
    "start_at",
    "due_at",
    "original_due_at",
    "rescheduled_to",
    "finished_at",
    "returned_at",
    "outcome",
    "timeliness",
    "national_on_time",
    "supplement_count",
    "reschedule_count",
    "deadline_revision",
    "at_risk",
    "waiting_kind",
    "waiting_since",
    "waited_seconds_closed",
    "last_event_at",
    "event_count",
    "fee_vnd",
    "payment_method",
    "paid_at",
    "electronic_result",
    "digitised",
    "synced_at",
    "delay_reason",
];

/// The columns of `daily_counts`, in the order they are bound.
pub(crate) const COUNT_COLUMNS: [&str; 10] =
    ["day", "agency", "procedure", "channel", "received", "finished", "early", "on_time", "late", "national_on_time"];

/// At most this many parameters per statement (SQLite's limit is 32766, PostgreSQL's 65535).
const MAX_PARAMS: usize = 8000;

/// How many rows of `cols` columns go in one multi-row statement.
pub(crate) fn rows_per_statement(cols: usize) -> usize {
    (MAX_PARAMS / cols.max(1)).max(1)
}

/// Row counts up to this recur all the time: group commits of the single writes that
/// arrived during the previous commit.
const SMALL_BATCH: usize = 16;

/// The writer's prepared-statement cache: every small shape of every write statement fits.
pub(crate) const STATEMENT_CACHE: usize = 512;

/// Keep prepared statements only for the shapes that recur (a few rows, a full chunk), so
/// that the tail chunks of big batches do not crowd the statement cache.
pub(crate) fn persistent(n: usize, full: usize) -> bool {
    n <= SMALL_BATCH || n == full
}

/// `(?, ?), (?, ?)` or `($1, $2), ($3, $4)`.
pub(crate) fn values(d: Dialect, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            n += 1;
            match d {
                Dialect::Sqlite => s.push('?'),
                Dialect::Postgres => {
                    s.push('$');
                    s.push_str(&n.to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

/// The rows of a SQLite multi-row INSERT: `VALUES (?, …), …` with `rows` rows or, padded to
/// `padded` rows, `SELECT * FROM (VALUES …) WHERE column1 IS NOT NULL`, the padding bound as
/// NULL. Padding to a few fixed sizes keeps the statement's text, and so its prepared form,
/// the same across the parts of a big batch.
pub(crate) fn sqlite_rows(rows: usize, padded: usize, cols: usize) -> String {
    if padded <= rows {
        format!("VALUES {}", values(Dialect::Sqlite, rows, cols))
    } else {
        format!("SELECT * FROM (VALUES {}) WHERE column1 IS NOT NULL", values(Dialect::Sqlite, padded, cols))
    }
}

/// `?, ?, ?` or `$1, $2, $3` (an IN list).
pub(crate) fn list(d: Dialect, n: usize) -> String {
    let items: Vec<String> = (1..=n)
        .map(|i| match d {
            Dialect::Sqlite => "?".to_string(),
            Dialect::Postgres => format!("${i}"),
        })
        .collect();
    items.join(", ")
}

/// The text of JSON field `key` of column `col` (a JSON object): `json_extract` on SQLite,
/// `->>` on PostgreSQL.
pub(crate) fn json_text(d: Dialect, col: &str, key: &str) -> String {
    match d {
        Dialect::Sqlite => format!("json_extract({col}, '$.{key}')"),
        Dialect::Postgres => format!("({col} ->> '{key}')"),
    }
}

/// The WHERE clause of a read, built term by term with `$n` placeholders (which both backends
/// accept) and the texts they bind, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) terms: Vec<String>,
    pub(crate) params: Vec<String>,
}

impl Filter {
    /// A placeholder for text `s`.
    pub(crate) fn text(&mut self, s: impl Into<String>) -> String {
        self.params.push(s.into());
        format!("${}", self.params.len())
    }

    /// `$1, $2, …`: one placeholder per item (an IN list).
    pub(crate) fn list<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) -> String {
        let marks: Vec<String> = items.into_iter().map(|i| self.text(i)).collect();
        marks.join(", ")
    }

    /// Adds a term; all terms must hold.
    pub(crate) fn and(&mut self, term: impl Into<String>) {
        self.terms.push(term.into());
    }

    /// The terms joined by AND (`TRUE` if there is none).
    pub(crate) fn clause(&self) -> String {
        if self.terms.is_empty() { "TRUE".to_string() } else { self.terms.join(" AND ") }
    }
}

/// `LIKE` text of `s` matched anywhere, its pattern characters escaped with `\`.
pub(crate) fn like_anywhere(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// True where `column` matches `pattern` (a placeholder bound to [`prefix_pattern`]): `GLOB`
/// on SQLite (case as written, so that a bound pattern with no leading wildcard is read from the
/// column's index as a range), `LIKE` on PostgreSQL.
pub(crate) fn prefix_match(d: Dialect, column: &str, pattern: &str) -> String {
    match d {
        Dialect::Sqlite => format!("{column} GLOB {pattern}"),
        Dialect::Postgres => format!("{column} LIKE {pattern}"),
    }
}

/// The pattern of text beginning with `prefix`, for [`prefix_match`]. The caller passes a
/// prefix with no pattern character of either dialect (`*?[]%_\`).
pub(crate) fn prefix_pattern(d: Dialect, prefix: &str) -> String {
    match d {
        Dialect::Sqlite => format!("{prefix}*"),
        Dialect::Postgres => format!("{prefix}%"),
    }
}

/// INSERT of projection rows; with `upsert`, an existing row is overwritten.
pub(crate) fn insert_dossiers(d: Dialect, rows: usize, upsert: bool) -> String {
    insert_dossiers_from(d, &format!("VALUES {}", values(d, rows, DOSSIER_COLUMNS.len())), upsert)
}

/// INSERT of projection rows from `source` (a VALUES list or a SELECT).
pub(crate) fn insert_dossiers_from(d: Dialect, source: &str, upsert: bool) -> String {
    let mut sql = format!("{} dossiers ({}) {source}", insert_into(d), DOSSIER_COLUMNS.join(", "));
    if upsert {
        let sets: Vec<String> = DOSSIER_COLUMNS[1..].iter().map(|c| format!("{c} = excluded.{c}")).collect();
        sql.push_str(" ON CONFLICT (code) DO UPDATE SET ");
        sql.push_str(&sets.join(", "));
    }
    sql
}

/// Adds deltas to `daily_counts` cells (`add`), or sets cells to values.
pub(crate) fn upsert_counts(d: Dialect, rows: usize, add: bool) -> String {
    upsert_counts_from(d, &format!("VALUES {}", values(d, rows, COUNT_COLUMNS.len())), add)
}

/// [`upsert_counts`] from `source`: `VALUES …` or a SELECT with a WHERE clause (which keeps
/// SQLite from reading `ON CONFLICT` as a join's `ON`).
pub(crate) fn upsert_counts_from(d: Dialect, source: &str, add: bool) -> String {
    let sets: Vec<String> = COUNT_COLUMNS[4..]
        .iter()
        .map(|c| if add { format!("{c} = daily_counts.{c} + excluded.{c}") } else { format!("{c} = excluded.{c}") })
        .collect();
    format!(
        "{} daily_counts ({}) {source} ON CONFLICT (day, agency, procedure, channel) DO UPDATE SET {}",
        insert_into(d),
        COUNT_COLUMNS.join(", "),
        sets.join(", ")
    )
}

/// Writes `$rows` with multi-row statements of at most [`rows_per_statement`] rows each, on
/// the connection `$conn`: `$sql` builds a statement of `$n` rows, `$bind` binds one `$row`
/// on the query `$q`. Shapes that recur stay prepared ([`persistent`]).
macro_rules! write_chunked {
    ($conn:expr, $rows:expr, $cols:expr, |$n:ident| $sql:expr, |$q:ident, $row:ident| $bind:expr) => {{
        let per = $crate::sql::rows_per_statement($cols);
        for chunk in $rows.chunks(per) {
            let $n = chunk.len();
            let sql = $sql;
            let mut $q = sqlx::query(&sql).persistent($crate::sql::persistent($n, per));
            for $row in chunk {
                $q = $bind;
            }
            $q.execute(&mut *$conn).await?;
        }
    }};
}
pub(crate) use write_chunked;

/// A SELECT of every projection column.
pub(crate) fn select_dossiers() -> String {
    format!("SELECT {} FROM dossiers", DOSSIER_COLUMNS.join(", "))
}

/// [`select_dossiers`] with `listed`, how many rows the whole selection has (before its LIMIT):
/// a page and the length of its list in one pass.
pub(crate) fn select_dossiers_counted() -> String {
    format!("SELECT {}, COUNT(*) OVER () AS listed FROM dossiers", DOSSIER_COLUMNS.join(", "))
}

pub(crate) fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A VND amount as a BIGINT (amounts are capped far below `i64::MAX`).
pub(crate) fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn uint(n: i32, what: &str) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative {what}: {n}")))
}

pub(crate) fn count(n: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative {what}: {n}")))
}

/// Parses a stored text column into a core newtype.
pub(crate) fn parse<T: FromStr>(table: &str, column: &str, value: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| StoreError::Corrupt(format!("{table}.{column} = {value:?}: {e}")))
}

pub(crate) fn parse_opt<T: FromStr>(table: &str, column: &str, value: Option<String>) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    value.map(|v| parse(table, column, &v)).transpose()
}

/// An event of the log. Its instant is the log's, to the microsecond: a payload written before
/// the write path truncated it may carry nanoseconds, which no reader sees.
pub(crate) fn parse_event(code: &str, seq: i64, payload: &str) -> Result<Event, StoreError> {
    let mut event: Event = serde_json::from_str(payload)
        .map_err(|e| StoreError::Corrupt(format!("event {seq} of dossier {code} does not parse: {e}")))?;
    event.at = motcua_core::calendar::truncate_to_micros(event.at);
    Ok(event)
}

pub(crate) fn outcome_from(v: &str) -> Result<Outcome, StoreError> {
    match v {
        "approved" => Ok(Outcome::Approved),
        "refused" => Ok(Outcome::Refused),
        _ => Err(StoreError::Corrupt(format!("dossiers.outcome = {v:?}"))),
    }
}

pub(crate) fn timeliness_from(v: &str) -> Result<Timeliness, StoreError> {
    match v {
        "early" => Ok(Timeliness::Early),
        "on_time" => Ok(Timeliness::OnTime),
        "late" => Ok(Timeliness::Late),
        _ => Err(StoreError::Corrupt(format!("dossiers.timeliness = {v:?}"))),
    }
}

pub(crate) fn wait_kind_from(v: &str) -> Result<WaitKind, StoreError> {
    match v {
        "supplement" => Ok(WaitKind::Supplement),
        "payment" => Ok(WaitKind::Payment),
        _ => Err(StoreError::Corrupt(format!("dossiers.waiting_kind = {v:?}"))),
    }
}

/// Binds the columns of one projection row, in [`DOSSIER_COLUMNS`] order; `$t` maps an
/// instant to what the backend stores.
macro_rules! bind_dossier {
    ($q:expr, $r:expr, $t:expr) => {{
        let r = $r;
        $q.bind(r.code.as_str())
            .bind(r.procedure.as_str())
            .bind(r.receiving_agency.as_str())
            .bind(r.lead_agency.as_str())
            .bind(r.channel.name())
            .bind(i32::from(r.status.code()))
            .bind(r.holder.as_ref().map(|a| a.as_str()))
            .bind(r.handoff_pending)
            .bind(r.handoff_from.as_ref().map(|a| a.as_str()))
            .bind(r.handoff_sent_at.map($t))
            .bind(r.applicant_name.as_str())
            .bind(motcua_core::text::fold(&r.applicant_name))
            .bind(r.applicant_email.as_ref().map(|e| e.as_str()))
            .bind(r.applicant_phone.as_ref().map(|p| p.as_str()))
            .bind(r.applicant_id_number.as_deref())
            .bind(r.applicant_address.as_deref())
            .bind(r.registered_at.map($t))
            .bind(r.received_at.map($t))
            .bind(r.start_at.map($t))
            .bind(r.due_at.map($t))
            .bind(r.original_due_at.map($t))
            .bind(r.rescheduled_to.map($t))
            .bind(r.finished_at.map($t))
            .bind(r.returned_at.map($t))
            .bind(r.outcome.map($crate::model::outcome_name))
            .bind(r.timeliness.map(|t| t.name()))
            .bind(r.national_on_time)
            .bind($crate::sql::int(r.supplement_count))
            .bind($crate::sql::int(r.reschedule_count))
            .bind($crate::sql::int(r.deadline_revision))
            .bind(r.at_risk)
            .bind(r.waiting_kind.map($crate::model::wait_kind_name))
            .bind(r.waiting_since.map($t))
            .bind(r.waited_seconds_closed)
            .bind(($t)(r.last_event_at))
            .bind($crate::sql::int(r.event_count))
            .bind(r.fee_vnd.map($crate::sql::big))
            .bind(r.payment_method.map(|m| m.name()))
            .bind(r.paid_at.map($t))
            .bind(r.electronic_result)
            .bind(r.digitised.map($crate::sql::int))
            .bind(r.synced_at.map($t))
            .bind(r.delay_reason.as_deref())
    }};
}
pub(crate) use bind_dossier;

/// Reads a projection row selected with [`select_dossiers`]. Both backends decode instants
/// as `DateTime<Utc>`, integers as `i32`/`i64`, flags as `bool`.
macro_rules! decode_dossier {
    ($row:expr) => {{
        use sqlx::Row as _;
        use $crate::sql::{parse, parse_opt};
        let r = $row;
        const T: &str = "dossiers";
        let code: String = r.try_get("code")?;
        let status: i32 = r.try_get("status")?;
        let channel: String = r.try_get("channel")?;
        let outcome: Option<String> = r.try_get("outcome")?;
        let timeliness: Option<String> = r.try_get("timeliness")?;
        let waiting_kind: Option<String> = r.try_get("waiting_kind")?;
        let payment_method: Option<String> = r.try_get("payment_method")?;
        let fee_vnd: Option<i64> = r.try_get("fee_vnd")?;
        let digitised: Option<i32> = r.try_get("digitised")?;
        let row = $crate::model::DossierRow {
            procedure: parse(T, "procedure", &r.try_get::<String, _>("procedure")?)?,
            receiving_agency: parse(T, "receiving_agency", &r.try_get::<String, _>("receiving_agency")?)?,
            lead_agency: parse(T, "lead_agency", &r.try_get::<String, _>("lead_agency")?)?,
            channel: motcua_core::Channel::parse(&channel)
                .ok_or_else(|| $crate::error::StoreError::Corrupt(format!("dossiers.channel = {channel:?}")))?,
            status: u8::try_from(status)
                .ok()
                .and_then(motcua_core::Status::from_code)
                .ok_or_else(|| $crate::error::StoreError::Corrupt(format!("dossiers.status = {status}")))?,
            holder: parse_opt(T, "holder", r.try_get("holder")?)?,
            handoff_pending: r.try_get("handoff_pending")?,
            handoff_from: parse_opt(T, "handoff_from", r.try_get("handoff_from")?)?,
            handoff_sent_at: r.try_get("handoff_sent_at")?,
            applicant_name: r.try_get("applicant_name")?,
            applicant_email: parse_opt(T, "applicant_email", r.try_get("applicant_email")?)?,
            applicant_phone: parse_opt(T, "applicant_phone", r.try_get("applicant_phone")?)?,
            applicant_id_number: r.try_get("applicant_id_number")?,
            applicant_address: r.try_get("applicant_address")?,
            registered_at: r.try_get("registered_at")?,
            received_at: r.try_get("received_at")?,
            start_at: r.try_get("start_at")?,
            due_at: r.try_get("due_at")?,
            original_due_at: r.try_get("original_due_at")?,
            rescheduled_to: r.try_get("rescheduled_to")?,
            finished_at: r.try_get("finished_at")?,
            returned_at: r.try_get("returned_at")?,
            outcome: outcome.as_deref().map($crate::sql::outcome_from).transpose()?,
            timeliness: timeliness.as_deref().map($crate::sql::timeliness_from).transpose()?,
            national_on_time: r.try_get("national_on_time")?,
            supplement_count: $crate::sql::uint(r.try_get("supplement_count")?, "supplement_count")?,
            reschedule_count: $crate::sql::uint(r.try_get("reschedule_count")?, "reschedule_count")?,
            deadline_revision: $crate::sql::uint(r.try_get("deadline_revision")?, "deadline_revision")?,
            at_risk: r.try_get("at_risk")?,
            waiting_kind: waiting_kind.as_deref().map($crate::sql::wait_kind_from).transpose()?,
            waiting_since: r.try_get("waiting_since")?,
            waited_seconds_closed: r.try_get("waited_seconds_closed")?,
            last_event_at: r.try_get("last_event_at")?,
            event_count: $crate::sql::uint(r.try_get("event_count")?, "event_count")?,
            fee_vnd: fee_vnd.map(|v| $crate::sql::count(v, "fee_vnd")).transpose()?,
            payment_method: payment_method
                .as_deref()
                .map(|m| {
                    motcua_core::PaymentMethod::parse(m)
                        .ok_or_else(|| $crate::error::StoreError::Corrupt(format!("dossiers.payment_method = {m:?}")))
                })
                .transpose()?,
            paid_at: r.try_get("paid_at")?,
            electronic_result: r.try_get("electronic_result")?,
            digitised: digitised.map(|v| $crate::sql::uint(v, "digitised")).transpose()?,
            synced_at: r.try_get("synced_at")?,
            delay_reason: r.try_get("delay_reason")?,
            code: parse(T, "code", &code)?,
        };
        Ok::<$crate::model::DossierRow, $crate::error::StoreError>(row)
    }};
}
pub(crate) use decode_dossier;

/// Reads an event of dossier `code` from a row with `seq` and `payload` (text).
macro_rules! decode_event {
    ($code:expr, $row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        $crate::sql::parse_event($code, i64::from(r.try_get::<i32, _>("seq")?), &r.try_get::<String, _>("payload")?)
    }};
}
pub(crate) use decode_event;

/// The columns of a [`crate::LoggedEvent`], read by [`decode_logged!`].
pub(crate) const SELECT_LOGGED: &str =
    "SELECT id, dossier_code, seq, CAST(payload AS TEXT) AS payload, recorded_at FROM dossier_events";

/// Reads a [`crate::LoggedEvent`] from a row of [`SELECT_LOGGED`].
macro_rules! decode_logged {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let code: String = r.try_get("dossier_code")?;
        let seq: i32 = r.try_get("seq")?;
        Ok::<_, StoreError>($crate::model::LoggedEvent {
            id: r.try_get("id")?,
            event: $crate::sql::parse_event(&code, i64::from(seq), &r.try_get::<String, _>("payload")?)?,
            code: $crate::sql::parse("dossier_events", "dossier_code", &code)?,
            seq: $crate::sql::uint(seq, "dossier_events.seq")?,
            recorded_at: r.try_get("recorded_at")?,
        })
    }};
}
pub(crate) use decode_logged;

/// Reads a code counter (`agency`, `day`, `last_seq`) as its key and last number.
macro_rules! decode_counter {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let agency: String = r.try_get("agency")?;
        let last: i32 = r.try_get("last_seq")?;
        Ok::<_, $crate::error::StoreError>((
            ($crate::sql::parse("dossier_sequences", "agency", &agency)?, r.try_get("day")?),
            $crate::sql::uint(last, "dossier_sequences.last_seq")?,
        ))
    }};
}
pub(crate) use decode_counter;

/// The columns of an [`crate::model::OpenFacts`].
pub(crate) const OPEN_FACTS_COLUMNS: &str = "code, lead_agency, procedure, received_at, due_at, original_due_at, \
     last_event_at, supplement_count, waiting_kind, waiting_since, waited_seconds_closed";

/// Reads an [`crate::model::OpenFacts`] from a row of [`OPEN_FACTS_COLUMNS`].
macro_rules! decode_open_facts {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let waiting_kind: Option<String> = r.try_get("waiting_kind")?;
        Ok::<$crate::model::OpenFacts, $crate::error::StoreError>($crate::model::OpenFacts {
            code: $crate::sql::parse("dossiers", "code", &r.try_get::<String, _>("code")?)?,
            lead_agency: r.try_get("lead_agency")?,
            procedure: r.try_get("procedure")?,
            received_at: r.try_get("received_at")?,
            due_at: r.try_get("due_at")?,
            original_due_at: r.try_get("original_due_at")?,
            last_event_at: r.try_get("last_event_at")?,
            supplement_count: $crate::sql::uint(r.try_get("supplement_count")?, "supplement_count")?,
            waiting_kind: waiting_kind.as_deref().map($crate::sql::wait_kind_from).transpose()?,
            waiting_since: r.try_get("waiting_since")?,
            waited_seconds_closed: r.try_get("waited_seconds_closed")?,
        })
    }};
}
pub(crate) use decode_open_facts;

/// Reads a `daily_counts` row.
macro_rules! decode_counts {
    ($row:expr) => {{
        use sqlx::Row as _;
        use $crate::sql::parse;
        let r = $row;
        const T: &str = "daily_counts";
        let channel: String = r.try_get("channel")?;
        let row = $crate::model::DailyCountRow {
            key: $crate::model::CountKey {
                day: r.try_get("day")?,
                agency: parse(T, "agency", &r.try_get::<String, _>("agency")?)?,
                procedure: parse(T, "procedure", &r.try_get::<String, _>("procedure")?)?,
                channel: motcua_core::Channel::parse(&channel)
                    .ok_or_else(|| $crate::error::StoreError::Corrupt(format!("daily_counts.channel = {channel:?}")))?,
            },
            counts: $crate::model::CountValues {
                received: r.try_get("received")?,
                finished: r.try_get("finished")?,
                early: r.try_get("early")?,
                on_time: r.try_get("on_time")?,
                late: r.try_get("late")?,
                national_on_time: r.try_get("national_on_time")?,
            },
        };
        Ok::<$crate::model::DailyCountRow, $crate::error::StoreError>(row)
    }};
}
pub(crate) use decode_counts;

/// Binds the columns of one `daily_counts` cell, in [`COUNT_COLUMNS`] order.
macro_rules! bind_counts {
    ($q:expr, $k:expr, $v:expr) => {{
        let (k, v) = ($k, $v);
        $q.bind(k.day)
            .bind(k.agency.as_str())
            .bind(k.procedure.as_str())
            .bind(k.channel.name())
            .bind(v.received)
            .bind(v.finished)
            .bind(v.early)
            .bind(v.on_time)
            .bind(v.late)
            .bind(v.national_on_time)
    }};
}
pub(crate) use bind_counts;

/// The recompute's reads and count writes ([`crate::write::engine::ScanTx`]), written once for
/// both backends and expanded inside each one's `impl ScanTx`: `$n` placeholders, on the
/// connection `self.scan_conn()` gives; `$d` is the backend's dialect.
macro_rules! scan_tx {
    ($d:expr) => {
        async fn codes_after(&mut self, after: Option<&DossierCode>, limit: u32) -> Result<Vec<DossierCode>, StoreError> {
            let conn = self.scan_conn().await?;
            let codes: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT dossier_code FROM dossier_events WHERE dossier_code > $1 ORDER BY dossier_code LIMIT $2",
            )
            .bind(after.map(DossierCode::as_str).unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
            codes.iter().map(|c| $crate::sql::parse("dossier_events", "dossier_code", c)).collect()
        }

        async fn logs_between(
            &mut self,
            first: &DossierCode,
            last: &DossierCode,
        ) -> Result<Vec<(DossierCode, Event, chrono::DateTime<chrono::Utc>)>, StoreError> {
            use sqlx::Row as _;
            let conn = self.scan_conn().await?;
            let rows = sqlx::query(
                "SELECT dossier_code, seq, CAST(payload AS TEXT) AS payload, recorded_at FROM dossier_events \
                 WHERE dossier_code >= $1 AND dossier_code <= $2 ORDER BY dossier_code, seq",
            )
            .bind(first.as_str())
            .bind(last.as_str())
            .fetch_all(&mut *conn)
            .await?;
            let mut out: Vec<(DossierCode, Event, chrono::DateTime<chrono::Utc>)> = Vec::with_capacity(rows.len());
            for r in rows {
                let code: String = r.try_get("dossier_code")?;
                let event = $crate::sql::decode_event!(&code, &r)?;
                let code = match out.last() {
                    Some((c, _, _)) if c.as_str() == code => c.clone(),
                    _ => $crate::sql::parse("dossier_events", "dossier_code", &code)?,
                };
                out.push((code, event, r.try_get("recorded_at")?));
            }
            Ok(out)
        }

        async fn watched_between(
            &mut self,
            first: &DossierCode,
            last: &DossierCode,
        ) -> Result<
            std::collections::HashMap<DossierCode, Vec<motcua_core::watchlist::Occurrence>>,
            StoreError,
        > {
            let conn = self.scan_conn().await?;
            let q = format!(
                "{} WHERE dossier_code >= $1 AND dossier_code <= $2",
                $crate::write::watch::SELECT_OCCURRENCES
            );
            let rows = sqlx::query(&q).bind(first.as_str()).bind(last.as_str()).fetch_all(&mut *conn).await?;
            let mut out: std::collections::HashMap<DossierCode, Vec<motcua_core::watchlist::Occurrence>> =
                std::collections::HashMap::new();
            for r in &rows {
                let (code, o) = $crate::write::watch::decode_occurrence!(r)?;
                out.entry(code).or_default().push(o);
            }
            for v in out.values_mut() {
                v.sort();
            }
            Ok(out)
        }

        async fn watch_sums(&mut self) -> Result<motcua_core::watchlist::WatchFacts, StoreError> {
            let conn = self.scan_conn().await?;
            let mut out = motcua_core::watchlist::WatchFacts::default();
            let handoffs = sqlx::query($crate::write::watch::SELECT_HANDOFFS).fetch_all(&mut *conn).await?;
            for r in &handoffs {
                let (cell, sums) = $crate::write::watch::decode_handoffs!(r)?;
                out.handoffs.insert(cell, sums);
            }
            let backdated = sqlx::query($crate::write::watch::SELECT_BACKDATED).fetch_all(&mut *conn).await?;
            for r in &backdated {
                let (cell, sums) = $crate::write::watch::decode_backdated!(r)?;
                out.backdated.insert(cell, sums);
            }
            Ok(out)
        }

        async fn watch_count_cells(
            &mut self,
        ) -> Result<std::collections::BTreeMap<motcua_core::watchlist::CountCell, i64>, StoreError> {
            let conn = self.scan_conn().await?;
            let mut out = std::collections::BTreeMap::new();
            for r in &sqlx::query($crate::write::watch::SELECT_COUNT_CELLS).fetch_all(&mut *conn).await? {
                let (cell, n) = $crate::write::watch::decode_count_cell!(r)?;
                *out.entry(cell).or_insert(0) += n;
            }
            Ok(out)
        }

        async fn write_watch(&mut self, w: &$crate::write::watch::WatchDeltas, clear: bool) -> Result<(), StoreError> {
            let conn = self.scan_conn().await?;
            if clear {
                for q in $crate::write::watch::CLEAR {
                    sqlx::query(q).persistent(false).execute(&mut *conn).await?;
                }
                for q in $crate::scorecard::rebuild_rating_days($d) {
                    sqlx::query(q).persistent(false).execute(&mut *conn).await?;
                }
            }
            for (q, rows) in w.statements($d) {
                $crate::write::watch::bind_watch_rows!(sqlx::query(&q).persistent(false), &rows, $crate::sql::At)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }

        async fn rows_between(&mut self, first: &DossierCode, last: &DossierCode) -> Result<Vec<DossierRow>, StoreError> {
            let conn = self.scan_conn().await?;
            let q = format!("{} WHERE code >= $1 AND code <= $2", $crate::sql::select_dossiers());
            let rows = sqlx::query(&q).bind(first.as_str()).bind(last.as_str()).fetch_all(&mut *conn).await?;
            rows.iter().map(|r| $crate::sql::decode_dossier!(r)).collect()
        }

        async fn orphans(&mut self) -> Result<Vec<DossierCode>, StoreError> {
            let conn = self.scan_conn().await?;
            let codes: Vec<String> = sqlx::query_scalar(
                "SELECT code FROM dossiers d WHERE NOT EXISTS \
                 (SELECT 1 FROM dossier_events e WHERE e.dossier_code = d.code) ORDER BY code",
            )
            .fetch_all(&mut *conn)
            .await?;
            codes.iter().map(|c| $crate::sql::parse("dossiers", "code", c)).collect()
        }

        async fn all_counts(&mut self) -> Result<Vec<DailyCountRow>, StoreError> {
            let conn = self.scan_conn().await?;
            let rows = sqlx::query("SELECT * FROM daily_counts").fetch_all(&mut *conn).await?;
            rows.iter().map(|r| $crate::sql::decode_counts!(r)).collect()
        }

        async fn upsert_rows(&mut self, rows: &[DossierRow]) -> Result<(), StoreError> {
            self.write_rows(rows, true).await
        }

        async fn set_counts(&mut self, changes: &[CountChange]) -> Result<(), StoreError> {
            let conn = self.scan_conn().await?;
            let (zero, set): (Vec<&CountChange>, Vec<&CountChange>) = changes.iter().partition(|c| c.new.is_zero());
            $crate::sql::write_chunked!(
                conn,
                set,
                $crate::sql::COUNT_COLUMNS.len(),
                |n| $crate::sql::upsert_counts($d, n, false),
                |query, c| $crate::sql::bind_counts!(query, &c.key, &c.new)
            );
            for c in zero {
                sqlx::query("DELETE FROM daily_counts WHERE day = $1 AND agency = $2 AND procedure = $3 AND channel = $4")
                    .bind(c.key.day)
                    .bind(c.key.agency.as_str())
                    .bind(c.key.procedure.as_str())
                    .bind(c.key.channel.name())
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }

        async fn rebuild_counters(&mut self) -> Result<(), StoreError> {
            let conn = self.scan_conn().await?;
            for q in $crate::write::counters::REBUILD.iter() {
                sqlx::query(q).persistent(false).execute(&mut *conn).await?;
            }
            Ok(())
        }
    };
}
pub(crate) use scan_tx;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_dialect() {
        assert_eq!(values(Dialect::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(values(Dialect::Postgres, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(list(Dialect::Postgres, 3), "$1, $2, $3");
        assert!(rows_per_statement(DOSSIER_COLUMNS.len()) * DOSSIER_COLUMNS.len() <= MAX_PARAMS);
    }

    #[test]
    fn upserts_name_every_column_once() {
        let sql = insert_dossiers(Dialect::Sqlite, 1, true);
        for c in &DOSSIER_COLUMNS[1..] {
            assert!(sql.contains(&format!("{c} = excluded.{c}")), "{c}");
        }
        assert!(!sql.contains("code = excluded.code"));
        assert!(upsert_counts(Dialect::Postgres, 1, true).contains("late = daily_counts.late + excluded.late"));
    }

    #[test]
    fn filters_number_their_placeholders_and_escape_patterns() {
        let mut f = Filter::default();
        let a = f.text("x");
        let list = f.list(["A", "B"]);
        f.and(format!("name = {a}"));
        f.and(format!("agency IN ({list})"));
        assert_eq!(f.clause(), "name = $1 AND agency IN ($2, $3)");
        assert_eq!(f.params.len(), 3);
        assert_eq!(Filter::default().clause(), "TRUE");
        assert_eq!(like_anywhere("tran thi"), "%tran thi%");
        assert_eq!(like_anywhere("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(prefix_match(Dialect::Sqlite, "code", "$1"), "code GLOB $1");
        assert_eq!(prefix_match(Dialect::Postgres, "code", "$1"), "code LIKE $1");
        assert_eq!(prefix_pattern(Dialect::Sqlite, "000.00.02"), "000.00.02*");
        assert_eq!(prefix_pattern(Dialect::Postgres, "000.00.02"), "000.00.02%");
    }
}
