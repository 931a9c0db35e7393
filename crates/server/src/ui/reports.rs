//! The report (on-time figures by agency, procedure or month, with its CSV), the audit log and
//! the audit of reads of citizens' personal data.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use motcua_store::StaffStore;
use serde::Deserialize;

use super::common::{Ui, agency_name, encode};
use crate::page::{Page, error_page, html};
use crate::perm;
use crate::problem::{Problem, ProblemKind};
use crate::report::{ReportParams, build_report};
use crate::shared::{csv_response, local};
use crate::state::AppState;

#[derive(Debug, Clone)]
struct ReportRowVm {
    key: String,
    name: String,
    received: u64,
    finished: u64,
    early: u64,
    on_time: u64,
    late: u64,
    in_time: u64,
    overdue: u64,
    waiting: u64,
    rate_resolved: String,
    rate_national: String,
    score: String,
}

fn report_row(key: &str, name: &str, c: &motcua_core::Counts) -> ReportRowVm {
    ReportRowVm {
        key: key.to_string(),
        name: name.to_string(),
        received: c.received,
        finished: c.finished,
        early: c.early,
        on_time: c.on_time,
        late: c.late,
        in_time: c.in_time,
        overdue: c.overdue,
        waiting: c.waiting,
        rate_resolved: c.resolved().percent(1.0),
        rate_national: c.national.percent(1.0),
        score: format!("{:.2}", c.progress_score()),
    }
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    page: Page,
    from: String,
    to: String,
    by: String,
    agency: String,
    agencies: Vec<(String, String)>,
    rows: Vec<ReportRowVm>,
    total: ReportRowVm,
    csv_link: String,
    error: String,
}

pub async fn report(State(state): State<AppState>, ui: Ui, Query(p): Query<ReportParams>) -> Response {
    let tr = ui.tr;
    let r = match build_report(&state, &p).await {
        Ok(r) => r,
        Err(e) if e.kind == ProblemKind::InvalidInput => {
            let page = ReportPage {
                page: Page::staff(tr, tr.t("report"), "/report", &ui.who),
                from: p.from.clone().unwrap_or_default(),
                to: p.to.clone().unwrap_or_default(),
                by: p.by.clone().unwrap_or_default(),
                agency: p.agency.clone().unwrap_or_default(),
                agencies: vec![],
                rows: vec![],
                total: report_row("total", "", &Default::default()),
                csv_link: String::new(),
                error: e.detail,
            };
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(e) => return error_page(tr, &e),
    };
    if p.format.as_deref() == Some("csv") {
        return csv_response(&format!("motcua-report-{}-{}.csv", r.from, r.to), r.to_csv());
    }
    let by = match r.by {
        motcua_store::report::GroupBy::Agency => "agency",
        motcua_store::report::GroupBy::Procedure => "procedure",
        motcua_store::report::GroupBy::Month => "month",
    };
    let agency = p.agency.clone().unwrap_or_default();
    let csv_link = format!("/report?from={}&to={}&by={by}&agency={}&format=csv", r.from, r.to, encode(&agency));
    let page = ReportPage {
        page: Page::staff(tr, tr.t("report"), "/report", &ui.who),
        from: r.from.to_string(),
        to: r.to.to_string(),
        by: by.to_string(),
        agency,
        agencies: state
            .domain
            .catalog
            .agencies()
            .map(|a| (a.code.to_string(), agency_name(&state, tr, &a.code)))
            .collect(),
        rows: r.rows.iter().map(|x| report_row(&x.key, &x.name, &x.counts)).collect(),
        total: report_row(tr.t("total"), "", &r.total),
        csv_link,
        error: String::new(),
    };
    html(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    rows: Vec<motcua_store::AuditRow>,
    next: Option<i64>,
}

impl AuditPage {
    fn when(&self, t: &DateTime<Utc>) -> String {
        local(*t)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

pub async fn audit(State(state): State<AppState>, ui: Ui, Query(q): Query<AuditQuery>) -> Response {
    if !perm::may_audit(ui.who.staff.role) {
        return error_page(ui.tr, &Problem::forbidden("the audit log is for chairs, inspectors and administrators"));
    }
    match state.store.audit(q.before, 200).await {
        Ok(rows) => {
            let next = if rows.len() == 200 { rows.last().map(|r| r.id) } else { None };
            html(
                StatusCode::OK,
                &AuditPage { page: Page::staff(ui.tr, ui.tr.t("audit"), "/audit", &ui.who), rows, next },
            )
        }
        Err(e) => error_page(ui.tr, &e.into()),
    }
}

#[derive(Template)]
#[template(path = "reads.html")]
struct ReadsPage {
    page: Page,
    rows: Vec<motcua_store::PersonalDataRead>,
    next: Option<i64>,
}

impl ReadsPage {
    fn when(&self, t: &DateTime<Utc>) -> String {
        local(*t)
    }
}

/// The reads of citizens' personal data through the city-wide role, newest first (chair,
/// inspector, administrator).
pub async fn personal_data_reads(State(state): State<AppState>, ui: Ui, Query(q): Query<AuditQuery>) -> Response {
    if !perm::may_audit(ui.who.staff.role) {
        return error_page(ui.tr, &Problem::forbidden("the audit log is for chairs, inspectors and administrators"));
    }
    match state.store.personal_data_reads(q.before, 200).await {
        Ok(rows) => {
            let next = if rows.len() == 200 { rows.last().map(|r| r.id) } else { None };
            let page = Page::staff(ui.tr, ui.tr.t("personal_data_reads"), "/audit/reads", &ui.who);
            html(StatusCode::OK, &ReadsPage { page, rows, next })
        }
        Err(e) => error_page(ui.tr, &e.into()),
    }
}
