//! Finding a dossier: the staff's search (`/tim-kiem`: a code or its beginning, a name without
//! its marks, an ID number or a phone number in one box) and the desk's lists beside the work
//! queue (`/lists/sent`, `/lists/ready`, `/lists/waiting`), a page at a time with the count;
//! and the pieces the work queue's page shares with them (the tabs, the pager).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use motcua_store::{DeskList, DossierRow};
use serde::Deserialize;

use super::common::{Ui, agency_name, agency_options, encode, procedure_name, status_label};
use crate::i18n::Tr;
use crate::page::{Page, error_page, html};
use crate::perm;
use crate::privacy;
use crate::problem::ProblemKind;
use crate::shared::local_opt;
use crate::state::AppState;
use crate::views::{self, Paging, Place, Whose};

/// A link of the row of tabs above the work queue and the desk's lists.
#[derive(Debug, Clone)]
pub(super) struct Tab {
    pub href: &'static str,
    pub label: String,
    pub on: bool,
}

/// The work queue and the three lists, `path` the one shown.
pub(super) fn tabs(tr: Tr, path: &str) -> Vec<Tab> {
    [
        ("/queue", "queue"),
        ("/lists/sent", "list_sent"),
        ("/lists/ready", "list_ready"),
        ("/lists/waiting", "list_waiting"),
        ("/lists/imported", "list_imported"),
    ]
    .into_iter()
    .map(|(href, key)| Tab { href, label: tr.t(key).to_string(), on: path == href })
    .collect()
}

/// "1.234" in Vietnamese, "1,234" in English.
fn count(tr: Tr, n: u64) -> String {
    let digits = n.to_string();
    let sep = if tr.en() { ',' } else { '.' };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Where a page is in its list and the links to the pages beside it.
#[derive(Debug, Clone)]
pub(super) struct Pager {
    /// "1–50 trên 312" / "1–50 of 312", or "no dossiers".
    pub count: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// The pager of a page of `path` whose other query parameters are `params`.
pub(super) fn pager(tr: Tr, path: &str, params: &[(&str, &str)], place: &Place) -> Pager {
    pager_counting(tr, path, params, place, ("no_dossiers", "dossiers"))
}

/// [`pager`] of a list of other things than dossiers: `words` are the keys of what an empty
/// list says and of the things' name ("Không có phiếu nào chờ in.", "phiếu").
pub(super) fn pager_counting(tr: Tr, path: &str, params: &[(&str, &str)], place: &Place, words: (&str, &str)) -> Pager {
    let link = |page: u32| {
        let mut q: Vec<String> =
            params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", encode(v))).collect();
        q.push(format!("page={page}"));
        if place.per_page != views::PER_PAGE {
            q.push(format!("per_page={}", place.per_page));
        }
        format!("{path}?{}", q.join("&"))
    };
    let (none, things) = words;
    let count = if place.total == 0 {
        tr.t(none).to_string()
    } else if place.first == 0 {
        format!("{} ({} {})", tr.t("page_past_end"), count(tr, place.total), tr.t(things))
    } else {
        format!("{}–{} {} {}", count(tr, place.first), count(tr, place.last), tr.t("of_total"), count(tr, place.total))
    };
    Pager {
        count,
        previous: place.previous.then(|| link(place.page - 1)),
        next: place.next.then(|| link(place.page + 1)),
    }
}

/// A cell of a table of dossiers: its text, the dossier it links to, a class.
#[derive(Debug, Clone)]
struct Cell {
    text: String,
    link: Option<String>,
    class: &'static str,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell { text: text.into(), link: None, class: "" }
}

fn code_cell(r: &DossierRow) -> Cell {
    Cell { text: r.code.to_string(), link: Some(format!("/dossiers/{}", r.code)), class: "code" }
}

#[derive(Template)]
#[template(path = "find.html")]
struct FindPage {
    page: Page,
    heading: String,
    intro: String,
    tabs: Vec<Tab>,
    /// The search box and what was typed in it, on the search page.
    search: Option<String>,
    /// The agency filter of the lists: the options and the one chosen.
    agencies: Vec<(String, String)>,
    selected: String,
    /// Whether a search was made (or a list shown): the table and the pager.
    shown: bool,
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
    pager: Pager,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// The search page: one box for a code (or its beginning), a name, an ID number or a phone
/// number; what was found, a page at a time. The chair finds every dossier, and each one shown
/// is recorded as a read of its personal data; an inspector finds those of its scope, each one
/// shown recorded; an officer finds those of its agencies.
pub async fn search(State(state): State<AppState>, ui: Ui, Query(q): Query<SearchQuery>) -> Response {
    let tr = ui.tr;
    let text = q.q.as_deref().map(str::trim).unwrap_or_default().to_string();
    let path = if text.is_empty() { "/tim-kiem".to_string() } else { format!("/tim-kiem?q={}", encode(&text)) };
    let intro = if perm::every_read_audited(ui.who.staff.role) {
        "search_intro_inspector"
    } else if perm::reads_personal_data_city_wide(ui.who.staff.role) {
        "search_intro_city"
    } else {
        "search_intro"
    };
    let mut page = FindPage {
        page: Page::staff(tr, tr.t("find"), &path, &ui.who),
        heading: tr.t("find").to_string(),
        intro: tr.t(intro).to_string(),
        tabs: Vec::new(),
        search: Some(text.clone()),
        agencies: Vec::new(),
        selected: String::new(),
        shown: false,
        headers: Vec::new(),
        rows: Vec::new(),
        pager: Pager { count: String::new(), previous: None, next: None },
        error: String::new(),
    };
    if text.is_empty() {
        return html(StatusCode::OK, &page);
    }
    let terms = views::SearchTerms { q: Some(text.clone()), ..views::SearchTerms::default() };
    let search = match terms.search() {
        Ok(s) => s,
        Err(p) if p.kind == ProblemKind::InvalidInput => {
            page.error = tr.t("search_too_short").to_string();
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(p) => return error_page(tr, &p),
    };
    let paging = Paging::new(q.page, q.per_page);
    let found = match views::search(&state, &ui.who.staff, &search, paging, "GET /tim-kiem").await {
        Ok(f) => f,
        Err(p) => return error_page(tr, &p),
    };
    page.shown = true;
    page.headers = ["code", "procedure", "applicant", "id_number", "phone", "status", "holder", "received_at"]
        .iter()
        .map(|k| tr.t(k).to_string())
        .collect();
    page.rows = found
        .rows
        .iter()
        .map(|privacy::Listed { row: r, .. }| {
            vec![
                code_cell(r),
                cell(procedure_name(&state, tr, &r.procedure)),
                cell(r.applicant_name.clone()),
                cell(r.applicant_id_number.clone().unwrap_or_default()),
                cell(r.applicant_phone.as_ref().map(ToString::to_string).unwrap_or_default()),
                cell(status_label(tr, r.status)),
                cell(r.holder.as_ref().map(|h| agency_name(&state, tr, h)).unwrap_or_default()),
                cell(local_opt(r.received_at.or(r.registered_at))),
            ]
        })
        .collect();
    page.pager = pager(tr, "/tim-kiem", &[("q", &text)], &found.place);
    html(StatusCode::OK, &page)
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    agency: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

pub async fn sent(state: State<AppState>, ui: Ui, q: Query<ListQuery>) -> Response {
    list(state, ui, q, DeskList::Sent).await
}

pub async fn ready(state: State<AppState>, ui: Ui, q: Query<ListQuery>) -> Response {
    list(state, ui, q, DeskList::Ready).await
}

pub async fn waiting(state: State<AppState>, ui: Ui, q: Query<ListQuery>) -> Response {
    list(state, ui, q, DeskList::Waiting).await
}

/// The words of a list: its tab and heading, the line under the heading.
fn list_words(list: DeskList) -> (&'static str, &'static str) {
    match list {
        DeskList::Sent => ("list_sent", "list_sent_intro"),
        DeskList::Ready => ("list_ready", "list_ready_intro"),
        DeskList::Waiting => ("list_waiting", "list_waiting_intro"),
        DeskList::Online => ("online", "pending_online"),
    }
}

async fn list(State(state): State<AppState>, ui: Ui, Query(q): Query<ListQuery>, list: DeskList) -> Response {
    let tr = ui.tr;
    let path = format!("/lists/{}", list.name());
    let whose = match Whose::of(&state, &ui.who.staff, q.agency.as_deref()) {
        Ok(w) => w,
        Err(p) => return error_page(tr, &p),
    };
    let found = match views::desk_list(&state, &ui.who.staff, list, &whose, Paging::new(q.page, q.per_page)).await {
        Ok(f) => f,
        Err(p) => return error_page(tr, &p),
    };
    let (title, intro) = list_words(list);
    let keys: &[&str] = match list {
        DeskList::Sent => &["code", "procedure", "applicant", "giver", "to_agency", "sent_at", "due_at"],
        DeskList::Ready => &["code", "procedure", "applicant", "phone", "holder", "finished_at", "result_timeliness"],
        DeskList::Waiting => &["code", "procedure", "applicant", "phone", "waiting_for", "waiting_since", "holder"],
        DeskList::Online => &["code", "procedure", "applicant", "phone", "receiving_agency", "registered_at"],
    };
    let agency =
        |a: &Option<motcua_core::AgencyCode>| a.as_ref().map(|h| agency_name(&state, tr, h)).unwrap_or_default();
    let rows = found
        .rows
        .iter()
        .map(|privacy::Listed { row: r, .. }| {
            let head = [code_cell(r), cell(procedure_name(&state, tr, &r.procedure)), cell(r.applicant_name.clone())];
            let phone = cell(r.applicant_phone.as_ref().map(ToString::to_string).unwrap_or_default());
            let rest = match list {
                DeskList::Sent => vec![
                    cell(agency(&r.handoff_from)),
                    cell(agency(&r.holder)),
                    cell(local_opt(r.handoff_sent_at)),
                    cell(local_opt(r.due_at)),
                ],
                DeskList::Ready => {
                    let t = r.timeliness.map(|t| t.name()).unwrap_or_default();
                    vec![
                        phone,
                        cell(agency(&r.holder)),
                        cell(local_opt(r.finished_at)),
                        Cell { text: tr.t(t).to_string(), link: None, class: t },
                    ]
                }
                DeskList::Waiting => {
                    let kind = match r.waiting_kind {
                        Some(motcua_core::deadlines::WaitKind::Payment) => "waiting_payment",
                        _ => "waiting_supplement",
                    };
                    vec![phone, cell(tr.t(kind)), cell(local_opt(r.waiting_since)), cell(agency(&r.holder))]
                }
                DeskList::Online => {
                    vec![phone, cell(agency_name(&state, tr, &r.receiving_agency)), cell(local_opt(r.registered_at))]
                }
            };
            head.into_iter().chain(rest).collect()
        })
        .collect();
    let selected = q.agency.clone().unwrap_or_default();
    let page_path = if selected.is_empty() { path.clone() } else { format!("{path}?agency={}", encode(&selected)) };
    let page = FindPage {
        page: Page::staff(tr, tr.t(title), &page_path, &ui.who),
        heading: tr.t(title).to_string(),
        intro: tr.t(intro).to_string(),
        tabs: tabs(tr, &path),
        search: None,
        agencies: agency_options(&state, &ui),
        selected: selected.clone(),
        shown: true,
        headers: keys.iter().map(|k| tr.t(k).to_string()).collect(),
        rows,
        pager: pager(tr, &path, &[("agency", &selected)], &found.place),
        error: String::new(),
    };
    html(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn place(page: u32, per_page: u32, shown: usize, total: u64) -> Place {
        Paging::new(Some(page), Some(per_page)).place(shown, total)
    }

    #[test]
    fn the_pager_says_where_the_page_is_in_both_languages() {
        let vi = Tr::new(Lang::Vi);
        let en = Tr::new(Lang::En);
        let p = pager(vi, "/queue", &[("agency", "")], &place(1, 50, 50, 312));
        assert_eq!(p.count, "1–50 trên 312");
        assert_eq!((p.previous, p.next.as_deref()), (None, Some("/queue?page=2")));
        let p = pager(en, "/lists/sent", &[("agency", "000.00.02.H17")], &place(7, 50, 12, 312));
        assert_eq!(p.count, "301–312 of 312");
        assert_eq!(p.previous.as_deref(), Some("/lists/sent?agency=000.00.02.H17&page=6"));
        assert_eq!(p.next, None);
        let p = pager(vi, "/tim-kiem", &[("q", "trần thị")], &place(2, 20, 20, 1234));
        assert_eq!(p.count, "21–40 trên 1.234");
        assert_eq!(p.next.as_deref(), Some("/tim-kiem?q=tr%E1%BA%A7n%20th%E1%BB%8B&page=3&per_page=20"));
        assert_eq!(pager(en, "/queue", &[], &place(1, 50, 0, 0)).count, "No dossiers.");
        assert_eq!(pager(en, "/queue", &[], &place(9, 50, 0, 3)).count, "Past the last page (3 dossiers)");
        assert_eq!(count(en, 1_234_567), "1,234,567");
        assert_eq!(count(vi, 999), "999");
    }
}
