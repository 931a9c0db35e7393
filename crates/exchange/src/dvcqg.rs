//! The national public-service portal's dossier record (Cổng Dịch vụ công quốc gia,
//! `DongBoHoSoMC`, DOMAIN.md §10), built from a replayed dossier. Dates are local (+07:00)
//! `yyyyMMddHHmmss`; absent dates are empty strings, as portal clients send them.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use motcua_core::calendar::to_local;
use motcua_core::deadlines::WaitKind;
use motcua_core::{AgencyCode, Domain, Dossier, Event, EventKind, Outcome, Status, Step};
use serde::{Deserialize, Serialize};

use crate::ExportError;

type Instant = DateTime<Utc>;

/// One dossier as the portal's `DongBoHoSoMC` service takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DongBoHoSo {
    pub ma_ho_so: String,
    #[serde(rename = "MaTTHC")]
    pub ma_tthc: String,
    #[serde(rename = "TenTTHC")]
    pub ten_tthc: String,
    /// 1 in person, 2 online, 3 postal.
    pub kenh_thuc_hien: String,
    pub chu_ho_so: String,
    pub so_giay_to_chu_ho_so: String,
    pub email: String,
    pub so_dien_thoai: String,
    pub dia_chi_chu_ho_so: String,
    /// 1 citizen (motcua's applicants are people).
    pub loai_doi_tuong: String,
    pub ngay_tiep_nhan: String,
    /// The appointment in force: the receipt's, or the one a supplement restart set.
    pub ngay_hen_tra: String,
    /// National status code (DOMAIN.md §3).
    pub trang_thai_ho_so: String,
    pub ngay_ket_thuc_xu_ly: String,
    pub ngay_tra: String,
    /// The lead agency (chủ trì).
    pub don_vi_xu_ly: String,
    /// When rescheduled: the appointment the apology replaced, and the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ngay_hen_tra_truoc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ngay_hen_tra_moi: Option<String>,
    pub danh_sach_ho_so_bo_sung: Vec<HoSoBoSung>,
    pub qua_trinh_xu_ly: Vec<QuaTrinhXuLy>,
}

/// A supplement request (yêu cầu bổ sung) and the appointments before and after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HoSoBoSung {
    pub ho_so_bo_sung_id: String,
    pub nguoi_yeu_cau_bo_sung: String,
    pub noi_dung_bo_sung: String,
    pub danh_sach_giay_to_bo_sung: Vec<String>,
    pub ngay_bo_sung: String,
    pub ngay_tiep_nhan_bo_sung: String,
    pub ngay_hen_tra_truoc: String,
    pub ngay_hen_tra_moi: String,
}

/// One step of the processing history: an agency's time with the dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QuaTrinhXuLy {
    pub nguoi_xu_ly: String,
    pub chuc_danh: String,
    pub thoi_diem_xu_ly: String,
    pub phong_ban_xu_ly: String,
    pub noi_dung_xu_ly: String,
    pub trang_thai: String,
    pub ngay_bat_dau: String,
    /// The step's own deadline from its route budget; empty for a visit the route does not plan.
    pub ngay_ket_thuc_theo_quy_dinh: String,
    /// motcua's own row: the event of its log this row reports, exactly (docs/formats.md,
    /// "motcua's event rows"). Absent in the control-sheet rows and in other systems' records.
    #[serde(rename = "SuKienMotcua", default, skip_serializing_if = "Option::is_none")]
    pub su_kien: Option<Event>,
}

/// `yyyyMMddHHmmss` at +07:00.
pub fn format_dvcqg_time(at: DateTime<Utc>) -> String {
    to_local(at).format("%Y%m%d%H%M%S").to_string()
}

fn opt_time(at: Option<DateTime<Utc>>) -> String {
    at.map(format_dvcqg_time).unwrap_or_default()
}

/// Who did what, read from the dossier's log, per holding.
#[derive(Debug, Default)]
struct Staff {
    /// Per holding: who accepted it, who closed it (sent it on or finished it).
    accepted: Vec<Option<String>>,
    closed: Vec<Option<String>>,
    /// Reasons given by the finishing event.
    finish_reason: Option<String>,
    returned: Option<String>,
    refused_at_receipt: Option<(Option<String>, String)>,
    /// Per supplement request: who asked and why.
    supplements: Vec<(Option<String>, String)>,
}

impl Staff {
    fn open(&mut self, by: Option<String>) -> usize {
        self.accepted.push(by);
        self.closed.push(None);
        self.accepted.len() - 1
    }

    fn from_log(log: &[Event]) -> Self {
        let mut s = Self::default();
        // The holding the events are about: one opens at receipt and at each transfer.
        let mut k: Option<usize> = None;
        for e in log {
            match &e.kind {
                EventKind::Received { .. } | EventKind::AcceptedOnline => k = Some(s.open(e.by.clone())),
                EventKind::Transferred { .. } => {
                    if let Some(i) = k {
                        s.closed[i] = e.by.clone();
                    }
                    k = Some(s.open(None));
                }
                EventKind::Accepted => {
                    if let Some(i) = k {
                        s.accepted[i] = e.by.clone();
                    }
                }
                EventKind::Resolved { reason, .. } => {
                    if let Some(i) = k {
                        s.closed[i] = e.by.clone();
                    }
                    s.finish_reason = reason.clone();
                }
                EventKind::Withdrawn { reason } | EventKind::Stopped { reason, .. } => {
                    if let Some(i) = k {
                        s.closed[i] = e.by.clone();
                    }
                    s.finish_reason = Some(reason.clone()).filter(|r| !r.is_empty());
                }
                EventKind::Returned => s.returned = e.by.clone(),
                EventKind::RefusedAtReceipt { reason, .. } => {
                    s.refused_at_receipt = Some((e.by.clone(), reason.clone()))
                }
                EventKind::SupplementRequested { reason, .. } => s.supplements.push((e.by.clone(), reason.clone())),
                _ => {}
            }
        }
        s
    }
}

/// The portal record of a replayed dossier. Officers (`NguoiXuLy`) are left empty: use
/// [`dvcqg_with_log`] to name them.
pub fn dvcqg(domain: &Domain, dossier: &Dossier) -> Result<DongBoHoSo, ExportError> {
    build(domain, dossier, &Staff::default())
}

/// The portal record, with the officers and reasons read from the dossier's log.
pub fn dvcqg_with_log(domain: &Domain, dossier: &Dossier, log: &[Event]) -> Result<DongBoHoSo, ExportError> {
    build(domain, dossier, &Staff::from_log(log))
}

/// The portal record as `motcua export --format dvcqg` writes it: [`dvcqg_with_log`], plus one
/// `QuaTrinhXuLy` row per event of the log after the control-sheet rows, each carrying the
/// event itself in `SuKienMotcua`, so that `import --format dvcqg` brings the dossier back
/// exactly (the portal's own fields cannot say everything the log does: the instant each
/// handoff was accepted, payment waits, apologies, reasons, who did what).
pub fn dvcqg_record(domain: &Domain, dossier: &Dossier, log: &[Event]) -> Result<DongBoHoSo, ExportError> {
    let mut record = dvcqg_with_log(domain, dossier, log)?;
    let mut d = Dossier::default();
    for e in log {
        domain.apply(&mut d, e)?;
        let agency = d.holder.as_ref().or(d.receiving_agency.as_ref());
        record.qua_trinh_xu_ly.push(QuaTrinhXuLy {
            nguoi_xu_ly: e.by.clone().unwrap_or_default(),
            chuc_danh: String::new(),
            thoi_diem_xu_ly: format_dvcqg_time(e.at),
            phong_ban_xu_ly: agency.map(|a| agency_name(domain, a)).unwrap_or_default(),
            noi_dung_xu_ly: event_content(domain, &e.kind),
            trang_thai: d.status.map(|s| s.code().to_string()).unwrap_or_default(),
            ngay_bat_dau: format_dvcqg_time(e.at),
            ngay_ket_thuc_theo_quy_dinh: String::new(),
            su_kien: Some(e.clone()),
        });
    }
    Ok(record)
}

/// What an event row says, in the portal's words.
fn event_content(domain: &Domain, kind: &EventKind) -> String {
    let with = |what: &str, why: &str| if why.is_empty() { what.to_string() } else { format!("{what}: {why}") };
    match kind {
        EventKind::RegisteredOnline { .. } => "Đăng ký hồ sơ trực tuyến".into(),
        EventKind::AcceptedOnline => "Tiếp nhận hồ sơ trực tuyến".into(),
        EventKind::Received { .. } => "Tiếp nhận hồ sơ".into(),
        EventKind::RefusedAtReceipt { reason, .. } => with("Từ chối tiếp nhận hồ sơ", reason),
        EventKind::Transferred { to } => format!("Chuyển hồ sơ đến {}", agency_name(domain, to)),
        EventKind::Accepted => "Nhận hồ sơ để xử lý".into(),
        EventKind::SupplementRequested { reason, .. } => with("Yêu cầu bổ sung hồ sơ", reason),
        EventKind::SupplementSupplied => "Công dân đã bổ sung hồ sơ".into(),
        EventKind::PaymentRequested { reason, amount_vnd: Some(v) } => {
            with(&format!("Yêu cầu thực hiện nghĩa vụ tài chính ({v} đồng)"), reason)
        }
        EventKind::PaymentRequested { reason, amount_vnd: None } => {
            with("Yêu cầu thực hiện nghĩa vụ tài chính", reason)
        }
        EventKind::Paid { method: Some(m), .. } => {
            format!("Công dân đã thực hiện nghĩa vụ tài chính ({})", m.name_vi().to_lowercase())
        }
        EventKind::Paid { method: None, .. } => "Công dân đã thực hiện nghĩa vụ tài chính".into(),
        EventKind::Rescheduled { to, reason, .. } => {
            with(&format!("Xin lỗi và hẹn lại ngày trả kết quả: {}", to_local(*to).format("%H:%M %d/%m/%Y")), reason)
        }
        EventKind::Apologised { reason, .. } => with("Xin lỗi vì trả kết quả trễ hạn", reason),
        EventKind::Resolved { outcome: Outcome::Approved, .. } => "Hoàn thành giải quyết hồ sơ".into(),
        EventKind::Resolved { outcome: Outcome::Refused, reason, .. } => {
            with("Từ chối giải quyết hồ sơ", reason.as_deref().unwrap_or_default())
        }
        EventKind::Returned => "Trả kết quả cho công dân".into(),
        EventKind::Withdrawn { reason } => with("Công dân rút hồ sơ", reason),
        EventKind::Stopped { reason, .. } => with("Dừng xử lý hồ sơ", reason),
        EventKind::Digitised { documents } => format!("Số hóa thành phần hồ sơ: {}", documents.join("; ")),
        EventKind::SyncedToPortal => "Đồng bộ hồ sơ lên Cổng Dịch vụ công quốc gia".into(),
    }
}

/// Writes records as JSONL, one object per line.
pub fn write_dvcqg<'a, W: Write>(
    mut out: W,
    records: impl IntoIterator<Item = &'a DongBoHoSo>,
) -> Result<W, ExportError> {
    for r in records {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(out)
}

fn agency_name(domain: &Domain, code: &AgencyCode) -> String {
    domain.catalog.agency(code).map_or_else(|| code.to_string(), |a| a.name.clone())
}

fn build(domain: &Domain, d: &Dossier, staff: &Staff) -> Result<DongBoHoSo, ExportError> {
    let (Some(code), Some(_), Some(receiving), Some(status)) = (&d.code, &d.procedure, &d.receiving_agency, d.status)
    else {
        return Err(ExportError::NoIntake);
    };
    let procedure = domain.procedure_of(d)?;
    let cal = domain.calendar_for(receiving);
    let lead = domain.lead_agency(procedure, receiving);
    let a = &d.applicant;

    // Appointments around each supplement, and the one an apology replaced, from the
    // explanation steps (the due date in force before and after each change).
    let mut due: Option<DateTime<Utc>> = None;
    let mut supplement_dues: Vec<(Option<Instant>, Option<Instant>)> = Vec::new();
    let mut ended: Option<WaitKind> = None;
    let mut rescheduled_from = None;
    for step in &d.steps {
        match step {
            Step::AddWorkingDays { due: x, .. }
            | Step::AddWorkingHours { due: x, .. }
            | Step::AddCalendarDays { due: x, .. } => due = Some(*x),
            Step::WaitStarted { kind: WaitKind::Supplement, .. } => supplement_dues.push((due, None)),
            Step::WaitEnded { kind, .. } => ended = Some(*kind),
            Step::ClockRestarted { due: x, .. } | Step::ClockPaused { due: x, .. } => {
                if ended == Some(WaitKind::Supplement)
                    && let Some(last) = supplement_dues.last_mut()
                {
                    last.1 = Some(*x);
                }
                ended = None;
                due = Some(*x);
            }
            Step::Rescheduled { due: x, .. } => rescheduled_from = Some(*x),
            _ => {}
        }
    }
    let supplements = d
        .waits
        .iter()
        .filter(|w| w.kind == WaitKind::Supplement)
        .enumerate()
        .map(|(i, w)| {
            let (asked_by, reason) = staff.supplements.get(i).cloned().unwrap_or_default();
            let (before, after) = supplement_dues.get(i).copied().unwrap_or_default();
            HoSoBoSung {
                ho_so_bo_sung_id: (i + 1).to_string(),
                nguoi_yeu_cau_bo_sung: asked_by.unwrap_or_default(),
                noi_dung_bo_sung: reason,
                danh_sach_giay_to_bo_sung: w.documents.clone(),
                ngay_bo_sung: format_dvcqg_time(w.requested_at),
                ngay_tiep_nhan_bo_sung: opt_time(w.completed_at),
                ngay_hen_tra_truoc: opt_time(before),
                ngay_hen_tra_moi: opt_time(after),
            }
        })
        .collect();

    let mut rows = Vec::new();
    if status == Status::RegisteredOnline {
        rows.push(QuaTrinhXuLy {
            nguoi_xu_ly: String::new(),
            chuc_danh: String::new(),
            thoi_diem_xu_ly: opt_time(d.registered_at),
            phong_ban_xu_ly: agency_name(domain, receiving),
            noi_dung_xu_ly: "Đăng ký hồ sơ trực tuyến".into(),
            trang_thai: Status::RegisteredOnline.code().to_string(),
            ngay_bat_dau: opt_time(d.registered_at),
            ngay_ket_thuc_theo_quy_dinh: String::new(),
            su_kien: None,
        });
    }
    if status == Status::RefusedAtReceipt {
        let (by, reason) = staff.refused_at_receipt.clone().unwrap_or_default();
        rows.push(QuaTrinhXuLy {
            nguoi_xu_ly: by.unwrap_or_default(),
            chuc_danh: String::new(),
            thoi_diem_xu_ly: opt_time(d.last_event_at),
            phong_ban_xu_ly: agency_name(domain, receiving),
            noi_dung_xu_ly: if reason.is_empty() {
                "Từ chối tiếp nhận hồ sơ".into()
            } else {
                format!("Từ chối tiếp nhận hồ sơ: {reason}")
            },
            trang_thai: Status::RefusedAtReceipt.code().to_string(),
            ngay_bat_dau: opt_time(d.registered_at),
            ngay_ket_thuc_theo_quy_dinh: String::new(),
            su_kien: None,
        });
    }
    // Budgets per agency in route order; the i-th visit uses the i-th budget (as the
    // control sheet does).
    let mut budgets: BTreeMap<&AgencyCode, Vec<i64>> = BTreeMap::new();
    for step in &procedure.route {
        budgets.entry(step.agency.resolve(receiving)).or_default().push(step.budget_minutes);
    }
    let mut visits: BTreeMap<&AgencyCode, usize> = BTreeMap::new();
    let last_index = d.holdings.len().saturating_sub(1);
    for (i, h) in d.holdings.iter().enumerate() {
        let visit = visits.entry(&h.agency).or_insert(0);
        let budget = budgets.get(&h.agency).and_then(|b| b.get(*visit)).copied();
        *visit += 1;
        let until = h.until.or(d.last_event_at).unwrap_or(h.from);
        let waited: i64 = d
            .waits
            .iter()
            .filter_map(|w| {
                let a = w.requested_at.max(h.from);
                let b = w.completed_at.unwrap_or(until).min(until);
                (b > a).then(|| cal.working_seconds_between(a, b).unwrap_or(0))
            })
            .sum();
        let step_due = budget.and_then(|m| cal.add_working_seconds(h.from, m * 60 + waited).ok());
        let (content, state) = if i < last_index {
            let next = agency_name(domain, &d.holdings[i + 1].agency);
            (format!("Chuyển hồ sơ đến {next}"), Status::Processing)
        } else {
            match status {
                Status::Done | Status::Returned => match d.outcome {
                    Some(Outcome::Refused) => (
                        staff.finish_reason.as_ref().map_or_else(
                            || "Từ chối giải quyết hồ sơ".into(),
                            |r| format!("Từ chối giải quyết hồ sơ: {r}"),
                        ),
                        Status::Done,
                    ),
                    _ => ("Hoàn thành giải quyết hồ sơ".into(), Status::Done),
                },
                Status::Withdrawn => (
                    staff
                        .finish_reason
                        .as_ref()
                        .map_or_else(|| "Công dân rút hồ sơ".into(), |r| format!("Công dân rút hồ sơ: {r}")),
                    status,
                ),
                Status::Stopped => (
                    staff
                        .finish_reason
                        .as_ref()
                        .map_or_else(|| "Dừng xử lý hồ sơ".into(), |r| format!("Dừng xử lý hồ sơ: {r}")),
                    status,
                ),
                Status::SupplementRequested => ("Chờ công dân bổ sung hồ sơ".into(), status),
                Status::PaymentRequested => ("Chờ công dân thực hiện nghĩa vụ tài chính".into(), status),
                _ => ("Đang xử lý".into(), status),
            }
        };
        let content = if i == 0 { format!("Tiếp nhận hồ sơ. {content}") } else { content };
        let by = staff.closed.get(i).cloned().flatten().or_else(|| staff.accepted.get(i).cloned().flatten());
        let acted = h
            .until
            .or_else(|| {
                d.handoffs.iter().rev().find(|x| x.to == h.agency && x.sent_at == h.from).and_then(|x| x.accepted_at)
            })
            .unwrap_or(h.from);
        rows.push(QuaTrinhXuLy {
            nguoi_xu_ly: by.unwrap_or_default(),
            chuc_danh: String::new(),
            thoi_diem_xu_ly: format_dvcqg_time(acted),
            phong_ban_xu_ly: agency_name(domain, &h.agency),
            noi_dung_xu_ly: content,
            trang_thai: state.code().to_string(),
            ngay_bat_dau: format_dvcqg_time(h.from),
            ngay_ket_thuc_theo_quy_dinh: opt_time(step_due),
            su_kien: None,
        });
    }
    if let Some(returned) = d.returned_at {
        rows.push(QuaTrinhXuLy {
            nguoi_xu_ly: staff.returned.clone().unwrap_or_default(),
            chuc_danh: String::new(),
            thoi_diem_xu_ly: format_dvcqg_time(returned),
            phong_ban_xu_ly: agency_name(domain, receiving),
            noi_dung_xu_ly: "Trả kết quả cho công dân".into(),
            trang_thai: Status::Returned.code().to_string(),
            ngay_bat_dau: opt_time(d.finished_at),
            ngay_ket_thuc_theo_quy_dinh: String::new(),
            su_kien: None,
        });
    }

    let rescheduled = d.reschedules.last();
    Ok(DongBoHoSo {
        ma_ho_so: code.to_string(),
        ma_tthc: procedure.code.to_string(),
        ten_tthc: procedure.name.clone(),
        kenh_thuc_hien: (d.channel as u8).to_string(),
        chu_ho_so: a.name.clone(),
        so_giay_to_chu_ho_so: a.id_number.clone().unwrap_or_default(),
        email: a.email.as_ref().map(ToString::to_string).unwrap_or_default(),
        so_dien_thoai: a.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
        dia_chi_chu_ho_so: a.address.clone().unwrap_or_default(),
        loai_doi_tuong: "1".into(),
        ngay_tiep_nhan: opt_time(d.received_at),
        ngay_hen_tra: opt_time(d.due_at),
        trang_thai_ho_so: status.code().to_string(),
        ngay_ket_thuc_xu_ly: opt_time(d.finished_at),
        ngay_tra: opt_time(d.returned_at),
        don_vi_xu_ly: agency_name(domain, &lead),
        ngay_hen_tra_truoc: rescheduled.map(|_| opt_time(rescheduled_from.or(d.due_at))),
        ngay_hen_tra_moi: rescheduled.map(|r| format_dvcqg_time(r.to)),
        danh_sach_ho_so_bo_sung: supplements,
        qua_trinh_xu_ly: rows,
    })
}
