//! The chair's scorecard (`motcua scorecard`, `GET /api/v1/scorecard`, the chair's page,
//! `/metrics`): core's [`motcua_core::scorecard`] indicators over a period, read from the sums
//! the write path keeps in `scorecard_counts` (migration 26) — never by replaying the log,
//! except the few dossiers with an event after the period's end when reading the past.
//!
//! For a period `[p0, p1]` (`p1` = the end of `--to`, or `--as-of` if earlier):
//! - the sums of the local days `from..=p1`'s day, per lead agency and delay reason;
//! - the dossiers with an event stated after `p1` (received by the end of `p1`'s day): their
//!   cells as the sums hold them (from their whole log) are taken away and their cells as of
//!   `p1` (their log up to `p1`, replayed by core) added, so every figure is the figure at `p1`;
//! - the dossiers open and overdue at `p1` (DOMAIN.md §5's rule): those with nothing after `p1`
//!   from the projection alone (their lead agency, their new dates — the only apology an open
//!   dossier can have — and the reason code of their latest delay, migration 25's
//!   `delay_reason`), the others from the replay above;
//! - indicator 2.1 from the report ([`crate::report`]);
//! - ratings of 1–2 stars given in `[p0, p1]`: the whole local days before `p1`'s from
//!   `rating_days` (migration 32, kept by [`crate::StaffStore::rate`] in the rating's
//!   transaction), `p1`'s own day rating by rating;
//! - petitions and complaints for 5.2 and 5.3 and complaints about a dossier: each item
//!   received by `p1` from its projection row when nothing was stated after `p1`, replayed up
//!   to `p1` otherwise.
//!
//! The dossier figures equal core's [`motcua_core::scorecard::replay`] over every dossier
//! replayed up to `p1`, and the ratings and items equal every rating of the period and every
//! item replayed up to `p1` (tested on both backends).

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use motcua_core::analysis::Ratio;
use motcua_core::calendar::{at_vn, from_local, to_local};
use motcua_core::petition::{Item, ItemStatus};
use motcua_core::scorecard::{
    INDICATORS, Indicator, Indicators, OpenLate, SCORE_COLUMNS, ScoreBy, ScoreCounts, Tally, cells, indicators,
    open_late,
};
use motcua_core::{AgencyCode, Domain, DossierCode, Lang};
use serde::Serialize;

use crate::report::{GroupBy, ReportQuery, period, report};
use crate::sql::At;
use crate::{PetitionStore, StaffStore, Store, StoreError};

/// A cell of the sums read for a period: agency, delay reason (`""` for the main row), sums.
pub type SumRow = (String, String, ScoreCounts);

/// The scorecard's reads of its own tables and of the projection.
pub trait ScorecardStore: Send + Sync {
    /// `scorecard_counts` of the local days `from..=to`, summed per agency and delay reason,
    /// of one agency if given.
    fn score_sums(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        agency: Option<&AgencyCode>,
    ) -> impl Future<Output = Result<Vec<SumRow>, StoreError>> + Send;

    /// The dissatisfied ratings (1–2 stars) of the local days `from..before`, per lead agency,
    /// from `rating_days` (migration 32).
    fn dislike_sums(
        &self,
        from: NaiveDate,
        before: NaiveDate,
    ) -> impl Future<Output = Result<Vec<(String, u64)>, StoreError>> + Send;

    /// Dossiers with an event stated after `p1`, received at or before `until`.
    fn changed_after(
        &self,
        p1: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DossierCode>, StoreError>> + Send;

    /// The dossiers open and overdue at `p1` with no event after it (their projection is their
    /// state then): lead agency, whether a new date (an apology: the only one an open dossier
    /// can have) was issued, and the reason code of its latest delay (the projection's
    /// `delay_reason`, migration 25).
    fn open_late_at(&self, p1: DateTime<Utc>) -> impl Future<Output = Result<Vec<OpenLate>, StoreError>> + Send;
}

/// Adds one new rating to `rating_days` (migration 32), in the rating's transaction: `$1` its
/// local day, `$2` 1 when it is dissatisfied, `$3` the dossier (whose lead agency it counts
/// under; a rating of an unknown dossier counts nowhere, as the join of [`crate::StaffStore::rating_counts`]).
pub(crate) const ADD_RATING_DAY: &str = "INSERT INTO rating_days (day, agency, ratings, dissatisfied) \
     SELECT $1, lead_agency, 1, $2 FROM dossiers WHERE code = $3 \
     ON CONFLICT (day, agency) DO UPDATE SET ratings = rating_days.ratings + 1, \
     dissatisfied = rating_days.dissatisfied + excluded.dissatisfied";

/// Whether a rating counts as dissatisfied (1 or 2 stars, as [`crate::RatingCounts`]).
pub(crate) fn dissatisfied(score: u8) -> bool {
    score <= 2
}

/// What `recompute` runs to rebuild `rating_days` from `ratings` (the migration's fill).
pub(crate) fn rebuild_rating_days(d: crate::sql::Dialect) -> [&'static str; 2] {
    let fill = match d {
        crate::sql::Dialect::Sqlite => {
            "INSERT INTO rating_days (day, agency, ratings, dissatisfied) \
             SELECT date(r.rated_at, '+7 hours'), d.lead_agency, COUNT(*), SUM(CASE WHEN r.score <= 2 THEN 1 ELSE 0 END) \
             FROM ratings r JOIN dossiers d ON d.code = r.dossier_code GROUP BY date(r.rated_at, '+7 hours'), d.lead_agency"
        }
        crate::sql::Dialect::Postgres => {
            "INSERT INTO rating_days (day, agency, ratings, dissatisfied) \
             SELECT ((r.rated_at AT TIME ZONE 'UTC') + interval '7 hours')::date, d.lead_agency, COUNT(*), \
             SUM(CASE WHEN r.score <= 2 THEN 1 ELSE 0 END) \
             FROM ratings r JOIN dossiers d ON d.code = r.dossier_code GROUP BY 1, 2"
        }
    };
    ["DELETE FROM rating_days", fill]
}

/// The sums' columns summed, as read by [`decode_sums`].
fn sums_query(only: bool) -> String {
    let sums: Vec<String> = SCORE_COLUMNS.iter().map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}")).collect();
    format!(
        "SELECT agency, cause, {} FROM scorecard_counts WHERE day >= $1 AND day <= $2{} GROUP BY agency, cause",
        sums.join(", "),
        if only { " AND agency = $3" } else { "" }
    )
}

macro_rules! decode_sums {
    ($rows:expr) => {{
        use sqlx::Row as _;
        let mut out = Vec::with_capacity($rows.len());
        for r in $rows.iter() {
            let mut v = [0i64; 18];
            for (i, c) in SCORE_COLUMNS.iter().enumerate() {
                v[i] = r.try_get::<Option<i64>, _>(*c)?.unwrap_or(0);
            }
            out.push((
                r.try_get::<String, _>("agency")?,
                r.try_get::<String, _>("cause")?,
                ScoreCounts::from_values(v),
            ));
        }
        Ok::<_, StoreError>(out)
    }};
}

/// Open, received by `$1`, nothing after `$1`, past due at `$1` with the clock running
/// (core's `open_state_of`, instants compared).
fn open_late_query() -> String {
    format!(
        "SELECT lead_agency, CAST(reschedule_count AS BIGINT) AS reschedule_count, delay_reason FROM dossiers \
         WHERE {open} AND received_at <= $1 AND last_event_at <= $1 AND due_at < $1 AND {running}",
        open = *crate::sql::OPEN,
        running = crate::sql::CLOCK_NOT_STOPPED,
    )
}

macro_rules! scorecard_store {
    ($store:ty, $pool:ident) => {
        impl ScorecardStore for $store {
            async fn score_sums(
                &self,
                from: NaiveDate,
                to: NaiveDate,
                agency: Option<&AgencyCode>,
            ) -> Result<Vec<SumRow>, StoreError> {
                let q = sums_query(agency.is_some());
                let mut query = sqlx::query(&q).bind(from).bind(to);
                if let Some(a) = agency {
                    query = query.bind(a.as_str());
                }
                let rows = query.fetch_all(self.$pool()).await?;
                decode_sums!(rows)
            }

            async fn dislike_sums(&self, from: NaiveDate, before: NaiveDate) -> Result<Vec<(String, u64)>, StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT agency, CAST(SUM(dissatisfied) AS BIGINT) AS n FROM rating_days \
                     WHERE day >= $1 AND day < $2 GROUP BY agency",
                )
                .bind(from)
                .bind(before)
                .fetch_all(self.$pool())
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let n: Option<i64> = r.try_get("n")?;
                    out.push((r.try_get("agency")?, crate::sql::count(n.unwrap_or(0), "rating_days.dissatisfied")?));
                }
                Ok(out)
            }

            async fn changed_after(
                &self,
                p1: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> Result<Vec<DossierCode>, StoreError> {
                use sqlx::Row as _;
                // Only the index on `last_event_at` narrows this (received by `until` is almost
                // every dossier, and a planner that picks its index scans the table): the receipt
                // is checked here, and the codes are sorted here — an `ORDER BY code` makes
                // SQLite walk the primary key over the whole table instead (1.4 s at 1 M).
                let rows = sqlx::query("SELECT code, received_at FROM dossiers WHERE last_event_at > $1")
                    .bind(At(p1))
                    .fetch_all(self.$pool())
                    .await?;
                let mut out = Vec::new();
                for r in &rows {
                    let received: Option<DateTime<Utc>> = r.try_get("received_at")?;
                    if received.is_some_and(|t| t <= until) {
                        let code: String = r.try_get("code")?;
                        out.push(crate::sql::parse::<DossierCode>("dossiers", "code", &code)?);
                    }
                }
                out.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
                Ok(out)
            }

            async fn open_late_at(&self, p1: DateTime<Utc>) -> Result<Vec<OpenLate>, StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(&open_late_query()).bind(At(p1)).fetch_all(self.$pool()).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let n: i64 = r.try_get("reschedule_count")?;
                    out.push(OpenLate {
                        agency: r.try_get("lead_agency")?,
                        apologised: n > 0,
                        reason: r.try_get("delay_reason")?,
                    });
                }
                Ok(out)
            }
        }
    };
}

scorecard_store!(crate::SqliteStore, reader);
scorecard_store!(crate::PgStore, pool);

impl ScorecardStore for crate::AnyStore {
    async fn score_sums(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        agency: Option<&AgencyCode>,
    ) -> Result<Vec<SumRow>, StoreError> {
        match self {
            Self::Sqlite(s) => s.score_sums(from, to, agency).await,
            Self::Pg(s) => s.score_sums(from, to, agency).await,
        }
    }
    async fn dislike_sums(&self, from: NaiveDate, before: NaiveDate) -> Result<Vec<(String, u64)>, StoreError> {
        match self {
            Self::Sqlite(s) => s.dislike_sums(from, before).await,
            Self::Pg(s) => s.dislike_sums(from, before).await,
        }
    }
    async fn changed_after(&self, p1: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<DossierCode>, StoreError> {
        match self {
            Self::Sqlite(s) => s.changed_after(p1, until).await,
            Self::Pg(s) => s.changed_after(p1, until).await,
        }
    }
    async fn open_late_at(&self, p1: DateTime<Utc>) -> Result<Vec<OpenLate>, StoreError> {
        match self {
            Self::Sqlite(s) => s.open_late_at(p1).await,
            Self::Pg(s) => s.open_late_at(p1).await,
        }
    }
}

/// What a scorecard is asked for.
#[derive(Debug, Clone)]
pub struct ScoreQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: ScoreBy,
    pub as_of: DateTime<Utc>,
    /// Only the dossiers (and petitions) of this lead agency (with `as_successors`, the agency
    /// they are counted under).
    pub agency: Option<AgencyCode>,
    /// Count a ceased agency's dossiers and petitions under its successor in force on the
    /// local day of `as_of` (`scorecard --as-successors`), as the report does; otherwise
    /// under the agencies as they were.
    pub as_successors: bool,
}

impl ScoreQuery {
    /// A query of every agency, under the agencies as they were.
    pub fn new(from: NaiveDate, to: NaiveDate, by: ScoreBy, as_of: DateTime<Utc>) -> Self {
        Self { from, to, by, as_of, agency: None, as_successors: false }
    }

    /// The agency filter names an agency of the catalog, and with `as_successors` one in force
    /// on the as-of day (the report's rule, [`ReportQuery::check`]).
    pub fn check(&self, domain: &Domain) -> Result<(), String> {
        let mut rq = ReportQuery::new(self.from, self.to, GroupBy::Agency, self.as_of);
        rq.agency = self.agency.clone();
        rq.as_successors = self.as_successors;
        rq.check(domain)
    }

    /// The day whose agencies the rows are counted under, with the successor view.
    fn agencies_on(&self) -> Option<NaiveDate> {
        self.as_successors.then(|| to_local(self.as_of).date())
    }
}

/// One row: its key (an agency code, or a month `YYYY-MM`), its name, what it is computed
/// from and its indicators.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreRow {
    pub key: String,
    pub name: String,
    pub tally: Tally,
    pub indicators: Indicators,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub p0: DateTime<Utc>,
    pub p1: DateTime<Utc>,
    pub by: ScoreBy,
    pub agency: Option<AgencyCode>,
    /// With the successor view: the day whose agencies the figures are counted under.
    pub as_successors: Option<NaiveDate>,
    pub rows: Vec<ScoreRow>,
    pub total: ScoreRow,
}

/// The tallies of `[p0, p1]` per agency: per lead agency as it was, or with a successor day
/// per the agency in force then that succeeded it (whole dossiers and items to the successor
/// with the largest share of territory, as in the report); the agency filter applied to the
/// agency a row is counted under.
async fn period_tallies<S>(
    store: &S,
    domain: &Domain,
    p0: DateTime<Utc>,
    p1: DateTime<Utc>,
    agency: Option<&AgencyCode>,
    successors_on: Option<NaiveDate>,
) -> Result<BTreeMap<String, Tally>, StoreError>
where
    S: Store + ScorecardStore + StaffStore + PetitionStore,
{
    let Some(on) = successors_on else { return lead_tallies(store, domain, p0, p1, agency).await };
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    for (lead, t) in lead_tallies(store, domain, p0, p1, None).await? {
        let key = match lead.parse::<AgencyCode>() {
            Ok(code) => domain.catalog.reporting_agency(&code, on).to_string(),
            Err(_) => lead,
        };
        if agency.is_none_or(|only| only.as_str() == key) {
            out.entry(key).or_default().add(&t);
        }
    }
    Ok(out)
}

/// The tallies of `[p0, p1]` per lead agency as it was (the agency filter applied).
async fn lead_tallies<S>(
    store: &S,
    domain: &Domain,
    p0: DateTime<Utc>,
    p1: DateTime<Utc>,
    agency: Option<&AgencyCode>,
) -> Result<BTreeMap<String, Tally>, StoreError>
where
    S: Store + ScorecardStore + StaffStore + PetitionStore,
{
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    if p1 < p0 {
        return Ok(out);
    }
    let keep = |a: &str| agency.is_none_or(|only| only.as_str() == a);
    let (first, last) = (to_local(p0).date(), to_local(p1).date());
    for (a, cause, v) in store.score_sums(first, last, agency).await? {
        out.entry(a).or_default().add_cell(&cause, &v);
    }
    // The end of p1's local day: cells of that day after p1 belong to dossiers changed after p1.
    let day_end =
        from_local(last.and_hms_opt(23, 59, 59).unwrap_or(last.and_time(NaiveTime::MIN))) + Duration::seconds(1);
    for code in store.changed_after(p1, day_end).await? {
        let events = store.events(&code).await?;
        let now =
            domain.replay(events.iter()).map_err(|source| StoreError::Unreplayable { code: code.clone(), source })?;
        let then = domain
            .replay_until(events.iter(), p1)
            .map_err(|source| StoreError::Unreplayable { code: code.clone(), source })?;
        for (d, sign) in [(&now, -1), (&then, 1)] {
            for (k, v) in cells(domain, d).map_err(|e| score_error(&code, e))? {
                if k.day >= first && k.day <= last && keep(&k.agency) {
                    let t = out.entry(k.agency.clone()).or_default();
                    if k.cause.is_empty() {
                        t.counts.add(&v, sign);
                    } else {
                        let n = t.late_by_code.entry(k.cause.clone()).or_default();
                        *n = n.saturating_add_signed(sign * v.finished_late);
                    }
                }
            }
        }
        if let Some(o) = open_late(domain, &then, p1).map_err(|e| score_error(&code, e))?
            && keep(&o.agency)
        {
            out.entry(o.agency.clone()).or_default().add_open_late(&o);
        }
    }
    for o in store.open_late_at(p1).await? {
        if keep(&o.agency) {
            out.entry(o.agency.clone()).or_default().add_open_late(&o);
        }
    }
    // Dislikes: the whole days before p1's from their sums, p1's own day rating by rating.
    let end = p1 + Duration::microseconds(1);
    for (a, n) in store.dislike_sums(first, last).await? {
        if keep(&a) && n > 0 {
            out.entry(a).or_default().dislikes += n;
        }
    }
    let cut = from_local(last.and_time(NaiveTime::MIN)).max(p0);
    for (a, r) in store.rating_counts(cut, end).await? {
        if keep(a.as_str()) && r.dissatisfied > 0 {
            out.entry(a.to_string()).or_default().dislikes += r.dissatisfied;
        }
    }
    for item in petitions_at(store, domain, p1).await? {
        let Some(a) = item.agency.as_ref().map(AgencyCode::to_string) else { continue };
        if !keep(&a) {
            continue;
        }
        let t = out.entry(a).or_default();
        motcua_core::scorecard::add_item(t, &item, p0, p1);
    }
    out.retain(|_, t| *t != Tally::default());
    Ok(out)
}

/// Every petition, complaint and denunciation received by `p1`, as it stood at `p1`: from its
/// projection row when nothing was stated after `p1` (what [`motcua_core::scorecard::add_item`]
/// reads is in the row), replayed from its events up to `p1` otherwise — and when it is
/// suspended after its acceptance, the one state whose answer's due instant the row does not
/// carry.
async fn petitions_at<S: PetitionStore>(
    store: &S,
    domain: &Domain,
    p1: DateTime<Utc>,
) -> Result<Vec<Item>, StoreError> {
    let rows = store.items_received_between(DateTime::<Utc>::UNIX_EPOCH, p1 + Duration::microseconds(1)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let suspended = r.status == ItemStatus::Suspended && r.accepted_at.is_some() && r.resolved_at.is_none();
        if r.last_event_at <= p1 && !suspended {
            out.push(item_of_row(&r)?);
            continue;
        }
        let events = store.item_events(&r.code).await?;
        let item = motcua_core::petition::replay(domain, events.iter().filter(|e| e.at <= p1))
            .map_err(|e| StoreError::Corrupt(format!("petition {} does not replay: {e}", r.code.as_str())))?;
        out.push(item);
    }
    Ok(out)
}

/// What the scorecard reads of an item, from its projection row (its state after its last
/// event): the answer's due instant is the next step's while it is accepted.
fn item_of_row(r: &crate::petitions::ItemRow) -> Result<Item, StoreError> {
    let dossier = match &r.dossier_code {
        Some(c) => Some(crate::sql::parse::<DossierCode>("petitions", "dossier_code", c)?),
        None => None,
    };
    Ok(Item {
        agency: Some(r.agency.clone()),
        dossier,
        status: Some(r.status),
        received_at: Some(r.received_at),
        accepted_at: r.accepted_at,
        resolve_due_at: if r.status == ItemStatus::Accepted { r.next_due_at } else { None },
        resolved_at: r.resolved_at,
        resolve_late: r.resolve_late,
        satisfied: r.satisfied,
        last_event_at: Some(r.last_event_at),
        ..Item::default()
    })
}

fn score_error(code: &DossierCode, e: motcua_core::scorecard::ScoreError) -> StoreError {
    StoreError::Corrupt(format!("the scorecard cannot count {code}: {e}"))
}

/// Indicator 2.1 (the report's figure) per key.
async fn national<S: Store>(
    store: &S,
    domain: &Domain,
    q: &ScoreQuery,
    by: GroupBy,
) -> Result<(BTreeMap<String, Ratio>, Ratio), StoreError> {
    let mut rq = ReportQuery::new(q.from, q.to, by, q.as_of);
    rq.agency = q.agency.clone();
    rq.as_successors = q.as_successors;
    let r = report(store, domain, &rq).await?;
    Ok((r.rows.into_iter().map(|r| (r.key, r.counts.national)).collect(), r.total.national))
}

/// Builds the scorecard.
pub async fn scorecard<S>(store: &S, domain: &Domain, q: &ScoreQuery) -> Result<Scorecard, StoreError>
where
    S: Store + ScorecardStore + StaffStore + PetitionStore,
{
    let (p0, p1) = period(q.from, q.to, q.as_of);
    let agency = q.agency.as_ref();
    let on = q.agencies_on();
    let mut keyed: BTreeMap<String, Tally> = BTreeMap::new();
    let total_tally;
    match q.by {
        ScoreBy::Agency => {
            keyed = period_tallies(store, domain, p0, p1, agency, on).await?;
            let (nat, _) = national(store, domain, q, GroupBy::Agency).await?;
            for (k, r) in nat {
                if r.denominator > 0 {
                    keyed.entry(k).or_default().national = r;
                }
            }
            let mut t = Tally::default();
            for v in keyed.values() {
                t.add(v);
            }
            total_tally = t;
        }
        ScoreBy::Month => {
            let mut month = NaiveDate::from_ymd_opt(q.from.year(), q.from.month(), 1).unwrap_or(q.from);
            while month <= q.to {
                let next = next_month(month);
                let (m0, m1) = period(month.max(q.from), (next - Duration::days(1)).min(q.to), q.as_of);
                let mut t = Tally::default();
                for v in period_tallies(store, domain, m0, m1, agency, on).await?.values() {
                    t.add(v);
                }
                keyed.insert(month.format("%Y-%m").to_string(), t);
                month = next;
            }
            let (nat, total_national) = national(store, domain, q, GroupBy::Month).await?;
            for (k, r) in nat {
                keyed.entry(k).or_default().national = r;
            }
            let mut t = Tally::default();
            for v in period_tallies(store, domain, p0, p1, agency, on).await?.values() {
                t.add(v);
            }
            t.national = total_national;
            total_tally = t;
        }
    }
    let rows = keyed
        .into_iter()
        .map(|(key, tally)| {
            let name = match q.by {
                ScoreBy::Agency => key
                    .parse::<AgencyCode>()
                    .ok()
                    .and_then(|a| domain.catalog.agency(&a))
                    .map(|a| a.name.clone())
                    .unwrap_or_default(),
                ScoreBy::Month => String::new(),
            };
            let indicators = indicators(&tally, &domain.delay_reasons);
            ScoreRow { key, name, tally, indicators }
        })
        .collect();
    let total = ScoreRow {
        key: "total".into(),
        name: String::new(),
        indicators: indicators(&total_tally, &domain.delay_reasons),
        tally: total_tally,
    };
    Ok(Scorecard { from: q.from, to: q.to, p0, p1, by: q.by, agency: q.agency.clone(), as_successors: on, rows, total })
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MAX)
}

fn show(at: DateTime<Utc>) -> String {
    at_vn(at).to_rfc3339()
}

/// An indicator as JSON (`late_by_cause` with its breakdown).
fn indicator_json(key: &str, i: &Indicator, ind: &Indicators) -> serde_json::Value {
    let mut v = serde_json::json!({
        "numerator": i.numerator,
        "denominator": i.denominator,
        "value": i.value,
        "points": i.points,
        "max_points": i.max_points,
        "target": i.target,
        "meets": i.meets,
    });
    if key == "late_by_cause" {
        v["citizen"] = ind.late_by_cause.citizen.into();
        v["agency"] = ind.late_by_cause.agency.into();
        v["unknown"] = ind.late_by_cause.unknown.into();
        v["by_code"] = serde_json::json!(ind.late_by_cause.by_code);
    }
    v
}

fn indicators_json(ind: &Indicators) -> serde_json::Map<String, serde_json::Value> {
    ind.list.iter().map(|(k, i)| ((*k).to_string(), indicator_json(k, i, ind))).collect()
}

/// Points with 2 decimals ("–" when there are none).
pub fn points_text(i: &Indicator) -> String {
    i.points.map_or_else(|| "–".into(), |p| format!("{p:.2}"))
}

/// ✓ or ✗ against the target ("" when there is none or nothing to judge).
pub fn meets_mark(i: &Indicator) -> &'static str {
    match i.meets {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "",
    }
}

/// The value as shown: a percentage from the integers, working days or VND for the two
/// indicators that are not rates.
pub fn value_text(key: &str, i: &Indicator) -> String {
    match (key, i.value) {
        (_, None) => "–".into(),
        ("average_days_2_2", Some(v)) => format!("{v:.2} d"),
        ("fees_collected_vnd", _) => format!("{} VND", i.numerator),
        _ => i.percent(),
    }
}

impl Scorecard {
    pub fn to_json(&self) -> serde_json::Value {
        let row = |r: &ScoreRow| {
            let mut m = indicators_json(&r.indicators);
            m.insert("key".into(), r.key.clone().into());
            m.insert("name".into(), r.name.clone().into());
            serde_json::Value::Object(m)
        };
        let u = &self.total.indicators.unknown;
        serde_json::json!({
            "from": self.from,
            "to": self.to,
            "period_start": show(self.p0),
            "period_end": show(self.p1),
            "by": self.by,
            "agency": self.agency,
            "as_successors": self.as_successors.is_some(),
            "agencies_as_of": self.as_successors,
            "total": serde_json::Value::Object(indicators_json(&self.total.indicators)),
            "rows": self.rows.iter().map(row).collect::<Vec<_>>(),
            "unknown": {
                "digitised": u.digitised,
                "electronic_result": u.electronic_result,
                "payment": u.payment,
                "delay_reason": u.delay_reason,
            },
        })
    }

    /// One line per row and indicator: `key,name,indicator,numerator,denominator,value,points,
    /// max_points,target,meets` (the total's key is `total`).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("key,name,indicator,numerator,denominator,value,points,max_points,target,meets\n");
        let opt = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
        for r in self.rows.iter().chain(std::iter::once(&self.total)) {
            for (k, i) in &r.indicators.list {
                out.push_str(&format!(
                    "{},{},{k},{},{},{},{},{},{},{}\n",
                    csv_field(&r.key),
                    csv_field(&r.name),
                    i.numerator,
                    i.denominator,
                    opt(i.value),
                    i.points.map_or_else(String::new, |p| format!("{p:.2}")),
                    opt(i.max_points),
                    opt(i.target),
                    i.meets.map_or_else(String::new, |m| m.to_string()),
                ));
            }
        }
        out
    }

    /// The CSV for a spreadsheet: a UTF-8 byte-order mark first.
    pub fn to_spreadsheet_csv(&self, _lang: Lang) -> String {
        format!("\u{feff}{}", self.to_csv())
    }

    /// The total's indicators, one per line, then the rows' points: points with 2 decimals,
    /// ✓/✗ against the target.
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "scorecard {} to {} (period {} – {}), by {}",
            self.from,
            self.to,
            show(self.p0),
            show(self.p1),
            match self.by {
                ScoreBy::Agency => "agency",
                ScoreBy::Month => "month",
            }
        );
        if let Some(a) = &self.agency {
            out.push_str(&format!(", agency {a}"));
        }
        if let Some(day) = self.as_successors {
            out.push_str(&format!(", ceased agencies under their successors of {day}"));
        }
        out.push('\n');
        out.push_str(&format!(
            "{:<28} {:>12} {:>12} {:>12} {:>7} {:>6} {:>7} {:>4}\n",
            "indicator", "numerator", "denominator", "value", "points", "max", "target", ""
        ));
        for (k, i) in &self.total.indicators.list {
            out.push_str(&format!(
                "{:<28} {:>12} {:>12} {:>12} {:>7} {:>6} {:>7} {:>4}\n",
                k,
                i.numerator,
                i.denominator,
                value_text(k, i),
                points_text(i),
                i.max_points.map_or_else(|| "–".into(), |m| format!("{m:.0}")),
                i.target.map_or_else(|| "–".into(), |t| format!("{:.0} %", t * 100.0)),
                meets_mark(i),
            ));
        }
        let u = &self.total.indicators.unknown;
        out.push_str(&format!(
            "unknown (not recorded, left out of the rates): digitised {}, electronic result {}, payment {}, delay reason {}\n",
            u.digitised, u.electronic_result, u.payment, u.delay_reason
        ));
        if !self.rows.is_empty() {
            out.push_str("\npoints per row\n");
            let scored: Vec<&str> = INDICATORS
                .iter()
                .copied()
                .filter(|k| self.total.indicators.get(k).is_some_and(|i| i.max_points.is_some()))
                .collect();
            out.push_str(&format!("{:<16}", "key"));
            for k in &scored {
                out.push_str(&format!(" {:>12}", short(k)));
            }
            out.push('\n');
            for r in &self.rows {
                out.push_str(&format!("{:<16}", r.key));
                for k in &scored {
                    let cell = r
                        .indicators
                        .get(k)
                        .map_or_else(String::new, |i| format!("{}{}", points_text(i), meets_mark(i)));
                    out.push_str(&format!(" {cell:>12}"));
                }
                out.push('\n');
            }
        }
        out
    }
}

/// A short column heading for the table of points.
fn short(key: &str) -> &str {
    key.rsplit_once('_').filter(|(_, n)| n.chars().all(|c| c.is_ascii_digit())).map_or(key, |_| key)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}
