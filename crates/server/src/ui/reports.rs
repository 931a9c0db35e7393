//! The report (on-time figures by agency, procedure or month, with its CSV), the inspector's
//! watch list (with its CSV), the audit log and the audit of reads of citizens' personal data.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use motcua_store::StaffStore;
use serde::Deserialize;

use super::common::{Ui, agency_name, encode};
use crate::i18n::Tr;
use crate::page::{Page, error_page, html};
use crate::perm;
use crate::problem::{Problem, ProblemKind};
use crate::report::{ReportParams, WatchParams, build_report, build_watchlist};
use crate::shared::{csv_response, local};
use crate::state::AppState;
use motcua_core::watchlist::WatchKind;

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
    /// The successor view is on.
    as_successors: bool,
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
                as_successors: false,
                rows: vec![],
                total: report_row("total", "", &Default::default()),
                csv_link: String::new(),
                error: crate::messages::problem_text(&e, tr, Some(&state.domain)),
            };
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(e) => return error_page(tr, &e),
    };
    if p.format.as_deref() == Some("csv") {
        return csv_response(&format!("motcua-report-{}-{}.csv", r.from, r.to), r.to_spreadsheet_csv(tr.lang.core()));
    }
    let by = match r.by {
        motcua_store::report::GroupBy::Agency => "agency",
        motcua_store::report::GroupBy::Procedure => "procedure",
        motcua_store::report::GroupBy::Month => "month",
    };
    let agency = p.agency.clone().unwrap_or_default();
    let successors = if r.as_successors.is_some() { "&as_successors=true" } else { "" };
    let csv_link =
        format!("/report?from={}&to={}&by={by}&agency={}{successors}&format=csv", r.from, r.to, encode(&agency));
    // Under successors, the agencies of the report's day; else every agency, ceased ones too
    // (their history is reported as it was).
    let agencies: Vec<(String, String)> = match r.as_successors {
        Some(day) => state.domain.catalog.agencies_in_force(day).collect::<Vec<_>>(),
        None => state.domain.catalog.agencies().collect(),
    }
    .into_iter()
    .map(|a| (a.code.to_string(), agency_name(&state, tr, &a.code)))
    .collect();
    let page = ReportPage {
        page: Page::staff(tr, tr.t("report"), "/report", &ui.who),
        from: r.from.to_string(),
        to: r.to.to_string(),
        by: by.to_string(),
        agency,
        agencies,
        as_successors: r.as_successors.is_some(),
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

    /// The event's name in the page's language.
    fn event(&self, kind: &str) -> String {
        crate::messages::event_name(kind, self.page.tr)
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
    match state.store.audit(q.before, perm::oversight_scope(&ui.who.staff), 200).await {
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

    /// What the read was, in the page's language: the dossier's page, one of its papers, the
    /// search, or the API's answers; the route itself if it is none of these.
    fn what(&self, route: &str) -> String {
        let tr = self.page.tr;
        if let Some(kind) = route.strip_prefix("GET /dossiers/{code}/forms/")
            && let Ok(kind) = kind.parse::<motcua_core::forms::FormKind>()
        {
            let rules = motcua_core::forms::RuleSet::Circular03of2025;
            let title = if tr.en() { kind.title_en(rules) } else { kind.title_vi(rules) };
            return format!("{}: {title}", tr.t("read_paper"));
        }
        let key = match route {
            "GET /dossiers/{code}" => "read_dossier_page",
            "GET /tim-kiem" => "read_search_page",
            "GET /api/v1/dossiers/{code}" => "read_dossier_api",
            "GET /api/v1/dossiers/{code}/events" => "read_events_api",
            "GET /api/v1/dossiers (search)" => "read_search_api",
            "GET /petitions/{petition}" => "read_petition_page",
            "GET /api/v1/petitions/{petition}" => "read_petition_api",
            other => return other.to_string(),
        };
        tr.t(key).to_string()
    }

    /// The personal data fields shown, named in the page's language.
    fn fields(&self, fields: &[String]) -> String {
        let tr = self.page.tr;
        let names: Vec<&str> =
            fields.iter().map(|f| if f == "name" { tr.t("applicant_name") } else { tr.t(f.as_str()) }).collect();
        names.join(", ")
    }
}

/// The recorded reads of citizens' personal data, newest first (chair, inspector,
/// administrator; an inspector with agencies: the reads of their dossiers).
pub async fn personal_data_reads(State(state): State<AppState>, ui: Ui, Query(q): Query<AuditQuery>) -> Response {
    if !perm::may_audit(ui.who.staff.role) {
        return error_page(ui.tr, &Problem::forbidden("the audit log is for chairs, inspectors and administrators"));
    }
    match state.store.personal_data_reads(q.before, perm::oversight_scope(&ui.who.staff), 200).await {
        Ok(rows) => {
            let next = if rows.len() == 200 { rows.last().map(|r| r.id) } else { None };
            let page = Page::staff(ui.tr, ui.tr.t("personal_data_reads"), "/audit/reads", &ui.who);
            html(StatusCode::OK, &ReadsPage { page, rows, next })
        }
        Err(e) => error_page(ui.tr, &e.into()),
    }
}

/// The watch list's filters as the page takes them, with the cell whose dossiers to list.
#[derive(Debug, Default, Deserialize)]
pub struct WatchPageQuery {
    #[serde(flatten)]
    params: WatchParams,
    /// The row (agency code or officer; none: the total) and the kind of the cell whose
    /// dossiers are listed, a page at a time (`page`, as text: the query is flattened).
    key: Option<String>,
    kind: Option<String>,
    page: Option<String>,
}

/// A count and, when it is not zero, the link to its dossiers.
#[derive(Debug, Clone)]
struct CountVm {
    count: u64,
    link: String,
}

#[derive(Debug, Clone)]
struct WatchRowVm {
    label: String,
    sub: String,
    flagged: u64,
    cells: Vec<CountVm>,
    backdated: CountVm,
    handoffs: u64,
    average: i64,
    max: i64,
}

/// A column heading: its label, the link that sorts by it, whether the rows are sorted by it.
#[derive(Debug, Clone)]
struct HeadVm {
    label: String,
    title: String,
    link: String,
    on: bool,
}

/// A count listed under the table, with the link to its dossiers (empty when none).
#[derive(Debug, Clone)]
struct CodesVm {
    label: String,
    count: u64,
    link: String,
}

/// The dossiers of the count whose link was followed: one page of them, read on demand.
struct DetailVm {
    label: String,
    count: u64,
    codes: Vec<String>,
    pager: super::find::Pager,
}

#[derive(Template)]
#[template(path = "watchlist.html")]
struct WatchPage {
    page: Page,
    from: String,
    to: String,
    by: String,
    agency: String,
    as_of: String,
    /// The whole city's list may be asked for (not by an inspector with agencies).
    city: bool,
    agencies: Vec<(String, String)>,
    heads: Vec<HeadVm>,
    key_head: HeadVm,
    rows: Vec<WatchRowVm>,
    total: WatchRowVm,
    late: Vec<CodesVm>,
    waits: Vec<(String, String, u64, i64, i64, CodesVm)>,
    twice: CodesVm,
    detail: Option<DetailVm>,
    glossary: Vec<(String, String)>,
    csv_link: String,
    error: String,
}

/// The inspector's watch list page (chair, inspector, administrator): rows sortable by any
/// count (`sort=`), each count a link to its dossiers, a CSV download.
pub async fn watchlist(State(state): State<AppState>, ui: Ui, Query(q): Query<WatchPageQuery>) -> Response {
    let tr = ui.tr;
    if !perm::may_audit(ui.who.staff.role) {
        return error_page(tr, &Problem::forbidden("the watch list is for chairs, inspectors and administrators"));
    }
    let p = &q.params;
    let page = Page::staff(tr, tr.t("watchlist"), "/watchlist", &ui.who);
    let within = perm::oversight_scope(&ui.who.staff);
    let city = within.is_none();
    let agencies: Vec<(String, String)> = state
        .domain
        .catalog
        .agencies()
        .filter(|a| within.is_none_or(|w| w.contains(&a.code)))
        .map(|a| (a.code.to_string(), agency_name(&state, tr, &a.code)))
        .collect();
    let list = match build_watchlist(&state, p, within).await {
        Ok(l) => l,
        Err(e) if e.kind == ProblemKind::InvalidInput || e.kind == ProblemKind::UnknownAgency => {
            let empty = WatchRowVm {
                label: String::new(),
                sub: String::new(),
                flagged: 0,
                cells: Vec::new(),
                backdated: CountVm { count: 0, link: String::new() },
                handoffs: 0,
                average: 0,
                max: 0,
            };
            let page = WatchPage {
                page,
                from: p.from.clone().unwrap_or_default(),
                to: p.to.clone().unwrap_or_default(),
                by: p.by.clone().unwrap_or_default(),
                agency: p.agency.clone().unwrap_or_default(),
                as_of: p.as_of.clone().unwrap_or_default(),
                city,
                agencies,
                heads: Vec::new(),
                key_head: HeadVm { label: String::new(), title: String::new(), link: String::new(), on: false },
                rows: Vec::new(),
                total: empty,
                late: Vec::new(),
                waits: Vec::new(),
                twice: CodesVm { label: String::new(), count: 0, link: String::new() },
                detail: None,
                glossary: Vec::new(),
                csv_link: String::new(),
                error: crate::messages::problem_text(&e, tr, Some(&state.domain)),
            };
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(e) => return error_page(tr, &e),
    };
    let agency = list.agency.as_ref().map(ToString::to_string).unwrap_or_default();
    let as_of_given = p.as_of.as_deref().map(str::trim).unwrap_or("");
    let mut base =
        format!("/watchlist?from={}&to={}&by={}&agency={}", list.from, list.to, list.by.name(), encode(&agency));
    if !as_of_given.is_empty() {
        base.push_str(&format!("&as_of={}", encode(as_of_given)));
    }
    if tr.en() {
        base.push_str("&lang=en");
    }
    if p.format.as_deref() == Some("csv") {
        let lang = crate::i18n::Lang::parse(p.lang.as_deref().unwrap_or("")).unwrap_or(tr.lang).core();
        let name = format!("motcua-watchlist-{}-{}.csv", list.from, list.to);
        return csv_response(&name, motcua_store::watchlist::to_csv(&list, lang));
    }
    let sorted = format!("{base}&sort={}", encode(&list.sort));
    let officers = list.by == motcua_core::watchlist::WatchBy::Officer;
    let head = |column: &str, label: &str| HeadVm {
        label: label.to_string(),
        title: tr.t("wl_sorted").to_string(),
        link: format!("{base}&sort={column}"),
        on: list.sort == column,
    };
    let lang = tr.lang.core();
    let mut heads = vec![head("flagged", tr.t("wl_flagged"))];
    for k in WatchKind::ALL {
        heads.push(head(k.name(), if tr.en() { k.label_en() } else { k.label_vi() }));
    }
    heads.push(head("backdated", tr.t("wl_backdated")));
    heads.push(head("handoffs", tr.t("wl_handoffs")));
    heads.push(head("handoff_average", tr.t("wl_handoff_average")));
    heads.push(head("handoff_max", tr.t("wl_handoff_max")));
    let key_head = head("key", if officers { tr.t("by_officer") } else { tr.t("agency") });
    // The link behind a count: this page, grouped `by`, with the cell's kind and key.
    let drill = |by: &str, key: Option<&str>, kind: WatchKind| {
        let mut link = format!("/watchlist?from={}&to={}&by={by}&agency={}", list.from, list.to, encode(&agency));
        if !as_of_given.is_empty() {
            link.push_str(&format!("&as_of={}", encode(as_of_given)));
        }
        if tr.en() {
            link.push_str("&lang=en");
        }
        if let Some(k) = key {
            link.push_str(&format!("&key={}", encode(k)));
        }
        format!("{link}&kind={}#dossiers", kind.name())
    };
    let codes_vm = |label: String, cell: &motcua_core::watchlist::Cell, link: String| CodesVm {
        label,
        count: cell.count,
        link: if cell.count == 0 { String::new() } else { link },
    };
    let unknown = |o: &Option<String>| o.clone().unwrap_or_else(|| tr.t("wl_unknown").to_string());
    let detail = match q.kind.as_deref().and_then(WatchKind::parse) {
        Some(kind) => {
            let page_no = q.page.as_deref().and_then(|s| s.trim().parse::<u32>().ok());
            let dp = crate::report::WatchDossiersParams {
                from: Some(list.from.to_string()),
                to: Some(list.to.to_string()),
                by: Some(list.by.name().to_string()),
                agency: list.agency.as_ref().map(ToString::to_string),
                as_of: p.as_of.clone(),
                signal: Some(kind.name().to_string()),
                key: q.key.clone(),
                page: page_no,
                ..Default::default()
            };
            match crate::report::build_watch_dossiers(&state, &dp, within).await {
                Ok(d) => {
                    let who = match q.key.as_deref() {
                        None => tr.t("total").to_string(),
                        Some("") => tr.t("wl_unknown").to_string(),
                        Some(k) if officers => k.to_string(),
                        Some(k) => match k.parse() {
                            Ok(code) => format!("{} {k}", agency_name(&state, tr, &code)),
                            Err(_) => k.to_string(),
                        },
                    };
                    let what = if tr.en() { kind.label_en() } else { kind.label_vi() };
                    let (from, to, by) = (list.from.to_string(), list.to.to_string(), list.by.name());
                    let params = [
                        ("from", from.as_str()),
                        ("to", to.as_str()),
                        ("by", by),
                        ("agency", agency.as_str()),
                        ("as_of", as_of_given),
                        ("lang", if tr.en() { "en" } else { "" }),
                        ("kind", kind.name()),
                    ];
                    let mut pager = super::find::pager(tr, "/watchlist", &params, &d.place);
                    // A key may be empty (the unknown officer), which the pager would leave out.
                    if let Some(k) = q.key.as_deref() {
                        for l in [&mut pager.previous, &mut pager.next].into_iter().flatten() {
                            l.push_str(&format!("&key={}#dossiers", encode(k)));
                        }
                    }
                    Some(DetailVm {
                        label: format!("{what} — {who}"),
                        count: d.place.total,
                        codes: d.dossiers.iter().map(ToString::to_string).collect(),
                        pager,
                    })
                }
                Err(e) => return error_page(tr, &e),
            }
        }
        None => None,
    };
    let page = WatchPage {
        page,
        from: list.from.to_string(),
        to: list.to.to_string(),
        by: list.by.name().to_string(),
        agency: agency.clone(),
        as_of: as_of_given.to_string(),
        city,
        agencies,
        heads,
        key_head,
        rows: list.rows.iter().map(|r| row_vm(&state, tr, r, &sorted, officers, &list)).collect(),
        total: row_vm(&state, tr, &list.total, "", false, &list),
        late: list
            .late_officers
            .iter()
            .map(|o| {
                let link = drill("officer", Some(o.officer.as_deref().unwrap_or("")), WatchKind::Late);
                codes_vm(unknown(&o.officer), &o.late, link)
            })
            .collect(),
        waits: list
            .handoff_waits
            .iter()
            .map(|w| {
                let name = agency_name(&state, tr, &w.agency);
                (
                    name,
                    w.agency.to_string(),
                    w.handoffs,
                    w.average_minutes,
                    w.max_minutes,
                    codes_vm(String::new(), &w.slow, drill("agency", Some(w.agency.as_str()), WatchKind::SlowHandoff)),
                )
            })
            .collect(),
        twice: codes_vm(
            tr.t("wl_supplements_twice").to_string(),
            &list.supplements_twice,
            drill(list.by.name(), None, WatchKind::SecondSupplement),
        ),
        detail,
        glossary: WatchKind::ALL
            .iter()
            .map(|k| ((if tr.en() { k.label_en() } else { k.label_vi() }).to_string(), k.describe(lang).to_string()))
            .collect(),
        csv_link: format!("{base}&sort={}&format=csv", encode(&list.sort)),
        error: String::new(),
    };
    html(StatusCode::OK, &page)
}

/// A row of the page: its counts, each linked to its dossiers (`link` is the page's own
/// address; empty for the total).
fn row_vm(
    state: &AppState,
    tr: Tr,
    r: &motcua_core::watchlist::WatchRow,
    link: &str,
    officers: bool,
    list: &motcua_core::watchlist::WatchList,
) -> WatchRowVm {
    let cell = |kind: WatchKind| {
        let count = r.cell(kind).count;
        let link = if count == 0 || link.is_empty() {
            String::new()
        } else {
            format!("{link}&key={}&kind={}#dossiers", encode(&r.key), kind.name())
        };
        CountVm { count, link }
    };
    let (label, sub) = if link.is_empty() {
        (tr.t("total").to_string(), String::new())
    } else if officers {
        (if r.key.is_empty() { tr.t("wl_unknown").to_string() } else { r.key.clone() }, String::new())
    } else {
        match r.key.parse() {
            Ok(code) => (agency_name(state, tr, &code), r.key.clone()),
            Err(_) => (r.key.clone(), String::new()),
        }
    };
    // An officer's backdated events are listed by the backdating report, for the same days.
    let backdated_link = if officers && !r.key.is_empty() && r.backdated.events > 0 && !link.is_empty() {
        format!("/api/v1/backdated?from={}&to={}&by={}", list.from, list.to, encode(&r.key))
    } else {
        String::new()
    };
    WatchRowVm {
        label,
        sub,
        flagged: r.flagged(),
        cells: WatchKind::ALL.iter().map(|k| cell(*k)).collect(),
        backdated: CountVm { count: r.backdated.events, link: backdated_link },
        handoffs: r.handoffs.handoffs,
        average: r.handoffs.average_minutes(),
        max: r.handoffs.max_minutes,
    }
}
