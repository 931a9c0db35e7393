//! A rendered outbox row as an e-mail: sender, recipient, UTF-8 subject (RFC 2047, encoded by
//! lettre), text and HTML parts, and a Message-ID derived from the row alone, so that a resend
//! after a crash carries the same one and the receiving side can recognise it.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use sha2::{Digest, Sha256};

use crate::templates::Rendered;

/// The first 8 bytes of SHA-256 of the dedupe key, in hex.
fn key_hash(dedupe_key: &str) -> String {
    let digest = Sha256::digest(dedupe_key.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// `outbox-<id>-<hash>`: the row's name for files and Message-IDs.
pub fn stem(id: i64, dedupe_key: &str) -> String {
    format!("outbox-{id}-{}", key_hash(dedupe_key))
}

/// `<outbox-<id>-<hash of the dedupe key>@motcua.<sender's domain>>`.
pub fn message_id(id: i64, dedupe_key: &str, from: &Mailbox) -> String {
    format!("<{}@motcua.{}>", stem(id, dedupe_key), from.email.domain())
}

/// A name as an e-mail header may carry it: control characters (line breaks, escapes) become
/// spaces, runs of white space one space, and at most 200 characters are kept. A stored name
/// from before intake checked names (or from an import) can hold anything; the header must not.
pub fn display_name(name: &str) -> Option<String> {
    let cleaned: String = name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let joined: String = words.join(" ").chars().take(200).collect();
    let joined = joined.trim_end().to_string();
    (!joined.is_empty()).then_some(joined)
}

/// Builds the e-mail of one row.
pub fn build(
    from: &Mailbox,
    to: Mailbox,
    message_id: &str,
    date: DateTime<Utc>,
    rendered: &Rendered,
) -> Result<Message, String> {
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject.clone())
        .message_id(Some(message_id.to_string()))
        .date(SystemTime::from(date));
    let built = match &rendered.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(rendered.text.clone(), html.clone())),
        None => builder.singlepart(SinglePart::plain(rendered.text.clone())),
    };
    built.map_err(|e| format!("cannot build the e-mail: {e}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_deterministic_and_subjects_encoded() {
        let from: Mailbox = "Bộ phận Một cửa <motcua@hcc.danang.example>".parse().unwrap();
        let a = message_id(7, "apology:X:0.1:a@b.vn", &from);
        assert_eq!(a, message_id(7, "apology:X:0.1:a@b.vn", &from));
        assert_ne!(a, message_id(7, "apology:X:0.1:c@b.vn", &from));
        assert!(a.starts_with("<outbox-7-") && a.ends_with("@motcua.hcc.danang.example>"), "{a}");
        let r = Rendered {
            subject: "Phiếu xin lỗi".into(),
            text: "Kính gửi\n".into(),
            html: Some("<p>Kính gửi</p>".into()),
        };
        let m = build(&from, "an@example.vn".parse().unwrap(), &a, Utc::now(), &r).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
        assert!(raw.contains(&format!("Message-ID: {a}")), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
    }
}
