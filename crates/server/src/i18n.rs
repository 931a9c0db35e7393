//! The pages' words, Vietnamese first with English beside them. The language comes from
//! `?lang=en|vi` (which also sets a cookie) or the `motcua_lang` cookie; Vietnamese otherwise.

use axum::http::HeaderMap;

use crate::auth::{LANG_COOKIE, cookie};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vi" => Some(Self::Vi),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    pub fn core(self) -> motcua_core::Lang {
        match self {
            Self::Vi => motcua_core::Lang::Vi,
            Self::En => motcua_core::Lang::En,
        }
    }

    /// The language of a request: the query's `lang`, else the cookie, else Vietnamese.
    pub fn of(headers: &HeaderMap, query: Option<&str>) -> Self {
        query.and_then(Self::parse).or_else(|| cookie(headers, LANG_COOKIE).and_then(Self::parse)).unwrap_or_default()
    }

    /// The language of a request from its headers and its URI's `lang=` ([`Lang::of`]).
    pub fn of_request(headers: &HeaderMap, uri: &axum::http::Uri) -> Self {
        let query = uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
        Self::of(headers, query)
    }
}

/// Looks words up in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tr {
    pub lang: Lang,
}

/// (key, Vietnamese, English)
const WORDS: &[(&str, &str, &str)] = &[
    ("app", "Một cửa", "One-stop shop"),
    ("login", "Đăng nhập", "Log in"),
    ("logout", "Đăng xuất", "Log out"),
    ("username", "Tên đăng nhập", "Username"),
    ("password", "Mật khẩu", "Password"),
    ("wrong_login", "Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password."),
    ("queue", "Hồ sơ cần xử lý", "Work queue"),
    ("intake", "Tiếp nhận hồ sơ", "Intake"),
    ("online", "Hồ sơ trực tuyến", "Online submissions"),
    ("report", "Báo cáo", "Report"),
    ("outbox", "Phiếu chờ in", "Letters to print"),
    ("audit", "Nhật ký", "Audit log"),
    ("board", "Bảng công khai", "Public board"),
    ("lookup", "Tra cứu hồ sơ", "Dossier lookup"),
    ("switch_lang", "English", "Tiếng Việt"),
    ("switch_lang_code", "en", "vi"),
    ("code", "Mã hồ sơ", "Dossier code"),
    ("procedure", "Thủ tục", "Procedure"),
    ("applicant", "Người nộp", "Applicant"),
    ("applicant_name", "Họ và tên", "Full name"),
    ("address", "Địa chỉ", "Address"),
    ("phone", "Điện thoại", "Phone"),
    ("email", "Thư điện tử", "E-mail"),
    ("id_number", "Số CCCD/CMND", "ID number"),
    ("agency", "Cơ quan", "Agency"),
    ("receiving_agency", "Bộ phận tiếp nhận", "Receiving desk"),
    ("channel", "Hình thức", "Channel"),
    ("in_person", "Trực tiếp", "In person"),
    ("postal", "Bưu chính", "Postal"),
    ("status", "Trạng thái", "Status"),
    ("received_at", "Ngày tiếp nhận", "Received"),
    ("due_at", "Hạn trả kết quả", "Due"),
    ("original_due_at", "Ngày hẹn trên phiếu", "Appointment on the receipt"),
    ("rescheduled_to", "Ngày hẹn mới", "New appointment"),
    ("finished_at", "Ngày có kết quả", "Result ready"),
    ("returned_at", "Ngày trả kết quả", "Returned"),
    ("holder", "Đang xử lý tại", "Held by"),
    ("remaining", "Thời gian còn lại", "Remaining working time"),
    ("overdue", "Quá hạn", "Overdue"),
    ("due_today", "Đến hạn hôm nay", "Due today"),
    ("at_risk", "Có nguy cơ trễ", "At risk"),
    ("normal", "Trong hạn", "In time"),
    ("waiting", "Chờ công dân", "Waiting for the citizen"),
    ("clock_stopped", "tạm dừng tính thời hạn", "the clock is stopped"),
    ("hall_time", "Thời gian chờ tại sảnh", "Time waited in the hall"),
    ("hall_ticket", "Số thứ tự", "Queue number"),
    ("hall_issued", "Lấy số lúc", "Number taken at"),
    ("hall_to_call", "Chờ đến khi được gọi", "Until called"),
    ("hall_to_receipt", "Chờ đến khi hồ sơ được tiếp nhận", "Until the dossier was received"),
    ("minutes", "phút", "minutes"),
    (
        "hall_time_note",
        "Thời gian chờ tại sảnh trước khi tiếp nhận hồ sơ, tính riêng: không tính vào thời hạn giải quyết theo quy định, bắt đầu từ lúc tiếp nhận.",
        "The time waited in the hall before the dossier was received, shown on its own: the statutory time limit starts at the receipt and does not include it.",
    ),
    ("delay", "Lý do chậm, chờ", "Reason for the wait"),
    ("delay_citizen_supplement", "Chờ công dân bổ sung", "Waiting for the citizen to supply papers"),
    ("delay_citizen", "Chậm do công dân", "Delayed by the citizen"),
    ("delay_agency", "Chậm do cơ quan giải quyết", "Delayed by the agency"),
    ("fee_amount", "Số tiền (đồng)", "Amount (VND)"),
    ("fee_amount_hint", "Để trống: mức phí, lệ phí trong danh mục", "Empty: the catalog's fee"),
    ("payment_method", "Hình thức thanh toán", "Payment method"),
    ("receipt_ref", "Số biên lai", "Receipt reference"),
    ("electronic_result", "Trả kết quả điện tử", "Result issued electronically"),
    ("reason_code", "Mã lý do", "Reason code"),
    ("reason_code_none", "(không ghi)", "(none)"),
    ("digitised_col", "Đã số hóa", "Digitised"),
    ("digitised_none", "Không số hóa giấy tờ nào", "No paper digitised"),
    ("digitised_at_accept", "Giấy tờ đã số hóa khi tiếp nhận", "Papers digitised at acceptance"),
    ("fee", "Phí, lệ phí", "Fee"),
    ("fee_unknown", "(danh mục chưa ghi)", "(not in the catalog)"),
    ("supplement_asked", "Yêu cầu bổ sung, hoàn thiện hồ sơ", "Papers asked for"),
    ("supplement_asked_at", "Ngày yêu cầu", "Asked on"),
    ("supplement_reason", "Lý do", "Reason"),
    ("supplement_documents", "Giấy tờ cần bổ sung", "Papers to supply"),
    (
        "supplement_note",
        "Thời hạn giải quyết tạm dừng cho đến khi nộp đủ giấy tờ bổ sung tại Bộ phận Tiếp nhận và Trả kết quả.",
        "The processing time is stopped until these papers are brought to the reception desk.",
    ),
    (
        "next_working_day",
        "Nếu là ngày nghỉ, chuyển sang ngày làm việc kế tiếp",
        "If a day off, move to the next working day",
    ),
    ("early", "Trước hạn", "Early"),
    ("on_time", "Đúng hạn", "On time"),
    ("late", "Trễ hạn", "Late"),
    ("holding", "Đang xử lý", "In progress"),
    ("explanation", "Cách tính hạn", "How the due date was computed"),
    ("control_sheet", "Phiếu kiểm soát quá trình giải quyết hồ sơ", "Control sheet"),
    ("giver", "Bên giao", "Handed over by"),
    ("receiver", "Bên nhận", "Received by"),
    ("sent_at", "Thời gian giao", "Sent"),
    ("accepted_at", "Thời gian nhận", "Accepted"),
    ("step_result", "Kết quả bước", "Step result"),
    ("note", "Ghi chú", "Note"),
    ("steps", "Các bước xử lý", "Processing steps"),
    ("used", "Đã dùng", "Used"),
    ("budget", "Thời hạn bước", "Step budget"),
    ("from", "Từ", "From"),
    ("until", "Đến", "Until"),
    ("actions", "Thao tác", "Actions"),
    ("transfer", "Chuyển xử lý", "Transfer"),
    ("accept", "Nhận hồ sơ", "Accept"),
    ("accept-online", "Tiếp nhận hồ sơ trực tuyến", "Accept the online submission"),
    ("refuse-online", "Từ chối tiếp nhận", "Refuse at receipt"),
    ("request-supplement", "Yêu cầu bổ sung", "Request a supplement"),
    ("supplement", "Công dân đã bổ sung", "Supplement received"),
    ("request-payment", "Yêu cầu nộp phí, lệ phí", "Request payment"),
    ("paid", "Công dân đã nộp phí", "Payment received"),
    ("reschedule", "Xin lỗi và hẹn lại ngày trả", "Apologise and reschedule"),
    ("resolve", "Có kết quả", "Result ready"),
    ("refuse_result", "Từ chối giải quyết (có lý do)", "Refuse (with a reason)"),
    ("return", "Trả kết quả", "Return the result"),
    ("withdraw", "Công dân rút hồ sơ", "Withdrawn"),
    ("stop", "Dừng xử lý", "Stop processing"),
    ("to_agency", "Chuyển đến", "To"),
    ("reason", "Lý do", "Reason"),
    ("documents", "Giấy tờ cần bổ sung (mỗi dòng một loại)", "Papers needed (one per line)"),
    ("new_date", "Ngày hẹn mới", "New date"),
    ("responsible", "Đơn vị chịu trách nhiệm", "Responsible unit"),
    ("submit", "Ghi nhận", "Record"),
    ("receipt", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "Receipt and appointment"),
    ("print", "In", "Print"),
    ("print_receipt", "In giấy tiếp nhận", "Print the receipt"),
    ("letter", "Phiếu xin lỗi và hẹn lại ngày trả kết quả", "Apology letter with a new date"),
    ("print_letter", "In phiếu xin lỗi", "Print the apology letter"),
    ("open_dossier", "Xem hồ sơ", "Open"),
    ("no_dossiers", "Không có hồ sơ.", "No dossiers."),
    ("urgency", "Mức độ", "Urgency"),
    ("period_from", "Từ ngày", "From"),
    ("period_to", "Đến ngày", "To"),
    ("group_by", "Nhóm theo", "Group by"),
    ("by_agency", "Cơ quan", "Agency"),
    ("by_procedure", "Thủ tục", "Procedure"),
    ("by_month", "Tháng", "Month"),
    ("as_successors", "Tính theo đơn vị kế thừa (cơ quan hiện nay)", "Under today's agencies (successors)"),
    (
        "as_successors_note",
        "Số liệu của cơ quan đã chấm dứt hoạt động (quận, huyện, phường, xã trước 1/7/2025) được tính cho đơn vị kế thừa có phần địa giới lớn nhất.",
        "The figures of agencies that ceased (districts, wards and communes before 1/7/2025) are counted under the successor with the largest share of their territory.",
    ),
    ("all", "Tất cả", "All"),
    ("show", "Xem", "Show"),
    ("download_csv", "Tải CSV", "Download CSV"),
    ("received", "Tiếp nhận", "Received"),
    ("finished", "Đã giải quyết", "Finished"),
    ("in_time", "Đang xử lý trong hạn", "Open, in time"),
    ("open_overdue", "Đang xử lý quá hạn", "Open, overdue"),
    ("rate_resolved", "Tỷ lệ đúng hạn (đã giải quyết)", "On-time rate (finished)"),
    ("rate_national", "Tỷ lệ đúng hạn (QĐ 766)", "On-time rate (Decision 766)"),
    ("score", "Điểm tiến độ", "Progress score"),
    ("total", "Tổng", "Total"),
    ("satisfaction", "Mức độ hài lòng", "Satisfaction"),
    ("ratings", "Lượt đánh giá", "Ratings"),
    ("rate_service", "Đánh giá mức độ hài lòng", "Rate the service"),
    ("stars", "Số sao (1–5)", "Stars (1–5)"),
    ("comment", "Góp ý", "Comment"),
    (
        "petition_public",
        "Gửi và tra cứu đơn kiến nghị, phản ánh, khiếu nại, tố cáo",
        "File and follow a petition, complaint or denunciation",
    ),
    ("petition_file", "Gửi đơn", "File an item"),
    (
        "petition_intro",
        "Về một hồ sơ: nhập mã hồ sơ và số giấy tờ tùy thân của người nộp. Trường hợp khác: chọn cơ quan nhận đơn. Cần ít nhất thư điện tử hoặc số điện thoại để nhận thông báo và tra cứu đơn.",
        "About a dossier: give its code and the applicant's ID number. Otherwise: choose the agency the item is for. Give an e-mail address or a phone number to be told and to look the item up.",
    ),
    ("petition_about_dossier", "Về hồ sơ (không bắt buộc)", "About a dossier (optional)"),
    ("petition_agency", "Cơ quan nhận đơn", "Agency the item is for"),
    ("petition_kind", "Loại đơn", "Kind"),
    ("petition_text", "Nội dung đơn", "What it is about"),
    ("petition_send", "Gửi đơn", "Send"),
    ("petition_filed", "Đã nhận đơn. Xin giữ mã đơn để tra cứu.", "Received. Keep the code to follow the item."),
    (
        "petition_keep_code",
        "Tra cứu đơn bằng mã đơn và thư điện tử hoặc số điện thoại đã khai.",
        "Look the item up with its code and the e-mail address or phone number you gave.",
    ),
    ("petition_code", "Mã đơn", "Item code"),
    ("petition_next_step", "Bước tiếp theo", "Next step"),
    ("petition_step_decide", "Xử lý ban đầu (thụ lý, chuyển đơn, hướng dẫn)", "First step (accept, forward, guide)"),
    ("petition_step_resolve", "Giải quyết, trả lời", "Answer"),
    ("petition_sent_to", "Chuyển đến / hướng dẫn gửi đến", "Forwarded or guided to"),
    ("petition_answer", "Trả lời", "Answer"),
    ("petition_rate", "Mức độ hài lòng với kết quả trả lời", "Are you satisfied with the answer?"),
    ("satisfied", "Hài lòng", "Satisfied"),
    ("not_satisfied", "Không hài lòng", "Not satisfied"),
    ("petition_lookup", "Tra cứu đơn", "Look an item up"),
    ("petition_contact", "Thư điện tử hoặc số điện thoại đã khai", "The e-mail address or phone number you gave"),
    (
        "petition_not_found",
        "Không tìm thấy đơn với mã và thông tin liên hệ này.",
        "No item matches this code and contact.",
    ),
    ("petition_needs_contact", "Cần thư điện tử hoặc số điện thoại.", "Give an e-mail address or a phone number."),
    (
        "petition_needs_agency",
        "Nhập mã hồ sơ và số giấy tờ, hoặc chọn cơ quan nhận đơn.",
        "Give the dossier's code and ID number, or choose the agency.",
    ),
    ("petition_rating_needs_choice", "Xin chọn hài lòng hoặc không hài lòng.", "Choose satisfied or not satisfied."),
    ("petition_already_rated", "Kết quả trả lời đơn đã được đánh giá.", "This answer has been rated."),
    ("petitions", "Đơn kiến nghị, phản ánh, khiếu nại, tố cáo", "Petitions, complaints and denunciations"),
    ("petitions_of_dossier", "Đơn về hồ sơ này", "Items about this dossier"),
    (
        "petition_about_this",
        "Gửi kiến nghị, phản ánh, khiếu nại về hồ sơ này",
        "File a petition or complaint about this dossier",
    ),
    ("petition_accept", "Thụ lý", "Accept"),
    ("petition_answer_action", "Trả lời", "Answer"),
    ("petition_forward", "Chuyển đơn", "Forward"),
    ("petition_guide", "Hướng dẫn", "Guide"),
    ("petition_close", "Kết thúc", "Close"),
    ("petition_outcome", "Kết quả", "Outcome"),
    ("petition_to", "Cơ quan nhận", "To"),
    ("due_soon", "Sắp đến hạn", "Due soon"),
    ("read_petition_page", "Trang đơn (kiến nghị, khiếu nại, tố cáo)", "Item page (petition, complaint, denunciation)"),
    ("read_petition_api", "API: đơn (kiến nghị, khiếu nại, tố cáo)", "API: item (petition, complaint, denunciation)"),
    ("petition_nav", "Gửi đơn, kiến nghị", "Petitions"),
    ("petition_due", "Hạn của bước tiếp theo", "Next step due"),
    ("petition_contact_of", "Liên hệ", "Contact"),
    ("petition_dossier", "Về hồ sơ", "About dossier"),
    ("petition_events", "Diễn biến", "History"),
    ("petition_event", "Bước", "Step"),
    ("petition_extend", "Gia hạn", "Extend"),
    ("petition_transfer", "Chuyển cơ quan khác trong hệ thống", "Transfer to another agency"),
    ("petition_complexity", "Tính chất vụ việc", "Complexity"),
    ("petition_remote", "Vùng sâu, vùng xa, đi lại khó khăn", "Remote area"),
    ("thanks_rating", "Cảm ơn ông/bà đã đánh giá.", "Thank you for your rating."),
    ("already_rated", "Hồ sơ đã được đánh giá.", "This dossier has been rated."),
    (
        "lookup_intro",
        "Nhập mã hồ sơ và số CCCD/CMND của người nộp.",
        "Enter the dossier code and the applicant's ID number.",
    ),
    (
        "lookup_not_found",
        "Không tìm thấy hồ sơ với mã và số giấy tờ đã nhập.",
        "No dossier matches this code and ID number.",
    ),
    (
        "rate_limited",
        "Quá nhiều lượt tra cứu. Vui lòng thử lại sau ít phút.",
        "Too many lookups. Please try again in a few minutes.",
    ),
    ("search", "Tra cứu", "Look up"),
    ("board_title", "Kết quả giải quyết hồ sơ", "Dossier processing results"),
    ("board_refresh", "Tự động cập nhật mỗi phút", "Refreshes every minute"),
    ("time", "Thời gian", "Time"),
    ("event", "Sự kiện", "Event"),
    ("by_staff", "Người thực hiện", "By"),
    ("recorded_at", "Ghi nhận lúc", "Recorded at"),
    ("keyed_late", "Nhập muộn (hồ sơ giấy)", "Keyed in late (paper)"),
    ("stated_at", "Thời điểm thực hiện", "When it happened"),
    ("backdate_reason", "Lý do nhập muộn", "Reason for keying in late"),
    ("older", "Cũ hơn", "Older"),
    ("personal_data_reads", "Nhật ký xem thông tin cá nhân của công dân", "Reads of citizens' personal data"),
    (
        "personal_data_reads_intro",
        "Mỗi lần chủ tịch xem thông tin cá nhân của hồ sơ mà cơ quan mình không tiếp nhận hay xử lý, và mỗi lần thanh tra xem thông tin cá nhân của bất kỳ hồ sơ nào (mới nhất trước).",
        "Each time the chair read the personal data of a dossier its agencies neither received nor held, and each time an inspector read the personal data of any dossier (newest first).",
    ),
    ("route", "Đã xem qua", "Read through"),
    ("read_dossier_page", "Trang hồ sơ", "Dossier page"),
    ("read_search_page", "Kết quả tìm kiếm", "Search results"),
    ("read_dossier_api", "Hồ sơ (API)", "Dossier (API)"),
    ("read_events_api", "Nhật ký hồ sơ (API)", "Dossier's log (API)"),
    ("read_search_api", "Kết quả tìm kiếm (API)", "Search results (API)"),
    ("read_paper", "Giấy tờ của hồ sơ", "Dossier paper"),
    ("fields", "Thông tin đã xem", "Fields shown"),
    (
        "outbox_intro",
        "Phiếu gửi công dân không có thư điện tử (phiếu xin lỗi, phiếu yêu cầu bổ sung…): bộ phận một cửa in, ký và trao cho công dân (mới nhất trước).",
        "Letters for citizens with no e-mail address (apologies, supplement requests…): the desk prints, signs and hands them over (newest first).",
    ),
    ("no_letters", "Không có phiếu nào chờ in.", "No letters to print."),
    ("letter_kind", "Loại phiếu", "Kind of letter"),
    ("letter_with_result", "Phiếu xin lỗi (gửi kèm kết quả)", "Apology letter (with the result)"),
    ("letter_supplement", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ", "Supplement request"),
    ("letter_receipt", "Xác nhận tiếp nhận hồ sơ", "Receipt confirmation"),
    ("letter_result_ready", "Thông báo có kết quả", "Result ready notice"),
    ("letter_other", "Thư khác", "Other letter"),
    ("issued_at", "Ngày lập", "Issued"),
    ("letter_pending", "Đang chuẩn bị", "Being prepared"),
    ("letter_queued", "Sẵn sàng in", "Ready to print"),
    ("letter_failed", "Lỗi khi chuẩn bị", "Could not be prepared"),
    ("letter_no", "Số phiếu", "Letter"),
    // The desk's print queue: marks, filters and its count.
    ("mark_printed", "Đã in", "Printed"),
    ("mark_handed", "Đã trao", "Handed over"),
    ("letter_marks", "Đã in / đã trao", "Printed / handed over"),
    ("letters_all", "Tất cả", "All"),
    ("letters_not_printed", "Chưa in", "Not yet printed"),
    ("letters_not_handed", "Chưa trao", "Not yet handed over"),
    ("letters_filter", "Lọc", "Filter"),
    ("letters", "phiếu", "letters"),
    ("by_whom", "bởi", "by"),
    ("mark_needs_print", "Phiếu phải được in trước khi trao.", "A letter is printed before it is handed over."),
    ("mark_already", "Phiếu đã được đánh dấu như vậy.", "The letter is already marked so."),
    // The transfer form and the confirmation of irreversible actions.
    ("choose_agency", "— Chọn đơn vị nhận —", "— Choose the receiving agency —"),
    ("next_route_step", "bước tiếp theo của quy trình", "the route's next step"),
    ("confirm_title", "Xác nhận thao tác", "Confirm the action"),
    ("confirm", "Xác nhận", "Confirm"),
    (
        "confirm_intro",
        "Thao tác này không thể hoàn tác. Xin kiểm tra lại trước khi xác nhận.",
        "This action cannot be undone. Check it before confirming.",
    ),
    (
        "consequence_resolve",
        "Hồ sơ được ghi nhận đã có kết quả giải quyết (được chấp thuận): thời hạn dừng, kết quả được xếp loại trước, đúng hay quá hạn, và hồ sơ chờ trả cho công dân.",
        "The dossier is recorded as resolved (approved): its clock stops, its result is classified early, on time or late, and it waits to be handed back to the citizen.",
    ),
    (
        "consequence_resolve_refused",
        "Hồ sơ được ghi nhận đã có kết quả là TỪ CHỐI giải quyết: thời hạn dừng, kết quả được xếp loại, và văn bản từ chối chờ trả cho công dân.",
        "The dossier is recorded as resolved with a REFUSAL: its clock stops, its result is classified, and the refusal waits to be handed back to the citizen.",
    ),
    (
        "consequence_stop",
        "Hồ sơ bị dừng xử lý: hồ sơ kết thúc, không có kết quả giải quyết, không thể tiếp tục xử lý.",
        "Processing stops: the dossier ends with no result and cannot be processed further.",
    ),
    (
        "consequence_return",
        "Kết quả được trao cho công dân: hồ sơ kết thúc và công dân có thể đánh giá mức độ hài lòng.",
        "The result is handed back to the citizen: the dossier ends and the citizen may rate the service.",
    ),
    (
        "consequence_withdraw",
        "Công dân rút hồ sơ: hồ sơ kết thúc, không có kết quả giải quyết.",
        "The citizen withdraws the dossier: it ends with no result.",
    ),
    (
        "consequence_refuse-online",
        "Hồ sơ nộp trực tuyến bị từ chối tiếp nhận: hồ sơ kết thúc, công dân được thông báo lý do.",
        "The online submission is refused at receipt: the dossier ends and the citizen is told why.",
    ),
    (
        "rating_needs_stars",
        "Xin chọn số sao (từ 1 đến 5) trước khi gửi đánh giá.",
        "Choose a number of stars (1 to 5) before sending your rating.",
    ),
    ("new_dossier", "Hồ sơ mới", "New dossier"),
    ("statutory_time", "Thời hạn giải quyết", "Statutory time limit"),
    ("documents_received", "Thành phần hồ sơ", "Documents received"),
    ("sets", "Số lượng hồ sơ", "Number of sets"),
    ("collect_at", "Nơi nhận kết quả", "Collect the result at"),
    ("submitter", "Người nộp hồ sơ", "Submitter"),
    ("officer", "Người tiếp nhận", "Receiving officer"),
    ("sign", "(Ký và ghi rõ họ tên)", "(Signature and full name)"),
    ("qr_hint", "Quét mã để tra cứu tình trạng hồ sơ", "Scan to look the dossier up"),
    ("back", "Quay lại", "Back"),
    ("error", "Lỗi", "Error"),
    ("forbidden", "Tài khoản không có quyền thực hiện thao tác này.", "This account may not do that."),
    ("not_found", "Không tìm thấy.", "Not found."),
    ("role", "Vai trò", "Role"),
    ("as_of", "Tính đến", "As of"),
    ("handoff_delay", "Chậm nhận", "Delay before acceptance"),
    ("bounce", "Hồ sơ quay lại", "Bounce"),
    ("signals", "Dấu hiệu cần chú ý", "Signals"),
    ("optional", "không bắt buộc", "optional"),
    ("none", "—", "—"),
    ("step", "Bước", "Step"),
    ("step_receive", "Tiếp nhận hồ sơ", "Dossier received"),
    ("step_handoff", "Nhận chuyển từ", "Received from"),
    ("pending_online", "Hồ sơ đăng ký trực tuyến chờ tiếp nhận", "Online submissions waiting for acceptance"),
    ("registered_at", "Ngày đăng ký", "Registered"),
    ("watchlist", "Danh sách theo dõi", "Watch list"),
    ("scorecard", "Bảng chỉ số phục vụ", "Scorecard"),
    ("sc_target", "mục tiêu", "target"),
    ("sc_unknown", "Chưa ghi nhận (không tính vào tỷ lệ)", "Not recorded (left out of the rates)"),
    ("hr_title", "Báo cáo sảnh tiếp nhận", "Reception hall report"),
    ("hr_hall", "Sảnh", "Hall"),
    ("hr_by_hall", "Sảnh", "Hall"),
    ("hr_by_area", "Lĩnh vực", "Area"),
    ("hr_by_counter", "Quầy", "Counter"),
    ("hr_by_day", "Ngày", "Day"),
    ("hr_by_officer", "Cán bộ gọi số", "Officer who called"),
    ("hr_issued", "Số đã cấp", "Issued"),
    ("hr_channel", "Cấp qua", "Channel"),
    ("hr_served", "Đã phục vụ", "Served"),
    ("hr_no_show", "Vắng mặt", "No-show"),
    ("hr_left", "Bỏ về", "Left"),
    ("hr_closed", "Đóng cuối ngày", "Closed"),
    ("hr_wait", "Chờ", "Wait"),
    ("hr_service", "Phục vụ", "Service"),
    ("hr_within", "Gọi trong mục tiêu", "Called within target"),
    ("hr_within_share", "Tỷ lệ trong mục tiêu", "Share within target"),
    ("hr_target", "Mục tiêu thời gian chờ (phút)", "Waiting target (minutes)"),
    (
        "hr_note",
        "Thời gian chờ: từ lúc lấy số đến lần gọi đầu; thời gian phục vụ: từ lần gọi cuối đến khi xong; p50, p90 theo hạng gần nhất; phút:giây.",
        "Wait: from the number taken to its first call; service: from the last call to the finish; p50 and p90 by nearest rank; minutes:seconds.",
    ),
    (
        "watchlist_title",
        "Danh sách theo dõi né tránh, đùn đẩy (Chỉ thị 34-CT/TU)",
        "Watch list: avoidance and buck-passing (Directive 34-CT/TU)",
    ),
    ("by_officer", "Cán bộ", "Officer"),
    ("wl_flagged", "Số hồ sơ có dấu hiệu", "Dossiers flagged"),
    ("wl_backdated", "Sự kiện ghi lùi thời điểm", "Backdated events"),
    ("wl_handoffs", "Lượt tiếp nhận chuyển giao", "Handoffs accepted"),
    ("wl_handoff_average", "Chờ tiếp nhận trung bình (phút làm việc)", "Average wait to accept (working minutes)"),
    ("wl_handoff_max", "Chờ tiếp nhận lâu nhất (phút làm việc)", "Longest wait to accept (working minutes)"),
    (
        "wl_late_officers",
        "Cán bộ có hơn 2 hồ sơ trễ hạn trong kỳ",
        "Officers with more than two late dossiers in the period",
    ),
    ("wl_handoff_waits", "Cơ quan để hồ sơ chờ tiếp nhận lâu nhất", "Agencies whose handoffs wait longest"),
    ("wl_slow", "Chờ quá 1 ngày làm việc", "Waited more than a working day"),
    (
        "wl_supplements_twice",
        "Hồ sơ trả lại công dân để bổ sung hơn một lần",
        "Dossiers returned to the citizen for supplements more than once",
    ),
    ("wl_dossiers", "Các hồ sơ", "The dossiers"),
    ("wl_unknown", "(không rõ cán bộ)", "(unknown officer)"),
    ("wl_sorted", "Sắp xếp theo cột này", "Sort by this column"),
    ("wl_as_of", "Tính đến", "As of"),
    ("wl_none", "Không có.", "None."),
    // Finding a dossier: the search and the desk's lists.
    ("find", "Tìm hồ sơ", "Find a dossier"),
    (
        "search_label",
        "Mã hồ sơ, họ tên, số CCCD/CMND hoặc số điện thoại",
        "Dossier code, name, ID number or phone number",
    ),
    ("search_button", "Tìm", "Find"),
    (
        "search_intro",
        "Tìm trong các hồ sơ mà cơ quan của mình đã tiếp nhận hoặc xử lý. Họ tên gõ có dấu hay không dấu đều được; mã hồ sơ có thể chỉ gõ phần đầu; số CCCD/CMND và số điện thoại gõ đủ số.",
        "Searches the dossiers your agencies received or held. A name may be typed with or without its accents; a code may be its beginning; ID and phone numbers are whole numbers.",
    ),
    (
        "search_intro_inspector",
        "Tìm trong các hồ sơ thuộc phạm vi thanh tra. Mỗi hồ sơ hiện ra được ghi vào nhật ký xem thông tin cá nhân của công dân.",
        "Searches the dossiers within your inspection scope. Each dossier shown is recorded in the log of reads of citizens' personal data.",
    ),
    (
        "search_intro_city",
        "Tìm trong mọi hồ sơ của thành phố. Mỗi hồ sơ hiện ra được ghi vào nhật ký xem thông tin cá nhân của công dân.",
        "Searches every dossier of the city. Each dossier shown is recorded in the log of reads of citizens' personal data.",
    ),
    (
        "search_too_short",
        "Gõ từ 2 đến 200 ký tự: mã hồ sơ, họ tên, số CCCD/CMND hoặc số điện thoại.",
        "Type 2 to 200 characters: a dossier code, a name, an ID number or a phone number.",
    ),
    ("of_total", "trên", "of"),
    ("dossiers", "hồ sơ", "dossiers"),
    ("page_past_end", "Quá trang cuối", "Past the last page"),
    ("previous_page", "‹ Trang trước", "‹ Previous"),
    ("next_page", "Trang sau ›", "Next ›"),
    ("list_sent", "Đã chuyển, chưa được nhận", "Sent, not yet accepted"),
    (
        "list_sent_intro",
        "Hồ sơ cơ quan mình đã chuyển đi mà nơi nhận chưa tiếp nhận (chuyển lâu nhất trước).",
        "Dossiers your agencies sent on that the recipient has not accepted yet (longest waiting first).",
    ),
    ("list_ready", "Có kết quả, chờ trả", "Results ready to hand back"),
    (
        "list_ready_intro",
        "Hồ sơ đã có kết quả (kể cả trễ hạn, kể cả từ chối giải quyết) mà chưa trả cho công dân (có kết quả sớm nhất trước).",
        "Dossiers with their result ready (late ones and refusals included) not yet handed back to the citizen (oldest result first).",
    ),
    ("list_waiting", "Chờ công dân", "Waiting for the citizen"),
    ("list_imported", "Quá hạn khi chuyển vào", "Overdue when imported"),
    (
        "list_imported_intro",
        "Hồ sơ chuyển từ hệ thống cũ đã quá hạn, chưa có thư xin lỗi: hệ thống không tự gửi thư xin lỗi, cán bộ quyết định xử lý.",
        "Dossiers brought in from the old system already past due with no apology: no automatic apology is sent; a person decides.",
    ),
    (
        "list_waiting_intro",
        "Hồ sơ đang chờ công dân bổ sung giấy tờ hoặc nộp phí, lệ phí; thời hạn tạm dừng (chờ lâu nhất trước).",
        "Dossiers waiting for the citizen to bring papers or pay a fee; the clock is stopped (longest waiting first).",
    ),
    ("result_timeliness", "Kết quả so với hạn", "Result against the due date"),
    ("waiting_for", "Chờ", "Waiting for"),
    ("waiting_since", "Từ lúc", "Since"),
    ("waiting_supplement", "Bổ sung hồ sơ", "Papers to supplement"),
    ("waiting_payment", "Nộp phí, lệ phí", "A fee to pay"),
    // Errors with no data of their own (crate::problem::Cause::Words).
    ("err_period_too_long", "Một báo cáo tính tối đa ba năm.", "A report covers at most three years."),
    (
        "err_agency_ceased_successor",
        "Cơ quan này đã chấm dứt hoạt động: khi tính theo đơn vị kế thừa, hãy chọn một cơ quan hiện nay.",
        "That agency has ceased: counted under successors, choose one of today's agencies.",
    ),
    ("err_report_by", "Nhóm theo cơ quan, thủ tục hoặc tháng.", "Group by agency, procedure or month."),
    ("err_watch_by", "Xem theo cơ quan hoặc cán bộ.", "List by agency or by officer."),
    (
        "err_digitised_both",
        "Đã đánh dấu giấy tờ số hóa và cả ô “Không số hóa giấy tờ nào”: chỉ chọn một.",
        "Papers are ticked as digitised and “No paper digitised” is ticked too: choose one.",
    ),
    (
        "err_digitised_action",
        "Giấy tờ số hóa chỉ được ghi khi tiếp nhận hồ sơ.",
        "Digitised papers are recorded only at intake or at acceptance.",
    ),
    ("err_sort_column", "Không sắp xếp được theo cột này.", "The rows cannot be sorted by that column."),
    (
        "err_period_years",
        "Các ngày của kỳ báo cáo phải thuộc năm 1 đến 9999.",
        "The period's days must be of the years 1 to 9999.",
    ),
    // The counter panel of the reception hall, beside the work queue.
    ("intake_ticket", "Số thứ tự (phiếu lấy số)", "Hall ticket"),
    ("counter_panel", "Quầy tiếp nhận", "Counter"),
    ("counter_number", "Quầy", "Counter"),
    ("counter_choose", "Chọn sảnh và quầy làm việc", "Choose the hall and the counter"),
    ("counter_sign_in", "Vào làm việc tại quầy", "Sign in at the counter"),
    ("counter_sign_out", "Rời quầy", "Sign out of the counter"),
    ("counter_areas", "Lĩnh vực", "Areas"),
    ("counter_waiting", "Đang chờ", "Waiting"),
    ("counter_call", "Gọi số tiếp theo", "Call the next number"),
    ("counter_no_one_waiting", "Không còn ai chờ.", "No one waiting."),
    ("counter_serving_now", "Số tại quầy", "At the counter"),
    ("counter_none_now", "Chưa gọi số nào.", "No number called yet."),
    ("counter_priority", "ưu tiên", "priority"),
    ("counter_recalls", "Đã gọi lại", "Recalls"),
    ("counter_recall", "Gọi lại", "Recall"),
    ("counter_start", "Bắt đầu phục vụ", "Start serving"),
    ("counter_finish", "Hoàn thành", "Finish"),
    ("counter_no_show", "Vắng mặt", "No-show"),
    ("counter_no_show_after", "Đánh dấu vắng mặt sau số lần gọi lại:", "A no-show after this many recalls:"),
    ("counter_left", "Công dân đã rời đi", "Left before service"),
    ("counter_transfer", "Chuyển", "Transfer"),
    ("counter_to_area", "Sang lĩnh vực", "To the area"),
    ("counter_to_counter", "Sang quầy", "To the counter"),
    ("counter_any", "(giữ nguyên / bất kỳ)", "(same / any)"),
    ("counter_receive", "Tiếp nhận hồ sơ từ số này", "Receive a dossier from this ticket"),
    ("counter_last_done", "Vừa phục vụ xong", "Last served"),
    ("counter_tablet", "Máy tính bảng đánh giá", "Rating tablet"),
    ("counter_tv", "Màn hình gọi số", "Hall TV"),
    ("ticket_waiting", "Đang chờ", "Waiting"),
    ("ticket_called", "Đã gọi, chờ công dân đến quầy", "Called, waiting for the citizen"),
    ("ticket_serving", "Đang phục vụ", "Being served"),
    ("ticket_done", "Đã phục vụ xong", "Served"),
    ("ticket_no_show", "Vắng mặt", "No-show"),
    ("ticket_left", "Đã rời đi", "Left"),
    ("ticket_closed", "Đã đóng cuối ngày", "Closed at the day's end"),
];

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    /// The word for `key` in this language (the key itself if it is missing, so a gap shows).
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        match WORDS.iter().find(|(k, _, _)| *k == key) {
            Some((_, vi, en)) => match self.lang {
                Lang::Vi => vi,
                Lang::En => en,
            },
            None => key,
        }
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn en(&self) -> bool {
        self.lang == Lang::En
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_filled() {
        let mut keys: Vec<&str> = WORDS.iter().map(|w| w.0).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate key");
        assert!(WORDS.iter().all(|(_, vi, en)| !vi.is_empty() && !en.is_empty()));
        assert_eq!(Tr::new(Lang::Vi).t("login"), "Đăng nhập");
        assert_eq!(Tr::new(Lang::En).t("login"), "Log in");
    }
}
