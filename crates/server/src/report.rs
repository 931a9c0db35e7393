//! The report behind `GET /api/v1/report` and the desk's report page: the filters as given,
//! checked, and the store's read model narrowed to one agency if asked; the backdating report
//! and the inspector's watch list likewise.

use chrono::{Datelike, NaiveDate};
use motcua_core::AgencyCode;
use motcua_core::backdate::BackdatingReport;
use motcua_core::calendar::{from_local, to_local};
use motcua_core::watchlist::{SORT_COLUMNS, WatchBy, WatchCellRef, WatchKind, WatchList, WatchQuery};
use motcua_store::report::{GroupBy, Report, ReportQuery, report};
use motcua_store::watchlist::{dossiers as watch_dossiers, watchlist};
use motcua_store::{StaffStore, Store};
use serde::{Deserialize, Serialize};

use crate::problem::{Cause, Problem};
use crate::shared::as_of;
use crate::state::AppState;

/// Report filters (API and page).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub agency: Option<String>,
    pub as_of: Option<String>,
    pub format: Option<String>,
    /// `true`: count a ceased agency's dossiers under its successor of the as-of day.
    pub as_successors: Option<String>,
    /// `true`: the hall-wait report instead ("hall wait + processing" per group).
    pub hall_wait: Option<String>,
}

/// A period of local days, `from..=to`: by default this month up to `today`; at most three
/// years.
fn period(from: &Option<String>, to: &Option<String>, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), Problem> {
    let date = |s: &Option<String>, default: NaiveDate| -> Result<NaiveDate, Problem> {
        match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                Problem::invalid(format!("invalid date {s:?}: expected YYYY-MM-DD"))
                    .because(Cause::InvalidDate(s.to_string()))
            }),
            None => Ok(default),
        }
    };
    let to = date(to, today)?;
    let from = date(from, NaiveDate::from_ymd_opt(to.year(), to.month(), 1).unwrap_or(to))?;
    if from > to {
        return Err(
            Problem::invalid(format!("from {from} is after to {to}")).because(Cause::PeriodReversed { from, to })
        );
    }
    if (to - from).num_days() > 3 * 366 {
        return Err(
            Problem::invalid("a report covers at most three years").because(Cause::Words("err_period_too_long"))
        );
    }
    Ok((from, to))
}

/// `as_successors`: `true`, `on` or `1` (a checkbox) is yes; absent, empty, `false`, `off` or `0` no.
fn flag(name: &str, s: &Option<String>) -> Result<bool, Problem> {
    match s.as_deref().map(str::trim).unwrap_or("") {
        "true" | "on" | "1" => Ok(true),
        "" | "false" | "off" | "0" => Ok(false),
        other => Err(Problem::invalid(format!("{name} {other:?}: expected true or false"))),
    }
}

/// The report for the filters: the store's read model, narrowed to one agency if asked (in
/// every grouping), under the agencies as they were or their successors.
pub async fn build_report(state: &AppState, p: &ReportParams) -> Result<Report, Problem> {
    let q = report_query(state, p)?;
    Ok(report(&state.store, &state.domain, &q).await?)
}

/// `GET /api/v1/report?hall_wait=true`: the citizen's whole time per group, with the same
/// filters as the report (the same computation as `motcua report --hall-wait`).
pub async fn build_hall_wait(
    state: &AppState,
    p: &ReportParams,
) -> Result<Option<motcua_store::report::HallWaitReport>, Problem> {
    if !flag("hall_wait", &p.hall_wait)? {
        return Ok(None);
    }
    let q = report_query(state, p)?;
    Ok(Some(motcua_store::report::hall_wait(&state.store, &state.domain, &q).await?))
}

/// The report's query from its parameters.
fn report_query(state: &AppState, p: &ReportParams) -> Result<ReportQuery, Problem> {
    let as_of = as_of(state, p.as_of.as_deref())?;
    let today = to_local(as_of).date();
    let (from, to) = period(&p.from, &p.to, today)?;
    let by: GroupBy = match p.by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(b) => b.parse().map_err(|e: String| Problem::invalid(e).because(Cause::Words("err_report_by")))?,
        None => GroupBy::Agency,
    };
    let mut q = ReportQuery::new(from, to, by, as_of);
    q.as_successors = flag("as_successors", &p.as_successors)?;
    if let Some(a) = p.agency.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        let code: AgencyCode = a.parse().map_err(|e| Problem::invalid(format!("agency {a:?}: {e}")))?;
        state.domain.agency(&code)?;
        q.agency = Some(code);
    }
    q.check(&state.domain).map_err(|e| Problem::invalid(e).because(Cause::Words("err_agency_ceased_successor")))?;
    Ok(q)
}

/// Filters of the chair's scorecard (`GET /api/v1/scorecard`, the `/scorecard` page).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScoreParams {
    pub from: Option<String>,
    pub to: Option<String>,
    /// agency (default) or month.
    pub by: Option<String>,
    pub agency: Option<String>,
    pub as_of: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
    /// `true`: count a ceased agency's history under its successor of the as-of day.
    pub as_successors: Option<String>,
    /// The page: an indicator to sort the rows by (best first), or `key`.
    pub sort: Option<String>,
    pub lang: Option<String>,
}

/// The scorecard for the filters, read from the sums the write path keeps.
pub async fn build_scorecard(state: &AppState, p: &ScoreParams) -> Result<motcua_store::scorecard::Scorecard, Problem> {
    let as_of = as_of(state, p.as_of.as_deref())?;
    let today = to_local(as_of).date();
    let (from, to) = period(&p.from, &p.to, today)?;
    let by = match p.by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(b) => b.parse().map_err(|e: String| Problem::invalid(e))?,
        None => motcua_core::scorecard::ScoreBy::Agency,
    };
    let mut q = motcua_store::scorecard::ScoreQuery::new(from, to, by, as_of);
    q.as_successors = flag("as_successors", &p.as_successors)?;
    if let Some(a) = p.agency.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        let code: AgencyCode = a.parse().map_err(|e| Problem::invalid(format!("agency {a:?}: {e}")))?;
        state.domain.agency(&code)?;
        q.agency = Some(code);
    }
    q.check(&state.domain).map_err(|e| Problem::invalid(e).because(Cause::Words("err_agency_ceased_successor")))?;
    Ok(motcua_store::scorecard::scorecard(&state.store, &state.domain, &q).await?)
}

/// Filters of the backdating report (`GET /api/v1/backdated`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BackdatedParams {
    /// First and last local day on which the events were recorded (default: this month).
    pub from: Option<String>,
    pub to: Option<String>,
    /// One officer's events only.
    pub by: Option<String>,
    /// At most this many events (default 1,000, at most 10,000).
    pub limit: Option<u32>,
}

/// The backdating report with its period.
#[derive(Debug, Clone, Serialize)]
pub struct Backdated {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// More events were recorded in the period than `limit`: the lists are cut.
    pub truncated: bool,
    #[serde(flatten)]
    pub report: BackdatingReport,
}

/// Backdated events recorded in the period, read from the log by their recorded instant; the
/// gaps are core's working time, judged against the server's window. With `within` (an
/// inspector's agencies), only the events of dossiers one of them received or held.
pub async fn build_backdated(
    state: &AppState,
    p: &BackdatedParams,
    within: Option<&[AgencyCode]>,
) -> Result<Backdated, Problem> {
    let today = to_local(state.now()).date();
    let (from, to) = period(&p.from, &p.to, today)?;
    let limit = p.limit.unwrap_or(1_000).clamp(1, 10_000);
    let start = from_local(from.and_time(chrono::NaiveTime::MIN));
    let end = from_local(to.succ_opt().unwrap_or(to).and_time(chrono::NaiveTime::MIN));
    let by = p.by.as_deref().map(str::trim).filter(|b| !b.is_empty());
    let mut rows = state.store.backdated_events(start, end, by, limit).await?;
    let truncated = rows.len() >= limit as usize;
    if let Some(agencies) = within {
        let mut held: std::collections::HashMap<motcua_core::DossierCode, bool> = std::collections::HashMap::new();
        let mut kept = Vec::with_capacity(rows.len());
        for r in rows {
            let ours = match held.get(&r.code) {
                Some(ours) => *ours,
                None => {
                    let by = state.store.agencies_that_held(&r.code).await?;
                    let ours = by.iter().any(|a| agencies.contains(a));
                    held.insert(r.code.clone(), ours);
                    ours
                }
            };
            if ours {
                kept.push(r);
            }
        }
        rows = kept;
    }
    let report = BackdatingReport::build(
        &state.domain,
        state.config.backdate_window,
        rows.iter().map(|r| (&r.code, r.seq, &r.event, r.recorded_at)),
    );
    Ok(Backdated { from, to, truncated, report })
}

/// Filters of the watch list (`GET /api/v1/watchlist`, the `/watchlist` page).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WatchParams {
    pub from: Option<String>,
    pub to: Option<String>,
    /// agency (default) or officer.
    pub by: Option<String>,
    pub agency: Option<String>,
    pub as_of: Option<String>,
    pub format: Option<String>,
    /// A column to sort the rows by (largest first), or `key`.
    pub sort: Option<String>,
    /// vi (default) or en: the CSV's headings.
    pub lang: Option<String>,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The watch list for the filters, read from the aggregates the write path keeps. With
/// `within` (an inspector's agencies), the list of one of them: the one named, else the first.
pub async fn build_watchlist(
    state: &AppState,
    p: &WatchParams,
    within: Option<&[AgencyCode]>,
) -> Result<WatchList, Problem> {
    let q = watch_query(state, p, within)?;
    let mut list = watchlist(&state.store, &state.domain, &q).await?;
    if let Some(column) = given(&p.sort)
        && !list.sort_by(column)
    {
        return Err(Problem::invalid(format!(
            "unknown sort column {column:?}: expected key or one of {}",
            SORT_COLUMNS.join(", ")
        ))
        .because(Cause::Words("err_sort_column")));
    }
    Ok(list)
}

/// The drill-down behind one count of the watch list: the filters of the list, the kind
/// (`signal`) and the row's key (none: the total), and the page.
/// (Fields as [`WatchParams`], not flattened: a flattened query string reads numbers as text.)
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WatchDossiersParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub agency: Option<String>,
    pub as_of: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
    /// vi (default) or en: the CSV's heading.
    pub lang: Option<String>,
    pub signal: Option<String>,
    /// An agency's code (`by=agency`) or an officer's account (`by=officer`, empty: unknown).
    pub key: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// One page of the dossiers behind a count.
#[derive(Debug, Clone, Serialize)]
pub struct WatchDossiers {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: String,
    pub by: WatchBy,
    pub agency: Option<AgencyCode>,
    pub signal: WatchKind,
    pub key: Option<String>,
    #[serde(flatten)]
    pub place: crate::views::Place,
    pub dossiers: Vec<motcua_core::DossierCode>,
}

/// One page of the dossiers behind a count of the list the same filters give (the inspector's
/// scope as [`build_watchlist`]); an unknown or missing `signal` is a 422.
pub async fn build_watch_dossiers(
    state: &AppState,
    p: &WatchDossiersParams,
    within: Option<&[AgencyCode]>,
) -> Result<WatchDossiers, Problem> {
    let kinds = || WatchKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
    let signal = match given(&p.signal) {
        Some(s) => WatchKind::parse(s)
            .ok_or_else(|| Problem::invalid(format!("unknown signal {s:?}: expected one of {}", kinds())))?,
        None => return Err(Problem::invalid(format!("signal is required: one of {}", kinds()))),
    };
    let list = WatchParams {
        from: p.from.clone(),
        to: p.to.clone(),
        by: p.by.clone(),
        agency: p.agency.clone(),
        as_of: p.as_of.clone(),
        ..WatchParams::default()
    };
    let q = watch_query(state, &list, within)?;
    let paging = crate::views::Paging::new(p.page, p.per_page);
    let cell = WatchCellRef { kind: signal, key: p.key.clone() };
    let page = watch_dossiers(&state.store, &q, &cell, paging.window()).await?;
    Ok(WatchDossiers {
        from: q.from,
        to: q.to,
        as_of: motcua_core::calendar::at_vn(q.as_of).to_rfc3339(),
        by: q.by,
        agency: q.agency,
        signal,
        key: cell.key,
        place: paging.place(page.rows.len(), page.total),
        dossiers: page.rows,
    })
}

/// The watch list's query for the filters (the inspector's scope as [`build_watchlist`]).
fn watch_query(state: &AppState, p: &WatchParams, within: Option<&[AgencyCode]>) -> Result<WatchQuery, Problem> {
    let as_of = as_of(state, p.as_of.as_deref())?;
    let (from, to) = period(&p.from, &p.to, to_local(as_of).date())?;
    let by: WatchBy = match given(&p.by) {
        Some(b) => b.parse().map_err(|e: String| Problem::invalid(e).because(Cause::Words("err_watch_by")))?,
        None => WatchBy::Agency,
    };
    let agency = match given(&p.agency) {
        Some(a) => {
            let code: AgencyCode = a.parse().map_err(|e| Problem::invalid(format!("agency {a:?}: {e}")))?;
            state.domain.agency(&code)?;
            if within.is_some_and(|w| !w.contains(&code)) {
                return Err(Problem::forbidden(format!("{code} is not an agency of this inspector")));
            }
            Some(code)
        }
        None => within.and_then(|w| w.first().cloned()),
    };
    let q = WatchQuery { from, to, as_of, by, agency };
    if !q.is_valid() {
        return Err(Problem::invalid("the period's days must be of the years 1 to 9999")
            .because(Cause::Words("err_period_years")));
    }
    Ok(q)
}
