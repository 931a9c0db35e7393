//! The inspector's watch list (`motcua watchlist`, `GET /api/v1/watchlist`, the `/watchlist`
//! page), read from the tables the write path keeps ([`crate::write::watch`]) — never by
//! replaying the log at request time — and built by core
//! ([`motcua_core::watchlist::WatchList::build_counts`]): counts only, from the singles'
//! daily sums and the few occurrences they leave out. The codes behind one count are read
//! when its link is followed ([`dossiers`]). [`replayed_facts`] gives the same facts from a
//! replay of the whole log through core, which the conformance suite compares with the
//! tables, counts and codes alike.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use motcua_core::watchlist::{WatchCellRef, WatchFacts, WatchKind, WatchList, WatchQuery, WatchRow, follow};
use motcua_core::{AgencyCode, Domain, DossierCode, Event, Lang};

use crate::{Paged, Store, StoreError, Window};

/// The name of an agency in the catalog (its code if the catalog no longer has it).
pub fn agency_name(domain: &Domain, code: &AgencyCode) -> String {
    domain.catalog.agency(code).map_or_else(|| code.to_string(), |a| a.name.clone())
}

/// The watch list for a query, from the aggregates: counts only.
pub async fn watchlist<S: Store>(store: &S, domain: &Domain, q: &WatchQuery) -> Result<WatchList, StoreError> {
    let counts = store.watch_counts(q).await?;
    Ok(WatchList::build_counts(q, counts, |a| agency_name(domain, a)))
}

/// The dossiers behind one count of the watch list for `q` (the kind, and the row's key as
/// the list's grouping reads it; no key: the total), one page of them in code order, and how
/// many the count has — the count's own number.
pub async fn dossiers<S: Store>(
    store: &S,
    q: &WatchQuery,
    cell: &WatchCellRef,
    window: Window,
) -> Result<Paged<motcua_core::DossierCode>, StoreError> {
    store.watch_dossiers(q, cell, window).await
}

/// One page of a count's dossiers as CSV: a byte-order mark, a heading, one code a line.
pub fn dossiers_csv(codes: &[motcua_core::DossierCode], lang: Lang) -> String {
    let mut out = String::from('\u{feff}');
    out.push_str(if lang == Lang::Vi { "Mã hồ sơ" } else { "code" });
    out.push_str("\r\n");
    for c in codes {
        out.push_str(&csv_field(c.as_str()));
        out.push_str("\r\n");
    }
    out
}

/// Events read per page of a replay.
const REPLAY_PAGE: u32 = 10_000;

/// The watch list's facts from a replay of the whole log through core (the tables' reference).
pub async fn replayed_facts<S: Store>(store: &S, domain: &Domain) -> Result<WatchFacts, StoreError> {
    let mut logs: HashMap<DossierCode, Vec<(Event, DateTime<Utc>)>> = HashMap::new();
    let mut after = 0;
    loop {
        let page = store.events_after(after, REPLAY_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for e in page {
            logs.entry(e.code).or_default().push((e.event, e.recorded_at));
        }
    }
    let mut codes: Vec<DossierCode> = logs.keys().cloned().collect();
    codes.sort();
    let mut facts = WatchFacts::default();
    for code in codes {
        let log = logs.remove(&code).unwrap_or_default();
        let (_, occurrences, events) =
            follow(domain, &log).map_err(|e| StoreError::Corrupt(format!("{code} does not replay: {e}")))?;
        facts.add_dossier(&code, occurrences, &events);
    }
    Ok(facts)
}

/// A column of the CSV: its heading in Vietnamese and English, and its value.
type Column = (&'static str, &'static str, Box<dyn Fn(&WatchRow) -> String>);

fn columns() -> Vec<Column> {
    let mut out: Vec<Column> = vec![
        ("Mã", "key", Box::new(|r| r.key.clone())),
        ("Tên", "name", Box::new(|r| r.name.clone())),
        ("Số hồ sơ có dấu hiệu", "flagged", Box::new(|r| r.flagged().to_string())),
    ];
    for k in WatchKind::ALL {
        out.push((k.label_vi(), k.name(), Box::new(move |r| r.cell(k).count.to_string())));
    }
    out.push(("Sự kiện ghi lùi thời điểm", "backdated", Box::new(|r| r.backdated.events.to_string())));
    out.push(("Tổng phút làm việc ghi lùi", "backdated_minutes", Box::new(|r| r.backdated.gap_minutes.to_string())));
    out.push(("Lượt tiếp nhận chuyển giao", "handoffs", Box::new(|r| r.handoffs.handoffs.to_string())));
    out.push((
        "Chờ tiếp nhận trung bình (phút làm việc)",
        "handoff_average",
        Box::new(|r| r.handoffs.average_minutes().to_string()),
    ));
    out.push((
        "Chờ tiếp nhận lâu nhất (phút làm việc)",
        "handoff_max",
        Box::new(|r| r.handoffs.max_minutes.to_string()),
    ));
    out
}

/// A CSV field: quoted when it holds a separator, a quote or a line break; a leading
/// character a spreadsheet would read as a formula is escaped with a quote mark.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// The label of a row's key: the officer "unknown" for events recorded without one.
fn key_label(key: &str, lang: Lang) -> String {
    match (key.is_empty(), lang) {
        (true, Lang::Vi) => "(không rõ cán bộ)".to_string(),
        (true, Lang::En) => "(unknown)".to_string(),
        (false, _) => key.to_string(),
    }
}

/// The watch list as CSV: a UTF-8 byte-order mark (so that spreadsheets read the Vietnamese
/// text), headings in `lang`, one line per row and the total.
pub fn to_csv(list: &WatchList, lang: Lang) -> String {
    let cols = columns();
    let mut out = String::from('\u{feff}');
    let heads: Vec<&str> = cols.iter().map(|c| if lang == Lang::Vi { c.0 } else { c.1 }).collect();
    out.push_str(&heads.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    let total_label = if lang == Lang::Vi { "Tổng cộng" } else { "total" };
    for (i, r) in list.rows.iter().chain(std::iter::once(&list.total)).enumerate() {
        let is_total = i == list.rows.len();
        let fields: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(j, c)| match (is_total, j) {
                (true, 0) => csv_field(total_label),
                (false, 0) => csv_field(&key_label(&r.key, lang)),
                _ => csv_field(&(c.2)(r)),
            })
            .collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The watch list as a terminal table, then its three lists (late officers, handoff waits,
/// dossiers returned for supplements more than once).
pub fn to_table(list: &WatchList, lang: Lang) -> String {
    let vi = lang == Lang::Vi;
    let safe = |s: &str| motcua_core::text::for_terminal(s).into_owned();
    let mut out = if vi {
        format!(
            "Danh sách theo dõi (Chỉ thị 34-CT/TU) từ {} đến {}, tính đến {}, theo {}\n",
            list.from,
            list.to,
            list.as_of,
            if list.by == motcua_core::watchlist::WatchBy::Agency { "cơ quan" } else { "cán bộ" }
        )
    } else {
        format!(
            "watch list (Directive 34-CT/TU) {} to {}, as of {}, by {}\n",
            list.from,
            list.to,
            list.as_of,
            list.by.name()
        )
    };
    let short = ["bounce", "extra", "silent", "supp2", "unlist", "lateNA", "apolLt", "resch2", "late", "slowH"];
    out.push_str(&format!("{:<28}", if vi { "mã" } else { "key" }));
    for s in short {
        out.push_str(&format!(" {s:>6}"));
    }
    out.push_str(&format!(" {:>8} {:>8} {:>8}\n", "backdtd", "handoffs", "avg.min"));
    for (i, r) in list.rows.iter().chain(std::iter::once(&list.total)).enumerate() {
        let label = if i == list.rows.len() {
            if vi { "tổng cộng".to_string() } else { "total".to_string() }
        } else {
            key_label(&safe(&r.key), lang)
        };
        out.push_str(&format!("{label:<28}"));
        for k in WatchKind::ALL {
            out.push_str(&format!(" {:>6}", r.cell(k).count));
        }
        out.push_str(&format!(
            " {:>8} {:>8} {:>8}\n",
            r.backdated.events,
            r.handoffs.handoffs,
            r.handoffs.average_minutes()
        ));
    }
    out.push_str(if vi {
        "\ncột: trả qua trả lại, chuyển nhiều hơn quy trình, giữ hồ sơ không xử lý, bổ sung lần 2, giấy tờ ngoài danh mục, \
         trễ hạn không xin lỗi, xin lỗi sau hạn, hẹn lại lần 2, trễ hạn, nhận chuyển giao chậm; sự kiện ghi lùi; \
         lượt chuyển giao và thời gian chờ trung bình (phút làm việc)\n"
    } else {
        "\ncolumns: bounce, extra handoffs, silent holder, second supplement, unlisted papers, late without apology, \
         apology after due, second new date, late, slow handoff; backdated events; handoffs accepted and their \
         average wait (working minutes)\n"
    });
    out.push_str(if vi {
        "\nCán bộ có hơn 2 hồ sơ trễ hạn trong kỳ:\n"
    } else {
        "\nofficers with more than two late dossiers in the period:\n"
    });
    if list.late_officers.is_empty() {
        out.push_str(if vi { "  (không có)\n" } else { "  (none)\n" });
    }
    for o in &list.late_officers {
        let who = key_label(&safe(o.officer.as_deref().unwrap_or("")), lang);
        out.push_str(&format!("  {who:<20} {:>4}\n", o.late.count));
    }
    out.push_str(if vi {
        "\nCơ quan để hồ sơ chờ tiếp nhận lâu nhất (phút làm việc: trung bình / lâu nhất):\n"
    } else {
        "\nagencies whose handoffs wait longest (working minutes: average / longest):\n"
    });
    for w in &list.handoff_waits {
        out.push_str(&format!(
            "  {:<16} {:>6} / {:>6}  {:>5} {}  {}\n",
            w.agency,
            w.average_minutes,
            w.max_minutes,
            w.handoffs,
            if vi { "lượt" } else { "handoffs" },
            safe(&w.name)
        ));
    }
    out.push_str(if vi {
        "\nHồ sơ trả lại công dân để bổ sung hơn một lần:"
    } else {
        "\ndossiers returned to the citizen for supplements more than once:"
    });
    out.push_str(&format!(" {}\n", list.supplements_twice.count));
    out.push_str(if vi {
        "\nDanh sách hồ sơ của một ô: motcua watchlist --dossiers --kind LOẠI [--key MÃ] (cùng --from, --to, --by, --agency, --as-of)\n"
    } else {
        "\nthe dossiers of one count: motcua watchlist --dossiers --kind KIND [--key KEY] (with the same --from, --to, --by, --agency, --as-of)\n"
    });
    out
}
