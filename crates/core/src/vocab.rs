//! The status words, named once.
//!
//! Every surface that asks "is this dossier open?", "does the agency's clock run?", "is it
//! waiting for the citizen?" or "which events does the exporter measure?" reads one of the sets
//! below: Rust code through [`StatusSet::contains`], SQL through [`StatusSet::sql_in`] (the
//! store generates its `status IN (…)` lists from here), and a test in the store compares the
//! lists that migrations froze into triggers and partial indexes with these constants.

use std::fmt::Write as _;

use crate::dossier::{EventKind, Status};

/// A named set of statuses, in code order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusSet {
    /// The set's name in code and docs.
    pub name: &'static str,
    statuses: &'static [Status],
}

impl StatusSet {
    const fn new(name: &'static str, statuses: &'static [Status]) -> Self {
        Self { name, statuses }
    }

    pub fn statuses(&self) -> &'static [Status] {
        self.statuses
    }

    pub fn contains(&self, status: Status) -> bool {
        self.statuses.contains(&status)
    }

    /// `Some(status)` in the set; `None` (no status yet) never is.
    pub fn holds(&self, status: Option<Status>) -> bool {
        status.is_some_and(|s| self.contains(s))
    }

    /// The national codes, in order (`[2, 4, 5, 6]`).
    pub fn codes(&self) -> Vec<u8> {
        self.statuses.iter().map(|s| s.code()).collect()
    }

    /// The SQL list of codes: `(2, 4, 5, 6)`, for `status IN …`.
    pub fn sql_list(&self) -> String {
        let mut out = String::from("(");
        for (i, s) in self.statuses.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}", s.code());
        }
        out.push(')');
        out
    }

    /// `column IN (2, 4, 5, 6)`.
    pub fn sql_in(&self, column: &str) -> String {
        format!("{column} IN {}", self.sql_list())
    }
}

/// Open (đang giải quyết): received and not finished; the statutory clock was started. A
/// dossier only registered online (status 1) is not open yet; a finished one (3, 7–10) no more.
pub const OPEN: StatusSet = StatusSet::new(
    "open",
    &[Status::Received, Status::Processing, Status::SupplementRequested, Status::PaymentRequested],
);

/// The agency's clock runs: received or processing. Reminders, at-risk warnings and automatic
/// apologies are for these only.
pub const AGENCY_CLOCK: StatusSet = StatusSet::new("agency_clock", &[Status::Received, Status::Processing]);

/// Waiting for the citizen (chờ công dân): a supplement or a financial obligation was asked
/// for; the agency's clock is stopped. Neither in time nor overdue unless the clock had already
/// run out before the wait began (DOMAIN.md §5).
pub const WAITING_FOR_CITIZEN: StatusSet =
    StatusSet::new("waiting_for_citizen", &[Status::SupplementRequested, Status::PaymentRequested]);

/// Not finished (chưa kết thúc): open, or registered online and not yet accepted. The
/// exporter's gauge of dossiers by status counts these.
pub const NOT_FINISHED: StatusSet = StatusSet::new(
    "not_finished",
    &[
        Status::RegisteredOnline,
        Status::Received,
        Status::Processing,
        Status::SupplementRequested,
        Status::PaymentRequested,
    ],
);

// Written here rather than beside `Status`, so that the status words depend on the state
// machine and not the other way round.
impl Status {
    /// Is a dossier in this status open (received and not finished; [`OPEN`])?
    pub fn is_open(self) -> bool {
        OPEN.contains(self)
    }
}

/// Every named set, for tests and docs.
pub const ALL_SETS: [StatusSet; 4] = [OPEN, AGENCY_CLOCK, WAITING_FOR_CITIZEN, NOT_FINISHED];

/// The event kinds that may complete a handoff (sent → accepted) or end an agency's dwell: the
/// events the exporter measures working time at.
pub const MEASURED_EVENT_KINDS: [&str; 5] = ["transferred", "accepted", "resolved", "withdrawn", "stopped"];

/// Is this event one the exporter measures (see [`MEASURED_EVENT_KINDS`])?
pub fn is_measured(kind: &EventKind) -> bool {
    MEASURED_EVENT_KINDS.contains(&kind.name())
}

/// Every event kind's stable name (as stored in the log, [`EventKind::name`]) with the words a
/// reader sees: (name, Vietnamese, English). The Vietnamese follows DOMAIN.md §1 and the
/// status names of [`Status::name_vi`].
pub const EVENT_LABELS: [(&str, &str, &str); 18] = [
    ("registered_online", "Đăng ký trực tuyến", "Registered online"),
    ("accepted_online", "Tiếp nhận hồ sơ trực tuyến", "Online submission accepted"),
    ("received", "Tiếp nhận hồ sơ", "Received at the desk"),
    ("refused_at_receipt", "Từ chối tiếp nhận", "Refused at receipt"),
    ("transferred", "Chuyển xử lý (liên thông)", "Transferred"),
    ("accepted", "Nhận hồ sơ", "Accepted"),
    ("supplement_requested", "Yêu cầu bổ sung, hoàn thiện hồ sơ", "Supplement requested"),
    ("supplement_supplied", "Công dân đã bổ sung hồ sơ", "Supplement received"),
    ("payment_requested", "Yêu cầu thực hiện nghĩa vụ tài chính", "Payment requested"),
    ("paid", "Đã thực hiện nghĩa vụ tài chính", "Payment received"),
    ("rescheduled", "Xin lỗi và hẹn lại ngày trả kết quả", "Apology with a new appointment date"),
    ("apologised", "Xin lỗi vì trả kết quả trễ hạn", "Apology for a late result"),
    ("resolved", "Có kết quả giải quyết", "Result ready"),
    ("returned", "Đã trả kết quả", "Result returned"),
    ("withdrawn", "Công dân rút hồ sơ", "Withdrawn by the applicant"),
    ("stopped", "Dừng xử lý", "Processing stopped"),
    ("digitised", "Số hóa thành phần hồ sơ", "Papers digitised"),
    ("synced_to_portal", "Đồng bộ lên Cổng Dịch vụ công quốc gia", "Synced to the national portal"),
];

/// The words for the event kind named `name` ([`EventKind::name`]) in `lang`; `None` for a
/// name no event kind has.
pub fn event_label(name: &str, lang: crate::deadlines::Lang) -> Option<&'static str> {
    EVENT_LABELS.iter().find(|(n, _, _)| *n == name).map(|(_, vi, en)| match lang {
        crate::deadlines::Lang::Vi => *vi,
        crate::deadlines::Lang::En => *en,
    })
}

/// The SQL list of [`MEASURED_EVENT_KINDS`]: `('transferred', 'accepted', …)`.
pub fn measured_kinds_sql_list() -> String {
    let quoted: Vec<String> = MEASURED_EVENT_KINDS.iter().map(|k| format!("'{k}'")).collect();
    format!("({})", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_agree_with_each_other() {
        for s in Status::ALL {
            assert_eq!(OPEN.contains(s), AGENCY_CLOCK.contains(s) || WAITING_FOR_CITIZEN.contains(s), "{s}");
            assert_eq!(NOT_FINISHED.contains(s), OPEN.contains(s) || s == Status::RegisteredOnline, "{s}");
            assert_eq!(OPEN.contains(s), s.is_open(), "{s}");
        }
        assert!(!OPEN.holds(None));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn every_event_kind_has_words_in_both_languages() {
        use crate::deadlines::Lang;
        use crate::dossier::{Intake, Outcome};
        let intake = Intake {
            code: "000.00.02.H17-250303-0001".parse().unwrap(),
            procedure: "1.001193".parse().unwrap(),
            agency: "000.00.02.H17".parse().unwrap(),
            applicant: Default::default(),
            channel: Default::default(),
            documents: Vec::new(),
            digitised: None,
        };
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let kinds = [
            EventKind::RegisteredOnline { intake: intake.clone() },
            EventKind::AcceptedOnline,
            EventKind::Received { intake },
            EventKind::RefusedAtReceipt { reason: String::new(), reason_code: None },
            EventKind::Transferred { to: "000.00.02.H17".parse().unwrap() },
            EventKind::Accepted,
            EventKind::SupplementRequested { reason: String::new(), documents: vec![], reason_code: None },
            EventKind::SupplementSupplied,
            EventKind::PaymentRequested { reason: String::new(), amount_vnd: None },
            EventKind::Paid { method: None, receipt: None },
            EventKind::Rescheduled {
                to: at,
                reason: String::new(),
                responsible: None,
                automatic: false,
                override_second: false,
                reason_code: None,
            },
            EventKind::Apologised { responsible: "000.00.02.H17".parse().unwrap(), reason: String::new() },
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            EventKind::Returned,
            EventKind::Withdrawn { reason: String::new() },
            EventKind::Stopped { reason: String::new(), reason_code: None },
            EventKind::Digitised { documents: vec![] },
            EventKind::SyncedToPortal,
        ];
        assert_eq!(kinds.len(), EVENT_LABELS.len());
        for k in &kinds {
            let vi = event_label(k.name(), Lang::Vi);
            let en = event_label(k.name(), Lang::En);
            assert!(vi.is_some_and(|w| !w.contains('_')), "{}", k.name());
            assert!(en.is_some_and(|w| !w.contains('_')), "{}", k.name());
        }
        assert_eq!(event_label("supplement_requested", Lang::Vi), Some("Yêu cầu bổ sung, hoàn thiện hồ sơ"));
        assert_eq!(event_label("no_such_event", Lang::Vi), None);
    }

    #[test]
    fn sql_lists() {
        assert_eq!(OPEN.sql_list(), "(2, 4, 5, 6)");
        assert_eq!(AGENCY_CLOCK.sql_in("d.status"), "d.status IN (2, 4)");
        assert_eq!(NOT_FINISHED.codes(), [1, 2, 4, 5, 6]);
        assert_eq!(measured_kinds_sql_list(), "('transferred', 'accepted', 'resolved', 'withdrawn', 'stopped')");
    }
}
