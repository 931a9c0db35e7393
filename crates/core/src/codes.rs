//! Newtypes that parse: agency identifiers, procedure codes, dossier codes, e-mail addresses and
//! phone numbers. A value of one of these types has been checked once, at the edge.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that failed to parse, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {expected}")]
pub struct ParseError {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// The longest piece of a refused value an error message repeats (characters).
const SHOWN_CHARS: usize = 80;

fn bad(what: &'static str, value: &str, expected: &'static str) -> ParseError {
    let value = if value.chars().count() > SHOWN_CHARS {
        format!("{}…", value.chars().take(SHOWN_CHARS).collect::<String>())
    } else {
        value.to_string()
    };
    ParseError { what, value, expected }
}

macro_rules! string_newtype {
    ($name:ident) => {
        string_newtype!($name, |s: &str| s.parse::<$name>());
    };
    ($name:ident, $stored:expr) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                ($stored)(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An agency's electronic identifier (mã định danh điện tử, Decision 20/2020/QĐ-TTg):
/// `NNN.NN.NN.Hpp`, e.g. `000.00.06.H56`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgencyCode(String);
string_newtype!(AgencyCode);

impl FromStr for AgencyCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        const EXPECTED: &str = "expected an electronic identifier like 000.00.06.H56";
        let parts: Vec<&str> = s.split('.').collect();
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        let ok = parts.len() == 4
            && digits(parts[0], 3)
            && digits(parts[1], 2)
            && digits(parts[2], 2)
            && parts[3].len() == 3
            && parts[3].as_bytes()[0].is_ascii_uppercase()
            && digits(&parts[3][1..], 2);
        if ok { Ok(Self(s.to_string())) } else { Err(bad("agency code", s, EXPECTED)) }
    }
}

/// A procedure's code in the national database (mã TTHC), e.g. `1.001193`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcedureCode(String);
string_newtype!(ProcedureCode);

impl FromStr for ProcedureCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if ok { Ok(Self(s.to_string())) } else { Err(bad("procedure code", s, "expected a code like 1.001193")) }
    }
}

/// A dossier's code (mã hồ sơ): `<agency identifier>-<yyMMdd of receipt>-<4-digit sequence>`,
/// e.g. `000.00.06.H56-231027-0361`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DossierCode(String);
string_newtype!(DossierCode);

impl DossierCode {
    /// The code of the `sequence`-th dossier received by `agency` on local date `date`.
    pub fn new(agency: &AgencyCode, date: NaiveDate, sequence: u32) -> Result<Self, ParseError> {
        if sequence == 0 || sequence > 9999 {
            return Err(bad("dossier sequence", &sequence.to_string(), "expected 1 to 9999 per agency per day"));
        }
        Ok(Self(format!("{}-{}-{:04}", agency, date.format("%y%m%d"), sequence)))
    }

    /// The receiving agency named in the code.
    pub fn agency(&self) -> &str {
        self.0.split('-').next().unwrap_or("")
    }
}

impl FromStr for DossierCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        const EXPECTED: &str = "expected <agency>-<yyMMdd>-<NNNN>, e.g. 000.00.06.H56-231027-0361";
        let parts: Vec<&str> = s.split('-').collect();
        if parts.len() != 3 {
            return Err(bad("dossier code", s, EXPECTED));
        }
        AgencyCode::from_str(parts[0]).map_err(|_| bad("dossier code", s, EXPECTED))?;
        let date_ok = parts[1].len() == 6 && NaiveDate::parse_from_str(&format!("20{}", parts[1]), "%Y%m%d").is_ok();
        let seq_ok = parts[2].len() == 4 && parts[2].bytes().all(|b| b.is_ascii_digit()) && parts[2] != "0000";
        if date_ok && seq_ok { Ok(Self(s.to_string())) } else { Err(bad("dossier code", s, EXPECTED)) }
    }
}

/// An e-mail address as a mailer can use it: `local@domain`, the local part a dot-atom of
/// RFC 5322 (letters, digits and ``!#$%&'*+-/=?^_`{|}~``, dots between them; no quoted
/// strings), the domain dotted labels of ASCII letters, digits and hyphens.
///
/// Addresses stored before this rule are read back with the older shape check
/// ([`Email::from_stored`]), so an old log still replays; the mailer refuses what it cannot
/// use and says why.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);
string_newtype!(Email, Email::from_stored);

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn is_dot_atom(s: &str, part: fn(char) -> bool) -> bool {
    !s.is_empty() && s.split('.').all(|p| !p.is_empty() && p.chars().all(part))
}

fn is_domain_label(l: &str) -> bool {
    l.len() <= 63
        && !l.starts_with('-')
        && !l.ends_with('-')
        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl FromStr for Email {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let ok = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                local.len() <= 64
                    && is_dot_atom(local, is_atext)
                    && domain.contains('.')
                    && is_dot_atom(domain, |c| c.is_ascii_alphanumeric() || c == '-')
                    && domain.split('.').all(is_domain_label)
            });
        if ok { Ok(Self(s.to_string())) } else { Err(bad("e-mail address", s, "expected name@domain.vn")) }
    }
}

impl Email {
    /// The shape check addresses were stored under before the mailer's rule: one `@`, a
    /// dotted domain, no white space, control character, `<`, `>` or `,`.
    pub fn from_stored(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let ok = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && s.len() <= 254
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
            }
            None => false,
        };
        if ok { Ok(Self(s.to_string())) } else { Err(bad("e-mail address", s, "expected name@domain.vn")) }
    }
}

/// A Vietnamese phone number: 10 digits starting with 0, or +84 followed by 9 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);
string_newtype!(Phone);

impl FromStr for Phone {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
        let digits_after = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        let ok = (compact.len() == 10 && compact.starts_with('0') && digits_after(&compact))
            || (compact.len() == 12 && compact.starts_with("+84") && digits_after(&compact[3..]));
        if ok {
            Ok(Self(compact))
        } else {
            Err(bad("phone number", s, "expected 10 digits starting with 0, or +84 and 9 digits"))
        }
    }
}

impl Phone {
    /// The number a searcher typed, compared by its digits only: spaces, dots, dashes and
    /// brackets are dropped, and `+84…`/`84…` read as `0…`. The national form (`0905123456`)
    /// of a whole number, `None` for anything else.
    pub fn search_key(s: &str) -> Option<String> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '+')).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match digits.len() {
            10 if digits.starts_with('0') => Some(digits),
            11 if digits.starts_with("84") => Some(format!("0{}", &digits[2..])),
            _ => None,
        }
    }

    /// The forms a number with national form `key` ([`Phone::search_key`]) is stored in:
    /// as typed at intake, `0905123456` or `+84905123456`.
    pub fn stored_forms(key: &str) -> [String; 2] {
        let rest = key.strip_prefix('0').unwrap_or(key);
        [key.to_string(), format!("+84{rest}")]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_and_reject() {
        assert!("000.00.06.H56".parse::<AgencyCode>().is_ok());
        for bad in ["000.00.06", "00.00.06.H56", "000.00.06.h56", "000.00.06.H5x", ""] {
            assert!(bad.parse::<AgencyCode>().is_err(), "{bad}");
        }
        let code: DossierCode = "000.00.06.H56-231027-0361".parse().unwrap();
        assert_eq!(code.agency(), "000.00.06.H56");
        for bad in
            ["000.00.06.H56-231327-0361", "000.00.06.H56-231027-361", "x-231027-0361", "000.00.06.H56-231027-0000"]
        {
            assert!(bad.parse::<DossierCode>().is_err(), "{bad}");
        }
        let agency: AgencyCode = "000.00.06.H56".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2023, 10, 27).unwrap();
        assert_eq!(DossierCode::new(&agency, date, 361).unwrap().as_str(), "000.00.06.H56-231027-0361");
        assert!(DossierCode::new(&agency, date, 10_000).is_err());
        assert!("1.001193".parse::<ProcedureCode>().is_ok());
        assert!("1 001193".parse::<ProcedureCode>().is_err());
    }

    #[test]
    fn contacts_parse_and_reject() {
        assert!("an.nguyen@danang.gov.vn".parse::<Email>().is_ok());
        assert!("o'brien+desk@so-tu-phap.danang.gov.vn".parse::<Email>().is_ok());
        for bad in [
            "an",
            "an@",
            "@x.vn",
            "a b@x.vn",
            "a@x",
            "a@@x.vn",
            "\"onfocus=alert(1)autofocus=\"@e.vn",
            "a..b@x.vn",
            ".a@x.vn",
            "a@x..vn",
            "a@-x.vn",
            "an\r\nBcc: all@x.vn@x.vn",
            "bình@x.vn",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
        // An address stored under the older shape check still reads back (an old log replays).
        let stored: Email = serde_json::from_str("\"\\\"onfocus=alert(1)autofocus=\\\"@e.vn\"").unwrap();
        assert_eq!(stored.as_str(), "\"onfocus=alert(1)autofocus=\"@e.vn");
        assert!(serde_json::from_str::<Email>("\"a b@x.vn\"").is_err());
        let long = "x".repeat(500);
        assert!(long.parse::<Email>().unwrap_err().to_string().len() < 200);
        assert_eq!("0905 123 456".parse::<Phone>().unwrap().as_str(), "0905123456");
        assert!("+84905123456".parse::<Phone>().is_ok());
        assert!("12345".parse::<Phone>().is_err());
        assert_eq!(Phone::search_key("0905 123 456").as_deref(), Some("0905123456"));
        assert_eq!(Phone::search_key("+84 905.123.456").as_deref(), Some("0905123456"));
        assert_eq!(Phone::search_key("(84) 905-123-456").as_deref(), Some("0905123456"));
        for partial in ["090512345", "0905123456789", "1905123456", "0905x23456", ""] {
            assert_eq!(Phone::search_key(partial), None, "{partial}");
        }
        assert_eq!(Phone::stored_forms("0905123456"), ["0905123456".to_string(), "+84905123456".to_string()]);
        for typed in ["0905 123 456", "+84905123456"] {
            let stored = typed.parse::<Phone>().unwrap();
            let key = Phone::search_key(typed).unwrap();
            assert!(Phone::stored_forms(&key).iter().any(|f| f == stored.as_str()), "{typed}");
        }
    }
}
