//! The hall report page for the head and the chair (`/sanh/bao-cao`): a hall, a period and a
//! grouping (area, counter, officer, day); per group and in total the tickets issued by
//! channel, served, no-show, left, closed, the waiting and service times (p50, p90, max,
//! mean), the share called within the hall's waiting target and the ratings; a CSV download.
//! The figures are the store's [`motcua_store::HallReport`], the same computation as
//! `motcua hall report` and `GET /api/v1/halls/{hall}/report`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use motcua_core::hall::{HallRating, HallTally, TicketChannel};
use motcua_store::minutes_text;
use serde::Deserialize;

use super::common::{Ui, encode};
use crate::hall::{ReportQuery, hall_report, report_csv};
use crate::page::{Page, error_page, html};
use crate::perm;
use crate::problem::Problem;
use crate::state::AppState;

/// The page's query: the API's, with the hall chosen in the form.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    hall: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    format: Option<String>,
}

/// One figure of a row: its field name, the raw value (seconds for times, a ratio 0–1 for the
/// share, empty when there is none) and what the page shows.
struct CellVm {
    field: String,
    value: String,
    shown: String,
}

struct RowVm {
    key: String,
    cells: Vec<CellVm>,
}

#[derive(Template)]
#[template(path = "hall_report.html")]
struct HallReportPage {
    page: Page,
    halls: Vec<(String, String)>,
    hall: String,
    from: String,
    to: String,
    by: String,
    bys: Vec<(&'static str, &'static str)>,
    heads: Vec<String>,
    rows: Vec<RowVm>,
    total: RowVm,
    csv_link: String,
    target: String,
}

fn cells(t: &HallTally) -> Vec<CellVm> {
    let n = |field: &str, v: u64| CellVm { field: field.into(), value: v.to_string(), shown: v.to_string() };
    let time = |field: &str, v: Option<i64>| CellVm {
        field: field.into(),
        value: v.map(|x| x.to_string()).unwrap_or_default(),
        shown: minutes_text(v),
    };
    let mean = |field: &str, v: Option<f64>| CellVm {
        field: field.into(),
        value: v.map(|x| x.to_string()).unwrap_or_default(),
        shown: minutes_text(v.map(|x| x.round() as i64)),
    };
    let mut out = vec![n("issued", t.issued)];
    for c in TicketChannel::ALL {
        out.push(n(&format!("by_channel.{}", c.name()), t.by_channel.get(c.name()).copied().unwrap_or(0)));
    }
    out.extend([n("served", t.served), n("no_show", t.no_show), n("left", t.left), n("closed", t.closed)]);
    for (what, s) in [("waiting", &t.waiting), ("service", &t.service)] {
        out.push(time(&format!("{what}.p50"), s.p50));
        out.push(time(&format!("{what}.p90"), s.p90));
        out.push(time(&format!("{what}.max"), s.max));
        out.push(mean(&format!("{what}.mean"), s.mean));
    }
    out.push(n("within_target", t.within_target));
    out.push(CellVm {
        field: "within_target_ratio".into(),
        value: t.within_target_ratio.map(|x| x.to_string()).unwrap_or_default(),
        shown: t.within_target_ratio.map_or_else(|| "–".into(), |x| format!("{:.1} %", x * 100.0)),
    });
    for r in HallRating::ALL {
        out.push(n(&format!("ratings.{}", r.name()), t.ratings.get(r.name()).copied().unwrap_or(0)));
    }
    out
}

/// A query value the form sent empty is an absent one.
fn given(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

pub async fn hall_report_page(State(state): State<AppState>, ui: Ui, Query(p): Query<PageQuery>) -> Response {
    let tr = ui.tr;
    if !perm::may_read_hall_figures(ui.who.staff.role) {
        return error_page(
            tr,
            &Problem::forbidden("the hall report page is for chairs, heads of agency and inspectors"),
        );
    }
    let today = motcua_core::calendar::to_local(state.now()).date();
    let mut halls: Vec<(String, String)> = Vec::new();
    for h in state.domain.halls.halls() {
        if !halls.iter().any(|(c, _)| c == h.code.as_str()) {
            halls.push((h.code.to_string(), h.name.clone()));
        }
    }
    let Some(hall) = given(&p.hall).or_else(|| halls.first().map(|(c, _)| c.clone())) else {
        return error_page(tr, &Problem::not_found("no hall is configured"));
    };
    let q = ReportQuery {
        from: given(&p.from),
        to: given(&p.to),
        by: Some(given(&p.by).unwrap_or_else(|| "area".into())),
        format: None,
    };
    let (code, r) = match hall_report(&state, &hall, &q).await {
        Ok(x) => x,
        Err(e) => return error_page(tr, &e),
    };
    if p.format.as_deref() == Some("csv") {
        return report_csv(&code, &r);
    }
    let by = q.by.clone().unwrap_or_default();
    let mut heads = vec![tr.t("hr_issued").to_string()];
    heads.extend(TicketChannel::ALL.iter().map(|c| format!("{} {}", tr.t("hr_channel"), c.name())));
    heads.extend(["hr_served", "hr_no_show", "hr_left", "hr_closed"].iter().map(|k| tr.t(k).to_string()));
    for what in ["hr_wait", "hr_service"] {
        for stat in ["p50", "p90", "max", "mean"] {
            heads.push(format!("{} {stat}", tr.t(what)));
        }
    }
    heads.push(tr.t("hr_within").to_string());
    heads.push(tr.t("hr_within_share").to_string());
    heads.extend(
        HallRating::ALL.iter().map(|r| if tr.en() { r.name().replace('_', " ") } else { r.name_vi().to_string() }),
    );
    let target = state
        .domain
        .halls
        .hall(&code, r.to)
        .or_else(|_| state.domain.halls.hall(&code, today))
        .map_or(30, |h| h.waiting_target_minutes);
    let page = HallReportPage {
        page: Page::staff(tr, tr.t("hr_title"), "/sanh/bao-cao", &ui.who),
        halls,
        hall: code.to_string(),
        from: r.from.to_string(),
        to: r.to.to_string(),
        by: by.clone(),
        bys: vec![
            ("area", "hr_by_area"),
            ("counter", "hr_by_counter"),
            ("officer", "hr_by_officer"),
            ("day", "hr_by_day"),
            ("hall", "hr_by_hall"),
        ],
        heads,
        rows: r.rows.iter().map(|(k, t)| RowVm { key: k.clone(), cells: cells(t) }).collect(),
        total: RowVm { key: "total".into(), cells: cells(&r.total) },
        csv_link: format!(
            "/sanh/bao-cao?hall={}&from={}&to={}&by={}&format=csv",
            encode(code.as_str()),
            r.from,
            r.to,
            encode(&by)
        ),
        target: target.to_string(),
    };
    html(StatusCode::OK, &page)
}
