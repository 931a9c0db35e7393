//! The chair's scorecard page (chair, head of agency, inspector): one card per indicator with
//! its value, points, target and ✓/✗, a 12-month trend line per indicator drawn as SVG on the
//! server, the rows per agency sortable by any indicator (server-side links), a CSV download.
//! The figures are the store's scorecard, the same as `motcua scorecard` and the API.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use motcua_core::scorecard::{INDICATORS, Indicator, ScoreBy};
use motcua_store::scorecard::{ScoreQuery, meets_mark, points_text, scorecard, value_text};

use super::common::{Ui, encode};
use crate::page::{Page, error_page, html};
use crate::perm;
use crate::problem::Problem;
use crate::report::{ScoreParams, build_scorecard};
use crate::shared::csv_response;
use crate::state::AppState;

struct CardVm {
    key: &'static str,
    value: String,
    points: String,
    max_points: String,
    target: String,
    mark: &'static str,
    counts: String,
    /// The trend's polyline points (`x,y …`) and its months.
    trend: String,
    trend_first: String,
    trend_last: String,
}

struct HeadVm {
    key: &'static str,
    link: String,
    on: bool,
}

struct RowVm {
    key: String,
    name: String,
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "scorecard.html")]
struct ScorePage {
    page: Page,
    from: String,
    to: String,
    agency: String,
    as_of: String,
    as_successors: bool,
    period: String,
    cards: Vec<CardVm>,
    heads: Vec<HeadVm>,
    rows: Vec<RowVm>,
    unknown: String,
    csv_link: String,
    key_link: String,
}

fn cell(key: &str, i: &Indicator) -> String {
    if i.max_points.is_some() { format!("{} {}", points_text(i), meets_mark(i)) } else { value_text(key, i) }
}

/// The value an indicator is sorted by (best first; none last).
fn sort_value(i: &Indicator) -> f64 {
    i.value.unwrap_or(f64::NEG_INFINITY)
}

/// A trend line of up to 12 monthly values in a 120×30 box (values 0–1; others scaled to
/// their largest).
fn polyline(values: &[Option<f64>]) -> String {
    let max = values.iter().flatten().fold(0.0_f64, |m, v| m.max(*v));
    let scale = if max > 1.0 { max } else { 1.0 };
    let step = if values.len() > 1 { 120.0 / (values.len() - 1) as f64 } else { 0.0 };
    values
        .iter()
        .enumerate()
        .filter_map(|(n, v)| v.map(|v| format!("{:.1},{:.1}", n as f64 * step, 30.0 - 30.0 * (v / scale))))
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn scorecard_page(State(state): State<AppState>, ui: Ui, Query(p): Query<ScoreParams>) -> Response {
    let tr = ui.tr;
    if !perm::may_read_scorecard(ui.who.staff.role) {
        return error_page(tr, &Problem::forbidden("the scorecard is for chairs, heads of agency and inspectors"));
    }
    let card = match build_scorecard(&state, &p).await {
        Ok(c) => c,
        Err(e) => return error_page(tr, &e),
    };
    if p.format.as_deref() == Some("csv") {
        let lang = crate::i18n::Lang::parse(p.lang.as_deref().unwrap_or("")).unwrap_or_default().core();
        return csv_response(&format!("motcua-scorecard-{}-{}.csv", card.from, card.to), card.to_spreadsheet_csv(lang));
    }
    // The trend: the twelve months up to the period's last, as of the same instant.
    let last = card.to;
    let first = NaiveDate::from_ymd_opt(last.year() - 1, last.month(), 1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .unwrap_or(last);
    // Each month cut at the scorecard's own end instant (the period's end, or its as-of).
    let trend_q = ScoreQuery {
        agency: card.agency.clone(),
        as_successors: card.as_successors.is_some(),
        ..ScoreQuery::new(first, last, ScoreBy::Month, card.p1)
    };
    let months = match scorecard(&state.store, &state.domain, &trend_q).await {
        Ok(m) => m.rows,
        Err(e) => return error_page(tr, &Problem::from(e)),
    };
    let agency = card.agency.as_ref().map(ToString::to_string).unwrap_or_default();
    let as_of = p.as_of.clone().unwrap_or_default();
    let base = format!(
        "/scorecard?from={}&to={}&agency={}{}{}",
        card.from,
        card.to,
        encode(&agency),
        if as_of.is_empty() { String::new() } else { format!("&as_of={}", encode(&as_of)) },
        if card.as_successors.is_some() { "&as_successors=true" } else { "" }
    );
    let cards = card
        .total
        .indicators
        .list
        .iter()
        .map(|(k, i)| {
            let values: Vec<Option<f64>> = months.iter().map(|m| m.indicators.get(k).and_then(|x| x.value)).collect();
            CardVm {
                key: k,
                value: value_text(k, i),
                points: points_text(i),
                max_points: i.max_points.map_or_else(|| "–".into(), |m| format!("{m:.0}")),
                target: i.target.map_or_else(|| "–".into(), |t| format!("≥ {:.0} %", t * 100.0)),
                mark: meets_mark(i),
                counts: format!("{} / {}", i.numerator, i.denominator),
                trend: polyline(&values),
                trend_first: months.first().map(|m| m.key.clone()).unwrap_or_default(),
                trend_last: months.last().map(|m| m.key.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let sort = p.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("key");
    let mut rows = card.rows.clone();
    if let Some(k) = INDICATORS.iter().find(|k| **k == sort) {
        rows.sort_by(|a, b| {
            let (x, y) = (
                a.indicators.get(k).map_or(f64::NEG_INFINITY, sort_value),
                b.indicators.get(k).map_or(f64::NEG_INFINITY, sort_value),
            );
            y.total_cmp(&x).then_with(|| a.key.cmp(&b.key))
        });
    }
    let heads =
        INDICATORS.iter().map(|k| HeadVm { key: k, link: format!("{base}&sort={k}"), on: *k == sort }).collect();
    let rows = rows
        .iter()
        .map(|r| RowVm {
            key: r.key.clone(),
            name: r.name.clone(),
            cells: INDICATORS.iter().map(|k| r.indicators.get(k).map_or_else(String::new, |i| cell(k, i))).collect(),
        })
        .collect();
    let u = &card.total.indicators.unknown;
    let page = ScorePage {
        page: Page::staff(tr, tr.t("scorecard"), "/scorecard", &ui.who),
        from: card.from.to_string(),
        to: card.to.to_string(),
        agency,
        as_of,
        as_successors: card.as_successors.is_some(),
        period: format!(
            "{} – {}",
            motcua_core::calendar::at_vn(card.p0).format("%d/%m/%Y %H:%M"),
            motcua_core::calendar::at_vn(card.p1).format("%d/%m/%Y %H:%M")
        ),
        cards,
        heads,
        rows,
        unknown: format!(
            "digitised {}, electronic result {}, payment {}, delay reason {}",
            u.digitised, u.electronic_result, u.payment, u.delay_reason
        ),
        csv_link: format!("{base}&format=csv"),
        key_link: format!("{base}&sort=key"),
    };
    html(StatusCode::OK, &page)
}
