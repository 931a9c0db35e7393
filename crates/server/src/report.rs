//! The report behind `GET /api/v1/report` and the desk's report page: the filters as given,
//! checked, and the store's read model narrowed to one agency if asked.

use chrono::{Datelike, NaiveDate};
use motcua_core::calendar::to_local;
use motcua_store::report::{GroupBy, Report, ReportQuery, report};
use serde::Deserialize;

use crate::problem::Problem;
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
}

/// The report for the filters: the store's read model, rows narrowed to one agency if asked.
pub async fn build_report(state: &AppState, p: &ReportParams) -> Result<Report, Problem> {
    let as_of = as_of(state, p.as_of.as_deref())?;
    let today = to_local(as_of).date();
    let date = |s: &Option<String>, default: NaiveDate| -> Result<NaiveDate, Problem> {
        match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| Problem::invalid(format!("invalid date {s:?}: expected YYYY-MM-DD"))),
            None => Ok(default),
        }
    };
    let to = date(&p.to, today)?;
    let from = date(&p.from, NaiveDate::from_ymd_opt(to.year(), to.month(), 1).unwrap_or(to))?;
    if from > to {
        return Err(Problem::invalid(format!("from {from} is after to {to}")));
    }
    if (to - from).num_days() > 3 * 366 {
        return Err(Problem::invalid("a report covers at most three years"));
    }
    let by: GroupBy = match p.by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(b) => b.parse().map_err(Problem::invalid)?,
        None => GroupBy::Agency,
    };
    let mut r = report(&state.store, &state.domain, &ReportQuery { from, to, by, as_of }).await?;
    if let Some(a) = p.agency.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        if by != GroupBy::Agency {
            return Err(Problem::invalid("the agency filter applies to reports by agency"));
        }
        r.rows.retain(|row| row.key == a);
        r.total = r.rows.iter().fold(Default::default(), |mut t, row| {
            t += row.counts;
            t
        });
    }
    Ok(r)
}
