//! Reading the national portal's dossier records (`DongBoHoSoMC`, and the progress update
//! `CapNhatTienDoHoSoMC`: the same fields, often without the intake's) back into motcua events.
//!
//! A record motcua wrote carries its log in the `SuKienMotcua` of its event rows, and those
//! events are taken exactly (after checking that they agree with the record's own fields). A
//! record from another system has only the portal's fields: its events are derived from them
//! by fixed rules (docs/formats.md, "Importing portal records"), the same record always giving
//! the same events, so that importing it again finds them already present. Fields the rules do
//! not use are ignored; a field the rules need and cannot read rejects the record, with the
//! reason; an optional field that cannot be read (a malformed e-mail address) is left out, with
//! a note.

use std::collections::HashMap;
use std::io::BufRead;

use chrono::{DateTime, NaiveDateTime, Utc};
use motcua_core::calendar::from_local;
use motcua_core::{
    AgencyCode, Applicant, Channel, Domain, DossierCode, Email, Event, EventKind, Intake, Outcome, Phone,
    ProcedureCode, Status,
};
use serde_json::{Map, Value};

use crate::RowError;
use crate::jsonl::{Lines, type_name};

type Instant = DateTime<Utc>;

/// The reason given to a reschedule derived from `NgayHenTraMoi` (the record does not say why).
pub const DERIVED_RESCHEDULE_REASON: &str = "Hẹn lại ngày trả kết quả (theo hồ sơ đồng bộ Cổng DVCQG)";
/// The reason given to a supplement request whose `NoiDungBoSung` is empty.
pub const DERIVED_SUPPLEMENT_REASON: &str = "Yêu cầu bổ sung hồ sơ";

/// One record read: the dossier's events, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalRecord {
    /// The line the record is on (1-based).
    pub line: usize,
    pub code: DossierCode,
    pub events: Vec<Event>,
    /// True when the events were derived from the portal's fields (another system's record),
    /// false when taken from motcua's own event rows.
    pub derived: bool,
    /// Optional fields left out, and why.
    pub notes: Vec<String>,
}

/// Reads portal records, one JSON object per line (as `export --format dvcqg` writes them).
/// Blank lines are skipped; a record that cannot be read is a [`RowError`] with its line, and
/// reading goes on with the next.
pub fn read_dvcqg<'d, R: BufRead>(domain: &'d Domain, input: R) -> PortalReader<'d, R> {
    let mut names: HashMap<String, AgencyCode> = HashMap::new();
    for a in domain.catalog.agencies() {
        names.entry(fold(&a.name)).or_insert_with(|| a.code.clone());
    }
    PortalReader { domain, names, lines: Lines::new(input) }
}

/// The iterator [`read_dvcqg`] returns.
#[derive(Debug)]
pub struct PortalReader<'d, R> {
    domain: &'d Domain,
    /// Agencies by name (case and spacing folded), for `PhongBanXuLy`.
    names: HashMap<String, AgencyCode>,
    lines: Lines<R>,
}

impl<R: BufRead> Iterator for PortalReader<'_, R> {
    type Item = Result<PortalRecord, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match self.lines.advance()? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        let ctx = Ctx { domain: self.domain, names: &self.names };
        Some(ctx.record(self.lines.text(), line).map_err(|reason| RowError { line, reason }))
    }
}

/// Reads one record (a JSON object) into its dossier's events.
pub fn record_events(domain: &Domain, text: &str) -> Result<PortalRecord, String> {
    let mut names: HashMap<String, AgencyCode> = HashMap::new();
    for a in domain.catalog.agencies() {
        names.entry(fold(&a.name)).or_insert_with(|| a.code.clone());
    }
    Ctx { domain, names: &names }.record(text, 1)
}

fn fold(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// A text field: `None` when absent, null or blank; numbers are taken as their digits (some
/// systems send `TrangThaiHoSo` as a number).
fn text(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(v) => Err(format!("`{at}{key}` must be a string, not {}", type_name(v))),
    }
}

/// A portal instant: `yyyyMMddHHmmss`, local time (+07:00).
pub fn parse_dvcqg_time(key: &str, s: &str) -> Result<Instant, String> {
    NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S")
        .map(from_local)
        .map_err(|_| format!("bad date in `{key}`: {s:?}; expected yyyyMMddHHmmss in local time, like 20250714093200"))
}

fn time(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<Instant>, String> {
    text(map, key, at)?.map(|s| parse_dvcqg_time(&format!("{at}{key}"), &s)).transpose()
}

fn array<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(v) => Err(format!("`{key}` must be a list, not {}", type_name(v))),
    }
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, String> {
    match v {
        Value::Object(m) => Ok(m),
        v => Err(format!("`{at}` must be an object, not {}", type_name(v))),
    }
}

/// What follows `prefix` and `": "` in a row's content: the reason motcua writes there (the
/// first row's content begins with the receipt, `Tiếp nhận hồ sơ. `).
fn reason_after(content: &str, prefix: &str) -> Option<String> {
    let content = content.strip_prefix(RECEIPT_PREFIX).unwrap_or(content);
    content.strip_prefix(prefix).and_then(|r| r.strip_prefix(": ")).map(str::to_string)
}

/// Whether a row's content begins with `prefix` (after the receipt's words, on the first row).
fn says(content: &str, prefix: &str) -> bool {
    content.strip_prefix(RECEIPT_PREFIX).unwrap_or(content).starts_with(prefix)
}

const RECEIPT_PREFIX: &str = "Tiếp nhận hồ sơ. ";

/// The order of derived events that share an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Intake,
    AcceptedAtReceipt,
    Transferred,
    Accepted,
    SupplementRequested,
    SupplementSupplied,
    PaymentRequested,
    Rescheduled,
    Finished,
    Returned,
}

struct Ctx<'a> {
    domain: &'a Domain,
    names: &'a HashMap<String, AgencyCode>,
}

impl Ctx<'_> {
    fn record(&self, line_text: &str, line: usize) -> Result<PortalRecord, String> {
        let value: Value = serde_json::from_str(line_text).map_err(|e| format!("invalid JSON: {e}"))?;
        let Value::Object(map) = value else {
            return Err(format!("expected a JSON object (a DongBoHoSoMC record), found {}", type_name(&value)));
        };
        let code_text = text(&map, "MaHoSo", "")?.ok_or("missing field `MaHoSo`")?;
        let code: DossierCode = code_text.parse().map_err(|e| format!("bad `MaHoSo`: {e}"))?;
        let rows = array(&map, "QuaTrinhXuLy")?;
        let mut own = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if let Some(e) = object(row, &format!("QuaTrinhXuLy[{i}]"))?.get("SuKienMotcua") {
                let event: Event = serde_json::from_value(e.clone())
                    .map_err(|err| format!("`QuaTrinhXuLy[{i}].SuKienMotcua` is not a motcua event: {err}"))?;
                own.push(event);
            }
        }
        let mut notes = Vec::new();
        let (events, derived) = if own.is_empty() {
            (self.derive(&map, &code, rows, &mut notes)?, true)
        } else {
            self.check_own(&map, &code, &own)?;
            (own, false)
        };
        Ok(PortalRecord { line, code, events, derived, notes })
    }

    /// motcua's own rows must agree with the record they travel in: the intake's code is the
    /// record's, and replayed they give the record's status and dates.
    fn check_own(&self, map: &Map<String, Value>, code: &DossierCode, events: &[Event]) -> Result<(), String> {
        for e in events {
            if let EventKind::Received { intake } | EventKind::RegisteredOnline { intake } = &e.kind
                && intake.code != *code
            {
                return Err(format!(
                    "the intake's code {} in `SuKienMotcua` differs from `MaHoSo` {code}",
                    intake.code
                ));
            }
        }
        // A log the catalog or the state machine refuses is the store's to reject, event by
        // event, with its reason; the agreement is checked on logs that replay.
        let Ok(d) = self.domain.replay(events) else { return Ok(()) };
        let fmt = |t: Option<Instant>| t.map(crate::format_dvcqg_time);
        let checks = [
            ("TrangThaiHoSo", d.status.map(|s| s.code().to_string())),
            ("NgayTiepNhan", fmt(d.received_at)),
            ("NgayKetThucXuLy", fmt(d.finished_at)),
            ("NgayTra", fmt(d.returned_at)),
        ];
        for (key, from_log) in checks {
            let given = text(map, key, "")?;
            if given.is_some() && given != from_log {
                return Err(format!(
                    "`{key}` is {:?} but the record's motcua rows (`SuKienMotcua`) give {:?}",
                    given.unwrap_or_default(),
                    from_log.unwrap_or_default()
                ));
            }
        }
        Ok(())
    }

    fn agency(&self, name: &str) -> Option<AgencyCode> {
        if let Ok(code) = name.parse::<AgencyCode>()
            && self.domain.catalog.agency(&code).is_some()
        {
            return Some(code);
        }
        self.names.get(&fold(name)).cloned()
    }

    /// The events of another system's record, by the rules of docs/formats.md.
    fn derive(
        &self,
        map: &Map<String, Value>,
        code: &DossierCode,
        rows: &[Value],
        notes: &mut Vec<String>,
    ) -> Result<Vec<Event>, String> {
        let receiving: AgencyCode = code.agency().parse().map_err(|e| format!("bad agency in `MaHoSo` {code}: {e}"))?;
        if self.domain.catalog.agency(&receiving).is_none() {
            return Err(format!("unknown agency {receiving} (the receiving agency in `MaHoSo`): not in the catalog"));
        }
        let status = match text(map, "TrangThaiHoSo", "")? {
            None => None,
            Some(s) => Some(
                s.parse::<u8>()
                    .ok()
                    .and_then(Status::from_code)
                    .ok_or_else(|| format!("bad `TrangThaiHoSo` {s:?}: expected a national status code 1 to 10"))?,
            ),
        };
        let procedure = match text(map, "MaTTHC", "")? {
            None => None,
            Some(p) => {
                let p: ProcedureCode = p.parse().map_err(|e| format!("bad `MaTTHC`: {e}"))?;
                if self.domain.catalog.procedure(&p).is_none() {
                    return Err(format!("unknown procedure {p} (`MaTTHC`): not in the catalog"));
                }
                Some(p)
            }
        };
        let received_at = time(map, "NgayTiepNhan", "")?;
        let channel = match text(map, "KenhThucHien", "")?.as_deref() {
            None | Some("1") => Channel::InPerson,
            Some("2") => Channel::Online,
            Some("3") => Channel::Postal,
            Some(other) => {
                return Err(format!("bad `KenhThucHien` {other:?}: expected 1 (in person), 2 (online) or 3 (postal)"));
            }
        };

        // The rows: each an object; those of the refusal at receipt (3) and of the return (10)
        // stand apart from the processing rows.
        let mut processing = Vec::new();
        let mut refusal = None;
        let mut returned_row = None;
        for (i, row) in rows.iter().enumerate() {
            let at = format!("QuaTrinhXuLy[{i}].");
            let r = object(row, &format!("QuaTrinhXuLy[{i}]"))?;
            let row = Row {
                by: text(r, "NguoiXuLy", &at)?,
                agency_name: text(r, "PhongBanXuLy", &at)?,
                content: text(r, "NoiDungXuLy", &at)?.unwrap_or_default(),
                state: text(r, "TrangThai", &at)?,
                started: time(r, "NgayBatDau", &at)?,
                acted: time(r, "ThoiDiemXuLy", &at)?,
                index: i,
            };
            match row.state.as_deref() {
                Some("3") => refusal = Some(row),
                Some("10") => returned_row = Some(row),
                _ => processing.push(row),
            }
        }

        let mut out: Vec<(Instant, Rank, Event)> = Vec::new();
        let event = |at: Instant, by: &Option<String>, kind: EventKind| Event::new(at, by.clone(), kind);

        // Not received: registered online (1), or refused at receipt (3).
        if matches!(status, Some(Status::RegisteredOnline | Status::RefusedAtReceipt)) {
            let procedure = procedure.ok_or("missing field `MaTTHC` for an online registration")?;
            let intake = self.intake(map, code, procedure, &receiving, Channel::Online, notes)?;
            let first = refusal.as_ref().or(processing.first());
            let registered = first
                .and_then(|r| r.started.or(r.acted))
                .ok_or("an online registration needs the instant it was registered: `QuaTrinhXuLy[0].NgayBatDau`")?;
            let mut events = vec![event(registered, &None, EventKind::RegisteredOnline { intake })];
            if status == Some(Status::RefusedAtReceipt) {
                let r = refusal.as_ref().or(processing.last()).ok_or("a refusal at receipt needs its row")?;
                let at = r.acted.or(r.started).ok_or_else(|| format!("`QuaTrinhXuLy[{}]` has no date", r.index))?;
                let reason = reason_after(&r.content, "Từ chối tiếp nhận hồ sơ").unwrap_or(r.content.clone());
                events.push(event(at, &r.by, EventKind::RefusedAtReceipt { reason, reason_code: None }));
            }
            return Ok(events);
        }

        // The intake, unless the record is a progress update for a dossier already received.
        match (procedure, received_at) {
            (Some(p), Some(t)) => {
                let intake = self.intake(map, code, p, &receiving, channel, notes)?;
                let by = processing.first().and_then(|r| r.by.clone());
                out.push((t, Rank::Intake, event(t, &by, EventKind::Received { intake })));
            }
            (Some(_), None) => return Err("missing field `NgayTiepNhan` (the receipt)".into()),
            (None, Some(_)) => return Err("missing field `MaTTHC` (the procedure)".into()),
            (None, None) => notes.push("no `MaTTHC` nor `NgayTiepNhan`: read as a progress update".into()),
        }

        // Handoffs: a row at another agency than the one before is a transfer, sent and accepted
        // at its `NgayBatDau`.
        let mut holder = receiving.clone();
        let mut prev_by: Option<String> = None;
        let mut transfers = 0;
        for r in &processing {
            let agency = match &r.agency_name {
                None => holder.clone(),
                Some(name) => self.agency(name).ok_or_else(|| {
                    format!("`QuaTrinhXuLy[{}].PhongBanXuLy`: unknown agency {name:?}: not in the catalog", r.index)
                })?,
            };
            if agency != holder {
                let at = r.started.or(r.acted).ok_or_else(|| {
                    format!("`QuaTrinhXuLy[{}]` has neither `NgayBatDau` nor `ThoiDiemXuLy`", r.index)
                })?;
                out.push((at, Rank::Transferred, event(at, &prev_by, EventKind::Transferred { to: agency.clone() })));
                out.push((at, Rank::Accepted, event(at, &r.by, EventKind::Accepted)));
                holder = agency;
                transfers += 1;
            }
            prev_by = r.by.clone();
        }
        // Past status 2 without a handoff: the receiving agency took it into processing at receipt.
        if transfers == 0
            && let Some(t) = received_at
            && !matches!(status, None | Some(Status::Received))
        {
            let by = processing.first().and_then(|r| r.by.clone());
            out.push((t, Rank::AcceptedAtReceipt, event(t, &by, EventKind::Accepted)));
        }

        for (i, s) in array(map, "DanhSachHoSoBoSung")?.iter().enumerate() {
            let at = format!("DanhSachHoSoBoSung[{i}].");
            let s = object(s, &format!("DanhSachHoSoBoSung[{i}]"))?;
            let asked = time(s, "NgayBoSung", &at)?.ok_or_else(|| format!("missing field `{at}NgayBoSung`"))?;
            let by = text(s, "NguoiYeuCauBoSung", &at)?;
            let reason = text(s, "NoiDungBoSung", &at)?.unwrap_or_else(|| DERIVED_SUPPLEMENT_REASON.to_string());
            let mut documents = Vec::new();
            for (j, d) in array(s, "DanhSachGiayToBoSung")?.iter().enumerate() {
                match d {
                    Value::String(d) if !d.trim().is_empty() => documents.push(d.trim().to_string()),
                    Value::String(_) => {}
                    v => notes.push(format!(
                        "`{at}DanhSachGiayToBoSung[{j}]` left out: {} is not a paper's name",
                        type_name(v)
                    )),
                }
            }
            out.push((
                asked,
                Rank::SupplementRequested,
                event(asked, &by, EventKind::SupplementRequested { reason, documents, reason_code: None }),
            ));
            if let Some(t) = time(s, "NgayTiepNhanBoSung", &at)? {
                out.push((t, Rank::SupplementSupplied, event(t, &None, EventKind::SupplementSupplied)));
            }
        }

        let finished = time(map, "NgayKetThucXuLy", "")?;
        let last = processing.last();
        let last_by = last.and_then(|r| r.by.clone());
        if let Some(to) = time(map, "NgayHenTraMoi", "")? {
            let before = time(map, "NgayHenTraTruoc", "")?.or(time(map, "NgayHenTra", "")?);
            let at = match (before, finished) {
                (Some(b), Some(f)) => b.min(f),
                (Some(b), None) => b,
                (None, Some(f)) => f,
                (None, None) => {
                    return Err(
                        "`NgayHenTraMoi` without `NgayHenTraTruoc`: cannot tell when the dossier was rescheduled"
                            .into(),
                    );
                }
            };
            let kind = EventKind::Rescheduled {
                to,
                reason: DERIVED_RESCHEDULE_REASON.into(),
                responsible: None,
                automatic: false,
                override_second: false,
                reason_code: None,
            };
            out.push((at, Rank::Rescheduled, event(at, &None, kind)));
        }
        let content = last.map(|r| r.content.as_str()).unwrap_or_default();
        let need_finish = || finished.ok_or("missing field `NgayKetThucXuLy` (the finish) for a finished dossier");
        match status {
            Some(Status::PaymentRequested) => {
                // The wait in progress: after everything else the record lists.
                let at = last
                    .and_then(|r| r.acted.or(r.started))
                    .or(received_at)
                    .into_iter()
                    .chain(out.iter().map(|(t, _, _)| *t))
                    .max()
                    .ok_or("a dossier waiting for payment needs the instant of its last row (`ThoiDiemXuLy`)")?;
                out.push((
                    at,
                    Rank::PaymentRequested,
                    event(at, &last_by, EventKind::PaymentRequested { reason: String::new(), amount_vnd: None }),
                ));
            }
            Some(Status::Done | Status::Returned) => {
                let at = need_finish()?;
                let refused = reason_after(content, "Từ chối giải quyết hồ sơ")
                    .map(Some)
                    .or_else(|| says(content, "Từ chối giải quyết hồ sơ").then_some(None));
                let kind = match refused {
                    Some(reason) => {
                        EventKind::Resolved { outcome: Outcome::Refused, reason, electronic: None, reason_code: None }
                    }
                    None => EventKind::Resolved {
                        outcome: Outcome::Approved,
                        reason: None,
                        electronic: None,
                        reason_code: None,
                    },
                };
                out.push((at, Rank::Finished, event(at, &last_by, kind)));
                if status == Some(Status::Returned) {
                    let at =
                        time(map, "NgayTra", "")?.ok_or("missing field `NgayTra` for a returned result (status 10)")?;
                    let by = returned_row.as_ref().and_then(|r| r.by.clone());
                    out.push((at, Rank::Returned, event(at, &by, EventKind::Returned)));
                }
            }
            Some(Status::Withdrawn) => {
                let at = need_finish()?;
                let reason = reason_after(content, "Công dân rút hồ sơ").unwrap_or_default();
                out.push((at, Rank::Finished, event(at, &last_by, EventKind::Withdrawn { reason })));
            }
            Some(Status::Stopped) => {
                let at = need_finish()?;
                let reason = reason_after(content, "Dừng xử lý hồ sơ").unwrap_or_else(|| "Dừng xử lý hồ sơ".into());
                out.push((at, Rank::Finished, event(at, &last_by, EventKind::Stopped { reason, reason_code: None })));
            }
            _ => {}
        }
        // In time order; events at one instant in the order of the dossier's life.
        out.sort_by_key(|e| (e.0, e.1));
        let events: Vec<Event> = out.into_iter().map(|(_, _, e)| e).collect();
        // The due date is motcua's to compute; say so when the record's differs (a payment
        // wait the record does not list moves it, for one), and when the events the record
        // lists do not reach its status (a supplement request it does not list, say). A log
        // that does not replay is the store's to reject, event by event.
        if let Ok(d) = self.domain.replay(&events) {
            if let Some(given) = text(map, "NgayHenTra", "")?
                && let Some(due) = d.due_at
                && crate::format_dvcqg_time(due) != given
            {
                notes.push(format!(
                    "`NgayHenTra` is {given} but motcua's rules give {} from the events the record lists \
                     (a wait it does not list?); motcua's is kept",
                    crate::format_dvcqg_time(due)
                ));
            }
            if let (Some(given), Some(reached)) = (status, d.status)
                && given != reached
                && !events.is_empty()
            {
                notes.push(format!(
                    "`TrangThaiHoSo` is {} but the events the record lists reach {} ({}): imported as they are",
                    given.code(),
                    reached.code(),
                    reached.name()
                ));
            }
        }
        Ok(events)
    }

    fn intake(
        &self,
        map: &Map<String, Value>,
        code: &DossierCode,
        procedure: ProcedureCode,
        receiving: &AgencyCode,
        channel: Channel,
        notes: &mut Vec<String>,
    ) -> Result<Intake, String> {
        let name = text(map, "ChuHoSo", "")?.ok_or("missing field `ChuHoSo` (the applicant)")?;
        let name =
            motcua_core::text::line(&name, "ChuHoSo", motcua_core::text::NAME_MAX_CHARS).map_err(|e| e.to_string())?;
        let email = match text(map, "Email", "")? {
            None => None,
            Some(e) => match e.parse::<Email>() {
                Ok(e) => Some(e),
                Err(err) => {
                    notes.push(format!("`Email` left out: {err}"));
                    None
                }
            },
        };
        let phone = match text(map, "SoDienThoai", "")? {
            None => None,
            Some(p) => match p.parse::<Phone>() {
                Ok(p) => Some(p),
                Err(err) => {
                    notes.push(format!("`SoDienThoai` left out: {err}"));
                    None
                }
            },
        };
        let address = match text(map, "DiaChiChuHoSo", "")? {
            None => None,
            Some(a) => match motcua_core::text::paragraph(&a, "DiaChiChuHoSo", motcua_core::text::ADDRESS_MAX_CHARS) {
                Ok(a) => Some(a),
                Err(err) => {
                    notes.push(format!("`DiaChiChuHoSo` left out: {err}"));
                    None
                }
            },
        };
        Ok(Intake {
            code: code.clone(),
            procedure,
            agency: receiving.clone(),
            applicant: Applicant { name, email, phone, id_number: text(map, "SoGiayToChuHoSo", "")?, address },
            channel,
            documents: Vec::new(),
            digitised: None,
        })
    }
}

/// A `QuaTrinhXuLy` row, as the rules read it.
struct Row {
    by: Option<String>,
    agency_name: Option<String>,
    content: String,
    state: Option<String>,
    started: Option<Instant>,
    acted: Option<Instant>,
    index: usize,
}
