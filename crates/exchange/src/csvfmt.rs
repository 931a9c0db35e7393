//! CSV event logs: one row per event under a fixed header; the columns an event type does not
//! use stay empty.

use std::io::{self, BufRead, Read, Write};

use chrono::SecondsFormat;
use motcua_core::calendar::at_vn;
use motcua_core::{
    AgencyCode, Applicant, Channel, DossierCode, Email, Event, EventKind, Intake, Outcome, PaymentMethod, Phone,
    ProcedureCode,
};

use crate::{EVENT_TYPES, ExportError, ImportRow, RowError, parse_instant, unknown_type};

/// The header of an event CSV, in the order motcua writes it. On import the columns may come
/// in any order and all but `code`, `at` and `type` may be left out.
pub const CSV_COLUMNS: [&str; 25] = [
    "code",
    "at",
    "by",
    "type",
    "procedure",
    "agency",
    "applicant_name",
    "applicant_email",
    "applicant_phone",
    "applicant_id_number",
    "applicant_address",
    "channel",
    "to",
    "reason",
    "documents",
    "outcome",
    "responsible",
    "override",
    "automatic",
    "reason_code",
    "amount_vnd",
    "method",
    "receipt",
    "electronic",
    "digitised",
];

const CODE: usize = 0;
const AT: usize = 1;
const BY: usize = 2;
const TYPE: usize = 3;
const PROCEDURE: usize = 4;
const AGENCY: usize = 5;
const NAME: usize = 6;
const EMAIL: usize = 7;
const PHONE: usize = 8;
const ID_NUMBER: usize = 9;
const ADDRESS: usize = 10;
const CHANNEL: usize = 11;
const TO: usize = 12;
const REASON: usize = 13;
const DOCUMENTS: usize = 14;
const OUTCOME: usize = 15;
const RESPONSIBLE: usize = 16;
const OVERRIDE: usize = 17;
const AUTOMATIC: usize = 18;
const REASON_CODE: usize = 19;
const AMOUNT: usize = 20;
const METHOD: usize = 21;
const RECEIPT: usize = 22;
const ELECTRONIC: usize = 23;
const DIGITISED: usize = 24;

/// The columns an event type uses besides code, at, by and type.
fn columns_of(kind: &str) -> &'static [usize] {
    match kind {
        "registered_online" | "received" => {
            &[PROCEDURE, AGENCY, NAME, EMAIL, PHONE, ID_NUMBER, ADDRESS, CHANNEL, DIGITISED]
        }
        "refused_at_receipt" | "stopped" => &[REASON, REASON_CODE],
        "withdrawn" => &[REASON],
        "payment_requested" => &[REASON, AMOUNT],
        "paid" => &[METHOD, RECEIPT],
        "transferred" => &[TO],
        "supplement_requested" => &[REASON, DOCUMENTS, REASON_CODE],
        "rescheduled" => &[TO, REASON, RESPONSIBLE, OVERRIDE, AUTOMATIC, REASON_CODE],
        "apologised" => &[RESPONSIBLE, REASON],
        "resolved" => &[OUTCOME, REASON, ELECTRONIC, REASON_CODE],
        "digitised" => &[DIGITISED],
        _ => &[],
    }
}

/// Reads CRLF line ends as LF, so that line numbers are right whatever the line ends (the
/// `csv` parser counts a CRLF-terminated record's line one short). A CR that is not followed
/// by LF is kept.
#[derive(Debug)]
pub(crate) struct CrlfToLf<R> {
    inner: R,
    pending_cr: bool,
}

impl<R: BufRead> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < out.len() {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                if self.pending_cr {
                    out[n] = b'\r';
                    n += 1;
                    self.pending_cr = false;
                }
                break;
            }
            let mut used = 0;
            for &b in buf {
                if n >= out.len() {
                    break;
                }
                used += 1;
                if self.pending_cr {
                    self.pending_cr = false;
                    if b == b'\n' {
                        out[n] = b'\n';
                        n += 1;
                        continue;
                    }
                    out[n] = b'\r';
                    n += 1;
                    if n >= out.len() {
                        // No room for `b`: leave it for the next read.
                        used -= 1;
                        break;
                    }
                }
                if b == b'\r' {
                    self.pending_cr = true;
                } else {
                    out[n] = b;
                    n += 1;
                }
            }
            self.inner.consume(used);
            if n > 0 {
                break;
            }
        }
        Ok(n)
    }
}

#[derive(Debug)]
pub(crate) struct Reader<R> {
    csv: csv::Reader<CrlfToLf<R>>,
    /// For each column of the file, its index in [`CSV_COLUMNS`]; `None` before the header.
    columns: Option<Vec<usize>>,
    record: csv::ByteRecord,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    pub(crate) fn new(input: R) -> Self {
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(CrlfToLf { inner: input, pending_cr: false });
        Self { csv, columns: None, record: csv::ByteRecord::new(), done: false }
    }

    fn line(&self) -> usize {
        self.record.position().map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX))
    }

    fn read(&mut self) -> Option<Result<usize, RowError>> {
        match self.csv.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => Some(Ok(self.line())),
            Err(e) => {
                let line = e.position().map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.done = true;
                }
                Some(Err(RowError { line, reason: format!("unreadable CSV: {e}") }))
            }
        }
    }

    fn header(&mut self) -> Result<Vec<usize>, String> {
        let mut columns = Vec::with_capacity(self.record.len());
        for (i, raw) in self.record.iter().enumerate() {
            let name = std::str::from_utf8(raw).map_err(|_| format!("header column {} is not valid UTF-8", i + 1))?;
            let name = if i == 0 { name.trim_start_matches('\u{feff}') } else { name }.trim();
            let idx = CSV_COLUMNS
                .iter()
                .position(|c| *c == name)
                .ok_or_else(|| format!("unknown column {name:?}; the columns are {}", CSV_COLUMNS.join(",")))?;
            if columns.contains(&idx) {
                return Err(format!("column {name:?} appears twice"));
            }
            columns.push(idx);
        }
        for required in [CODE, AT, TYPE] {
            if !columns.contains(&required) {
                return Err(format!("the header has no {:?} column", CSV_COLUMNS[required]));
            }
        }
        Ok(columns)
    }

    pub(crate) fn next(&mut self) -> Option<Result<ImportRow, RowError>> {
        if self.done {
            return None;
        }
        if self.columns.is_none() {
            let line = match self.read()? {
                Ok(line) => line,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            match self.header() {
                Ok(c) => self.columns = Some(c),
                Err(reason) => {
                    self.done = true;
                    return Some(Err(RowError { line, reason: format!("bad header: {reason}") }));
                }
            }
        }
        let line = match self.read()? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        let columns = self.columns.as_deref().unwrap_or_default();
        Some(
            row(columns, &self.record)
                .map(|(code, event)| ImportRow { line, code, event })
                .map_err(|reason| RowError { line, reason }),
        )
    }
}

fn row(columns: &[usize], record: &csv::ByteRecord) -> Result<(DossierCode, Event), String> {
    if record.len() != columns.len() {
        return Err(format!("expected {} fields as in the header, found {}", columns.len(), record.len()));
    }
    let mut values: [Option<&str>; CSV_COLUMNS.len()] = [None; CSV_COLUMNS.len()];
    for (raw, idx) in record.iter().zip(columns) {
        let v = std::str::from_utf8(raw).map_err(|_| format!("column `{}` is not valid UTF-8", CSV_COLUMNS[*idx]))?;
        if !v.trim().is_empty() {
            values[*idx] = Some(v);
        }
    }
    build(&values)
}

/// A structured value: trimmed.
fn get<'a>(values: &[Option<&'a str>], col: usize) -> Option<&'a str> {
    values[col].map(str::trim)
}

fn required<'a>(values: &[Option<&'a str>], col: usize, kind: &str) -> Result<&'a str, String> {
    values[col].ok_or_else(|| format!("missing `{}` for a `{kind}` event", CSV_COLUMNS[col]))
}

fn text(values: &[Option<&str>], col: usize) -> Option<String> {
    values[col].map(str::to_string)
}

fn flag(values: &[Option<&str>], col: usize) -> Result<bool, String> {
    match get(values, col).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(format!("bad `{}` value {other:?}: expected true or false", CSV_COLUMNS[col])),
    }
}

/// A `;`-separated list (empty items dropped).
fn list(values: &[Option<&str>], col: usize) -> Option<Vec<String>> {
    values[col].map(|d| d.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
}

/// An optional true/false column: empty is unknown.
fn opt_flag(values: &[Option<&str>], col: usize) -> Result<Option<bool>, String> {
    if get(values, col).is_none() { Ok(None) } else { flag(values, col).map(Some) }
}

fn agency(s: &str, col: usize) -> Result<AgencyCode, String> {
    s.trim().parse().map_err(|e| format!("bad agency in `{}`: {e}", CSV_COLUMNS[col]))
}

fn build(values: &[Option<&str>]) -> Result<(DossierCode, Event), String> {
    let code: DossierCode = get(values, CODE).ok_or("missing `code`")?.parse().map_err(|e| format!("bad code: {e}"))?;
    let at = parse_instant("at", get(values, AT).ok_or("missing `at`")?)?;
    let by = get(values, BY).map(str::to_string);
    let kind_name = get(values, TYPE).ok_or("missing `type`")?;
    if !EVENT_TYPES.contains(&kind_name) {
        return Err(unknown_type(kind_name));
    }
    let used = columns_of(kind_name);
    if let Some(extra) = (PROCEDURE..CSV_COLUMNS.len()).find(|c| values[*c].is_some() && !used.contains(c)) {
        return Err(format!("column `{}` is not used by a `{kind_name}` event and must be empty", CSV_COLUMNS[extra]));
    }
    let kind = match kind_name {
        "registered_online" | "received" => {
            let procedure: ProcedureCode =
                required(values, PROCEDURE, kind_name)?.trim().parse().map_err(|e| format!("bad procedure: {e}"))?;
            let agency = agency(required(values, AGENCY, kind_name)?, AGENCY)?;
            let name = motcua_core::text::line(
                required(values, NAME, kind_name)?,
                "applicant_name",
                motcua_core::text::NAME_MAX_CHARS,
            )
            .map_err(|e| e.to_string())?;
            let email =
                get(values, EMAIL).map(|e| e.parse::<Email>().map_err(|e| format!("bad e-mail: {e}"))).transpose()?;
            let phone =
                get(values, PHONE).map(|p| p.parse::<Phone>().map_err(|e| format!("bad phone: {e}"))).transpose()?;
            let channel = match get(values, CHANNEL) {
                Some(c) => Channel::parse(c)
                    .ok_or_else(|| format!("bad channel {c:?}: expected in_person, online or postal"))?,
                None if kind_name == "registered_online" => Channel::Online,
                None => Channel::InPerson,
            };
            let applicant = Applicant {
                name,
                email,
                phone,
                id_number: get(values, ID_NUMBER).map(str::to_string),
                address: text(values, ADDRESS)
                    .map(|a| motcua_core::text::paragraph(&a, "address", motcua_core::text::ADDRESS_MAX_CHARS))
                    .transpose()
                    .map_err(|e| e.to_string())?,
            };
            let intake = Intake {
                code: code.clone(),
                procedure,
                agency,
                applicant,
                channel,
                documents: Vec::new(),
                // `-` is an intake that said none was digitised.
                digitised: get(values, DIGITISED)
                    .map(|d| if d == "-" { Vec::new() } else { list(values, DIGITISED).unwrap_or_default() }),
            };
            if kind_name == "received" {
                EventKind::Received { intake }
            } else {
                EventKind::RegisteredOnline { intake }
            }
        }
        "accepted_online" => EventKind::AcceptedOnline,
        "accepted" => EventKind::Accepted,
        "supplement_supplied" => EventKind::SupplementSupplied,
        "paid" => EventKind::Paid {
            method: get(values, METHOD)
                .map(|m| {
                    PaymentMethod::parse(m)
                        .ok_or_else(|| format!("bad method {m:?}: expected cash, bank_transfer, online or exempt"))
                })
                .transpose()?,
            receipt: text(values, RECEIPT),
        },
        "digitised" => EventKind::Digitised { documents: list(values, DIGITISED).unwrap_or_default() },
        "synced_to_portal" => EventKind::SyncedToPortal,
        "returned" => EventKind::Returned,
        "refused_at_receipt" => EventKind::RefusedAtReceipt {
            reason: required(values, REASON, kind_name)?.to_string(),
            reason_code: get(values, REASON_CODE).map(str::to_string),
        },
        "stopped" => EventKind::Stopped {
            reason: required(values, REASON, kind_name)?.to_string(),
            reason_code: get(values, REASON_CODE).map(str::to_string),
        },
        "payment_requested" => EventKind::PaymentRequested {
            reason: text(values, REASON).unwrap_or_default(),
            amount_vnd: get(values, AMOUNT)
                .map(|a| a.parse::<u64>().map_err(|_| format!("bad amount_vnd {a:?}: expected a whole number ≥ 0")))
                .transpose()?,
        },
        "withdrawn" => EventKind::Withdrawn { reason: text(values, REASON).unwrap_or_default() },
        "transferred" => EventKind::Transferred { to: agency(required(values, TO, kind_name)?, TO)? },
        "supplement_requested" => {
            let documents = values[DOCUMENTS].map_or_else(Vec::new, |d| {
                d.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
            });
            EventKind::SupplementRequested {
                reason: required(values, REASON, kind_name)?.to_string(),
                documents,
                reason_code: get(values, REASON_CODE).map(str::to_string),
            }
        }
        "rescheduled" => EventKind::Rescheduled {
            to: parse_instant("to", required(values, TO, kind_name)?)?,
            reason: required(values, REASON, kind_name)?.to_string(),
            responsible: get(values, RESPONSIBLE).map(|r| agency(r, RESPONSIBLE)).transpose()?,
            automatic: flag(values, AUTOMATIC)?,
            override_second: flag(values, OVERRIDE)?,
            reason_code: get(values, REASON_CODE).map(str::to_string),
        },
        "apologised" => EventKind::Apologised {
            responsible: agency(required(values, RESPONSIBLE, kind_name)?, RESPONSIBLE)?,
            reason: required(values, REASON, kind_name)?.to_string(),
        },
        "resolved" => {
            let outcome = match required(values, OUTCOME, kind_name)?.trim() {
                "approved" => Outcome::Approved,
                "refused" => Outcome::Refused,
                other => return Err(format!("bad outcome {other:?}: expected approved or refused")),
            };
            EventKind::Resolved {
                outcome,
                reason: text(values, REASON),
                electronic: opt_flag(values, ELECTRONIC)?,
                reason_code: get(values, REASON_CODE).map(str::to_string),
            }
        }
        other => return Err(unknown_type(other)),
    };
    Ok((code, Event::new(at, by, kind)))
}

pub(crate) fn writer<W: Write>(out: W) -> Result<csv::Writer<W>, ExportError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    Ok(w)
}

fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at_vn(at).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) fn write<W: Write>(w: &mut csv::Writer<W>, code: &DossierCode, event: &Event) -> Result<(), ExportError> {
    let mut r: [String; CSV_COLUMNS.len()] = Default::default();
    r[CODE] = code.to_string();
    r[AT] = instant(event.at);
    r[BY] = event.by.clone().unwrap_or_default();
    r[TYPE] = event.kind.name().to_string();
    match &event.kind {
        EventKind::RegisteredOnline { intake } | EventKind::Received { intake } => {
            r[PROCEDURE] = intake.procedure.to_string();
            r[AGENCY] = intake.agency.to_string();
            r[NAME] = intake.applicant.name.clone();
            r[EMAIL] = intake.applicant.email.as_ref().map(ToString::to_string).unwrap_or_default();
            r[PHONE] = intake.applicant.phone.as_ref().map(ToString::to_string).unwrap_or_default();
            r[ID_NUMBER] = intake.applicant.id_number.clone().unwrap_or_default();
            r[ADDRESS] = intake.applicant.address.clone().unwrap_or_default();
            r[CHANNEL] = intake.channel.name().to_string();
            r[DIGITISED] = match &intake.digitised {
                None => String::new(),
                Some(names) if names.is_empty() => "-".to_string(),
                Some(names) => joined(code, names)?,
            };
            if intake.code != *code {
                return Err(ExportError::NotRepresentable {
                    code: code.clone(),
                    reason: format!("the intake's code is {}", intake.code),
                });
            }
        }
        EventKind::RefusedAtReceipt { reason, reason_code } | EventKind::Stopped { reason, reason_code } => {
            r[REASON] = reason.clone();
            r[REASON_CODE] = reason_code.clone().unwrap_or_default();
        }
        EventKind::Withdrawn { reason } => r[REASON] = reason.clone(),
        EventKind::PaymentRequested { reason, amount_vnd } => {
            r[REASON] = reason.clone();
            r[AMOUNT] = amount_vnd.map(|a| a.to_string()).unwrap_or_default();
        }
        EventKind::Paid { method, receipt } => {
            r[METHOD] = method.map(|m| m.name().to_string()).unwrap_or_default();
            r[RECEIPT] = receipt.clone().unwrap_or_default();
        }
        EventKind::Digitised { documents } => r[DIGITISED] = joined(code, documents)?,
        EventKind::Transferred { to } => r[TO] = to.to_string(),
        EventKind::SupplementRequested { reason, documents, reason_code } => {
            r[REASON] = reason.clone();
            r[DOCUMENTS] = joined(code, documents)?;
            r[REASON_CODE] = reason_code.clone().unwrap_or_default();
        }
        EventKind::Rescheduled { to, reason, responsible, automatic, override_second, reason_code } => {
            r[REASON_CODE] = reason_code.clone().unwrap_or_default();
            r[TO] = instant(*to);
            r[REASON] = reason.clone();
            r[RESPONSIBLE] = responsible.as_ref().map(ToString::to_string).unwrap_or_default();
            r[OVERRIDE] = override_second.to_string();
            r[AUTOMATIC] = automatic.to_string();
        }
        EventKind::Apologised { responsible, reason } => {
            r[RESPONSIBLE] = responsible.to_string();
            r[REASON] = reason.clone();
        }
        EventKind::Resolved { outcome, reason, electronic, reason_code } => {
            r[ELECTRONIC] = electronic.map(|e| e.to_string()).unwrap_or_default();
            r[REASON_CODE] = reason_code.clone().unwrap_or_default();
            r[OUTCOME] = match outcome {
                Outcome::Approved => "approved",
                Outcome::Refused => "refused",
            }
            .to_string();
            r[REASON] = reason.clone().unwrap_or_default();
        }
        EventKind::AcceptedOnline
        | EventKind::Accepted
        | EventKind::SupplementSupplied
        | EventKind::SyncedToPortal
        | EventKind::Returned => {}
    }
    w.write_record(&r)?;
    Ok(())
}

/// A list of names as one `;`-separated cell; a name holding `;` cannot be written.
fn joined(code: &DossierCode, names: &[String]) -> Result<String, ExportError> {
    if let Some(d) = names.iter().find(|d| d.contains(';')) {
        return Err(ExportError::NotRepresentable {
            code: code.clone(),
            reason: format!("document {d:?} contains `;`, the CSV list separator"),
        });
    }
    Ok(names.join(";"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn normalise(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut r = CrlfToLf { inner: io::BufReader::with_capacity(chunk, input), pending_cr: false };
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn crlf_becomes_lf_across_buffer_boundaries() {
        let input = b"a\r\nb\rc\r\n\r\nd\r";
        for chunk in 1..8 {
            assert_eq!(normalise(input, chunk), b"a\nb\rc\n\nd\r", "chunk {chunk}");
        }
    }
}
