//! JSONL event logs: one JSON object per line, the core event's serialisation plus `code`.
//!
//! The reader checks what it can name clearly (the code, the instant, the type, unknown
//! fields, agency and procedure codes, e-mail and phone) before handing the object to the
//! core event's own deserialisation, so that what it accepts is exactly what core writes.

use std::io::{BufRead, Write};

use motcua_core::{AgencyCode, Channel, DossierCode, Email, Event, PaymentMethod, Phone, ProcedureCode};
use serde_json::{Map, Value};

use crate::{ExportError, ImportRow, RowError, parse_instant, unknown_type};

/// The fields each event type carries besides `at`, `by`, `backdate_reason` and `type`.
fn fields_of(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "registered_online" | "received" => &["intake"],
        "accepted_online" | "accepted" | "supplement_supplied" | "returned" | "synced_to_portal" => &[],
        "paid" => &["method", "receipt"],
        "refused_at_receipt" | "stopped" => &["reason", "reason_code"],
        "payment_requested" => &["reason", "amount_vnd"],
        "withdrawn" => &["reason"],
        "transferred" => &["to"],
        "supplement_requested" => &["reason", "documents", "reason_code"],
        "rescheduled" => &["to", "reason", "responsible", "automatic", "override_second", "reason_code"],
        "apologised" => &["responsible", "reason"],
        "resolved" => &["outcome", "reason", "electronic", "reason_code"],
        "digitised" => &["documents"],
        _ => return None,
    })
}

const INTAKE_FIELDS: &[&str] = &["code", "procedure", "agency", "applicant", "channel", "documents", "digitised"];
const APPLICANT_FIELDS: &[&str] = &["name", "email", "phone", "id_number", "address"];

/// The lines of a JSON Lines file, for the readers of event logs and of portal records: blank
/// lines skipped, a byte-order mark on the first line and each line's end removed, a line that
/// is not UTF-8 or cannot be read a [`RowError`] with its number.
#[derive(Debug)]
pub(crate) struct Lines<R> {
    input: R,
    line: usize,
    done: bool,
    buf: Vec<u8>,
    /// The text of the current line in `buf`.
    text: std::ops::Range<usize>,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(input: R) -> Self {
        Self { input, line: 0, done: false, buf: Vec::new(), text: 0..0 }
    }

    /// Moves to the next line that is not blank: its number ([`Lines::text`] gives its text).
    pub(crate) fn advance(&mut self) -> Option<Result<usize, RowError>> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(RowError { line: self.line + 1, reason: format!("reading failed: {e}") }));
                }
            }
            self.line += 1;
            let line = self.line;
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t,
                Err(e) => {
                    return Some(Err(RowError { line, reason: format!("not valid UTF-8 (byte {})", e.valid_up_to()) }));
                }
            };
            let bom = if line == 1 && text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
            let end = text.trim_end_matches(['\n', '\r']).len();
            if text[bom..end].trim().is_empty() {
                continue;
            }
            self.text = bom..end;
            return Some(Ok(line));
        }
    }

    /// The text of the line [`Lines::advance`] moved to.
    pub(crate) fn text(&self) -> &str {
        self.buf.get(self.text.clone()).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("")
    }
}

#[derive(Debug)]
pub(crate) struct Reader<R> {
    lines: Lines<R>,
}

impl<R: BufRead> Reader<R> {
    pub(crate) fn new(input: R) -> Self {
        Self { lines: Lines::new(input) }
    }

    pub(crate) fn next(&mut self) -> Option<Result<ImportRow, RowError>> {
        let line = match self.lines.advance()? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        Some(
            parse_line(self.lines.text())
                .map(|(code, event)| ImportRow { line, code, event })
                .map_err(|reason| RowError { line, reason }),
        )
    }
}

/// How a JSON value is named in an error ("a string", "null"...).
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string field, `None` when absent or null.
fn string<'a>(map: &'a Map<String, Value>, key: &str, context: &str) -> Result<Option<&'a str>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!("`{context}{key}` must be a string, not {}", type_name(v))),
    }
}

fn check_keys(map: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown field `{k}` {what}; expected {}", allowed.join(", "))),
        None => Ok(()),
    }
}

fn parse_line(text: &str) -> Result<(DossierCode, Event), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err(format!("expected a JSON object, found {}", type_name(&value)));
    };
    let code = match map.remove("code") {
        Some(Value::String(s)) => s.parse::<DossierCode>().map_err(|e| format!("bad code: {e}"))?,
        Some(v) => return Err(format!("bad code: expected a string, found {}", type_name(&v))),
        None => return Err("missing field `code`".into()),
    };
    let kind = string(&map, "type", "")?.ok_or("missing field `type`")?.to_string();
    let fields = fields_of(&kind).ok_or_else(|| unknown_type(&kind))?;
    parse_instant("at", string(&map, "at", "")?.ok_or("missing field `at`")?)?;
    string(&map, "by", "")?;
    if let Some(r) = string(&map, "backdate_reason", "")? {
        motcua_core::text::paragraph(r, "backdate_reason", motcua_core::text::REASON_MAX_CHARS)
            .map_err(|e| e.to_string())?;
    }
    let mut allowed = vec!["at", "by", "backdate_reason", "type"];
    allowed.extend_from_slice(fields);
    check_keys(&map, &allowed, &format!("for a `{kind}` event"))?;
    check_values(&map, &kind, &code)?;
    let event: Event =
        serde_json::from_value(Value::Object(map)).map_err(|e| format!("invalid `{kind}` event: {e}"))?;
    Ok((code, event))
}

/// Checks the values that have a clear reason to give, before core's deserialisation.
fn check_values(map: &Map<String, Value>, kind: &str, code: &DossierCode) -> Result<(), String> {
    if let Some(v) = map.get("intake") {
        let Value::Object(intake) = v else { return Err(format!("`intake` must be an object, not {}", type_name(v))) };
        check_keys(intake, INTAKE_FIELDS, "in `intake`")?;
        let intake_code = string(intake, "code", "intake.")?.ok_or("missing field `intake.code`")?;
        let intake_code: DossierCode = intake_code.parse().map_err(|e| format!("bad code in `intake.code`: {e}"))?;
        if intake_code != *code {
            return Err(format!("the intake's code {intake_code} differs from the row's code {code}"));
        }
        let procedure = string(intake, "procedure", "intake.")?.ok_or("missing field `intake.procedure`")?;
        procedure.parse::<ProcedureCode>().map_err(|e| format!("bad procedure in `intake.procedure`: {e}"))?;
        let agency = string(intake, "agency", "intake.")?.ok_or("missing field `intake.agency`")?;
        agency.parse::<AgencyCode>().map_err(|e| format!("bad agency in `intake.agency`: {e}"))?;
        if let Some(c) = string(intake, "channel", "intake.")? {
            Channel::parse(c).ok_or_else(|| format!("bad channel {c:?}: expected in_person, online or postal"))?;
        }
        match intake.get("applicant") {
            Some(Value::Object(a)) => {
                check_keys(a, APPLICANT_FIELDS, "in `intake.applicant`")?;
                let name = string(a, "name", "intake.applicant.")?.ok_or("missing field `intake.applicant.name`")?;
                motcua_core::text::line(name, "intake.applicant.name", motcua_core::text::NAME_MAX_CHARS)
                    .map_err(|e| e.to_string())?;
                if let Some(e) = string(a, "email", "intake.applicant.")? {
                    e.parse::<Email>().map_err(|e| format!("bad e-mail: {e}"))?;
                }
                if let Some(p) = string(a, "phone", "intake.applicant.")? {
                    p.parse::<Phone>().map_err(|e| format!("bad phone: {e}"))?;
                }
                string(a, "id_number", "intake.applicant.")?;
                if let Some(addr) = string(a, "address", "intake.applicant.")? {
                    motcua_core::text::paragraph(
                        addr,
                        "intake.applicant.address",
                        motcua_core::text::ADDRESS_MAX_CHARS,
                    )
                    .map_err(|e| e.to_string())?;
                }
            }
            Some(v) => return Err(format!("`intake.applicant` must be an object, not {}", type_name(v))),
            None => return Err("missing field `intake.applicant`".into()),
        }
    }
    match kind {
        "transferred" => {
            let to = string(map, "to", "")?.ok_or("missing field `to`")?;
            to.parse::<AgencyCode>().map_err(|e| format!("bad agency in `to`: {e}"))?;
        }
        "rescheduled" => {
            parse_instant("to", string(map, "to", "")?.ok_or("missing field `to`")?)?;
            if let Some(r) = string(map, "responsible", "")? {
                r.parse::<AgencyCode>().map_err(|e| format!("bad agency in `responsible`: {e}"))?;
            }
        }
        "apologised" => {
            let r = string(map, "responsible", "")?.ok_or("missing field `responsible`")?;
            r.parse::<AgencyCode>().map_err(|e| format!("bad agency in `responsible`: {e}"))?;
            string(map, "reason", "")?.ok_or("missing field `reason`")?;
        }
        "resolved" => {
            let outcome = string(map, "outcome", "")?.ok_or("missing field `outcome`")?;
            if !matches!(outcome, "approved" | "refused") {
                return Err(format!("bad outcome {outcome:?}: expected approved or refused"));
            }
        }
        "refused_at_receipt" | "stopped" | "supplement_requested" => {
            string(map, "reason", "")?.ok_or("missing field `reason`")?;
        }
        _ => {}
    }
    if let Some(Value::Array(docs)) = map.get("documents")
        && let Some(bad) = docs.iter().find(|d| !d.is_string())
    {
        return Err(format!("`documents` must hold strings, found {}", type_name(bad)));
    }
    if let Some(c) = string(map, "reason_code", "")? {
        motcua_core::text::line(c, "reason_code", motcua_core::delay::CODE_MAX_CHARS).map_err(|e| e.to_string())?;
    }
    if let Some(m) = string(map, "method", "")? {
        PaymentMethod::parse(m)
            .ok_or_else(|| format!("bad method {m:?}: expected cash, bank_transfer, online or exempt"))?;
    }
    if let Some(r) = string(map, "receipt", "")? {
        motcua_core::text::line(r, "receipt", motcua_core::commands::RECEIPT_MAX_CHARS).map_err(|e| e.to_string())?;
    }
    match map.get("amount_vnd") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.is_u64() => {}
        Some(v) => return Err(format!("bad `amount_vnd` {v}: expected a whole number of VND, 0 or more")),
    }
    match map.get("electronic") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(v) => return Err(format!("`electronic` must be true or false, not {}", type_name(v))),
    }
    Ok(())
}

/// One line: `{"code": …,` then the event's own serialisation.
pub(crate) fn write<W: Write>(out: &mut W, code: &DossierCode, event: &Event) -> Result<(), ExportError> {
    let body = serde_json::to_string(event)?;
    let code = serde_json::to_string(code)?;
    // `body` is an object with at least `at` and `type`: "{…}".
    let rest = body.strip_prefix('{').unwrap_or(&body);
    writeln!(out, "{{\"code\":{code},{rest}")?;
    Ok(())
}
