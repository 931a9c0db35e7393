//! The desk's printed papers as HTML, with no IO: the receipt and appointment slip (Giấy tiếp
//! nhận hồ sơ và hẹn trả kết quả, with the lookup QR code) and the apology letter with its new
//! appointment (Phiếu xin lỗi và hẹn lại ngày trả kết quả). The handlers read the dossier and
//! the officer's name from the store and call these; the `receipt_letter` fuzz target
//! (crates/fuzz-targets) calls the same functions with hostile names, addresses and reasons.
//! Every value is escaped by the templates (askama's HTML escaping); the only markup not from
//! a template is the QR code's SVG ([`lookup_qr`]), drawn from the lookup URL.

use askama::Template;
use chrono::{DateTime, Utc};
use motcua_core::calendar::to_local;
use motcua_core::{AgencyCode, Domain, Dossier, ProcedureCode, Status, TimeLimit};

use crate::i18n::Tr;
use crate::page::Page;
use crate::shared::local_opt;

/// An agency's name in the page's language (its code if the catalog does not have it).
pub fn agency_name(domain: &Domain, tr: Tr, code: &AgencyCode) -> String {
    domain
        .catalog
        .agency(code)
        .map(|a| if tr.en() { a.name_en.clone() } else { a.name.clone() })
        .unwrap_or_else(|| code.to_string())
}

/// A procedure's name in the page's language (its code if the catalog does not have it).
pub fn procedure_name(domain: &Domain, tr: Tr, code: &ProcedureCode) -> String {
    domain
        .catalog
        .procedure(code)
        .map(|p| if tr.en() { p.name_en.clone() } else { p.name.clone() })
        .unwrap_or_else(|| code.to_string())
}

/// "Đà Nẵng, ngày 27 tháng 10 năm 2023".
fn place_date(place: &str, tr: Tr, at: DateTime<Utc>) -> String {
    let d = to_local(at).date();
    if tr.en() {
        format!("{place}, {}", d.format("%d %B %Y"))
    } else {
        format!("{place}, ngày {} tháng {} năm {}", d.format("%d"), d.format("%m"), d.format("%Y"))
    }
}

fn time_limit_text(tr: Tr, t: TimeLimit) -> String {
    match (t, tr.en()) {
        (TimeLimit::WorkingDays(n), false) => format!("{n} ngày làm việc"),
        (TimeLimit::WorkingHours(n), false) => format!("{n} giờ làm việc"),
        (TimeLimit::CalendarDays(n), false) => format!("{n} ngày"),
        (other, true) => other.to_string(),
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    page: Page,
    r: ReceiptVm,
}

#[derive(Debug, Clone)]
struct ReceiptVm {
    unit: String,
    unit_address: String,
    code: String,
    qr_svg: String,
    lookup_url: String,
    place_date: String,
    applicant: String,
    address: String,
    phone: String,
    email: String,
    id_number: String,
    procedure: String,
    documents: Vec<String>,
    time_limit: String,
    received_at: String,
    due_time: String,
    due_date: String,
    officer: String,
    online: bool,
}

/// The QR code of a dossier's lookup URL as inline SVG for the receipt (the `<svg>` element
/// alone, no XML prologue); empty if the URL is too long to encode. The URL is the server's
/// base and a parsed dossier code, never text a user typed.
pub fn lookup_qr(url: &str) -> String {
    let svg = crate::qr::svg(url);
    svg.find("<svg").map(|i| svg[i..].to_string()).unwrap_or_default()
}

/// What the receipt prints besides the catalog: read by the handler.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptFacts<'a> {
    /// The dossier's code, as the page was asked for.
    pub code: &'a str,
    pub dossier: &'a Dossier,
    /// The dossier's public lookup page, printed under its QR code.
    pub lookup_url: &'a str,
    /// That page's QR code, as [`lookup_qr`] draws it.
    pub qr_svg: &'a str,
    /// The name of the officer who received it (empty when nobody has yet).
    pub officer: &'a str,
    /// The date printed on a dossier that has no receipt or registration instant.
    pub now: DateTime<Utc>,
}

/// The receipt of a dossier in the frame `page` (its language and account), the place line
/// naming `place`.
pub fn receipt(domain: &Domain, place: &str, page: Page, f: &ReceiptFacts<'_>) -> Result<String, askama::Error> {
    let tr = page.tr;
    let d = f.dossier;
    let agency = d.receiving_agency.as_ref().and_then(|a| domain.catalog.agency(a));
    let procedure = d.procedure.as_ref().and_then(|p| domain.catalog.procedure(p));
    let due = d.original_due_at.map(to_local);
    let r = ReceiptVm {
        unit: agency.map(|a| if tr.en() { a.name_en.clone() } else { a.name.clone() }).unwrap_or_default(),
        unit_address: agency.map(|a| a.address.clone()).unwrap_or_default(),
        code: f.code.to_string(),
        qr_svg: f.qr_svg.to_string(),
        lookup_url: f.lookup_url.to_string(),
        place_date: place_date(place, tr, d.received_at.or(d.registered_at).unwrap_or(f.now)),
        applicant: d.applicant.name.clone(),
        address: d.applicant.address.clone().unwrap_or_default(),
        phone: d.applicant.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
        email: d.applicant.email.as_ref().map(ToString::to_string).unwrap_or_default(),
        id_number: d.applicant.id_number.clone().unwrap_or_default(),
        procedure: procedure
            .map(|p| format!("{} ({})", if tr.en() { &p.name_en } else { &p.name }, p.code))
            .unwrap_or_default(),
        documents: procedure.map(|p| p.documents.clone()).unwrap_or_default(),
        time_limit: procedure.map(|p| time_limit_text(tr, p.time_limit)).unwrap_or_default(),
        received_at: local_opt(d.received_at),
        due_time: due.map(|t| t.format("%H:%M").to_string()).unwrap_or_default(),
        due_date: due.map(|t| t.format("%d/%m/%Y").to_string()).unwrap_or_default(),
        officer: f.officer.to_string(),
        online: d.status == Some(Status::RegisteredOnline),
    };
    ReceiptPage { page, r }.render()
}

#[derive(Template)]
#[template(path = "letter.html")]
struct LetterPage {
    page: Page,
    l: LetterVm,
}

#[derive(Debug, Clone)]
struct LetterVm {
    agency: String,
    agency_upper: String,
    number: String,
    place_date: String,
    applicant: String,
    address: String,
    phone: String,
    received_at: String,
    procedure: String,
    code: String,
    original_due: String,
    reason: String,
    responsible: String,
    new_date: String,
    head_title: String,
    head_name: String,
    desk: String,
}

fn letter_vm(domain: &Domain, place: &str, tr: Tr, code: &str, d: &Dossier, now: DateTime<Utc>) -> Option<LetterVm> {
    let last = d.reschedules.last();
    let responsible = last.and_then(|r| r.responsible.clone()).or_else(|| d.holder.clone())?;
    let agency = domain.catalog.agency(&responsible)?;
    let desk = d.receiving_agency.as_ref().map(|a| agency_name(domain, tr, a)).unwrap_or_default();
    let seq = code.rsplit('-').next().unwrap_or("");
    let name = agency_name(domain, tr, &responsible);
    Some(LetterVm {
        agency_upper: name.to_uppercase(),
        agency: name.clone(),
        number: format!("{seq}-{}/PXL", d.reschedules.len().max(1)),
        place_date: place_date(place, tr, last.map_or(now, |r| r.at)),
        applicant: d.applicant.name.clone(),
        address: d.applicant.address.clone().unwrap_or_default(),
        phone: d.applicant.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
        received_at: local_opt(d.received_at),
        procedure: d.procedure.as_ref().map(|p| procedure_name(domain, tr, p)).unwrap_or_default(),
        code: code.to_string(),
        original_due: local_opt(d.original_due_at),
        reason: last.map(|r| r.reason.clone()).unwrap_or_default(),
        responsible: name,
        new_date: local_opt(last.map(|r| r.to)),
        head_title: agency.head_title.clone(),
        head_name: agency.head_name.clone(),
        desk,
    })
}

/// The apology letter of dossier `code` in the frame `page`, from its latest reschedule (or,
/// with none, addressed from the holder); `None` when the dossier has neither a responsible
/// agency in the catalog nor a holder, so no letter to print.
pub fn apology_letter(
    domain: &Domain,
    place: &str,
    page: Page,
    code: &str,
    d: &Dossier,
    now: DateTime<Utc>,
) -> Option<Result<String, askama::Error>> {
    let l = letter_vm(domain, place, page.tr, code, d, now)?;
    Some(LetterPage { page, l }.render())
}
