//! Errors, event names and signals as a reader sees them, in the page's language: the one
//! place that turns a [`Problem`]'s [`Cause`] (core's errors with their instants, codes and
//! fields) into a sentence. Instants are shown at +07:00 as `dd/mm/yyyy HH:MM`, days with their
//! weekday, agencies and procedures by their catalog name when the domain is at hand. The
//! API's problem+json keeps its English `detail`; the pages call [`problem_text`].

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::analysis::Signal;
use motcua_core::backdate::{BackdateError, BackdateWindow};
use motcua_core::commands::{CommandError, MAX_DOCUMENTS};
use motcua_core::deadlines::format_date;
use motcua_core::text::TextError;
use motcua_core::{
    AgencyCode, CalendarError, Domain, DomainError, DossierError, ParseError, ProcedureCode, Status, vocab,
};

use crate::i18n::Tr;
use crate::problem::{Cause, Problem, ProblemKind};
use crate::shared::local;

/// What a page says about `p`: its cause worded in the page's language, or — with no cause —
/// the English detail on an English page and the kind's Vietnamese title on a Vietnamese one.
/// `domain` names agencies and procedures (their codes without it).
pub fn problem_text(p: &Problem, tr: Tr, domain: Option<&Domain>) -> String {
    match &p.cause {
        Some(c) => cause_text(c, tr, domain),
        None if tr.en() => p.detail.clone(),
        None => title(p.kind, tr).to_string(),
    }
}

/// A problem kind's title in the page's language.
pub fn title(kind: ProblemKind, tr: Tr) -> &'static str {
    if tr.en() {
        return kind.title();
    }
    use ProblemKind as K;
    match kind {
        K::Unauthorized => "Cần đăng nhập",
        K::Forbidden => "Tài khoản không có quyền thực hiện thao tác này",
        K::CsrfMismatch => "Biểu mẫu đã hết hạn; vui lòng tải lại trang và thực hiện lại",
        K::NotFound => "Không tìm thấy",
        K::BadRequest => "Yêu cầu không hợp lệ",
        K::MethodNotAllowed => "Đường dẫn không hỗ trợ thao tác này",
        K::UnsupportedMediaType => "Định dạng dữ liệu gửi lên không được hỗ trợ",
        K::InvalidInput => "Thông tin nhập không hợp lệ",
        K::IllegalTransition => "Trạng thái của hồ sơ không cho phép thao tác này",
        K::PendingHandoff => "Hồ sơ đang chờ nơi nhận tiếp nhận",
        K::NoPendingHandoff => "Không có lượt chuyển hồ sơ nào chờ tiếp nhận",
        K::TransferToHolder => "Hồ sơ đang do chính cơ quan này xử lý",
        K::SecondReschedule => "Hồ sơ đã có ngày hẹn mới",
        K::RescheduleNotLater => "Ngày hẹn mới không sau hạn trả kết quả",
        K::EventBeforeLast => "Thời điểm thực hiện sớm hơn sự kiện gần nhất của hồ sơ",
        K::WrongProcedure => "Sự kiện thuộc thủ tục khác",
        K::UnknownAgency => "Không có cơ quan này trong danh mục",
        K::UnknownProcedure => "Không có thủ tục này trong danh mục",
        K::AgencyNotInForce => "Cơ quan không tồn tại vào ngày đó",
        K::ProcedureNotInForce => "Thủ tục không có hiệu lực vào ngày đó",
        K::OutsideCalendar => "Ngày nằm ngoài lịch làm việc",
        K::AtInFuture => "Thời điểm thực hiện ở tương lai",
        K::BackdateBeyondWindow => "Thời điểm thực hiện sớm hơn thời gian cho phép nhập muộn",
        K::BackdateReasonRequired => "Nhập muộn hồ sơ giấy cần ghi lý do",
        K::Duplicate => "Đã tồn tại",
        K::AlreadyRated => "Hồ sơ đã được đánh giá",
        K::HallClosed => "Ngoài giờ làm việc: sảnh chưa cấp số thứ tự",
        K::HallCapacityReached => "Sảnh đã cấp hết số thứ tự của ngày hôm nay",
        K::TicketState => "Trạng thái của số thứ tự không cho phép thao tác này",
        K::BookingRefused => "Không thể đặt hoặc sử dụng lịch hẹn này",
        K::RateLimited => "Quá nhiều yêu cầu; vui lòng thử lại sau ít phút",
        K::PayloadTooLarge => "Dữ liệu gửi lên quá lớn",
        K::RequestTimeout => "Dữ liệu gửi lên không đến kịp",
        K::Unavailable => "Hệ thống tạm thời không phục vụ được; vui lòng thử lại sau",
        K::Internal => "Lỗi hệ thống; lỗi đã được ghi lại",
    }
}

/// An agency's name in the page's language (its code without the domain or in the catalog).
fn agency(domain: Option<&Domain>, tr: Tr, code: &AgencyCode) -> String {
    domain.map_or_else(|| code.to_string(), |d| crate::paper::agency_name(d, tr, code))
}

fn procedure(domain: Option<&Domain>, tr: Tr, code: &ProcedureCode) -> String {
    domain.map_or_else(|| code.to_string(), |d| crate::paper::procedure_name(d, tr, code))
}

/// "08/12/2026 17:00" at +07:00.
fn at(t: DateTime<Utc>) -> String {
    local(t)
}

/// "Thứ Hai 24/03/2025" / "Mon 24/03/2025".
fn day(d: NaiveDate, tr: Tr) -> String {
    format_date(d, tr.lang.core())
}

/// An event kind's name as readers see it ([`vocab::EVENT_LABELS`]); an unknown name as
/// stored.
pub fn event_name(name: &str, tr: Tr) -> String {
    vocab::event_label(name, tr.lang.core()).map_or_else(|| name.to_string(), str::to_string)
}

/// Why the worker could not deliver or print a message, in the page's language. The worker
/// stores its reason in English, as the operator's `motcua outbox` shows it; a page names the
/// kind of failure in a sentence (the print queue keeps the stored reason in the cell's
/// tooltip for the operator). An attempt's number is kept.
pub fn delivery_error_text(stored: &str, tr: Tr) -> String {
    if tr.en() {
        return stored.to_string();
    }
    let (attempt, reason) = match stored.strip_prefix("attempt ").and_then(|r| r.split_once(": ")) {
        Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => (Some(n), rest),
        _ => (None, stored),
    };
    let sentence = if reason.starts_with("mail server unreachable") {
        "Không kết nối được máy chủ thư; sẽ thử lại (không tính là một lần gửi)"
    } else if reason.starts_with("the payload is not") {
        "Nội dung thư lưu trong hàng đợi bị hỏng, không đọc được"
    } else if reason.starts_with("bad recipient") {
        "Nơi nhận lưu trong hàng đợi không hợp lệ"
    } else if reason.starts_with("bad address") {
        "Địa chỉ thư điện tử của người nhận không dùng được"
    } else if reason.starts_with("cannot create") || reason.starts_with("cannot write") {
        "Không ghi được tệp vào thư mục in của máy chủ"
    } else if reason.starts_with("cannot build the e-mail") || reason.starts_with("the e-mail could not be built") {
        "Không tạo được thư điện tử từ thông tin đã lưu"
    } else if reason.starts_with("templates") {
        "Không dựng được thư từ mẫu thư"
    } else if reason.starts_with("no longer applies") {
        "Không còn cần gửi: hồ sơ đã xong hoặc đang chờ công dân"
    } else if reason.starts_with("the send task failed") {
        "Việc gửi bị gián đoạn giữa chừng"
    } else if reason.starts_with("dossier") {
        "Không đọc được hồ sơ để in mẫu phiếu"
    } else {
        "Máy chủ thư từ chối hoặc không gửi được"
    };
    match attempt {
        Some(n) => format!("Lần thử {n}: {}", lower_first(sentence)),
        None => sentence.to_string(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |first| first.to_lowercase().chain(c).collect())
}

/// A status's name in the page's language.
pub fn status_name(s: Status, tr: Tr) -> String {
    if tr.en() { s.name().replace('_', " ") } else { s.name_vi().to_string() }
}

/// What a field is called in a sentence, in the page's language.
fn field(name: &str, tr: Tr) -> String {
    let (vi, en) = match name.trim_start_matches("--") {
        "reason" => ("lý do", "the reason"),
        "documents" | "document" => ("giấy tờ cần bổ sung", "the papers needed"),
        "applicant" => ("họ và tên người nộp", "the applicant's name"),
        "address" => ("địa chỉ", "the address"),
        "backdate_reason" | "backdate-reason" => ("lý do nhập muộn", "the reason for keying in late"),
        "name" => ("tên", "the name"),
        "to" => ("nơi chuyển đến hoặc ngày hẹn mới", "the recipient or the new date"),
        "q" => ("nội dung tìm kiếm", "the search text"),
        "code" => ("mã hồ sơ", "the dossier code"),
        "id_number" => ("số CCCD/CMND", "the ID number"),
        "phone" => ("số điện thoại", "the phone number"),
        "at" => ("thời điểm thực hiện", "the time it happened"),
        "as_of" => ("thời điểm tính", "the as-of instant"),
        "from" => ("từ ngày", "the first day"),
        "to_day" => ("đến ngày", "the last day"),
        "method" => ("hình thức thanh toán", "the payment method"),
        "receipt" => ("số biên lai", "the receipt reference"),
        "reason_code" | "reason-code" => ("mã lý do", "the reason code"),
        "digitised" => ("giấy tờ đã số hóa", "the digitised papers"),
        other => return other.replace('_', " "),
    };
    (if tr.en() { en } else { vi }).to_string()
}

/// The same with a capital first letter, to begin a sentence.
fn field_cap(name: &str, tr: Tr) -> String {
    let f = field(name, tr);
    let mut c = f.chars();
    c.next().map_or_else(String::new, |first| first.to_uppercase().chain(c).collect())
}

fn window(w: BackdateWindow, tr: Tr) -> String {
    if tr.en() {
        return w.describe();
    }
    match w {
        BackdateWindow::WorkingDays(d) => format!("{d} ngày làm việc"),
        BackdateWindow::WorkingMinutes(m) if m > 0 && m % 60 == 0 => format!("{} giờ làm việc", m / 60),
        BackdateWindow::WorkingMinutes(m) => format!("{m} phút làm việc"),
    }
}

/// A cause as a sentence in the page's language.
pub fn cause_text(c: &Cause, tr: Tr, domain: Option<&Domain>) -> String {
    let en = tr.en();
    match c {
        Cause::Domain(e) => domain_text(e, tr, domain),
        Cause::Command(e) => command_text(e, tr, domain),
        Cause::Backdate(e) => backdate_text(e, tr),
        Cause::Text(e) => text_text(e, tr),
        Cause::Parse(e) => parse_text(e, tr),
        Cause::NoDossier(code) if en => format!("There is no dossier {code}."),
        Cause::NoDossier(code) => format!("Không tìm thấy hồ sơ {code}."),
        Cause::DuplicateDossier(code) if en => format!("Dossier {code} already exists."),
        Cause::DuplicateDossier(code) => format!("Hồ sơ {code} đã tồn tại."),
        Cause::NoLetter(code) if en => format!("Dossier {code} has no apology letter."),
        Cause::NoLetter(code) => format!("Hồ sơ {code} không có phiếu xin lỗi."),
        Cause::InvalidInstant { field: f, value } if en => {
            format!("{} “{value}” is not a date and time: type it like 2025-01-24T16:40.", field_cap(f, tr))
        }
        Cause::InvalidInstant { field: f, value } => {
            format!("{} “{value}” không phải ngày giờ: nhập theo dạng 2025-01-24T16:40.", field_cap(f, tr))
        }
        Cause::InvalidDate(value) if en => format!("“{value}” is not a date: type it like 2025-01-24."),
        Cause::InvalidDate(value) => {
            format!("“{value}” không phải ngày: nhập theo dạng năm-tháng-ngày, ví dụ 2025-01-24.")
        }
        Cause::PeriodReversed { from, to } if en => {
            format!("The first day {} is after the last day {}.", day(*from, tr), day(*to, tr))
        }
        Cause::PeriodReversed { from, to } => {
            format!("Từ ngày {} sau đến ngày {}.", day(*from, tr), day(*to, tr))
        }
        Cause::Words(key) => tr.t(key).to_string(),
    }
}

fn domain_text(e: &DomainError, tr: Tr, domain: Option<&Domain>) -> String {
    let en = tr.en();
    match e {
        DomainError::UnknownProcedure(c) if en => format!("There is no procedure {c} in the catalog."),
        DomainError::UnknownProcedure(c) => format!("Không có thủ tục mã {c} trong danh mục."),
        DomainError::UnknownAgency(c) if en => format!("There is no agency {c} in the catalog."),
        DomainError::UnknownAgency(c) => format!("Không có cơ quan mã {c} trong danh mục."),
        DomainError::AgencyNotInForce(n) if en => n.to_string(),
        DomainError::AgencyNotInForce(n) => {
            let (code, name, on) = (&n.agency, &n.name, day(n.on, tr));
            match n.valid_until.filter(|u| n.on > *u) {
                Some(until) => {
                    let mut t = format!(
                        "{name} ({code}) đã chấm dứt hoạt động từ sau ngày {}, không thể tiếp nhận hồ sơ ngày {on}.",
                        day(until, tr)
                    );
                    if !n.successors.is_empty() {
                        let list: Vec<String> = n.successors.iter().map(|(c, x)| format!("{x} ({c})")).collect();
                        t.push_str(&format!(" Đơn vị kế thừa: {}.", list.join(", ")));
                    }
                    t
                }
                None => format!("{name} ({code}) chưa được thành lập vào ngày {on}."),
            }
        }
        DomainError::ProcedureNotInForce { code, on, .. } if en => {
            format!("Procedure {code} is not in force on {}.", day(*on, tr))
        }
        DomainError::ProcedureNotInForce { code, on, .. } => {
            format!("Thủ tục {code} không có hiệu lực vào ngày {}.", day(*on, tr))
        }
        DomainError::NoIntake if en => "The dossier has not been received.".to_string(),
        DomainError::NoIntake => "Hồ sơ chưa được tiếp nhận.".to_string(),
        DomainError::FeeToChoose { code, options } if en => {
            format!("Procedure {code} has several fees ({options}): type the amount.")
        }
        DomainError::FeeToChoose { code, options } => {
            format!("Thủ tục {code} có nhiều mức phí, lệ phí ({options}): nhập số tiền.")
        }
        DomainError::Dossier(d) => dossier_text(d, tr, domain),
    }
}

fn dossier_text(e: &DossierError, tr: Tr, domain: Option<&Domain>) -> String {
    let en = tr.en();
    match e {
        DossierError::IllegalTransition { status, event } => {
            let event = event_name(event, tr);
            match (status, en) {
                (Some(s), true) => format!("“{event}” is not possible while the dossier is “{}”.", status_name(*s, tr)),
                (Some(s), false) => {
                    format!("Không thể thực hiện “{event}” khi hồ sơ ở trạng thái “{}”.", status_name(*s, tr))
                }
                (None, true) => format!("“{event}” is not possible before the dossier is received."),
                (None, false) => format!("Không thể thực hiện “{event}” khi hồ sơ chưa được tiếp nhận."),
            }
        }
        DossierError::BeforeLastEvent { at: t, last } if en => {
            format!("{} is earlier than the dossier's last event, at {}.", at(*t), at(*last))
        }
        DossierError::BeforeLastEvent { at: t, last } => {
            format!("Thời điểm {} sớm hơn sự kiện gần nhất của hồ sơ, lúc {}.", at(*t), at(*last))
        }
        DossierError::PendingHandoff { to } if en => {
            format!("The dossier was sent to {} and waits for it to accept.", agency(domain, tr, to))
        }
        DossierError::PendingHandoff { to } => {
            format!("Hồ sơ đã được chuyển đến {} và đang chờ nơi nhận tiếp nhận.", agency(domain, tr, to))
        }
        DossierError::NoPendingHandoff if en => "There is no transfer waiting to be accepted.".to_string(),
        DossierError::NoPendingHandoff => "Không có lượt chuyển hồ sơ nào đang chờ tiếp nhận.".to_string(),
        DossierError::TransferToHolder(a) if en => {
            format!("The dossier is already held by {}; it cannot be sent there.", agency(domain, tr, a))
        }
        DossierError::TransferToHolder(a) => {
            format!("Hồ sơ đang do {} xử lý; không thể chuyển cho chính nơi đang giữ hồ sơ.", agency(domain, tr, a))
        }
        DossierError::SecondReschedule if en => {
            "The dossier already has a new appointment date; a second one must be explicitly allowed.".to_string()
        }
        DossierError::SecondReschedule => {
            "Hồ sơ đã được hẹn lại ngày trả kết quả một lần; hẹn lại lần thứ hai phải được cho phép riêng.".to_string()
        }
        DossierError::RescheduleNotLater { to, due } if en => {
            format!("The new appointment date {} is not after the due date {}.", at(*to), at(*due))
        }
        DossierError::RescheduleNotLater { to, due } => {
            format!("Ngày hẹn mới {} không sau hạn trả kết quả {}.", at(*to), at(*due))
        }
        DossierError::WrongProcedure { dossier, given } if en => format!(
            "The dossier is for the procedure “{}”, not “{}”.",
            procedure(domain, tr, dossier),
            procedure(domain, tr, given)
        ),
        DossierError::WrongProcedure { dossier, given } => format!(
            "Hồ sơ thuộc thủ tục “{}”, không phải “{}”.",
            procedure(domain, tr, dossier),
            procedure(domain, tr, given)
        ),
        DossierError::Calendar(c) => calendar_text(c, tr),
    }
}

fn calendar_text(e: &CalendarError, tr: Tr) -> String {
    match e {
        CalendarError::OutOfCoverage { date, first, last } if tr.en() => format!(
            "{} is outside the working-day calendar ({} to {}).",
            day(*date, tr),
            day(*first, tr),
            day(*last, tr)
        ),
        CalendarError::OutOfCoverage { date, first, last } => format!(
            "Ngày {} nằm ngoài lịch làm việc đã có ({} đến {}).",
            day(*date, tr),
            day(*first, tr),
            day(*last, tr)
        ),
        CalendarError::Invalid(_) if tr.en() => "The working-day calendar is not valid.".to_string(),
        CalendarError::Invalid(_) => "Dữ liệu lịch làm việc không hợp lệ.".to_string(),
    }
}

fn command_text(e: &CommandError, tr: Tr, domain: Option<&Domain>) -> String {
    let en = tr.en();
    match e {
        CommandError::Empty { field: f } if en => format!("{} must not be empty.", field_cap(f, tr)),
        CommandError::Empty { field: f } => format!("Chưa nhập {}.", field(f, tr)),
        CommandError::RefusalWithoutReason { .. } if en => "A refusal needs a reason.".to_string(),
        CommandError::RefusalWithoutReason { .. } => "Từ chối giải quyết phải ghi rõ lý do.".to_string(),
        CommandError::Parse(p) => parse_text(p, tr),
        CommandError::Text(t) => text_text(t, tr),
        CommandError::Channel(c) if en => format!("“{c}” is not a channel: in person, online or postal."),
        CommandError::Channel(c) => format!("Hình thức nộp “{c}” không hợp lệ: trực tiếp, trực tuyến hoặc bưu chính."),
        CommandError::IdNumber(n) if en => format!("“{n}” is not an ID number: 12 digits (CCCD) or 9 digits."),
        CommandError::IdNumber(n) => {
            format!("Số CCCD/CMND “{n}” không hợp lệ: gồm 12 chữ số (CCCD) hoặc 9 chữ số (CMND).")
        }
        CommandError::Date(d) if en => format!("“{d}” is not a date: type it like 2025-01-24 or 2025-01-24T16:40."),
        CommandError::Date(d) => {
            format!("“{d}” không phải ngày: nhập theo dạng 2025-01-24 hoặc 2025-01-24T16:40.")
        }
        CommandError::NotWorkingDay { date, next } if en => {
            format!("{} is not a working day; the next working day is {}.", day(*date, tr), day(*next, tr))
        }
        CommandError::NotWorkingDay { date, next } => {
            format!("{} là ngày nghỉ; ngày làm việc kế tiếp là {}.", day(*date, tr), day(*next, tr))
        }
        CommandError::OutsideOfficeHours { at: t } if en => {
            format!("{} is outside office hours.", t.format("%d/%m/%Y %H:%M"))
        }
        CommandError::OutsideOfficeHours { at: t } => {
            format!("{} nằm ngoài giờ làm việc.", t.format("%d/%m/%Y %H:%M"))
        }
        CommandError::Document(d) if en => {
            format!("“{d}” is not a document line: type NAME:original|copy|photocopy:COUNT.")
        }
        CommandError::Document(d) => {
            format!("Dòng giấy tờ “{d}” không hợp lệ: nhập theo dạng TÊN:bản chính|bản sao|bản photo:SỐ LƯỢNG.")
        }
        CommandError::CopyKind(k) if en => format!("“{k}” is not a kind of copy: original, copy or photocopy."),
        CommandError::CopyKind(k) => format!("Loại bản “{k}” không hợp lệ: bản chính, bản sao hoặc bản photo."),
        CommandError::DocumentCount { name, count, max } if en => {
            format!("{count} is not a count for “{name}”: from 1 to {max}.")
        }
        CommandError::DocumentCount { name, count, max } => {
            format!("Số lượng {count} của “{name}” không hợp lệ: từ 1 đến {max}.")
        }
        CommandError::TooManyDocuments(n) if en => {
            format!("{n} documents: at most {MAX_DOCUMENTS} a dossier.")
        }
        CommandError::TooManyDocuments(n) => format!("{n} giấy tờ: tối đa {MAX_DOCUMENTS} giấy tờ một hồ sơ."),
        CommandError::Amount(a) if en => format!("“{a}” is not an amount: a whole number of đồng, 0 or more."),
        CommandError::Amount(a) => format!("Số tiền “{a}” không hợp lệ: nhập số đồng nguyên, từ 0 trở lên."),
        CommandError::Method(m) if en => {
            format!("“{m}” is not a payment method: cash, bank_transfer, online or exempt.")
        }
        CommandError::Method(m) => format!(
            "Hình thức thanh toán “{m}” không hợp lệ: tiền mặt (cash), chuyển khoản (bank_transfer), trực tuyến (online) hoặc miễn (exempt)."
        ),
        CommandError::MethodMissing { .. } if en => "Choose how the fee was paid.".to_string(),
        CommandError::MethodMissing { .. } => "Chưa chọn hình thức thanh toán.".to_string(),
        CommandError::UnknownReason(u) if en => format!("“{}” is not a reason code: {}.", u.code, u.known),
        CommandError::UnknownReason(u) => format!("Mã lý do “{}” không có trong danh mục: {}.", u.code, u.known),
        CommandError::ReasonCodeOnApproval { .. } if en => "A reason code goes with a refusal only.".to_string(),
        CommandError::ReasonCodeOnApproval { .. } => "Chỉ ghi mã lý do khi từ chối giải quyết.".to_string(),
        CommandError::NoDigitised { .. } if en => "Name at least one digitised paper.".to_string(),
        CommandError::NoDigitised { .. } => "Chưa chọn giấy tờ đã số hóa.".to_string(),
        CommandError::DigitisedNotInChecklist(n) if en => {
            format!("“{n}” is not in the dossier's document checklist.")
        }
        CommandError::DigitisedNotInChecklist(n) => format!("“{n}” không có trong danh mục giấy tờ của hồ sơ."),
        CommandError::Calendar(c) => calendar_text(c, tr),
        CommandError::Domain(d) => domain_text(d, tr, domain),
    }
}

fn text_text(e: &TextError, tr: Tr) -> String {
    let en = tr.en();
    match e {
        TextError::Empty { field: f } if en => format!("{} must not be empty.", field_cap(f, tr)),
        TextError::Empty { field: f } => format!("Chưa nhập {}.", field(f, tr)),
        TextError::Control { field: f, code, position } if en => {
            format!("{} contains a control character (U+{code:04X}) at character {position}.", field_cap(f, tr))
        }
        TextError::Control { field: f, code, position } => {
            format!("{} có ký tự điều khiển (U+{code:04X}) ở ký tự thứ {position}.", field_cap(f, tr))
        }
        TextError::TooLong { field: f, chars, max } if en => {
            format!("{} is too long: {chars} characters, at most {max}.", field_cap(f, tr))
        }
        TextError::TooLong { field: f, chars, max } => {
            format!("{} quá dài: {chars} ký tự, tối đa {max} ký tự.", field_cap(f, tr))
        }
    }
}

fn parse_text(e: &ParseError, tr: Tr) -> String {
    if tr.en() {
        return format!("{e}.");
    }
    let (what, hint) = match e.what {
        "agency code" => ("mã cơ quan", "dạng 000.00.06.H56"),
        "procedure code" => ("mã thủ tục", "dạng 1.001193"),
        "dossier code" => ("mã hồ sơ", "dạng 000.00.06.H56-231027-0361"),
        "dossier sequence" => ("số thứ tự hồ sơ", "từ 1 đến 9999 mỗi cơ quan mỗi ngày"),
        "e-mail address" => ("địa chỉ thư điện tử", "dạng ten@mien.vn"),
        "phone number" => ("số điện thoại", "10 chữ số bắt đầu bằng 0, hoặc +84 và 9 chữ số"),
        other => (other, ""),
    };
    if e.value.trim().is_empty() {
        return format!("Chưa nhập {what}.");
    }
    if hint.is_empty() {
        format!("{} “{}” không hợp lệ.", capitalise(what), e.value)
    } else {
        format!("{} “{}” không hợp lệ: cần {hint}.", capitalise(what), e.value)
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |first| first.to_uppercase().chain(c).collect())
}

fn backdate_text(e: &BackdateError, tr: Tr) -> String {
    if tr.en() {
        return e.to_string();
    }
    match e {
        BackdateError::InFuture { at: t, now } => {
            format!("Thời điểm {} sau thời điểm hiện tại ({}): không ghi sự kiện vào tương lai.", at(*t), at(*now))
        }
        BackdateError::BeyondWindow { at: t, now, window: w, earliest } => format!(
            "Thời điểm {} sớm hơn {} trước hiện tại ({}); sớm nhất được phép là {}. Chỉ tài khoản được phép nhập hồ sơ giấy muộn mới ghi được thời điểm sớm hơn, kèm lý do nhập muộn.",
            at(*t),
            window(*w, tr),
            at(*now),
            earliest.map_or_else(|| "ngoài lịch làm việc".to_string(), at)
        ),
        BackdateError::ReasonRequired { at: t, now, window: w } => format!(
            "Thời điểm {} sớm hơn {} trước hiện tại ({}): nhập muộn hồ sơ giấy cần ghi lý do nhập muộn.",
            at(*t),
            window(*w, tr),
            at(*now)
        ),
    }
}

/// A signal of a dossier (DOMAIN.md §6) as a sentence in the page's language.
pub fn signal_text(s: &Signal, tr: Tr, domain: Option<&Domain>) -> String {
    let en = tr.en();
    let minutes = |m: i64| motcua_core::deadlines::format_working_minutes(m, tr.lang.core());
    match s {
        Signal::Bounce { agency: a } if en => {
            format!("Bounced back: returned to {}, which already held it.", agency(domain, tr, a))
        }
        Signal::Bounce { agency: a } => {
            format!("Trả qua trả lại: hồ sơ quay lại {}, nơi đã từng giữ hồ sơ.", agency(domain, tr, a))
        }
        Signal::ExtraHandoffs { handoffs, route_handoffs } if en => {
            format!("{handoffs} handoffs where the route has {route_handoffs}.")
        }
        Signal::ExtraHandoffs { handoffs, route_handoffs } => {
            format!("Chuyển {handoffs} lượt trong khi quy trình có {route_handoffs} lượt.")
        }
        Signal::SilentHolder { agency: a, working_minutes, budget_minutes } if en => format!(
            "Silent holder: {} has held it for {} (its step allows {}) with no action.",
            agency(domain, tr, a),
            minutes(*working_minutes),
            minutes(*budget_minutes)
        ),
        Signal::SilentHolder { agency: a, working_minutes, budget_minutes } => format!(
            "Giữ hồ sơ quá thời gian mà không xử lý: {} đã giữ {} (thời hạn bước {}).",
            agency(domain, tr, a),
            minutes(*working_minutes),
            minutes(*budget_minutes)
        ),
        Signal::SecondSupplement if en => "Second supplement request.".to_string(),
        Signal::SecondSupplement => "Yêu cầu bổ sung lần thứ hai.".to_string(),
        Signal::UnlistedPapers { documents } if en => {
            format!("The supplement asked for papers not in the procedure: {}.", documents.join(", "))
        }
        Signal::UnlistedPapers { documents } => {
            format!("Yêu cầu bổ sung giấy tờ ngoài danh mục của thủ tục: {}.", documents.join(", "))
        }
        Signal::LateWithoutApology if en => "Late with no apology.".to_string(),
        Signal::LateWithoutApology => "Trễ hạn mà không có phiếu xin lỗi.".to_string(),
        Signal::ApologyAfterDue if en => "Apology issued after the due date.".to_string(),
        Signal::ApologyAfterDue => "Phiếu xin lỗi lập sau khi đã quá hạn.".to_string(),
        Signal::SecondReschedule if en => "Second new appointment date.".to_string(),
        Signal::SecondReschedule => "Hẹn lại ngày trả kết quả lần thứ hai.".to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn reschedule_not_later_in_both_languages_at_vietnam_time() {
        let to: DateTime<Utc> = "2026-12-08T03:00:00Z".parse().unwrap();
        let due: DateTime<Utc> = "2026-12-14T03:13:13Z".parse().unwrap();
        let p = Problem::from(DomainError::Dossier(DossierError::RescheduleNotLater { to, due }));
        assert_eq!(
            problem_text(&p, Tr::new(Lang::Vi), None),
            "Ngày hẹn mới 08/12/2026 10:00 không sau hạn trả kết quả 14/12/2026 10:13."
        );
        assert_eq!(
            problem_text(&p, Tr::new(Lang::En), None),
            "The new appointment date 08/12/2026 10:00 is not after the due date 14/12/2026 10:13."
        );
        // The API's detail stays as it was.
        assert!(p.detail.contains("UTC"));
    }

    #[test]
    fn empty_reason_and_unknown_cause() {
        let p = Problem::from(CommandError::Empty { field: "reason" });
        assert_eq!(problem_text(&p, Tr::new(Lang::Vi), None), "Chưa nhập lý do.");
        assert_eq!(problem_text(&p, Tr::new(Lang::En), None), "The reason must not be empty.");
        let bare = Problem::invalid("something in English");
        assert_eq!(problem_text(&bare, Tr::new(Lang::Vi), None), "Thông tin nhập không hợp lệ");
        assert_eq!(problem_text(&bare, Tr::new(Lang::En), None), "something in English");
    }

    #[test]
    fn the_fixed_sentences_have_words_in_both_languages() {
        let keys = [
            "err_period_too_long",
            "err_agency_ceased_successor",
            "err_period_years",
            "err_report_by",
            "err_watch_by",
            "err_sort_column",
            "err_digitised_both",
            "err_digitised_action",
        ];
        for key in keys {
            for lang in [Lang::Vi, Lang::En] {
                assert_ne!(cause_text(&Cause::Words(key), Tr::new(lang), None), key, "{key}");
            }
        }
        for file in ["/src/report.rs", "/src/input.rs"] {
            let src = std::fs::read_to_string(format!("{}{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            for used in src.split("Cause::Words(\"").skip(1).filter_map(|s| s.split('"').next()) {
                assert!(keys.contains(&used), "{used} is used but not checked here");
            }
        }
    }

    #[test]
    fn every_kind_has_a_vietnamese_title() {
        for k in ProblemKind::ALL {
            let vi = title(k, Tr::new(Lang::Vi));
            assert!(!vi.is_empty() && vi != k.title(), "{k:?}");
        }
    }

    #[test]
    fn event_names_fall_back_to_the_stored_name() {
        assert_eq!(event_name("rescheduled", Tr::new(Lang::Vi)), "Xin lỗi và hẹn lại ngày trả kết quả");
        assert_eq!(event_name("rescheduled", Tr::new(Lang::En)), "Apology with a new appointment date");
        assert_eq!(event_name("unknown_kind", Tr::new(Lang::Vi)), "unknown_kind");
    }

    #[test]
    fn delivery_errors_are_worded_in_the_page_language() {
        let (vi, en) = (Tr::new(Lang::Vi), Tr::new(Lang::En));
        let stored = "attempt 3: cannot write data/print/outbox-7-ab.txt: Read-only file system (os error 30)";
        assert_eq!(delivery_error_text(stored, vi), "Lần thử 3: không ghi được tệp vào thư mục in của máy chủ");
        assert_eq!(delivery_error_text(stored, en), stored);
        assert_eq!(
            delivery_error_text("the payload is not a letter: missing field `kind`", vi),
            "Nội dung thư lưu trong hàng đợi bị hỏng, không đọc được"
        );
        assert_eq!(
            delivery_error_text("mail server unreachable (no attempt counted): connection refused", vi),
            "Không kết nối được máy chủ thư; sẽ thử lại (không tính là một lần gửi)"
        );
        // Whatever the worker says, a Vietnamese page shows no English sentence.
        let other = delivery_error_text("attempt 8: 550 5.1.1 mailbox unavailable", vi);
        assert_eq!(other, "Lần thử 8: máy chủ thư từ chối hoặc không gửi được");
    }
}
