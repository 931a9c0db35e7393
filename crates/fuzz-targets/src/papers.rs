//! The printed papers from hostile values (`receipt_letter`): the server's receipt and apology
//! letter pages (`motcua_server::paper`) and the apology letter `motcua letter` prints and the
//! worker queues for the desk (core's `owed_apology`, rendered by the templates), in Vietnamese
//! or English, for a dossier received before or after the 2025 rule set (the two legal forms
//! of the letter).
//!
//! An input is one flag byte (the date of receipt, a new appointment or a late result, the
//! repository's catalog or the input's, at the desk or online, the receipt alone, the
//! language), then fields separated by NUL bytes: the applicant's name,
//! address, phone, e-mail and ID number, the reason of the new appointment (or of the late
//! result), the officer's name, the documents of the procedure (one a line), and the desk's
//! name, address and head and the procedure's name as an administrator's catalog may spell
//! them. The applicant's values are stored as given (a dossier keyed in before the text rules,
//! or imported), the reason through core's command when its rules take it; the dossier is
//! built by core's `Domain::apply`.
//!
//! Besides returning normally, every HTML paper must hold no more `<script` tags than the same
//! paper drawn from harmless values: a value that reaches the page unescaped panics.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use motcua_core::calendar::from_local;
use motcua_core::catalog::Catalog;
use motcua_core::commands::{FieldStyle, Transition};
use motcua_core::deadlines::Lang as LetterLang;
use motcua_core::letters::owed_apology;
use motcua_core::{
    AgencyCode, Applicant, Channel, Domain, Dossier, DossierCode, Event, EventKind, Intake, Outcome, ProcedureCode,
};
use motcua_server::i18n::{Lang, Tr};
use motcua_server::page::Page;
use motcua_server::paper::{self, ReceiptFacts};
use motcua_store::{Role, StaffRow};

use crate::fixtures;

/// The flag bits of the first byte.
const AFTER_2025: u8 = 1;
const LATE_RESULT: u8 = 2;
const OWN_CATALOG: u8 = 4;
const ONLINE: u8 = 8;
const RECEIPT_ONLY: u8 = 16;
const ENGLISH: u8 = 32;
const FLAGS: u8 = 64;

/// The place line of the papers (the server's default `--place`).
const PLACE: &str = "Đà Nẵng";
const CITY: &str = "000.00.00.H17";
const WARD: &str = "000.00.41.H17";
/// A ward procedure of the repository's catalog; the same code in the input's own catalog.
const PROCEDURE: &str = "1.001193";

/// The values a paper prints, as the input gives them.
#[derive(Debug, Default)]
struct Fields<'a> {
    name: &'a str,
    address: &'a str,
    phone: &'a str,
    email: &'a str,
    id_number: &'a str,
    reason: &'a str,
    officer: &'a str,
    documents: &'a str,
    unit: &'a str,
    unit_address: &'a str,
    head: &'a str,
    procedure: &'a str,
}

impl<'a> Fields<'a> {
    fn of(text: &'a str) -> Self {
        let mut f = text.split('\0');
        let mut next = || f.next().unwrap_or("");
        Self {
            name: next(),
            address: next(),
            phone: next(),
            email: next(),
            id_number: next(),
            reason: next(),
            officer: next(),
            documents: next(),
            unit: next(),
            unit_address: next(),
            head: next(),
            procedure: next(),
        }
    }
}

/// Harmless values of every field, for the count of `<script` tags the papers hold by
/// themselves.
const HARMLESS: Fields<'static> = Fields {
    name: "Trần Thị Bình",
    address: "12 Lê Lợi, phường Hải Châu",
    phone: "0905123456",
    email: "binh@example.com",
    id_number: "048190000123",
    reason: "Chờ ý kiến của cơ quan phối hợp",
    officer: "Nguyễn Văn Tâm",
    documents: "Tờ khai\nGiấy chứng sinh",
    unit: "Ủy ban nhân dân phường Hải Châu",
    unit_address: "Trụ sở Ủy ban nhân dân phường Hải Châu",
    head: "Lương Thị Yến",
    procedure: "Đăng ký khai sinh",
};

pub fn receipt_letter(data: &[u8]) {
    let (flags, rest) = data.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
    let text = String::from_utf8_lossy(rest);
    let fields = Fields::of(&text);
    let expected = &*BASELINE;
    for (paper, html) in papers(flags, &fields) {
        let allowed = expected.get(&paper).copied().unwrap_or(0);
        let found = script_tags(&html);
        assert!(
            found <= allowed,
            "{paper}: {found} <script tags where its template has {allowed}: a value is not escaped"
        );
    }
}

/// How many `<script` tags each paper holds when drawn from harmless values.
static BASELINE: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    let mut most = HashMap::new();
    for flags in 0..FLAGS {
        for (paper, html) in papers(flags, &HARMLESS) {
            let n = script_tags(&html);
            most.entry(paper).and_modify(|m: &mut usize| *m = (*m).max(n)).or_insert(n);
        }
    }
    most
});

thread_local! {
    static QR: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

/// The receipt's QR code of `url`, drawn once per URL: the URL holds only the dossier's code,
/// which two dates give, and drawing it is most of a receipt's time.
fn lookup_qr(url: &str) -> String {
    QR.with(|qr| qr.borrow_mut().entry(url.to_string()).or_insert_with(|| paper::lookup_qr(url)).clone())
}

fn script_tags(html: &str) -> usize {
    html.to_ascii_lowercase().matches("<script").count()
}

/// Every HTML paper of the dossier the flags and fields describe, in the language they choose,
/// named by paper and language; the text letters are rendered too, and only need to return.
fn papers(flags: u8, f: &Fields<'_>) -> Vec<(String, String)> {
    let (Ok(base), Ok(templates)) = (fixtures::domain(), fixtures::templates()) else { return Vec::new() };
    let own = (flags & OWN_CATALOG != 0).then(|| own_domain(base, f)).flatten();
    let domain = own.as_ref().unwrap_or(base);
    let Some((code, d, officer_at)) = dossier(domain, flags, f) else { return Vec::new() };
    let code = code.to_string();
    let mut out = Vec::new();
    let lookup = format!("http://127.0.0.1:8080/tra-cuu?ma={code}");
    let qr = lookup_qr(&lookup);
    let (lang, letter_lang) =
        if flags & ENGLISH != 0 { (Lang::En, LetterLang::En) } else { (Lang::Vi, LetterLang::Vi) };
    {
        let tr = Tr::new(lang);
        let facts = ReceiptFacts {
            code: &code,
            dossier: &d,
            lookup_url: &lookup,
            qr_svg: &qr,
            officer: f.officer,
            now: officer_at,
        };
        let page = frame(tr, f.officer, &format!("/dossiers/{code}/receipt"));
        if let Ok(html) = paper::receipt(domain, PLACE, page, &facts) {
            out.push((format!("receipt.{}", lang.code()), html));
        }
        let page = frame(tr, f.officer, &format!("/dossiers/{code}/letter"));
        if let Some(Ok(html)) = paper::apology_letter(domain, PLACE, page, &code, &d, officer_at) {
            out.push((format!("letter.{}", lang.code()), html));
        }
    }
    if let Ok(Some(letter)) = owed_apology(domain, &d) {
        let recipient = d.applicant.email.as_ref().map(ToString::to_string).unwrap_or_default();
        if let Ok(r) = templates.render(letter.kind.name(), letter_lang, &letter, &recipient)
            && let Some(html) = r.html
        {
            out.push((format!("{}.{letter_lang:?}", letter.kind.name()), html));
        }
    }
    out
}

/// The page frame of a desk officer named `officer`.
fn frame(tr: Tr, officer: &str, path: &str) -> Page {
    let staff = StaffRow {
        id: 1,
        username: officer.to_string(),
        display_name: officer.to_string(),
        role: Role::Desk,
        disabled: false,
        agencies: WARD.parse().into_iter().collect(),
        capabilities: Vec::new(),
        created_at: DateTime::<Utc>::default(),
    };
    Page { tr, title: tr.t("receipt").to_string(), staff: Some(staff), csrf: "csrf".into(), path: path.to_string() }
}

/// A TOML basic string of `s`, every control character escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The repository's calendar with a catalog of one ward, whose name, address and head are the
/// input's, and one procedure of five working days with the input's name and documents; `None`
/// when the catalog refuses them.
fn own_domain(base: &Domain, f: &Fields<'_>) -> Option<Domain> {
    let agencies = format!(
        "[[agency]]\ncode = \"{CITY}\"\nname = \"Thành phố\"\nkind = \"city\"\n\n\
         [[agency]]\ncode = \"{WARD}\"\nname = {unit}\nname_en = {unit}\nkind = \"ward\"\nparent = \"{CITY}\"\n\
         head_title = {head}\nhead_name = {head}\naddress = {address}\n",
        unit = toml_string(f.unit),
        head = toml_string(f.head),
        address = toml_string(f.unit_address),
    );
    let documents: Vec<String> = f.documents.lines().map(toml_string).collect();
    let procedures = format!(
        "[[procedure]]\ncode = \"{PROCEDURE}\"\nname = {name}\nname_en = {name}\nlevel = \"ward\"\n\
         time_limit = {{ working_days = 5 }}\ndocuments = [{documents}]\n\
         route = [{{ agency = \"@receiving\", budget = {{ working_days = 5 }} }}]\n",
        name = toml_string(f.procedure),
        documents = documents.join(", "),
    );
    let catalog = Catalog::from_toml(&agencies, &procedures).ok()?;
    Some(Domain::new(base.calendar.clone(), catalog, base.classify))
}

/// 09:00 in Vietnam on `date`.
fn morning(date: NaiveDate) -> Option<DateTime<Utc>> {
    date.and_hms_opt(9, 0, 0).map(from_local)
}

/// The dossier: received (or registered online and accepted) on a Monday before or after
/// 1/7/2025 at the ward by the officer, taken into processing, then given a new appointment
/// with the input's reason, or resolved after its due instant; with its code and the instant of
/// its last event.
fn dossier(domain: &Domain, flags: u8, f: &Fields<'_>) -> Option<(DossierCode, Dossier, DateTime<Utc>)> {
    let day = if flags & AFTER_2025 != 0 {
        NaiveDate::from_ymd_opt(2025, 8, 4)?
    } else {
        NaiveDate::from_ymd_opt(2025, 3, 3)?
    };
    let t0 = morning(day)?;
    let agency: AgencyCode = WARD.parse().ok()?;
    let procedure: ProcedureCode = PROCEDURE.parse().ok()?;
    let code = DossierCode::new(&agency, day, 1).ok()?;
    let applicant = Applicant {
        name: f.name.to_string(),
        email: f.email.parse().ok(),
        phone: f.phone.parse().ok(),
        id_number: Some(f.id_number.to_string()).filter(|s| !s.is_empty()),
        address: Some(f.address.to_string()).filter(|s| !s.is_empty()),
    };
    let online = flags & ONLINE != 0;
    let channel = if online { Channel::Online } else { Channel::InPerson };
    let intake =
        Intake { code: code.clone(), procedure, agency, applicant, channel, documents: Vec::new(), digitised: None };
    let by = Some(f.officer.to_string()).filter(|s| !s.is_empty());
    let event = |at: DateTime<Utc>, kind: EventKind| Event { at, by: by.clone(), backdate_reason: None, kind };
    let mut events = if online {
        vec![
            event(t0 - Duration::hours(1), EventKind::RegisteredOnline { intake }),
            event(t0, EventKind::AcceptedOnline),
        ]
    } else {
        vec![event(t0, EventKind::Received { intake })]
    };
    if flags & RECEIPT_ONLY == 0 {
        events.push(event(t0 + Duration::minutes(30), EventKind::Accepted));
    }
    let mut d = Dossier::default();
    for e in &events {
        domain.apply(&mut d, e).ok()?;
    }
    if flags & RECEIPT_ONLY != 0 {
        return Some((code, d, t0));
    }
    let (at, kind) = if flags & LATE_RESULT != 0 {
        let at = d.due_at? + Duration::days(2);
        (
            at,
            EventKind::Resolved {
                outcome: Outcome::Approved,
                reason: Some(f.reason.to_string()),
                electronic: None,
                reason_code: None,
            },
        )
    } else {
        let at = t0 + Duration::hours(1);
        let to = domain.calendar.nth_working_day_after(day, 10).ok()?.format("%Y-%m-%d").to_string();
        let typed = Transition::Reschedule {
            to: to.clone(),
            reason: f.reason.to_string(),
            responsible: None,
            override_second: false,
            next_working_day: false,
            reason_code: None,
        };
        let kind = match typed.event_kind(domain, FieldStyle::Plain) {
            Ok(kind) => kind,
            // Refused by the text rules today: stored before them.
            Err(_) => EventKind::Rescheduled {
                to: motcua_core::commands::appointment(domain, &to).ok()?,
                reason: f.reason.to_string(),
                responsible: None,
                automatic: false,
                override_second: false,
                reason_code: None,
            },
        };
        (at, kind)
    };
    domain.apply(&mut d, &event(at, kind)).ok()?;
    Some((code, d, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(flags: u8, f: &Fields<'_>) -> Vec<String> {
        let mut names: Vec<String> = papers(flags, f).into_iter().map(|(name, _)| name).collect();
        names.sort();
        names
    }

    #[test]
    fn every_paper_is_drawn_for_both_rule_sets_and_a_late_result() {
        assert_eq!(drawn(0, &HARMLESS), ["apology.Vi", "letter.vi", "receipt.vi"]);
        assert_eq!(drawn(AFTER_2025 | OWN_CATALOG | ENGLISH, &HARMLESS), ["apology.En", "letter.en", "receipt.en"]);
        assert_eq!(drawn(LATE_RESULT, &HARMLESS), ["apology_with_result.Vi", "letter.vi", "receipt.vi"]);
        // With no new appointment and no late result there is no apology: the letter page prints
        // only the letter core says the dossier owes, as `motcua letter` and the print queue do.
        assert_eq!(drawn(ONLINE | RECEIPT_ONLY | ENGLISH, &HARMLESS), ["receipt.en"]);
    }

    #[test]
    fn hostile_values_reach_the_papers_escaped() {
        let hostile = Fields {
            name: "<script>alert(1)</script>",
            documents: "<script src=//evil.example></script>",
            unit: "<SCRIPT>",
            ..HARMLESS
        };
        let papers = papers(OWN_CATALOG, &hostile);
        let receipt = papers.iter().find(|(n, _)| n == "receipt.vi").map(|(_, h)| h.as_str()).unwrap_or("");
        assert!(receipt.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{receipt}");
        assert!(receipt.contains("&#60;script src=//evil.example&#62;"), "the documents come from the input's catalog");
        assert_eq!(script_tags(receipt), BASELINE.get("receipt.vi").copied().unwrap_or(usize::MAX));
        assert!(receipt.contains("<svg") && receipt.contains("tra-cuu?ma=000.00.41.H17-250303-0001"), "the QR code");
        assert_eq!(papers.len(), 3);
        receipt_letter(b"\x04<script>alert(1)</script>");
    }
}
