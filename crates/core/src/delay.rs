//! Delay reason codes: why a dossier waits or ends without its result — a supplement request,
//! a new appointment date, a stop, a refusal — as a code from a configurable list, each code
//! caused either by the citizen or by the agency. The list is read from
//! `config/delay_reasons.json` by the binary and the server and checked here; [`DelayReasons`]'s
//! default is the list motcua ships.
//!
//! A code is checked when a command records it ([`DelayReasons::get`]); a log is replayed
//! whatever codes it carries, so removing a code from the list never makes old dossiers
//! unreadable ([`DelayReasons::cause_of`] answers `None` for it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::deadlines::Lang;

/// Who caused a delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The citizen (incomplete papers, a request of their own): the wait is theirs.
    Citizen,
    /// The agency (its workload, another agency, an inspection, anything else).
    Agency,
}

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Agency => "agency",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "citizen" => Some(Self::Citizen),
            "agency" => Some(Self::Agency),
            _ => None,
        }
    }

    /// The words a reader sees (`Do công dân` / `Caused by the citizen`).
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Citizen, Lang::Vi) => "Do công dân",
            (Self::Citizen, Lang::En) => "Caused by the citizen",
            (Self::Agency, Lang::Vi) => "Do cơ quan giải quyết",
            (Self::Agency, Lang::En) => "Caused by the agency",
        }
    }
}

/// One reason: its code, who caused it, its words in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayReason {
    pub code: String,
    pub cause: Cause,
    pub vi: String,
    pub en: String,
}

impl DelayReason {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }
}

/// The list of reason codes a command may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayReasons {
    reasons: BTreeMap<String, DelayReason>,
    /// The codes in the file's order (for forms and docs).
    order: Vec<String>,
}

/// Why the list of delay reasons is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid delay reasons:\n  - {}", .0.join("\n  - "))]
pub struct DelayReasonsError(pub Vec<String>);

/// A code that is not in the list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reason code {code:?}: expected one of {known}")]
pub struct UnknownReason {
    pub code: String,
    pub known: String,
}

/// The longest code.
pub const CODE_MAX_CHARS: usize = 40;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    reasons: Vec<DelayReason>,
}

/// The list motcua ships (the same as `config/delay_reasons.json`).
const DEFAULTS: [(&str, Cause, &str, &str); 7] = [
    (
        "citizen_incomplete",
        Cause::Citizen,
        "Hồ sơ chưa đầy đủ, chờ công dân bổ sung",
        "Incomplete dossier, waiting for the citizen",
    ),
    ("citizen_requested", Cause::Citizen, "Theo đề nghị của công dân", "At the citizen's request"),
    ("agency_workload", Cause::Agency, "Cơ quan quá tải hồ sơ", "Agency workload"),
    ("inter_agency_wait", Cause::Agency, "Chờ cơ quan khác phối hợp, trả lời", "Waiting for another agency"),
    ("site_inspection", Cause::Agency, "Cần kiểm tra, xác minh thực địa", "Site inspection or verification needed"),
    ("force_majeure", Cause::Agency, "Sự kiện bất khả kháng", "Force majeure"),
    ("other", Cause::Agency, "Lý do khác", "Other reason"),
];

impl Default for DelayReasons {
    fn default() -> Self {
        let list = DEFAULTS
            .iter()
            .map(|(code, cause, vi, en)| DelayReason {
                code: (*code).to_string(),
                cause: *cause,
                vi: (*vi).to_string(),
                en: (*en).to_string(),
            })
            .collect();
        // The shipped list is valid (a test says so); an empty list is the fallback that
        // cannot happen.
        Self::from_list(list).unwrap_or(Self { reasons: BTreeMap::new(), order: Vec::new() })
    }
}

impl DelayReasons {
    /// Parses and validates the JSON file `{"reasons": [{"code", "cause", "vi", "en"}, …]}`.
    pub fn from_json(text: &str) -> Result<Self, DelayReasonsError> {
        let file: File =
            serde_json::from_str(text).map_err(|e| DelayReasonsError(vec![format!("delay_reasons.json: {e}")]))?;
        Self::from_list(file.reasons)
    }

    /// Checks a list: at least one reason; codes of lower-case letters, digits and `_`, at most
    /// [`CODE_MAX_CHARS`], each once; both labels present.
    pub fn from_list(list: Vec<DelayReason>) -> Result<Self, DelayReasonsError> {
        let mut problems = Vec::new();
        if list.is_empty() {
            problems.push("the list is empty".to_string());
        }
        let mut reasons = BTreeMap::new();
        let mut order = Vec::new();
        for r in list {
            let ok = !r.code.is_empty()
                && r.code.chars().count() <= CODE_MAX_CHARS
                && r.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                problems
                    .push(format!("code {:?}: expected 1 to {CODE_MAX_CHARS} lower-case letters, digits or _", r.code));
                continue;
            }
            if r.vi.trim().is_empty() || r.en.trim().is_empty() {
                problems.push(format!("code {}: needs both a Vietnamese (vi) and an English (en) label", r.code));
            }
            if reasons.contains_key(&r.code) {
                problems.push(format!("code {} is listed twice", r.code));
                continue;
            }
            order.push(r.code.clone());
            reasons.insert(r.code.clone(), r);
        }
        if problems.is_empty() { Ok(Self { reasons, order }) } else { Err(DelayReasonsError(problems)) }
    }

    /// The reason for a code a command typed; an unknown code is an error naming the known ones.
    pub fn get(&self, code: &str) -> Result<&DelayReason, UnknownReason> {
        self.reasons
            .get(code.trim())
            .ok_or_else(|| UnknownReason { code: code.to_string(), known: self.order.join(", ") })
    }

    /// Who caused the delay of a recorded code; `None` for a code no longer in the list.
    pub fn cause_of(&self, code: &str) -> Option<Cause> {
        self.reasons.get(code).map(|r| r.cause)
    }

    /// The reasons in the file's order.
    pub fn iter(&self) -> impl Iterator<Item = &DelayReason> {
        self.order.iter().filter_map(|c| self.reasons.get(c))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_is_the_default_list() {
        let file = DelayReasons::from_json(include_str!("../../../config/delay_reasons.json")).unwrap();
        assert_eq!(file, DelayReasons::default());
        let codes: Vec<&str> = file.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "citizen_incomplete",
                "citizen_requested",
                "agency_workload",
                "inter_agency_wait",
                "site_inspection",
                "force_majeure",
                "other"
            ]
        );
        assert_eq!(file.cause_of("citizen_incomplete"), Some(Cause::Citizen));
        assert_eq!(file.cause_of("force_majeure"), Some(Cause::Agency));
        assert_eq!(file.cause_of("gone"), None);
    }

    #[test]
    fn bad_lists_and_unknown_codes_are_named() {
        let err = DelayReasons::from_json(
            r#"{"reasons":[{"code":"A b","cause":"citizen","vi":"x","en":"x"},
               {"code":"x","cause":"agency","vi":"","en":"x"},
               {"code":"x","cause":"agency","vi":"x","en":"x"}]}"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("\"A b\"") && text.contains("code x: needs both") && text.contains("listed twice"),
            "{text}"
        );
        assert!(DelayReasons::from_json(r#"{"reasons":[]}"#).is_err());
        assert!(DelayReasons::from_json(r#"{"reasons":[{"code":"a","cause":"nobody","vi":"x","en":"x"}]}"#).is_err());
        let e = DelayReasons::default().get("late_bus").unwrap_err();
        assert!(e.to_string().contains("unknown reason code \"late_bus\": expected one of citizen_incomplete"), "{e}");
    }
}
