//! The desk's official papers (DOMAIN.md §8), one renderer per form, each a standalone
//! printable HTML page (A4, one page for up to 8 documents and two signature blocks) in the
//! form of the rule set in force at the dossier's receipt ([`RuleSet`]): the receipt (Mẫu 01),
//! the supplement request (Mẫu 02), the refusal (Mẫu 03), the apology with a new date (Mẫu 04),
//! the control sheet (Mẫu 05; Mẫu 06 from 2025) and the tracking book (Mẫu 06; Mẫu 07 from 2025,
//! also as CSV). The web routes (`/dossiers/{code}/forms/{kind}`, `/forms/book`), `motcua form`,
//! `motcua letter` and the worker's print queue ([`dossier_paper`]) all call these functions, so
//! they print the same paper. The data comes from core ([`motcua_core::forms`], [`motcua_core::letters::owed_apology`]); every value is
//! escaped by askama, the QR code's SVG excepted ([`crate::paper::lookup_qr`]).

use askama::Template;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use motcua_core::calendar::to_local;
use motcua_core::forms::{self as core_forms, BookRow, FormKind, Receiver, RuleSet};
use motcua_core::letters::{LetterForm, owed_apology};
use motcua_core::{AgencyCode, CopyKind, Domain, Dossier, Event, Status, TimeLimit, Timeliness};

use crate::i18n::Tr;

/// Why a form cannot be printed for a dossier.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// The dossier has no such paper (no supplement request, no refusal, no apology owed…).
    #[error("{0}")]
    NotApplicable(String),
    #[error("cannot render the form: {0}")]
    Render(#[from] askama::Error),
}

/// What every paper about one dossier is printed from.
#[derive(Debug, Clone, Copy)]
pub struct Paper<'a> {
    pub domain: &'a Domain,
    /// The place in "Đà Nẵng, ngày … tháng … năm …".
    pub place: &'a str,
    pub tr: Tr,
    /// The dossier's code as asked for.
    pub code: &'a str,
    pub dossier: &'a Dossier,
    pub events: &'a [Event],
    /// The name of the officer who received it (empty when nobody has yet).
    pub officer: &'a str,
    /// The public lookup page and its QR code (the receipt prints them).
    pub lookup_url: &'a str,
    pub qr_svg: &'a str,
    /// The instant the paper is printed: the date of a paper with no event to date it.
    pub now: DateTime<Utc>,
    /// Received from a hall ticket: the citizen's time in the hall before the clock started
    /// (the control sheet prints it, apart from the statutory clock).
    pub hall: Option<&'a motcua_core::hall::HallTime>,
}

/// The header every form shares.
#[derive(Debug, Clone)]
struct Head {
    en: bool,
    lang: &'static str,
    kind: &'static str,
    issuer: String,
    issuer_upper: String,
    number: String,
    place_date: String,
    title: String,
    title_upper: String,
    subtitle: String,
    reference: String,
    code: String,
    /// The dossier page (the screen-only bar links back to it); empty for the book.
    back: String,
}

fn place_date(place: &str, en: bool, at: DateTime<Utc>) -> String {
    let d = to_local(at).date();
    if en {
        format!("{place}, {}", d.format("%d %B %Y"))
    } else {
        format!("{place}, ngày {} tháng {} năm {}", d.format("%d"), d.format("%m"), d.format("%Y"))
    }
}

fn local(at: DateTime<Utc>) -> String {
    to_local(at).format("%d/%m/%Y %H:%M").to_string()
}

fn local_opt(at: Option<DateTime<Utc>>) -> String {
    at.map(local).unwrap_or_default()
}

fn date_opt(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| to_local(t).format("%d/%m/%Y").to_string()).unwrap_or_default()
}

fn agency_name(domain: &Domain, en: bool, code: &AgencyCode) -> String {
    domain
        .catalog
        .agency(code)
        .map(|a| if en { a.name_en.clone() } else { a.name.clone() })
        .unwrap_or_else(|| code.to_string())
}

fn time_limit_text(en: bool, t: TimeLimit) -> String {
    match (t, en) {
        (TimeLimit::WorkingDays(n), false) => format!("{n} ngày làm việc"),
        (TimeLimit::WorkingHours(n), false) => format!("{n} giờ làm việc"),
        (TimeLimit::CalendarDays(n), false) => format!("{n} ngày"),
        (other, true) => other.to_string(),
    }
}

fn timeliness_text(en: bool, t: Option<Timeliness>) -> String {
    match (t, en) {
        (None, _) => String::new(),
        (Some(Timeliness::Early), false) => "Trước hạn".into(),
        (Some(Timeliness::OnTime), false) => "Đúng hạn".into(),
        (Some(Timeliness::Late), false) => "Quá hạn".into(),
        (Some(Timeliness::Early), true) => "Early".into(),
        (Some(Timeliness::OnTime), true) => "On time".into(),
        (Some(Timeliness::Late), true) => "Late".into(),
    }
}

/// The paper's number: the dossier's daily sequence and the form's suffix ("0004/TNHS").
fn number(code: &str, suffix: &str) -> String {
    format!("{}/{suffix}", code.rsplit('-').next().unwrap_or(""))
}

impl Paper<'_> {
    fn rules(&self) -> RuleSet {
        LetterForm::for_dossier(self.dossier, self.now)
    }

    fn en(&self) -> bool {
        self.tr.en()
    }

    fn desk(&self) -> String {
        self.dossier.receiving_agency.as_ref().map(|a| agency_name(self.domain, self.en(), a)).unwrap_or_default()
    }

    fn head(&self, kind: FormKind, suffix: &str, dated: DateTime<Utc>) -> Head {
        let rules = self.rules();
        let en = self.en();
        let title = if en { kind.title_en(rules) } else { kind.title_vi(rules) }.to_string();
        let issuer = self.desk();
        Head {
            en,
            lang: self.tr.code(),
            kind: kind.name(),
            issuer_upper: issuer.to_uppercase(),
            issuer,
            number: number(self.code, suffix),
            place_date: place_date(self.place, en, dated),
            title_upper: title.to_uppercase(),
            subtitle: if en { kind.title_vi(rules).to_string() } else { String::new() },
            title,
            reference: kind.reference_vi(rules),
            code: self.code.to_string(),
            back: format!("/dossiers/{}", self.code),
        }
    }

    fn procedure(&self) -> Option<&motcua_core::Procedure> {
        self.domain.procedure_of(self.dossier).ok()
    }

    fn procedure_name(&self) -> String {
        self.procedure()
            .map(|p| format!("{} ({})", if self.en() { &p.name_en } else { &p.name }, p.code))
            .unwrap_or_default()
    }

    fn applicant(&self) -> ApplicantVm {
        let a = &self.dossier.applicant;
        ApplicantVm {
            name: a.name.clone(),
            address: a.address.clone().unwrap_or_default(),
            phone: a.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
            email: a.email.as_ref().map(ToString::to_string).unwrap_or_default(),
            id_number: a.id_number.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone)]
struct ApplicantVm {
    name: String,
    address: String,
    phone: String,
    email: String,
    id_number: String,
}

/// One line of the receipt's checklist: the name and its count under one of the three columns.
#[derive(Debug, Clone)]
struct DocRow {
    name: String,
    original: String,
    copy: String,
    photocopy: String,
}

#[derive(Template)]
#[template(path = "forms/receipt.html")]
struct ReceiptForm {
    h: Head,
    a: ApplicantVm,
    procedure: String,
    documents: Vec<DocRow>,
    time_limit: String,
    received_at: String,
    appointment_time: String,
    appointment_date: String,
    collect_at: String,
    officer: String,
    online: bool,
    qr_svg: String,
    lookup_url: String,
}

/// Mẫu 01: the receipt and appointment slip, with the document checklist kept at intake (the
/// procedure's list from the catalog, columns empty, when intake kept none) and the
/// appointment at the office's closing time of the due day.
pub fn receipt(p: &Paper<'_>) -> Result<String, FormError> {
    let d = p.dossier;
    let en = p.en();
    let count = |n: u32| format!("{n:02}");
    let documents: Vec<DocRow> = if d.documents.is_empty() {
        p.procedure()
            .map(|pr| {
                pr.documents
                    .iter()
                    .map(|name| DocRow {
                        name: name.clone(),
                        original: String::new(),
                        copy: String::new(),
                        photocopy: String::new(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        d.documents
            .iter()
            .map(|x| {
                let at = |k: CopyKind| if x.copy == k { count(x.count) } else { String::new() };
                DocRow {
                    name: x.name.clone(),
                    original: at(CopyKind::Original),
                    copy: at(CopyKind::Copy),
                    photocopy: at(CopyKind::Photocopy),
                }
            })
            .collect()
    };
    let appointment = core_forms::appointment(p.domain, d);
    let dated = d.received_at.or(d.registered_at).unwrap_or(p.now);
    let unit = d.receiving_agency.as_ref().and_then(|a| p.domain.catalog.agency(a));
    let f = ReceiptForm {
        h: p.head(FormKind::Receipt, "TNHS", dated),
        a: p.applicant(),
        procedure: p.procedure_name(),
        documents,
        time_limit: p.procedure().map(|pr| time_limit_text(en, pr.time_limit)).unwrap_or_default(),
        received_at: local_opt(d.received_at),
        appointment_time: appointment.map(|t: NaiveDateTime| t.format("%H:%M").to_string()).unwrap_or_default(),
        appointment_date: appointment.map(|t| t.format("%d/%m/%Y").to_string()).unwrap_or_default(),
        collect_at: unit.map(|u| format!("{}, {}", p.desk(), u.address)).unwrap_or_else(|| p.desk()),
        officer: p.officer.to_string(),
        online: d.status == Some(Status::RegisteredOnline),
        qr_svg: p.qr_svg.to_string(),
        lookup_url: p.lookup_url.to_string(),
    };
    Ok(f.render()?)
}

#[derive(Template)]
#[template(path = "forms/supplement.html")]
struct SupplementForm {
    h: Head,
    a: ApplicantVm,
    procedure: String,
    received_at: String,
    reason: String,
    documents: Vec<String>,
    requested_at: String,
    officer: String,
    second: bool,
}

/// Mẫu 02: the supplement request, from the latest `supplement_requested` event.
pub fn supplement(p: &Paper<'_>) -> Result<String, FormError> {
    let s = core_forms::supplement_facts(p.events)
        .ok_or_else(|| FormError::NotApplicable(format!("dossier {} has no supplement request", p.code)))?;
    let f = SupplementForm {
        h: p.head(FormKind::Supplement, "YCBS", s.at),
        a: p.applicant(),
        procedure: p.procedure_name(),
        received_at: local_opt(p.dossier.received_at),
        reason: s.reason,
        documents: s.documents,
        requested_at: local(s.at),
        officer: s.by.unwrap_or_default(),
        second: s.n > 1,
    };
    Ok(f.render()?)
}

#[derive(Template)]
#[template(path = "forms/refusal.html")]
struct RefusalForm {
    h: Head,
    a: ApplicantVm,
    procedure: String,
    submitted_at: String,
    reason: String,
    officer: String,
}

/// Mẫu 03: the refusal to accept the dossier, from its `refused_at_receipt` event.
pub fn refusal(p: &Paper<'_>) -> Result<String, FormError> {
    let r = core_forms::refusal_facts(p.events)
        .ok_or_else(|| FormError::NotApplicable(format!("dossier {} was not refused at receipt", p.code)))?;
    let f = RefusalForm {
        h: p.head(FormKind::Refusal, "TCHS", r.at),
        a: p.applicant(),
        procedure: p.procedure_name(),
        submitted_at: local_opt(p.dossier.registered_at.or(p.dossier.received_at)),
        reason: r.reason,
        officer: r.by.unwrap_or_default(),
    };
    Ok(f.render()?)
}

#[derive(Template)]
#[template(path = "forms/apology.html")]
struct ApologyForm {
    h: Head,
    a: ApplicantVm,
    desk: String,
    procedure: String,
    received_at: String,
    original_due: String,
    reason: String,
    responsible: String,
    new_date: String,
    requests_extension: bool,
    head_title: String,
    head_name: String,
    automatic: bool,
    with_result: bool,
}

/// Mẫu 04: the apology (with its new date) the dossier owes, as core decides it for the
/// e-mail and the print queue ([`owed_apology`]): the same rule set, title and number.
pub fn apology(p: &Paper<'_>) -> Result<String, FormError> {
    let none = || {
        FormError::NotApplicable(format!(
            "dossier {} has no apology letter: it was not rescheduled and did not finish late",
            p.code
        ))
    };
    let letter =
        owed_apology(p.domain, p.dossier).map_err(|e| FormError::NotApplicable(e.to_string()))?.ok_or_else(none)?;
    let a = letter.apology.as_ref().ok_or_else(none)?;
    let en = p.en();
    let mut h = p.head(FormKind::Apology, "PXL", letter.issued_at);
    let responsible = if en { a.responsible.name_en.clone() } else { a.responsible.name.clone() };
    h.issuer_upper = responsible.to_uppercase();
    h.issuer = responsible.clone();
    h.number = a.number.clone();
    let reason = if en { a.reason_en.clone().unwrap_or_else(|| a.reason.clone()) } else { a.reason.clone() };
    let f = ApologyForm {
        h,
        a: p.applicant(),
        desk: letter.desk.name.clone(),
        procedure: p.procedure_name(),
        received_at: local_opt(letter.dossier.received_at),
        original_due: local_opt(letter.dossier.original_due_at),
        reason,
        responsible,
        new_date: local_opt(letter.dossier.new_due_at),
        requests_extension: a.requests_extension,
        head_title: a.responsible.head_title.clone(),
        head_name: a.responsible.head_name.clone(),
        automatic: a.automatic,
        with_result: a.with_result,
    };
    Ok(f.render()?)
}

#[derive(Debug, Clone)]
struct ControlVm {
    n: usize,
    from: String,
    to: String,
    handed_at: String,
    received_at: String,
    result: String,
}

/// The control sheet's line on the time waited in the hall.
#[derive(Debug, Clone)]
struct HallVm {
    number: String,
    issued_at: String,
    /// "12 phút" / "12 minutes", or "—" when never called.
    to_call: String,
    to_receipt: i64,
}

#[derive(Template)]
#[template(path = "forms/control.html")]
struct ControlForm {
    h: Head,
    a: ApplicantVm,
    procedure: String,
    received_at: String,
    appointment: String,
    rows: Vec<ControlVm>,
    hall: Option<HallVm>,
}

/// Mẫu 05 (Mẫu 06 from 2025): the control sheet, one row per handoff from core's analysis.
pub fn control(p: &Paper<'_>) -> Result<String, FormError> {
    let en = p.en();
    let rows = core_forms::control_rows(p.domain, p.dossier, p.now)
        .map_err(|e| FormError::NotApplicable(e.to_string()))?
        .into_iter()
        .enumerate()
        .map(|(i, r)| ControlVm {
            n: i + 1,
            from: agency_name(p.domain, en, &r.from),
            to: match &r.to {
                Receiver::Agency(a) => agency_name(p.domain, en, a),
                Receiver::Citizen => {
                    if en {
                        format!("Applicant: {}", p.dossier.applicant.name)
                    } else {
                        format!("Tổ chức, cá nhân: {}", p.dossier.applicant.name)
                    }
                }
            },
            handed_at: local(r.handed_at),
            received_at: local_opt(r.received_at),
            result: timeliness_text(en, r.result),
        })
        .collect();
    let f = ControlForm {
        h: p.head(FormKind::Control, "PKS", p.dossier.received_at.unwrap_or(p.now)),
        a: p.applicant(),
        procedure: p.procedure_name(),
        received_at: local_opt(p.dossier.received_at),
        appointment: core_forms::appointment(p.domain, p.dossier)
            .map(|t| t.format("%H:%M %d/%m/%Y").to_string())
            .unwrap_or_default(),
        rows,
        hall: p.hall.map(|w| HallVm {
            number: w.number.clone(),
            issued_at: local(w.issued_at),
            to_call: w
                .wait_to_call_minutes
                .map_or_else(|| "—".to_string(), |m| if en { format!("{m} minutes") } else { format!("{m} phút") }),
            to_receipt: w.wait_to_receipt_minutes,
        }),
    };
    Ok(f.render()?)
}

/// Renders the form `kind` of one dossier (not the book, which covers a period).
pub fn render(kind: FormKind, p: &Paper<'_>) -> Result<String, FormError> {
    match kind {
        FormKind::Receipt => receipt(p),
        FormKind::Supplement => supplement(p),
        FormKind::Refusal => refusal(p),
        FormKind::Apology => apology(p),
        FormKind::Control => control(p),
        FormKind::Book => Err(FormError::NotApplicable("the tracking book covers a period, not a dossier".into())),
    }
}

/// The tracking book's period and agency.
#[derive(Debug, Clone)]
pub struct BookFacts<'a> {
    pub domain: &'a Domain,
    pub place: &'a str,
    pub tr: Tr,
    pub agency: &'a AgencyCode,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: &'a [BookRow],
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct BookVm {
    n: usize,
    code: String,
    procedure: String,
    sets: u32,
    applicant: String,
    contact: String,
    lead: String,
    received: String,
    appointment: String,
    transferred: String,
    result: String,
    returned: String,
    note: String,
}

#[derive(Template)]
#[template(path = "forms/book.html")]
struct BookForm {
    h: Head,
    period: String,
    rows: Vec<BookVm>,
}

fn book_vm(en: bool, rows: &[BookRow]) -> Vec<BookVm> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| BookVm {
            n: i + 1,
            code: r.code.clone(),
            procedure: r.procedure_name.clone(),
            sets: r.sets,
            applicant: r.applicant.clone(),
            contact: [r.address.as_str(), r.phone.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("; "),
            lead: r.lead_agency.clone(),
            received: local_opt(r.received_at),
            appointment: r.appointment.map(|t| t.format("%d/%m/%Y %H:%M").to_string()).unwrap_or_default(),
            transferred: date_opt(r.transferred_at),
            result: date_opt(r.result_at),
            returned: date_opt(r.returned_at),
            note: timeliness_text(en, r.timeliness),
        })
        .collect()
}

/// Mẫu 06 (Mẫu 07 from 2025): the tracking book of an agency's desk for a period, printable.
pub fn book_html(b: &BookFacts<'_>) -> Result<String, FormError> {
    let en = b.tr.en();
    let rules = LetterForm::for_period_end(b.to);
    let title = if en { FormKind::Book.title_en(rules) } else { FormKind::Book.title_vi(rules) }.to_string();
    let issuer = agency_name(b.domain, en, b.agency);
    let h = Head {
        en,
        lang: b.tr.code(),
        kind: FormKind::Book.name(),
        issuer_upper: issuer.to_uppercase(),
        issuer,
        number: String::new(),
        place_date: place_date(b.place, en, b.now),
        title_upper: title.to_uppercase(),
        subtitle: if en { FormKind::Book.title_vi(rules).to_string() } else { String::new() },
        title,
        reference: FormKind::Book.reference_vi(rules),
        code: String::new(),
        back: String::new(),
    };
    let period = if en {
        format!("From {} to {}", b.from.format("%d/%m/%Y"), b.to.format("%d/%m/%Y"))
    } else {
        format!("Từ ngày {} đến ngày {}", b.from.format("%d/%m/%Y"), b.to.format("%d/%m/%Y"))
    };
    Ok(BookForm { h, period, rows: book_vm(en, b.rows) }.render()?)
}

/// The book's columns, in the page's language.
fn book_header(en: bool) -> [&'static str; 13] {
    if en {
        [
            "No.",
            "Dossier code",
            "Procedure",
            "Sets",
            "Applicant",
            "Address, phone",
            "Lead agency",
            "Received",
            "Appointment",
            "Sent to the agency",
            "Result received",
            "Result handed over",
            "Note",
        ]
    } else {
        [
            "STT",
            "Mã hồ sơ",
            "Tên thủ tục hành chính",
            "Số lượng hồ sơ (bộ)",
            "Tên cá nhân, tổ chức",
            "Địa chỉ, số điện thoại",
            "Cơ quan chủ trì giải quyết",
            "Nhận hồ sơ",
            "Hẹn trả kết quả",
            "Chuyển hồ sơ đến cơ quan giải quyết",
            "Nhận kết quả từ cơ quan giải quyết",
            "Trả kết quả cho cá nhân, tổ chức",
            "Ghi chú",
        ]
    }
}

fn csv_field(s: &str) -> String {
    // A leading = + - @ would be a formula to a spreadsheet: quote it with an apostrophe.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// The tracking book as CSV for Excel: a UTF-8 byte-order mark, CRLF line ends, the header
/// in the page's language.
pub fn book_csv(en: bool, rows: &[BookRow]) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(&book_header(en).iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for r in book_vm(en, rows) {
        let fields = [
            r.n.to_string(),
            r.code,
            r.procedure,
            r.sets.to_string(),
            r.applicant,
            r.contact,
            r.lead,
            r.received,
            r.appointment,
            r.transferred,
            r.result,
            r.returned,
            r.note,
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// At most this many dossiers in one printing of the book.
pub const BOOK_LIMIT: usize = 5000;

/// The book's lines: the dossiers `agency`'s desk received from `from` to `to` (local dates,
/// inclusive), oldest first, each replayed from its log; at most [`BOOK_LIMIT`]. The one piece
/// of this module that reads the store, shared by the web page and `motcua form book`.
pub async fn load_book<S: motcua_store::Store>(
    store: &S,
    domain: &Domain,
    agency: &AgencyCode,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<BookRow>, motcua_store::StoreError> {
    let start = motcua_core::calendar::from_local(from.and_time(chrono::NaiveTime::MIN));
    let end = motcua_core::calendar::from_local(to.succ_opt().unwrap_or(to).and_time(chrono::NaiveTime::MIN));
    let mut dossiers = store.received_between(start, end).await?;
    dossiers.retain(|r| r.receiving_agency == *agency);
    dossiers.sort_by(|a, b| a.received_at.cmp(&b.received_at).then_with(|| a.code.cmp(&b.code)));
    dossiers.truncate(BOOK_LIMIT);
    let mut rows = Vec::with_capacity(dossiers.len());
    for r in dossiers {
        let events = store.events(&r.code).await?;
        if let Ok(d) = domain.replay(&events) {
            rows.push(BookRow::of(domain, &d));
        }
    }
    Ok(rows)
}

/// Where a paper is printed from: the place in its date line and the public address its QR code
/// and lookup link name.
#[derive(Debug, Clone)]
pub struct PaperPlace {
    pub place: String,
    /// The server's public address (`https://motcua.danang.example`), without a trailing `/`.
    pub public_url: String,
}

/// Why [`dossier_paper`] printed nothing.
#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    #[error("dossier {0} does not exist")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] motcua_store::StoreError),
    #[error("dossier {0}'s log does not replay: {1}")]
    Replay(String, motcua_core::DomainError),
    #[error(transparent)]
    Form(#[from] FormError),
}

/// The paper `kind` of dossier `code`, read from the store and drawn by [`render`]: what
/// `motcua form`, `motcua letter` and the worker's print queue print (the web page reads the
/// dossier through its privacy rule first, then draws it the same way). The officer named is
/// the account that received the dossier.
pub async fn dossier_paper<S: motcua_store::Store + motcua_store::StaffStore + motcua_store::HallStore>(
    store: &S,
    domain: &Domain,
    kind: FormKind,
    code: &motcua_core::DossierCode,
    at: &PaperPlace,
    tr: Tr,
    now: DateTime<Utc>,
) -> Result<String, PaperError> {
    let code_text = code.to_string();
    let events = store.events(code).await?;
    if events.is_empty() {
        return Err(PaperError::Unknown(code_text));
    }
    let d = domain.replay(&events).map_err(|e| PaperError::Replay(code_text.clone(), e))?;
    let by = events
        .iter()
        .find(|e| matches!(e.kind, motcua_core::EventKind::Received { .. } | motcua_core::EventKind::AcceptedOnline))
        .and_then(|e| e.by.clone());
    let officer = match by {
        Some(u) => store.staff_credentials(&u).await?.map_or(u, |(s, _)| s.display_name),
        None => String::new(),
    };
    let url = format!("{}/tra-cuu?ma={code_text}", at.public_url.trim_end_matches('/'));
    let qr = crate::paper::lookup_qr(&url);
    let hall = motcua_store::hall::dossier_hall_time(store, code, d.received_at).await?;
    let p = Paper {
        domain,
        place: &at.place,
        tr,
        code: &code_text,
        dossier: &d,
        events: &events,
        officer: &officer,
        lookup_url: &url,
        qr_svg: &qr,
        now,
        hall: hall.as_ref(),
    };
    Ok(render(kind, &p)?)
}

/// A paper's HTML as plain text for a terminal: tags dropped, table cells separated by
/// ` | `, one line per row or paragraph.
pub fn html_to_text(html: &str) -> String {
    let mut s = html.to_string();
    // The screen-only bar (print button, link back) is not part of the paper.
    if let Some(a) = s.find("<div class=\"bar noprint\">")
        && let Some(b) = s[a..].find("</div>")
    {
        s.replace_range(a..a + b + 6, "");
    }
    for tag in ["title", "style", "script", "svg"] {
        while let (Some(a), Some(b)) = (s.find(&format!("<{tag}")), s.find(&format!("</{tag}>"))) {
            if b < a {
                break;
            }
            s.replace_range(a..b + tag.len() + 3, "");
        }
    }
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('>') else { break };
        let tag = rest[i + 1..i + j].trim_start_matches('/').split([' ', '>']).next().unwrap_or("").to_lowercase();
        match tag.as_str() {
            "td" | "th" if !rest[i..].starts_with("</") => out.push_str(" | "),
            "br" | "p" | "div" | "tr" | "h1" | "h2" | "li" | "table" => out.push('\n'),
            _ => {}
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|l| l.trim_start_matches("| ").to_string())
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("\n") + "\n"
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_of_a_paper_keeps_rows_and_drops_markup() {
        let t = html_to_text(
            "<style>p{}</style><h1>GIẤY &amp; HẸN</h1><table><tr><th>#</th><th>Tên</th></tr><tr><td>1</td><td>Tờ khai</td></tr></table><p>a<br>b</p>",
        );
        assert_eq!(t, "GIẤY & HẸN\n# | Tên\n1 | Tờ khai\na\nb\n");
    }

    #[test]
    fn book_csv_has_a_bom_and_escapes() {
        let csv = book_csv(false, &[]);
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("STT,Mã hồ sơ,"));
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
