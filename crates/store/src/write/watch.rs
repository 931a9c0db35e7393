//! The watch list's tables (migration 17), kept like the counters ([`super::counters`]): **by
//! the writer, in the transaction of each write, on both backends alike**. What they hold is
//! core's ([`motcua_core::watchlist`]); nothing here decides what a signal is or does
//! working-time arithmetic.
//!
//! | table | holds | kept by |
//! |---|---|---|
//! | `watch_occurrences` | each dossier's occurrences ([`Watch::occurrences`]) | the batch engine: when a dossier's occurrences after the batch differ from those it had, its rows are replaced (deleted, then inserted) |
//! | `watch_handoffs` | handoffs accepted and their waits, per day, agency and officer | the engine, for each appended acceptance ([`EventFacts::handoff`]), added with one upsert in key order |
//! | `watch_backdated` | backdated events and their gaps, per day, agency and officer | the engine, for each appended backdated event ([`EventFacts::backdated`]), likewise |
//! | `watch_counts` | the occurrences not repeated on their dossier ([`single_cells`]), per local day, agency, officer and kind (migration 24) | with the occurrences: a replaced dossier's old singles taken away, its new ones added ([`WatchDeltas::replaced`]), one upsert in key order, cells whose changes cancel left out |
//!
//! `watch_occurrences.repeated` says which rows the list reads one by one (core's watchlist
//! module, "Counting without the codes"). `recompute` brings all four back to a replay of the
//! log.
//!
//! [`single_cells`]: motcua_core::watchlist::single_cells
//!
//! [`Watch::occurrences`]: motcua_core::watchlist::Watch::occurrences
//! [`EventFacts::handoff`]: motcua_core::watchlist::EventFacts
//! [`EventFacts::backdated`]: motcua_core::watchlist::EventFacts

use std::collections::BTreeMap;

use motcua_core::DossierCode;
use motcua_core::scorecard::{SCORE_COLUMNS, ScoreCounts, ScoreKey};
use motcua_core::watchlist::{BackdatedSums, CountCell, DayCell, EventFacts, HandoffSums, Occurrence, add_singles};

use crate::sql::{self, Dialect};

/// What one transaction changes in the watch list's tables.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct WatchDeltas {
    /// Dossiers whose stored occurrences are replaced by these (empty: deleted).
    pub replace: Vec<(DossierCode, Vec<Occurrence>)>,
    /// Added to `watch_handoffs`, in key order.
    pub handoffs: BTreeMap<DayCell, HandoffSums>,
    /// Added to `watch_backdated`, in key order.
    pub backdated: BTreeMap<DayCell, BackdatedSums>,
    /// Added to `watch_counts`, in key order (cells whose changes cancel are left out when
    /// written).
    pub counts: BTreeMap<CountCell, i64>,
    /// Added to `scorecard_counts` (migration 26: the scorecard's sums per day, agency and
    /// delay reason, core's [`motcua_core::scorecard::cells`]), in key order; cells whose
    /// changes cancel are left out when written. The scorecard's sums travel with the watch
    /// list's: both are indicator tables kept in the write transaction.
    pub scores: BTreeMap<ScoreKey, ScoreCounts>,
}

impl WatchDeltas {
    pub fn is_empty(&self) -> bool {
        self.replace.is_empty()
            && self.handoffs.is_empty()
            && self.backdated.is_empty()
            && self.counts.is_empty()
            && self.scores.is_empty()
    }

    /// A dossier's scorecard cells moved from `old` to `new`.
    pub fn scores_moved(&mut self, old: &[(ScoreKey, ScoreCounts)], new: &[(ScoreKey, ScoreCounts)]) {
        if old == new {
            return;
        }
        for (cells, sign) in [(old, -1), (new, 1)] {
            for (k, v) in cells {
                self.scores.entry(k.clone()).or_default().add(v, sign);
            }
        }
    }

    /// A dossier's stored occurrences `old` are replaced by `new`: its rows, and what that
    /// changes in `watch_counts`.
    pub fn replaced(&mut self, code: DossierCode, old: &[Occurrence], new: Vec<Occurrence>) {
        add_singles(&mut self.counts, old, -1);
        add_singles(&mut self.counts, &new, 1);
        self.replace.push((code, new));
    }

    /// Takes in another transaction's deltas (a part of the same batch).
    pub fn absorb(&mut self, o: WatchDeltas) {
        self.replace.extend(o.replace);
        for (c, s) in o.handoffs {
            self.handoffs.entry(c).or_default().add(&s);
        }
        for (c, s) in o.backdated {
            self.backdated.entry(c).or_default().add(&s);
        }
        for (c, n) in o.counts {
            *self.counts.entry(c).or_default() += n;
        }
        for (k, v) in o.scores {
            self.scores.entry(k).or_default().add(&v, 1);
        }
    }

    /// Adds an appended event's facts to the daily sums.
    pub fn add_event(&mut self, facts: &EventFacts) {
        if let Some((cell, sums)) = facts.handoff_cell() {
            self.handoffs.entry(cell).or_default().add(&sums);
        }
        if let Some((cell, sums)) = facts.backdated_cell() {
            self.backdated.entry(cell).or_default().add(&sums);
        }
    }

    /// The most rows of one kind: whether the writes fit one trip.
    pub fn rows(&self) -> [usize; 6] {
        let occurrences = self.replace.iter().map(|(_, o)| o.len()).sum();
        [
            self.replace.len(),
            occurrences,
            self.handoffs.len(),
            self.backdated.len(),
            self.counts.len(),
            self.scores.len(),
        ]
    }

    /// The statements that apply these deltas, each with its rows, in the order to run them;
    /// a statement's values are bound by [`bind_watch_rows!`] in the same order.
    pub fn statements(&self, d: Dialect) -> Vec<(String, WatchRows<'_>)> {
        let mut out = Vec::new();
        let codes: Vec<&DossierCode> = self.replace.iter().map(|(c, _)| c).collect();
        for chunk in codes.chunks(sql::rows_per_statement(1)) {
            let q = format!("DELETE FROM watch_occurrences WHERE dossier_code IN ({})", sql::list(d, chunk.len()));
            out.push((q, WatchRows::Codes(chunk.to_vec())));
        }
        let occurrences: Vec<(&DossierCode, &Occurrence, bool)> = self
            .replace
            .iter()
            .flat_map(|(c, v)| v.iter().zip(motcua_core::watchlist::repeated(v)).map(move |(o, r)| (c, o, r)))
            .collect();
        for chunk in occurrences.chunks(sql::rows_per_statement(OCCURRENCE_COLUMNS.len())) {
            let q = format!(
                "{} watch_occurrences ({}) VALUES {}",
                sql::insert_into(d),
                OCCURRENCE_COLUMNS.join(", "),
                sql::values(d, chunk.len(), OCCURRENCE_COLUMNS.len())
            );
            out.push((q, WatchRows::Occurrences(chunk.to_vec())));
        }
        let handoffs: Vec<_> = self.handoffs.iter().collect();
        for chunk in handoffs.chunks(sql::rows_per_statement(6)) {
            out.push((upsert_handoffs(d, chunk.len()), WatchRows::Handoffs(chunk.to_vec())));
        }
        let backdated: Vec<_> = self.backdated.iter().collect();
        for chunk in backdated.chunks(sql::rows_per_statement(5)) {
            out.push((upsert_backdated(d, chunk.len()), WatchRows::Backdated(chunk.to_vec())));
        }
        let counts: Vec<_> = self.counts.iter().filter(|(_, n)| **n != 0).collect();
        for chunk in counts.chunks(sql::rows_per_statement(5)) {
            out.push((upsert_counts(d, chunk.len()), WatchRows::Counts(chunk.to_vec())));
        }
        let scores: Vec<_> = self.scores.iter().filter(|(_, v)| !v.is_zero()).collect();
        for chunk in scores.chunks(sql::rows_per_statement(3 + SCORE_COLUMNS.len())) {
            out.push((upsert_scores(d, chunk.len()), WatchRows::Scores(chunk.to_vec())));
        }
        out
    }
}

fn upsert_scores(d: Dialect, rows: usize) -> String {
    let sets: Vec<String> =
        SCORE_COLUMNS.iter().map(|c| format!("{c} = scorecard_counts.{c} + excluded.{c}")).collect();
    format!(
        "{} scorecard_counts (day, agency, cause, {}) VALUES {} ON CONFLICT (day, agency, cause) DO UPDATE SET {}",
        sql::insert_into(d),
        SCORE_COLUMNS.join(", "),
        sql::values(d, rows, 3 + SCORE_COLUMNS.len()),
        sets.join(", ")
    )
}

/// The columns of `watch_occurrences`, in the order [`bind_watch_rows!`] binds them.
pub(crate) const OCCURRENCE_COLUMNS: [&str; 7] = ["dossier_code", "kind", "idx", "at", "agency", "officer", "repeated"];

fn upsert_counts(d: Dialect, rows: usize) -> String {
    format!(
        "{} watch_counts (day, agency, officer, kind, occurrences) VALUES {} \
         ON CONFLICT (day, agency, officer, kind) DO UPDATE SET occurrences = watch_counts.occurrences + excluded.occurrences",
        sql::insert_into(d),
        sql::values(d, rows, 5)
    )
}

fn upsert_handoffs(d: Dialect, rows: usize) -> String {
    let max = match d {
        Dialect::Sqlite => "MAX",
        Dialect::Postgres => "GREATEST",
    };
    format!(
        "{} watch_handoffs (day, agency, officer, handoffs, minutes, max_minutes) VALUES {} \
         ON CONFLICT (day, agency, officer) DO UPDATE SET handoffs = watch_handoffs.handoffs + excluded.handoffs, \
         minutes = watch_handoffs.minutes + excluded.minutes, \
         max_minutes = {max}(watch_handoffs.max_minutes, excluded.max_minutes)",
        sql::insert_into(d),
        sql::values(d, rows, 6)
    )
}

fn upsert_backdated(d: Dialect, rows: usize) -> String {
    format!(
        "{} watch_backdated (day, agency, officer, events, gap_minutes) VALUES {} \
         ON CONFLICT (day, agency, officer) DO UPDATE SET events = watch_backdated.events + excluded.events, \
         gap_minutes = watch_backdated.gap_minutes + excluded.gap_minutes",
        sql::insert_into(d),
        sql::values(d, rows, 5)
    )
}

/// What `recompute` runs before it writes the replayed sums (not on a dry run): the sums
/// emptied, and the occurrences of dossiers with no event (left by a hand edit) dropped.
pub(crate) const CLEAR: [&str; 5] = [
    "DELETE FROM scorecard_counts",
    "DELETE FROM watch_handoffs",
    "DELETE FROM watch_backdated",
    "DELETE FROM watch_counts",
    "DELETE FROM watch_occurrences WHERE NOT EXISTS \
     (SELECT 1 FROM dossier_events e WHERE e.dossier_code = watch_occurrences.dossier_code)",
];

/// The columns of an occurrence, read by [`decode_occurrence!`].
pub(crate) const SELECT_OCCURRENCES: &str =
    "SELECT dossier_code, kind, idx, at, agency, officer FROM watch_occurrences";
/// The columns of a cell of `watch_handoffs`, read by [`decode_handoffs!`].
pub(crate) const SELECT_HANDOFFS: &str =
    "SELECT day, agency, officer, handoffs, minutes, max_minutes FROM watch_handoffs";
/// The columns of a cell of `watch_backdated`, read by [`decode_backdated!`].
pub(crate) const SELECT_BACKDATED: &str = "SELECT day, agency, officer, events, gap_minutes FROM watch_backdated";
/// Every cell of `watch_counts`, read by [`decode_count_cell!`].
pub(crate) const SELECT_COUNT_CELLS: &str = "SELECT day, agency, officer, kind, occurrences FROM watch_counts";
/// The singles of a period's whole days (`$1`, `$2`), summed per agency, officer and kind,
/// read by [`decode_singles!`]; `{only}` is the agency's condition or nothing.
pub(crate) fn select_singles(only: &str) -> String {
    format!(
        "SELECT agency, officer, kind, CAST(SUM(occurrences) AS BIGINT) AS n FROM watch_counts \
         WHERE day >= $1 AND day <= $2{only} GROUP BY agency, officer, kind HAVING SUM(occurrences) <> 0"
    )
}

/// How [`select_distinct`] groups the occurrences it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grouping {
    Agency,
    Officer,
    Kind,
}

/// The distinct dossiers of the occurrences stated in `[$1, $2)` that `which` selects
/// (`repeated` or `NOT repeated`), per kind and the grouping's column, read by
/// [`decode_distinct!`]; `only` is the agency's condition (`$3`) or nothing.
pub(crate) fn select_distinct(g: Grouping, which: &str, only: &str) -> String {
    let col = match g {
        Grouping::Agency => "agency, ",
        Grouping::Officer => "officer, ",
        Grouping::Kind => "",
    };
    format!(
        "SELECT {col}kind, CAST(COUNT(DISTINCT dossier_code) AS BIGINT) AS n FROM watch_occurrences \
         WHERE at >= $1 AND at < $2 AND {which}{only} GROUP BY {col}kind"
    )
}

/// Handoffs and their waits over the days `where_days` selects, per agency and officer, read by
/// [`decode_handoff_sums!`].
pub(crate) fn select_handoff_sums(where_days: &str) -> String {
    format!(
        "SELECT agency, officer, CAST(SUM(handoffs) AS BIGINT) AS handoffs, CAST(SUM(minutes) AS BIGINT) AS minutes, \
         CAST(MAX(max_minutes) AS BIGINT) AS max_minutes FROM watch_handoffs {where_days} GROUP BY agency, officer"
    )
}

/// Backdated events over the days `where_days` selects, per agency and officer, read by
/// [`decode_backdated_sums!`].
pub(crate) fn select_backdated_sums(where_days: &str) -> String {
    format!(
        "SELECT agency, officer, CAST(SUM(events) AS BIGINT) AS events, \
         CAST(SUM(gap_minutes) AS BIGINT) AS gap_minutes FROM watch_backdated {where_days} GROUP BY agency, officer"
    )
}

/// Adds a row of [`select_distinct`] grouped `$g` to a [`motcua_core::watchlist::Distinct`].
macro_rules! decode_distinct {
    ($row:expr, $g:expr, $out:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let kind: String = r.try_get("kind")?;
        let kind = $crate::write::watch::kind_of(&kind)?;
        let n: i64 = r.try_get("n")?;
        let n = $crate::sql::count(n, "watch_occurrences")?;
        match $g {
            $crate::write::watch::Grouping::Agency => {
                let agency: String = r.try_get("agency")?;
                let agency = $crate::sql::parse::<motcua_core::AgencyCode>("watch_occurrences", "agency", &agency)?;
                *$out.by_agency.entry((agency, kind)).or_default() += n;
            }
            $crate::write::watch::Grouping::Officer => {
                let officer = $crate::write::watch::officer_of(r.try_get("officer")?);
                *$out.by_officer.entry((officer, kind)).or_default() += n;
            }
            $crate::write::watch::Grouping::Kind => {
                *$out.by_kind.entry(kind).or_default() += n;
            }
        }
        Ok::<(), $crate::error::StoreError>(())
    }};
}
pub(crate) use decode_distinct;

/// Reads the agency and officer of a row of the summed daily sums.
macro_rules! decode_holder {
    ($r:expr, $table:expr) => {{
        let agency: String = $r.try_get("agency")?;
        (
            $crate::sql::parse::<motcua_core::AgencyCode>($table, "agency", &agency)?,
            $crate::write::watch::officer_of($r.try_get("officer")?),
        )
    }};
}
pub(crate) use decode_holder;

/// Reads a row of [`select_handoff_sums`].
macro_rules! decode_handoff_sums {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let holder = $crate::write::watch::decode_holder!(r, "watch_handoffs");
        let handoffs: i64 = r.try_get("handoffs")?;
        Ok::<_, $crate::error::StoreError>((
            holder,
            motcua_core::watchlist::HandoffSums {
                handoffs: $crate::sql::count(handoffs, "watch_handoffs.handoffs")?,
                minutes: r.try_get("minutes")?,
                max_minutes: r.try_get("max_minutes")?,
            },
        ))
    }};
}
pub(crate) use decode_handoff_sums;

/// Reads a row of [`select_backdated_sums`].
macro_rules! decode_backdated_sums {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let holder = $crate::write::watch::decode_holder!(r, "watch_backdated");
        let events: i64 = r.try_get("events")?;
        Ok::<_, $crate::error::StoreError>((
            holder,
            motcua_core::watchlist::BackdatedSums {
                events: $crate::sql::count(events, "watch_backdated.events")?,
                gap_minutes: r.try_get("gap_minutes")?,
            },
        ))
    }};
}
pub(crate) use decode_backdated_sums;

/// The officer as read: `None` for `''`.
pub(crate) fn officer_of(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

/// A kind as read.
pub(crate) fn kind_of(s: &str) -> Result<motcua_core::watchlist::WatchKind, crate::error::StoreError> {
    motcua_core::watchlist::WatchKind::parse(s)
        .ok_or_else(|| crate::error::StoreError::Corrupt(format!("watch_occurrences.kind {s:?} is not a known kind")))
}

/// Reads `(code, occurrence)` from a row of [`SELECT_OCCURRENCES`].
macro_rules! decode_occurrence {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let code: String = r.try_get("dossier_code")?;
        let kind: String = r.try_get("kind")?;
        let agency: String = r.try_get("agency")?;
        let idx: i64 = r.try_get("idx")?;
        Ok::<_, $crate::error::StoreError>((
            $crate::sql::parse::<motcua_core::DossierCode>("watch_occurrences", "dossier_code", &code)?,
            motcua_core::watchlist::Occurrence {
                at: r.try_get("at")?,
                kind: $crate::write::watch::kind_of(&kind)?,
                index: u32::try_from(idx).map_err(|_| {
                    $crate::error::StoreError::Corrupt(format!("watch_occurrences.idx {idx} is out of range"))
                })?,
                agency: $crate::sql::parse("watch_occurrences", "agency", &agency)?,
                officer: $crate::write::watch::officer_of(r.try_get("officer")?),
            },
        ))
    }};
}
pub(crate) use decode_occurrence;

/// Reads the key of a cell of the daily sums.
macro_rules! decode_cell {
    ($r:expr, $table:expr) => {{
        let agency: String = $r.try_get("agency")?;
        motcua_core::watchlist::DayCell {
            day: $r.try_get("day")?,
            agency: $crate::sql::parse($table, "agency", &agency)?,
            officer: $crate::write::watch::officer_of($r.try_get("officer")?),
        }
    }};
}
pub(crate) use decode_cell;

/// Reads a row of [`SELECT_HANDOFFS`].
macro_rules! decode_handoffs {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let cell = $crate::write::watch::decode_cell!(r, "watch_handoffs");
        let handoffs: i64 = r.try_get("handoffs")?;
        Ok::<_, $crate::error::StoreError>((
            cell,
            motcua_core::watchlist::HandoffSums {
                handoffs: $crate::sql::count(handoffs, "watch_handoffs.handoffs")?,
                minutes: r.try_get("minutes")?,
                max_minutes: r.try_get("max_minutes")?,
            },
        ))
    }};
}
pub(crate) use decode_handoffs;

/// Reads a row of [`SELECT_BACKDATED`].
macro_rules! decode_backdated {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let cell = $crate::write::watch::decode_cell!(r, "watch_backdated");
        let events: i64 = r.try_get("events")?;
        Ok::<_, $crate::error::StoreError>((
            cell,
            motcua_core::watchlist::BackdatedSums {
                events: $crate::sql::count(events, "watch_backdated.events")?,
                gap_minutes: r.try_get("gap_minutes")?,
            },
        ))
    }};
}
pub(crate) use decode_backdated;

/// Reads a row of [`SELECT_COUNT_CELLS`].
macro_rules! decode_count_cell {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let agency: String = r.try_get("agency")?;
        let kind: String = r.try_get("kind")?;
        Ok::<_, $crate::error::StoreError>((
            motcua_core::watchlist::CountCell {
                day: r.try_get("day")?,
                agency: $crate::sql::parse("watch_counts", "agency", &agency)?,
                officer: $crate::write::watch::officer_of(r.try_get("officer")?),
                kind: $crate::write::watch::kind_of(&kind)?,
            },
            r.try_get::<i64, _>("occurrences")?,
        ))
    }};
}
pub(crate) use decode_count_cell;

/// Reads a row of [`select_singles`].
macro_rules! decode_singles {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let agency: String = r.try_get("agency")?;
        let kind: String = r.try_get("kind")?;
        let n: i64 = r.try_get("n")?;
        Ok::<_, $crate::error::StoreError>((
            (
                $crate::sql::parse::<motcua_core::AgencyCode>("watch_counts", "agency", &agency)?,
                $crate::write::watch::officer_of(r.try_get("officer")?),
                $crate::write::watch::kind_of(&kind)?,
            ),
            $crate::sql::count(n, "watch_counts.occurrences")?,
        ))
    }};
}
pub(crate) use decode_singles;

/// The rows of one statement.
#[derive(Debug, Clone)]
pub(crate) enum WatchRows<'a> {
    Codes(Vec<&'a DossierCode>),
    Occurrences(Vec<(&'a DossierCode, &'a Occurrence, bool)>),
    Handoffs(Vec<(&'a DayCell, &'a HandoffSums)>),
    Backdated(Vec<(&'a DayCell, &'a BackdatedSums)>),
    Counts(Vec<(&'a CountCell, &'a i64)>),
    Scores(Vec<(&'a ScoreKey, &'a ScoreCounts)>),
}

/// The officer as stored: `''` for unknown.
pub(crate) fn officer_text(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or("")
}

/// Binds the rows of one statement of [`WatchDeltas::statements`] on anything with `.bind`;
/// `$ts` turns an instant into the backend's value (as [`crate::sql::bind_dossier!`]).
macro_rules! bind_watch_rows {
    ($q:expr, $rows:expr, $ts:expr) => {{
        let mut q = $q;
        match $rows {
            $crate::write::watch::WatchRows::Codes(codes) => {
                for c in codes {
                    q = q.bind(c.as_str());
                }
            }
            $crate::write::watch::WatchRows::Occurrences(rows) => {
                for (code, o, repeated) in rows {
                    q = q
                        .bind(code.as_str())
                        .bind(o.kind.name())
                        .bind(i64::from(o.index))
                        .bind($ts(o.at))
                        .bind(o.agency.as_str())
                        .bind($crate::write::watch::officer_text(&o.officer))
                        .bind(*repeated);
                }
            }
            $crate::write::watch::WatchRows::Handoffs(rows) => {
                for (c, s) in rows {
                    q = q
                        .bind(c.day)
                        .bind(c.agency.as_str())
                        .bind($crate::write::watch::officer_text(&c.officer))
                        .bind(i64::try_from(s.handoffs).unwrap_or(i64::MAX))
                        .bind(s.minutes)
                        .bind(s.max_minutes);
                }
            }
            $crate::write::watch::WatchRows::Backdated(rows) => {
                for (c, s) in rows {
                    q = q
                        .bind(c.day)
                        .bind(c.agency.as_str())
                        .bind($crate::write::watch::officer_text(&c.officer))
                        .bind(i64::try_from(s.events).unwrap_or(i64::MAX))
                        .bind(s.gap_minutes);
                }
            }
            $crate::write::watch::WatchRows::Counts(rows) => {
                for (c, n) in rows {
                    q = q
                        .bind(c.day)
                        .bind(c.agency.as_str())
                        .bind($crate::write::watch::officer_text(&c.officer))
                        .bind(c.kind.name())
                        .bind(**n);
                }
            }
            $crate::write::watch::WatchRows::Scores(rows) => {
                for (k, v) in rows {
                    q = q.bind(k.day).bind(k.agency.as_str()).bind(k.cause.as_str());
                    for n in v.values() {
                        q = q.bind(n);
                    }
                }
            }
        }
        q
    }};
}
pub(crate) use bind_watch_rows;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn sums_are_added_in_key_order_and_replaced_dossiers_deleted_first() {
        let mut w = WatchDeltas::default();
        let cell = |agency: &str| DayCell {
            day: NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(),
            agency: agency.parse().unwrap(),
            officer: None,
        };
        w.handoffs.insert(cell("000.00.12.H17"), HandoffSums { handoffs: 1, minutes: 5, max_minutes: 5 });
        w.handoffs.insert(cell("000.00.02.H17"), HandoffSums { handoffs: 1, minutes: 9, max_minutes: 9 });
        w.replace.push(("000.00.02.H17-250303-0001".parse().unwrap(), Vec::new()));
        let stmts = w.statements(Dialect::Postgres);
        assert!(stmts[0].0.starts_with("DELETE FROM watch_occurrences WHERE dossier_code IN ($1)"), "{}", stmts[0].0);
        assert!(stmts[1].0.contains("GREATEST(watch_handoffs.max_minutes, excluded.max_minutes)"), "{}", stmts[1].0);
        let WatchRows::Handoffs(rows) = &stmts[1].1 else { panic!("handoff rows") };
        assert_eq!(rows[0].0.agency.as_str(), "000.00.02.H17");
        assert!(w.statements(Dialect::Sqlite)[1].0.contains("MAX(watch_handoffs.max_minutes"));
        assert_eq!(w.rows(), [1, 0, 2, 0, 0, 0]);
    }

    #[test]
    fn a_replaced_dossier_moves_its_singles_and_cancelling_changes_write_nothing() {
        let code: DossierCode = "000.00.02.H17-250303-0001".parse().unwrap();
        let at = |d: u32, h: u32| chrono::Utc.with_ymd_and_hms(2025, 3, d, h, 0, 0).unwrap();
        let o = |kind, t, index| Occurrence {
            at: t,
            kind,
            index,
            agency: "000.00.02.H17".parse().unwrap(),
            officer: Some("tp1".into()),
        };
        use chrono::TimeZone as _;
        use motcua_core::watchlist::WatchKind::{Bounce, Late};
        // Late moves a day (its due instant moved); two bounces are not singles.
        let old = vec![o(Late, at(3, 9), 0)];
        let new = vec![o(Late, at(4, 9), 0), o(Bounce, at(3, 9), 1), o(Bounce, at(3, 10), 2)];
        let mut w = WatchDeltas::default();
        w.replaced(code.clone(), &old, new.clone());
        let deltas: Vec<i64> = w.counts.values().copied().collect();
        assert_eq!(deltas, [-1, 1], "{:?}", w.counts);
        let stmts = w.statements(Dialect::Sqlite);
        let WatchRows::Occurrences(rows) = &stmts[1].1 else { panic!("occurrence rows") };
        assert_eq!(rows.iter().map(|r| r.2).collect::<Vec<_>>(), [false, true, true], "repeated kinds flagged");
        assert!(stmts.iter().any(|(q, _)| q.contains("watch_counts.occurrences + excluded.occurrences")));
        // The same occurrences again (a new event that changes nothing the sums see).
        let mut same = WatchDeltas::default();
        same.replaced(code, &new, new.clone());
        assert!(same.counts.values().all(|n| *n == 0));
        assert!(!same.statements(Dialect::Postgres).iter().any(|(q, _)| q.contains("watch_counts")));
    }
}
