//! The counters the exporter reads at scrape time (the `metric_*` tables), and how they are
//! kept: **by the writer that changes what they count, in the same transaction, on both
//! backends alike** (migration 0012 dropped the last triggers).
//!
//! | counter | counts | kept by |
//! |---|---|---|
//! | `metric_open_dossiers` | unfinished dossiers (`vocab::NOT_FINISHED`) per lead agency and status, and how many are at risk | the batch engine: each dossier's key before and after the batch ([`OpenKey`]) |
//! | `metric_agency_days`, `metric_agency_totals` | `daily_counts` summed per (day, agency) and per (agency, channel), with a `changes` number | whoever adds to or sets `daily_counts` (the engine, the recompute): [`CounterDeltas::add_counts`] |
//! | `metric_outbox` | messages per kind and status | the outbox writes: what an insert added (`RETURNING`, or on SQLite's one-trip write the rows above the sequence), what an update moved (`RETURNING kind`) |
//! | `metric_handoff_queue` | events the exporter measures | the event insert, in the same statement trip |
//! | `metric_working_time` | measured handoff and dwell times | the measuring pass, which stamps the cells it changes with the next version |
//!
//! The deltas are computed in Rust from what the writer read and wrote, summed per key, and
//! added with one multi-row upsert per counter table **in key order**: two transactions that
//! touch the same counter rows lock them in the same order, so counters never deadlock
//! (triggers added one row at a time, in the order of the rows written). No SQL here does
//! working-day arithmetic; `recompute` brings every counter back to what it counts.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::NaiveDate;
use motcua_core::{Status, vocab};

use crate::model::{CountKey, CountValues};
use crate::sql::{self, Dialect};

/// Where an unfinished dossier is counted: its lead agency and status, and whether it is at
/// risk. `None` for a finished dossier (or one not yet in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenKey {
    pub agency: String,
    pub status: Status,
    pub at_risk: bool,
}

impl OpenKey {
    /// The key of a dossier in `status`, if it is counted at all.
    pub fn of(agency: &str, status: Status, at_risk: bool) -> Option<Self> {
        vocab::NOT_FINISHED.contains(status).then(|| Self { agency: agency.to_owned(), status, at_risk })
    }
}

/// A change to one cell of a summary of `daily_counts`: the values added and one change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SummaryDelta {
    pub counts: CountValues,
    pub changes: i64,
}

/// What one transaction adds to the counters, summed per key and kept in key order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CounterDeltas {
    /// (lead agency, status code) → (dossiers, at risk).
    pub open: BTreeMap<(String, i32), (i64, i64)>,
    pub days: BTreeMap<(NaiveDate, String), SummaryDelta>,
    pub totals: BTreeMap<(String, &'static str), SummaryDelta>,
    /// (kind, status) → messages.
    pub outbox: BTreeMap<(String, &'static str), i64>,
}

impl CounterDeltas {
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.days.is_empty() && self.totals.is_empty() && self.outbox.is_empty()
    }

    /// A dossier moved from one key to another (either may be `None`).
    pub fn move_open(&mut self, old: Option<&OpenKey>, new: Option<&OpenKey>) {
        if old == new {
            return;
        }
        for (key, sign) in [(old, -1), (new, 1)] {
            if let Some(k) = key {
                let at = (k.agency.clone(), i32::from(k.status.code()));
                let cell = self.open.entry(at).or_default();
                cell.0 += sign;
                cell.1 += sign * i64::from(k.at_risk);
            }
        }
    }

    /// Deltas added to `daily_counts` cells: each adds to its day's and its channel's summary
    /// and counts one change on both (the scrape reads an agency's past-day changes as its
    /// totals' changes less its days' from today on).
    pub fn add_counts<'a>(&mut self, cells: impl IntoIterator<Item = (&'a CountKey, &'a CountValues)>) {
        for (k, v) in cells {
            if v.is_zero() {
                continue;
            }
            let day = self.days.entry((k.day, k.agency.to_string())).or_default();
            day.counts.add(v, 1);
            day.changes += 1;
            let total = self.totals.entry((k.agency.to_string(), k.channel.name())).or_default();
            total.counts.add(v, 1);
            total.changes += 1;
        }
    }

    /// `n` messages of `kind` moved from status `from` (`None`: newly inserted) to `to`.
    pub fn move_messages(&mut self, kind: &str, from: Option<&'static str>, to: &'static str, n: i64) {
        if from == Some(to) || n == 0 {
            return;
        }
        if let Some(from) = from {
            *self.outbox.entry((kind.to_owned(), from)).or_default() -= n;
        }
        *self.outbox.entry((kind.to_owned(), to)).or_default() += n;
    }

    /// The upserts that add these deltas, each with its rows, in the order to run them; the
    /// values of a statement are bound by [`bind_counter_rows!`] in the same order.
    pub fn statements(&self, d: Dialect) -> Vec<(String, CounterRows<'_>)> {
        let mut out = Vec::new();
        let tables = [
            (CounterTable::Open, CounterRows::Open(self.open.iter().collect())),
            (CounterTable::Days, CounterRows::Days(self.days.iter().collect())),
            (CounterTable::Totals, CounterRows::Totals(self.totals.iter().collect())),
            (CounterTable::Outbox, CounterRows::Outbox(self.outbox.iter().collect())),
        ];
        for (table, rows) in tables {
            let n = rows.len();
            let per = sql::rows_per_statement(table.columns().len());
            // Chunks keep key order; a table's rows seldom fill one.
            for start in (0..n).step_by(per) {
                let len = per.min(n - start);
                out.push((upsert(d, table, len), rows.slice(start, len)));
            }
        }
        out
    }
}

/// What `recompute` runs last (not on a dry run): every counter set again from the rows it
/// counts, so that a counter that drifted (a hand edit of the database, a bug) is repaired.
/// The summaries of `daily_counts` then count one more change on every day row, and as many
/// on one totals row of the same agency, so that each agency's changes stay counted alike on
/// its days and its totals and a scrape re-reads every agency's past days once.
pub(crate) static REBUILD: LazyLock<Vec<String>> = LazyLock::new(|| {
    let counts = &SUMMARY_VALUES[..6];
    let sums = counts.iter().map(|c| format!("SUM({c})")).collect::<Vec<_>>().join(", ");
    let set_new = counts.iter().map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
    let zero = counts.iter().map(|c| format!("{c} = 0")).collect::<Vec<_>>().join(", ");
    let values = SUMMARY_VALUES.join(", ");
    let summary = |table: &str, keys: &str| {
        [
            format!("UPDATE {table} SET {zero}"),
            format!(
                "INSERT INTO {table} ({keys}, {values}) SELECT {keys}, {sums}, 0 FROM daily_counts WHERE true \
                 GROUP BY {keys} ON CONFLICT ({keys}) DO UPDATE SET {set_new}"
            ),
        ]
    };
    let mut out = vec![
        "DELETE FROM metric_open_dossiers".to_string(),
        format!(
            "INSERT INTO metric_open_dossiers (agency, status, dossiers, at_risk) \
             SELECT lead_agency, status, COUNT(*), SUM(CASE WHEN at_risk THEN 1 ELSE 0 END) FROM dossiers \
             WHERE {} GROUP BY lead_agency, status",
            *sql::NOT_FINISHED
        ),
        "DELETE FROM metric_outbox".to_string(),
        "INSERT INTO metric_outbox (kind, status, messages) SELECT kind, status, COUNT(*) FROM outbox GROUP BY kind, status"
            .to_string(),
    ];
    out.extend(summary("metric_agency_days", "day, agency"));
    out.extend(summary("metric_agency_totals", "agency, channel"));
    out.push("UPDATE metric_agency_days SET changes = changes + 1".to_string());
    out.push(
        "UPDATE metric_agency_totals SET changes = changes + \
         (SELECT COUNT(*) FROM metric_agency_days d WHERE d.agency = metric_agency_totals.agency) \
         WHERE channel = (SELECT MIN(t.channel) FROM metric_agency_totals t WHERE t.agency = metric_agency_totals.agency)"
            .to_string(),
    );
    out
});

/// (lead agency, status code) and (dossiers, at risk): one row of `metric_open_dossiers`.
type OpenRow<'a> = (&'a (String, i32), &'a (i64, i64));

/// The rows of one counter upsert.
#[derive(Debug, Clone)]
pub(crate) enum CounterRows<'a> {
    Open(Vec<OpenRow<'a>>),
    Days(Vec<(&'a (NaiveDate, String), &'a SummaryDelta)>),
    Totals(Vec<(&'a (String, &'static str), &'a SummaryDelta)>),
    Outbox(Vec<(&'a (String, &'static str), &'a i64)>),
}

impl CounterRows<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Open(v) => v.len(),
            Self::Days(v) => v.len(),
            Self::Totals(v) => v.len(),
            Self::Outbox(v) => v.len(),
        }
    }

    fn slice(&self, start: usize, len: usize) -> Self {
        let r = start..start + len;
        match self {
            Self::Open(v) => Self::Open(v[r].to_vec()),
            Self::Days(v) => Self::Days(v[r].to_vec()),
            Self::Totals(v) => Self::Totals(v[r].to_vec()),
            Self::Outbox(v) => Self::Outbox(v[r].to_vec()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum CounterTable {
    Open,
    Days,
    Totals,
    Outbox,
}

/// The value columns of a summary of `daily_counts`.
const SUMMARY_VALUES: [&str; 7] = ["received", "finished", "early", "on_time", "late", "national_on_time", "changes"];

impl CounterTable {
    fn name(self) -> &'static str {
        match self {
            Self::Open => "metric_open_dossiers",
            Self::Days => "metric_agency_days",
            Self::Totals => "metric_agency_totals",
            Self::Outbox => "metric_outbox",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Open => &["agency", "status"],
            Self::Days => &["day", "agency"],
            Self::Totals => &["agency", "channel"],
            Self::Outbox => &["kind", "status"],
        }
    }

    fn values(self) -> &'static [&'static str] {
        match self {
            Self::Open => &["dossiers", "at_risk"],
            Self::Days | Self::Totals => &SUMMARY_VALUES,
            Self::Outbox => &["messages"],
        }
    }

    fn columns(self) -> Vec<&'static str> {
        self.keys().iter().chain(self.values()).copied().collect()
    }
}

/// `INSERT … VALUES … ON CONFLICT (keys) DO UPDATE SET v = table.v + excluded.v, …`.
fn upsert(d: Dialect, table: CounterTable, rows: usize) -> String {
    let name = table.name();
    let sets: Vec<String> = table.values().iter().map(|c| format!("{c} = {name}.{c} + excluded.{c}")).collect();
    format!(
        "{} {name} ({}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
        sql::insert_into(d),
        table.columns().join(", "),
        sql::values(d, rows, table.columns().len()),
        table.keys().join(", "),
        sets.join(", ")
    )
}

/// Binds the rows of one counter upsert, in its column order, on anything with `.bind`
/// (a query of either backend, or SQLite's owned arguments).
macro_rules! bind_counter_rows {
    ($q:expr, $rows:expr) => {{
        let mut q = $q;
        match $rows {
            $crate::write::counters::CounterRows::Open(rows) => {
                for ((agency, status), (dossiers, at_risk)) in rows {
                    q = q.bind(agency.as_str()).bind(*status).bind(*dossiers).bind(*at_risk);
                }
            }
            $crate::write::counters::CounterRows::Days(rows) => {
                for ((day, agency), d) in rows {
                    q = $crate::write::counters::bind_summary!(q.bind(*day).bind(agency.as_str()), d);
                }
            }
            $crate::write::counters::CounterRows::Totals(rows) => {
                for ((agency, channel), d) in rows {
                    q = $crate::write::counters::bind_summary!(q.bind(agency.as_str()).bind(*channel), d);
                }
            }
            $crate::write::counters::CounterRows::Outbox(rows) => {
                for ((kind, status), n) in rows {
                    q = q.bind(kind.as_str()).bind(*status).bind(**n);
                }
            }
        }
        q
    }};
}
pub(crate) use bind_counter_rows;

macro_rules! bind_summary {
    ($q:expr, $d:expr) => {{
        let d: &$crate::write::counters::SummaryDelta = $d;
        $q.bind(d.counts.received)
            .bind(d.counts.finished)
            .bind(d.counts.early)
            .bind(d.counts.on_time)
            .bind(d.counts.late)
            .bind(d.counts.national_on_time)
            .bind(d.changes)
    }};
}
pub(crate) use bind_summary;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_move_within_one_key_changes_nothing_and_a_move_between_keys_nets_out() {
        let mut d = CounterDeltas::default();
        let a = OpenKey::of("A", Status::Received, false);
        d.move_open(a.as_ref(), a.as_ref());
        assert!(d.is_empty());
        let b = OpenKey::of("A", Status::Processing, true);
        d.move_open(None, a.as_ref());
        d.move_open(a.as_ref(), b.as_ref());
        assert_eq!(d.open.get(&("A".into(), 2)), Some(&(0, 0)));
        assert_eq!(d.open.get(&("A".into(), 4)), Some(&(1, 1)));
        // A finished dossier is not counted.
        assert_eq!(OpenKey::of("A", Status::Returned, false), None);
    }

    #[test]
    fn upserts_add_to_the_stored_values_in_key_order() {
        let mut d = CounterDeltas::default();
        d.move_messages("receipt", None, "pending", 2);
        d.move_messages("apology", Some("pending"), "dead", 1);
        let stmts = d.statements(Dialect::Postgres);
        assert_eq!(stmts.len(), 1);
        assert!(stmts[0].0.contains("messages = metric_outbox.messages + excluded.messages"), "{}", stmts[0].0);
        let CounterRows::Outbox(rows) = &stmts[0].1 else { panic!("outbox rows") };
        let keys: Vec<_> = rows.iter().map(|(k, n)| (k.0.as_str(), k.1, **n)).collect();
        assert_eq!(keys, [("apology", "dead", 1), ("apology", "pending", -1), ("receipt", "pending", 2)]);
    }
}
