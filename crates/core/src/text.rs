//! Free text people type — names, addresses, reasons, document names — checked once at the door.
//!
//! These values end up in e-mail headers (the addressee's name), printed forms, letters and the
//! operator's terminal. A line (a name, an address) has no control character at all; a paragraph
//! (a reason, an address) may have line breaks and tabs but nothing else below U+0020. Neither may carry the
//! Unicode characters that reorder or hide text (bidirectional overrides and isolates, line and
//! paragraph separators). Each kind of field has a length bound counted in characters.
//!
//! [`fold`] is how the staff's search compares names: without tone and vowel marks, in lower case.

/// The longest applicant name accepted (characters).
pub const NAME_MAX_CHARS: usize = 200;
/// The longest address accepted (characters).
pub const ADDRESS_MAX_CHARS: usize = 500;
/// The longest reason or note accepted (characters).
pub const REASON_MAX_CHARS: usize = 2_000;
/// The longest name of one requested document (characters).
pub const DOCUMENT_MAX_CHARS: usize = 300;

/// Why a piece of text was refused. `field` names the input as the caller shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} contains a control character (U+{code:04X}) at character {position}")]
    Control { field: &'static str, code: u32, position: usize },
    #[error("{field} is too long: {chars} characters, at most {max}")]
    TooLong { field: &'static str, chars: usize, max: usize },
}

/// Text that reorders or hides what follows it on screen and on paper.
fn is_invisible_control(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fn check(s: &str, field: &'static str, max: usize, multiline: bool) -> Result<String, TextError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(TextError::Empty { field });
    }
    let mut chars = 0;
    for (i, c) in s.chars().enumerate() {
        chars += 1;
        let allowed_break = multiline && matches!(c, '\n' | '\r' | '\t');
        if (c.is_control() && !allowed_break) || is_invisible_control(c) {
            return Err(TextError::Control { field, code: u32::from(c), position: i + 1 });
        }
    }
    if chars > max {
        return Err(TextError::TooLong { field, chars, max });
    }
    Ok(if multiline { s.replace("\r\n", "\n").replace('\r', "\n") } else { s.to_string() })
}

/// A one-line value (a name, a document): trimmed, not empty, no control character, at most
/// `max` characters.
pub fn line(s: &str, field: &'static str, max: usize) -> Result<String, TextError> {
    check(s, field, max, false)
}

/// A paragraph (a reason): trimmed, not empty, line breaks (normalised to `\n`) and tabs
/// allowed, no other control character, at most `max` characters.
pub fn paragraph(s: &str, field: &'static str, max: usize) -> Result<String, TextError> {
    check(s, field, max, true)
}

/// Like [`line`], but empty text is `Ok(None)`.
pub fn optional_line(s: &str, field: &'static str, max: usize) -> Result<Option<String>, TextError> {
    if s.trim().is_empty() { Ok(None) } else { line(s, field, max).map(Some) }
}

/// Like [`paragraph`], but empty text is `Ok(None)`.
pub fn optional_paragraph(s: &str, field: &'static str, max: usize) -> Result<Option<String>, TextError> {
    if s.trim().is_empty() { Ok(None) } else { paragraph(s, field, max).map(Some) }
}

/// A value shown on a terminal or in a log line from data that was stored before these rules
/// (or came from elsewhere): control characters are replaced by `\u{…}` escapes, so nothing a
/// citizen typed can move the operator's cursor or colour the screen.
pub fn for_terminal(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() || is_invisible_control(c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() || is_invisible_control(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The base letter of a lower-case Vietnamese letter with its tone and vowel marks, and `đ` as
/// `d`; `None` for any other character.
fn vietnamese_base(c: char) -> Option<char> {
    Some(match c {
        'à' | 'á' | 'ả' | 'ã' | 'ạ' | 'ă' | 'ằ' | 'ắ' | 'ẳ' | 'ẵ' | 'ặ' | 'â' | 'ầ' | 'ấ' | 'ẩ' | 'ẫ' | 'ậ' => {
            'a'
        }
        'è' | 'é' | 'ẻ' | 'ẽ' | 'ẹ' | 'ê' | 'ề' | 'ế' | 'ể' | 'ễ' | 'ệ' => 'e',
        'ì' | 'í' | 'ỉ' | 'ĩ' | 'ị' => 'i',
        'ò' | 'ó' | 'ỏ' | 'õ' | 'ọ' | 'ô' | 'ồ' | 'ố' | 'ổ' | 'ỗ' | 'ộ' | 'ơ' | 'ờ' | 'ớ' | 'ở' | 'ỡ' | 'ợ' => {
            'o'
        }
        'ù' | 'ú' | 'ủ' | 'ũ' | 'ụ' | 'ư' | 'ừ' | 'ứ' | 'ử' | 'ữ' | 'ự' => 'u',
        'ỳ' | 'ý' | 'ỷ' | 'ỹ' | 'ỵ' => 'y',
        'đ' => 'd',
        _ => return None,
    })
}

/// A combining mark that decomposed text puts after its base letter (grave, acute, hook,
/// tilde, dot below, breve, circumflex, horn…).
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// A name as the staff's search compares it: lower case, Vietnamese tone and vowel marks
/// removed (`ă`, `â`, `ấ`… → `a`, `ơ`, `ộ`… → `o`, `ư` → `u`), `đ`/`Đ` → `d`, whether the text
/// was typed precomposed or decomposed, and every run of white space one space, trimmed.
/// "Trần  Thị Bình" and "tran thi binh" fold to the same "tran thi binh". Folding twice
/// changes nothing.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if is_combining_mark(c) {
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(vietnamese_base(c).unwrap_or(c));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_line() {
        assert_eq!(line("  Trần Thị Bình ", "applicant", NAME_MAX_CHARS).unwrap(), "Trần Thị Bình");
        for bad in ["X\nY", "A\r\nB", "A\tB", "\u{1b}[31mred", "a\u{202E}b", "x\u{7f}", "a\u{85}b"] {
            assert!(
                matches!(line(bad, "applicant", NAME_MAX_CHARS), Err(TextError::Control { .. })),
                "{bad:?} accepted"
            );
        }
        assert_eq!(line("   ", "applicant", 10), Err(TextError::Empty { field: "applicant" }));
        let long = "Ă".repeat(NAME_MAX_CHARS + 1);
        assert_eq!(
            line(&long, "applicant", NAME_MAX_CHARS),
            Err(TextError::TooLong { field: "applicant", chars: NAME_MAX_CHARS + 1, max: NAME_MAX_CHARS })
        );
        assert!(line(&"Ă".repeat(NAME_MAX_CHARS), "applicant", NAME_MAX_CHARS).is_ok());
    }

    #[test]
    fn reasons_keep_line_breaks_only() {
        assert_eq!(paragraph("a\r\nb\tc\rd", "reason", 50).unwrap(), "a\nb\tc\nd");
        assert!(paragraph("a\u{1b}b", "reason", 50).is_err());
        assert_eq!(optional_paragraph("  ", "reason", 50).unwrap(), None);
    }

    #[test]
    fn terminal_escapes_controls() {
        assert_eq!(for_terminal("Bình"), "Bình");
        assert_eq!(for_terminal("X\nY\u{1b}[2J"), "X\\u{a}Y\\u{1b}[2J");
    }
    #[test]
    fn names_fold_to_plain_lower_case() {
        assert_eq!(fold("Trần Thị Bình"), "tran thi binh");
        assert_eq!(fold("  ĐẶNG   Văn\tĐức "), "dang van duc");
        assert_eq!(fold("Nguyễn Hữu Phước"), "nguyen huu phuoc");
        assert_eq!(fold("Lê Thị Ánh Tuyết"), "le thi anh tuyet");
        assert_eq!(fold("Huỳnh Ngọc Ẩn Ỷ Ỵ"), "huynh ngoc an y y");
        // Decomposed: a base letter followed by combining marks (a + breve + acute, u + horn).
        assert_eq!(fold("Tra\u{0300}n Thi\u{0323} Bi\u{0300}nh"), "tran thi binh");
        assert_eq!(fold("Nguye\u{0302}\u{0303}n Hu\u{031B}\u{0303}u"), "nguyen huu");
        assert_eq!(fold("tran thi binh"), "tran thi binh");
        assert_eq!(fold("50% Smith_Jr"), "50% smith_jr");
        assert_eq!(fold(""), "");
        assert_eq!(fold("   "), "");
    }

    #[test]
    fn every_vietnamese_vowel_folds_in_both_cases() {
        let families = [
            ('a', "aàáảãạăằắẳẵặâầấẩẫậ"),
            ('e', "eèéẻẽẹêềếểễệ"),
            ('i', "iìíỉĩị"),
            ('o', "oòóỏõọôồốổỗộơờớởỡợ"),
            ('u', "uùúủũụưừứửữự"),
            ('y', "yỳýỷỹỵ"),
            ('d', "dđ"),
        ];
        for (base, letters) in families {
            for c in letters.chars() {
                assert_eq!(fold(&c.to_string()), base.to_string(), "{c}");
                let upper: String = c.to_uppercase().collect();
                assert_eq!(fold(&upper), base.to_string(), "{upper}");
            }
        }
        let all: String = families.iter().map(|(_, l)| *l).collect();
        assert_eq!(fold(&fold(&all)), fold(&all));
    }
}
