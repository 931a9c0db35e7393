//! What the API and the pages read from a request body, as functions with no IO: the bytes
//! decoded into the request types (a JSON object, or an `application/x-www-form-urlencoded`
//! form) and every check that needs no store — the text rules, e-mail, phone and ID number,
//! agency and procedure codes against the catalog, the channel, the action named in the path,
//! an instant and the backdating window, a token's name and lifetime, where to go after login,
//! a rating's score. The handlers call these before they touch the store, and so do the
//! `api_bodies` and `desk_forms` fuzz targets (crates/fuzz-targets): one code path.
//!
//! The JSON bodies: [`LoginBody`], [`NewTokenBody`], [`IntakeFields`] (intake and online
//! submission), [`ActionFields`] (every dossier action), [`LookupBody`]. The forms:
//! [`IntakeFormBody`], [`ActionForm`], [`LoginForm`], [`CsrfForm`], [`LookupForm`].

use chrono::{DateTime, Utc};
use motcua_core::backdate::{self, BACKDATE_REASON_FIELD, BackdateWindow, Stating};
use motcua_core::calendar::{Calendar, truncate_to_micros};
use motcua_core::commands::{CheckedIntake, DocumentSpec, FieldStyle, IntakeForm, Transition, parse_instant};
use motcua_core::text::{self, REASON_MAX_CHARS};
use motcua_core::{Domain, DossierCode, EventKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::perm::Action;
use crate::problem::{Cause, Problem, ProblemKind};

/// A JSON request body: whitespace only is `T::default()`; anything but a JSON object is
/// refused (not JSON: 400 `bad-request`; another JSON value, or a field of the wrong type: 422
/// `invalid-input`). Serde alone would also read a struct from an array (`[]`).
pub fn json_body<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => Problem::invalid("the body must be a JSON object"),
            Err(e) => Problem::new(ProblemKind::BadRequest, format!("the body is not valid JSON: {e}")),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => Problem::invalid(e.to_string()),
        _ => Problem::new(ProblemKind::BadRequest, format!("the body is not valid JSON: {e}")),
    })
}

/// A form body as browsers send it (`application/x-www-form-urlencoded`; percent-escapes that
/// are not UTF-8 are replaced, as `form_urlencoded` does); a missing required field or a
/// repeated one is a 422 `invalid-input`.
pub fn form_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| Problem::invalid(format!("Failed to deserialize form body: {e}")))
}

/// The dossier action a path names (`/api/v1/dossiers/{code}/{action}`, the page's
/// `/dossiers/{code}/{action}`): an action on an existing dossier, never intake or submission.
pub fn dossier_action(name: &str) -> Option<Action> {
    Action::parse(name).filter(|a| !matches!(a, Action::Intake | Action::Submit))
}

/// A dossier code as the public lookup reads it (surrounding blanks ignored); `None` for
/// anything else, which the lookup answers like an unknown code.
pub fn lookup_code(code: &str) -> Option<DossierCode> {
    code.trim().parse().ok()
}

/// `POST /api/v1/session`.
#[derive(Debug, Default, Deserialize)]
pub struct LoginBody {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// How long a new API token lives unless its maker says otherwise.
pub const TOKEN_DEFAULT_DAYS: u32 = 90;
/// The longest life a new API token may be given: a token used by another system is renewed
/// at least once a year.
pub const TOKEN_MAX_DAYS: u32 = 365;
/// The longest token name (characters).
pub const TOKEN_NAME_MAX_CHARS: usize = 100;

/// `POST /api/v1/tokens`.
#[derive(Debug, Default, Deserialize)]
pub struct NewTokenBody {
    #[serde(default)]
    pub name: String,
    /// 1 to 365 days; 90 if absent.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A new token's name (one line, at most [`TOKEN_NAME_MAX_CHARS`]) and lifetime in days
/// ([`TOKEN_DEFAULT_DAYS`] if not given, 1 to [`TOKEN_MAX_DAYS`]), as the API and `motcua staff
/// token create` check them.
pub fn token_request(name: &str, days: Option<u32>) -> Result<(String, u32), Problem> {
    let name = text::line(name, "name", TOKEN_NAME_MAX_CHARS)?;
    let days = days.unwrap_or(TOKEN_DEFAULT_DAYS);
    if !(1..=TOKEN_MAX_DAYS).contains(&days) {
        return Err(Problem::invalid(format!(
            "a token lives 1 to {TOKEN_MAX_DAYS} days (default {TOKEN_DEFAULT_DAYS}); {days} given"
        )));
    }
    Ok((name, days))
}

/// The fields any action may carry, from JSON or a form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionFields {
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub documents: Vec<String>,
    #[serde(default)]
    pub responsible: Option<String>,
    #[serde(default)]
    pub override_second: bool,
    /// A new appointment on a day off is moved to the next working day instead of refused.
    #[serde(default)]
    pub next_working_day: bool,
    #[serde(default)]
    pub refused: bool,
    /// A delay reason code (`config/delay_reasons.json`) for a supplement request, a new
    /// appointment, a stop or a refusal.
    #[serde(default)]
    pub reason_code: Option<String>,
    /// The fee asked for, in VND (a JSON integer, or text from a form); absent: the catalog's.
    #[serde(default)]
    pub amount_vnd: Option<Amount>,
    /// How the fee was paid: cash, bank_transfer, online or exempt.
    #[serde(default)]
    pub method: Option<String>,
    /// The receipt's reference.
    #[serde(default)]
    pub receipt: Option<String>,
    /// The result was issued electronically.
    #[serde(default)]
    pub electronic: bool,
    /// At acceptance (`accept`, `accept-online`): the names of the dossier's papers the desk
    /// digitised, each one of its document checklist (`[]` or absent: none recorded).
    #[serde(default)]
    pub digitised: Vec<String>,
    /// When it happened (RFC 3339 or local time); default: now. At most the backdating window
    /// before now ([`stamp`]).
    #[serde(default)]
    pub at: Option<String>,
    /// Why `at` is earlier than the backdating window allows (paper history).
    #[serde(default)]
    pub backdate_reason: Option<String>,
}

/// An amount as a JSON number or as text (a form field).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    Number(serde_json::Number),
    Text(String),
}

impl Amount {
    /// As core's amount parser reads it; a JSON number that is not a whole one stays invalid.
    fn typed(&self) -> String {
        match self {
            Self::Number(n) if n.is_u64() => n.to_string(),
            Self::Number(n) => format!("{n} (not a whole number of VND)"),
            Self::Text(t) => t.clone(),
        }
    }
}

impl ActionFields {
    /// The command these fields give for `action`, not yet checked.
    pub fn transition(&self, action: Action) -> Result<Transition, Problem> {
        let reason = || self.reason.clone().unwrap_or_default();
        Ok(match action {
            Action::Transfer => Transition::Transfer { to: self.to.clone().unwrap_or_default() },
            Action::Accept => Transition::Accept,
            Action::AcceptOnline => Transition::AcceptOnline,
            Action::RefuseOnline => {
                Transition::RefuseOnline { reason: reason(), reason_code: self.reason_code.clone() }
            }
            Action::RequestSupplement => Transition::RequestSupplement {
                reason: reason(),
                documents: self.documents.clone(),
                reason_code: self.reason_code.clone(),
            },
            Action::Supplement => Transition::Supplement,
            Action::RequestPayment => {
                Transition::RequestPayment { reason: reason(), amount: self.amount_vnd.as_ref().map(Amount::typed) }
            }
            Action::Paid => {
                Transition::Paid { method: self.method.clone().unwrap_or_default(), receipt: self.receipt.clone() }
            }
            Action::Reschedule => Transition::Reschedule {
                to: self.to.clone().unwrap_or_default(),
                reason: reason(),
                responsible: self.responsible.clone(),
                override_second: self.override_second,
                next_working_day: self.next_working_day,
                reason_code: self.reason_code.clone(),
            },
            Action::Resolve => Transition::Resolve {
                refused: self.refused,
                reason: self.reason.clone(),
                electronic: self.electronic,
                reason_code: self.reason_code.clone(),
            },
            Action::Return => Transition::Return,
            Action::Withdraw => Transition::Withdraw { reason: reason() },
            Action::Stop => Transition::Stop { reason: reason(), reason_code: self.reason_code.clone() },
            Action::Intake | Action::Submit => {
                return Err(Problem::invalid("intake and submission open a dossier: POST /api/v1/dossiers"));
            }
        })
    }

    /// The event `action` records with these fields, every field checked (core's commands:
    /// the text rules, agency codes, a real appointment for `reschedule`).
    pub fn event_kind(&self, domain: &Domain, action: Action) -> Result<EventKind, Problem> {
        Ok(self.transition(action)?.event_kind(domain, FieldStyle::Plain)?)
    }

    /// The papers digitised at acceptance, as the event recorded after it (the CLI's
    /// `digitise`): `None` when none is named; named with another action, refused. Checked
    /// against the dossier's checklist by the caller, which has the dossier.
    pub fn digitised_kind(&self, domain: &Domain, action: Action) -> Result<Option<EventKind>, Problem> {
        if self.digitised.iter().all(|n| n.trim().is_empty()) {
            return Ok(None);
        }
        if !matches!(action, Action::Accept | Action::AcceptOnline) {
            return Err(Problem::invalid(format!(
                "digitised: papers are recorded as digitised at intake or at acceptance (accept, accept-online), not with {}",
                action.name()
            ))
            .because(Cause::Words("err_digitised_action")));
        }
        let t = Transition::Digitise { documents: self.digitised.clone() };
        Ok(Some(t.event_kind(domain, FieldStyle::Plain)?))
    }
}

/// The intake fields, from JSON or the form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IntakeFields {
    pub procedure: String,
    pub agency: String,
    pub applicant: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    /// When it was received; as [`ActionFields::at`].
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub backdate_reason: Option<String>,
    /// The document checklist: `[{"name": …, "copy": "original"|"copy"|"photocopy", "count": n}]`.
    #[serde(default)]
    pub documents: Vec<DocumentSpec>,
    /// The names of the checklist's papers the desk digitised (`[]`: none); absent: not said.
    #[serde(default)]
    pub digitised: Option<Vec<String>>,
    /// The hall ticket the citizen was served from (at the desk only): its id
    /// (`HCC-260310-A-023`) or its number (`A-023`) at the receiving agency's hall that day.
    /// The dossier is linked to it; a ticket that does not exist, or was a no-show, left or
    /// closed, refuses the intake before anything is written.
    #[serde(default)]
    pub ticket: Option<String>,
}

impl IntakeFields {
    /// The intake checked against the catalog and the text rules, for a dossier opened at the
    /// desk (`Intake`: any channel but online) or from the portal (`Submit`: online, whatever
    /// `channel` says).
    pub fn check(&self, domain: &Domain, action: Action) -> Result<CheckedIntake, Problem> {
        let online = action == Action::Submit;
        let form = IntakeForm {
            procedure: self.procedure.clone(),
            agency: self.agency.clone(),
            applicant: self.applicant.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            id_number: self.id_number.clone(),
            address: self.address.clone(),
            channel: if online { "online".into() } else { self.channel.clone().unwrap_or_default() },
            documents: self.documents.clone(),
            digitised: self.digitised.clone(),
        };
        let checked = form.check(domain, FieldStyle::Plain)?;
        if !online && checked.channel == motcua_core::Channel::Online {
            return Err(Problem::invalid("an online dossier is submitted with POST /api/v1/submissions"));
        }
        Ok(checked)
    }
}

/// The instants of a staff action and its backdating reason, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// When it is stated to have happened.
    pub at: DateTime<Utc>,
    /// When it is recorded: the server's now.
    pub now: DateTime<Utc>,
    pub reason: Option<String>,
}

/// `at` as given (or `now`) and the backdating reason, by the honest-times rules (core's
/// [`backdate`]) on `cal`, the desk's calendar: the reason is checked as any reason is; `at`
/// parses, is never after now, and is at most `window` before now unless `stating` is
/// paper history with a reason. `now` is kept to the microsecond, as stored instants are.
pub fn stamp(
    cal: &Calendar,
    now: DateTime<Utc>,
    window: BackdateWindow,
    stating: Stating,
    at: Option<&str>,
    reason: Option<&str>,
) -> Result<Stamp, Problem> {
    let now = truncate_to_micros(now);
    let reason = text::optional_paragraph(reason.unwrap_or(""), BACKDATE_REASON_FIELD, REASON_MAX_CHARS)?;
    let Some(s) = at.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(Stamp { at: now, now, reason }) };
    let at = parse_instant(s).ok_or_else(|| {
        Problem::invalid(format!("invalid instant {s:?}: expected RFC 3339 like 2025-01-24T16:40:00+07:00"))
            .because(Cause::InvalidInstant { field: "at", value: s.to_string() })
    })?;
    backdate::check(cal, at, now, window, stating, reason.is_some())?;
    Ok(Stamp { at, now, reason })
}

/// `POST /api/v1/lookup`.
#[derive(Debug, Default, Deserialize)]
pub struct LookupBody {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub id_number: String,
    /// vi (default) or en, for the status and step texts.
    #[serde(default)]
    pub lang: String,
}

/// The intake form (`POST /intake`).
#[derive(Debug, Default, Deserialize)]
pub struct IntakeFormBody {
    #[serde(flatten)]
    pub fields: IntakeFields,
    #[serde(default, rename = "_csrf")]
    pub csrf: String,
    /// The checklist's rows as the page sends them (`doc_name_0`, `doc_copy_0`,
    /// `doc_count_0`, …); the other fields too, ignored here.
    #[serde(flatten)]
    pub rows: std::collections::BTreeMap<String, String>,
}

/// At most this many rows on the intake page's checklist.
pub const DOCUMENT_ROWS: usize = 12;

impl IntakeFormBody {
    /// The page's checklist rows with a name, in order; a count that is not a number is kept
    /// as 0 so the check refuses it.
    pub fn documents(&self) -> Vec<DocumentSpec> {
        (0..DOCUMENT_ROWS)
            .filter_map(|i| {
                let name = self.rows.get(&format!("doc_name_{i}")).map(|s| s.trim()).filter(|s| !s.is_empty())?;
                let copy = self.rows.get(&format!("doc_copy_{i}")).cloned().unwrap_or_default();
                let count = self.rows.get(&format!("doc_count_{i}")).map_or("1", |s| s.trim());
                let count = if count.is_empty() { 1 } else { count.parse().unwrap_or(0) };
                Some(DocumentSpec { name: name.to_string(), copy, count })
            })
            .collect()
    }

    /// What the page says of digitisation: the names of the checklist rows ticked
    /// (`doc_digitised_N` on a row with a name), `[]` when "no paper digitised" is ticked
    /// (`digitised_none`), `None` when neither (not said). Both at once is refused.
    pub fn digitised(&self) -> Result<Option<Vec<String>>, Problem> {
        let ticked = |k: &str| self.rows.get(k).is_some_and(|v| matches!(v.trim(), "on" | "true" | "1" | "yes"));
        let names: Vec<String> = (0..DOCUMENT_ROWS)
            .filter(|i| ticked(&format!("doc_digitised_{i}")))
            .filter_map(|i| self.rows.get(&format!("doc_name_{i}")).map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect();
        match (ticked("digitised_none"), names.is_empty()) {
            (true, false) => Err(Problem::invalid(
                "digitised: papers ticked as digitised and \"no paper digitised\" ticked too; choose one",
            )
            .because(Cause::Words("err_digitised_both"))),
            (true, true) => Ok(Some(Vec::new())),
            (false, true) => Ok(None),
            (false, false) => Ok(Some(names)),
        }
    }
}

/// An action form of the dossier page (`POST /dossiers/{code}/{action}`): every field a string,
/// as browsers send them.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub reason: String,
    /// One document a line.
    #[serde(default)]
    pub documents: String,
    #[serde(default)]
    pub responsible: String,
    #[serde(default)]
    pub refused: String,
    #[serde(default)]
    pub override_second: String,
    #[serde(default)]
    pub next_working_day: String,
    #[serde(default)]
    pub reason_code: String,
    #[serde(default)]
    pub amount_vnd: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub receipt: String,
    #[serde(default)]
    pub electronic: String,
    /// When it happened, if keyed in late (`datetime-local`, Vietnam time).
    #[serde(default)]
    pub at: String,
    #[serde(default)]
    pub backdate_reason: String,
    /// `1` on the confirmation page's re-post: an irreversible action writes only then.
    #[serde(default)]
    pub confirm: String,
    #[serde(default, rename = "_csrf")]
    pub csrf: String,
    /// The acceptance form's ticked papers (`digitised_0`, `digitised_1`, …, each with the
    /// paper's name as its value); any other field, ignored.
    #[serde(flatten)]
    pub rest: std::collections::BTreeMap<String, String>,
}

impl ActionForm {
    /// The form as the API's fields: blank fields absent, a checkbox ticked by `on`, `true`,
    /// `1` or `yes`, the documents one a line.
    pub fn fields(&self) -> ActionFields {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let yes = |s: &str| matches!(s, "on" | "true" | "1" | "yes");
        ActionFields {
            to: opt(&self.to),
            reason: opt(&self.reason),
            documents: self.documents.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect(),
            responsible: opt(&self.responsible),
            override_second: yes(&self.override_second),
            next_working_day: yes(&self.next_working_day),
            refused: yes(&self.refused),
            reason_code: opt(&self.reason_code),
            amount_vnd: opt(&self.amount_vnd).map(Amount::Text),
            method: opt(&self.method),
            receipt: opt(&self.receipt),
            electronic: yes(&self.electronic),
            digitised: self.digitised(),
            at: opt(&self.at),
            backdate_reason: opt(&self.backdate_reason),
        }
    }

    /// The ticked papers (`digitised_N`), in the order of their rows.
    pub fn digitised(&self) -> Vec<String> {
        let mut rows: Vec<(usize, String)> = self
            .rest
            .iter()
            .filter_map(|(k, v)| {
                let i = k.strip_prefix("digitised_")?.parse::<usize>().ok()?;
                Some((i, v.trim().to_string())).filter(|(_, v)| !v.is_empty())
            })
            .collect();
        rows.sort_by_key(|(i, _)| *i);
        rows.into_iter().map(|(_, v)| v).collect()
    }
}

/// The login form (`POST /login`).
#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default, rename = "_csrf")]
    pub csrf: String,
}

/// A form that carries only its CSRF token (`POST /logout`).
#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    pub csrf: String,
}

/// The longest rating comment kept (characters); the rest is cut.
pub const RATING_COMMENT_MAX_CHARS: usize = 1000;

/// The public lookup form (`POST /tra-cuu`) and the rating form (`POST /tra-cuu/danh-gia`).
#[derive(Debug, Default, Deserialize)]
pub struct LookupForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default, rename = "_csrf")]
    pub csrf: String,
    #[serde(default)]
    pub score: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

impl LookupForm {
    /// The stars given, 1 to 5; `None` for anything else.
    pub fn score(&self) -> Option<u8> {
        self.score.as_deref().and_then(|s| s.trim().parse::<u8>().ok()).filter(|s| (1..=5).contains(s))
    }

    /// The comment, trimmed and cut to [`RATING_COMMENT_MAX_CHARS`]; `None` when blank.
    pub fn comment(&self) -> Option<String> {
        self.comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| c.chars().take(RATING_COMMENT_MAX_CHARS).collect())
    }
}

/// Where to go after logging in: `next` as a browser would resolve it (the WHATWG URL rules:
/// tabs and line breaks dropped, backslashes read as slashes, `..` and percent-escapes
/// normalised) against this server, kept only when it stays on this server; anything else
/// goes to the queue. The answer is the normalised path, so what the `Location` header says is
/// what the browser will do; a path that normalises to `//…` (`/.//evil.example`) goes to the
/// queue too, as a `Location` it would name another server.
pub fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/queue";
    let Some(next) = next else { return HOME.into() };
    let Ok(base) = url::Url::parse("http://motcua.invalid/") else { return HOME.into() };
    match base.join(next) {
        Ok(u)
            if u.origin() == base.origin()
                && next.trim_start().starts_with(['/', '\\'])
                && !u.path().starts_with("//") =>
        {
            let mut out = u.path().to_string();
            if let Some(q) = u.query() {
                out.push('?');
                out.push_str(q);
            }
            out
        }
        _ => HOME.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_server_after_normalisation() {
        for (given, expected) in [
            ("/dossiers/000.00.02.H17-250303-0001", "/dossiers/000.00.02.H17-250303-0001"),
            ("/report?by=month", "/report?by=month"),
            ("/a/../queue", "/queue"),
            ("/\t/evil.example", "/queue"),
            ("/\n/evil.example", "/queue"),
            ("//evil.example", "/queue"),
            ("/\\evil.example", "/queue"),
            ("\\\\evil.example", "/queue"),
            ("https://evil.example/", "/queue"),
            ("javascript:alert(1)", "/queue"),
            ("queue", "/queue"),
            (" /\r\n/evil.example", "/queue"),
            ("/x\r\nSet-Cookie: a=b", "/xSet-Cookie:%20a=b"),
            // Paths that normalise to `//host`: a browser would leave the server.
            ("/.//evil.example", "/queue"),
            ("/..//evil.example", "/queue"),
            ("/a/..//evil.example", "/queue"),
            ("/%2e//evil.example", "/queue"),
            ("/%2E%2E//evil.example", "/queue"),
            ("/./\\evil.example", "/queue"),
            ("/\\/evil.example", "/queue"),
            ("/.\t//evil.example", "/queue"),
            ("/.//evil.example?x=1", "/queue"),
            // An escaped slash is not a slash to the URL rules: it stays a path on this server.
            ("/%2F/evil.example", "/%2F/evil.example"),
            ("/%2f%2fevil.example", "/%2f%2fevil.example"),
            ("/queue//x", "/queue//x"),
        ] {
            assert_eq!(safe_next(Some(given)), expected, "next={given:?}");
        }
        assert_eq!(safe_next(None), "/queue");
    }
}
