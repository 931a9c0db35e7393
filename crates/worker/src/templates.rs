//! Letters and messages from editable templates (minijinja), so an administrator changes the
//! wording without recompiling.
//!
//! The folder (`config/templates/` by default) holds, per message kind and language,
//! `<kind>.<lang>.txt` (required for `vi`; its first line is `Subject: …`) and
//! `<kind>.<lang>.html` (optional: the HTML part). Kinds are core's `MessageKind` names
//! (`apology`, `apology_with_result`, `reminder`, `at_risk`, `escalation`, `result_ready`,
//! `receipt`, `supplement_request`, `digest`, and the petitions' `petition_accepted`,
//! `petition_answered`, `petition_forwarded`, `petition_extended`, `petition_reminder`,
//! `petition_at_risk`); an English template that is missing falls back to Vietnamese. HTML templates are
//! escaped automatically; `{% extends %}` and `{% include %}` work within the folder.
//!
//! Every template sees core's `Letter` (`kind`, `dossier`, `desk`, `agency`, `apology`,
//! `supplement`, `remaining_working_minutes`, `print_at_desk`, `issued_at`) — the digest's
//! sees core's `Digest` (`entries`, `notices`, `agency`, `audience`, `date`, `issued_at`) —
//! plus `lang` and `recipient`, and
//! these filters: `datetime` ("Thứ Sáu 27/10/2023 09:32"), `date` ("27/10/2023"), `time`
//! ("09:32"), `long_date` ("ngày 27 tháng 10 năm 2023" / "27 October 2023") and `working_time`
//! (minutes as "2 ngày 3 giờ 15 phút"), each taking an optional language (`"vi"` or `"en"`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Utc};
use minijinja::{Environment, ErrorKind, Value, path_loader};
use motcua_core::calendar::to_local;
use motcua_core::deadlines::{Lang, format_instant, format_working_minutes};
use motcua_core::letters::{Digest, Letter, MessageKind};
use motcua_core::petition_letters::{ItemLetter, ItemMessageKind};
use serde::Serialize;

use crate::error::WorkerError;

/// A message rendered for one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// The loaded template folder.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    dir: PathBuf,
    present: BTreeSet<String>,
}

fn lang_name(l: Lang) -> &'static str {
    match l {
        Lang::Vi => "vi",
        Lang::En => "en",
    }
}

fn lang_arg(l: Option<&str>) -> Lang {
    match l {
        Some("en") => Lang::En,
        _ => Lang::Vi,
    }
}

fn instant(v: &str) -> Result<DateTime<Utc>, minijinja::Error> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, format!("not an instant: {v:?} ({e})")))
}

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn long_date(v: &str, lang: Option<&str>) -> Result<String, minijinja::Error> {
    let d = to_local(instant(v)?).date();
    Ok(match lang_arg(lang) {
        Lang::Vi => format!("ngày {:02} tháng {:02} năm {}", d.day(), d.month(), d.year()),
        Lang::En => {
            let month = EN_MONTHS.get(d.month0() as usize).copied().unwrap_or("");
            format!("{} {month} {}", d.day(), d.year())
        }
    })
}

impl Templates {
    /// Loads and compiles every template of `dir`; a missing Vietnamese text template or a
    /// template that does not compile is an error here, not when a letter is due.
    pub fn load(dir: &Path) -> Result<Self, WorkerError> {
        if !dir.is_dir() {
            return Err(WorkerError::Template(format!("the template folder {} does not exist", dir.display())));
        }
        let mut env = Environment::new();
        env.set_loader(path_loader(dir));
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_filter("datetime", |v: String, lang: Option<String>| -> Result<String, minijinja::Error> {
            Ok(format_instant(instant(&v)?, lang_arg(lang.as_deref())))
        });
        env.add_filter("date", |v: String| -> Result<String, minijinja::Error> {
            Ok(to_local(instant(&v)?).format("%d/%m/%Y").to_string())
        });
        env.add_filter("time", |v: String| -> Result<String, minijinja::Error> {
            Ok(to_local(instant(&v)?).format("%H:%M").to_string())
        });
        env.add_filter("long_date", |v: String, lang: Option<String>| long_date(&v, lang.as_deref()));
        env.add_filter("working_time", |m: i64, lang: Option<String>| {
            format_working_minutes(m, lang_arg(lang.as_deref()))
        });
        let mut present = BTreeSet::new();
        let mut problems = Vec::new();
        let kinds = MessageKind::ALL.iter().map(|k| k.name()).chain(ItemMessageKind::ALL.iter().map(|k| k.name()));
        for kind in kinds {
            for lang in ["vi", "en"] {
                for ext in ["txt", "html"] {
                    let name = format!("{kind}.{lang}.{ext}");
                    if !dir.join(&name).is_file() {
                        if lang == "vi" && ext == "txt" {
                            problems.push(format!("{name} is missing"));
                        }
                        continue;
                    }
                    match env.get_template(&name) {
                        Ok(_) => {
                            present.insert(name);
                        }
                        Err(e) => problems.push(format!("{name}: {e:#}")),
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(WorkerError::Template(format!("in {}: {}", dir.display(), problems.join("; "))));
        }
        Ok(Self { env, dir: dir.to_path_buf(), present })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn pick(&self, kind: &str, lang: Lang, ext: &str) -> Option<String> {
        [lang_name(lang), "vi"]
            .into_iter()
            .map(|l| format!("{kind}.{l}.{ext}"))
            .find(|name| self.present.contains(name))
    }

    /// Renders a message of `kind` from core's `Letter`.
    pub fn render(&self, kind: &str, lang: Lang, letter: &Letter, recipient: &str) -> Result<Rendered, WorkerError> {
        let mut ctx = object(letter, kind)?;
        // The stored form leaves out a desk or addressee that is the holder: put it back, so
        // that templates always see both.
        motcua_core::letters::fill_in_holder(&mut ctx);
        self.render_object(kind, lang, ctx, recipient)
    }

    /// Renders a daily digest (`digest.<lang>.txt` / `.html`) from core's `Digest`: the
    /// templates see its `entries`, `notices`, `agency`, `audience`, `date` and `issued_at`.
    pub fn render_digest(&self, lang: Lang, digest: &Digest, recipient: &str) -> Result<Rendered, WorkerError> {
        let kind = MessageKind::Digest.name();
        self.render_object(kind, lang, object(digest, kind)?, recipient)
    }

    /// Renders a petition's message (`petition_accepted`, `petition_answered`,
    /// `petition_forwarded`, `petition_extended`, `petition_reminder`, `petition_at_risk`) from
    /// core's `ItemLetter`: the templates see `item`, `agency`, `audience`, `extension_reason`,
    /// `remaining_working_minutes`, `print_at_desk` and `issued_at`.
    pub fn render_item(&self, lang: Lang, letter: &ItemLetter, recipient: &str) -> Result<Rendered, WorkerError> {
        let kind = letter.kind.name();
        self.render_object(kind, lang, object(letter, kind)?, recipient)
    }

    fn render_object(
        &self,
        kind: &str,
        lang: Lang,
        mut ctx: serde_json::Map<String, serde_json::Value>,
        recipient: &str,
    ) -> Result<Rendered, WorkerError> {
        ctx.insert("lang".into(), serde_json::Value::from(lang_name(lang)));
        ctx.insert("recipient".into(), serde_json::Value::from(recipient));
        let ctx = Value::from_serialize(&ctx);
        let render = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| WorkerError::Template(format!("{name}: {e:#}")))
        };
        let txt =
            self.pick(kind, lang, "txt").ok_or_else(|| WorkerError::Template(format!("no template for {kind}")))?;
        let text = render(&txt)?;
        let (subject, body) = split_subject(&text)
            .ok_or_else(|| WorkerError::Template(format!("{txt}: the first line must be `Subject: …`")))?;
        let html = self.pick(kind, lang, "html").map(|name| render(&name)).transpose()?;
        Ok(Rendered { subject, text: body, html })
    }
}

/// A message's payload as the map templates see.
fn object(value: &impl Serialize, kind: &str) -> Result<serde_json::Map<String, serde_json::Value>, WorkerError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(WorkerError::Template(format!("the payload of a {kind} message is not an object"))),
        Err(e) => Err(WorkerError::Template(format!("the payload of a {kind} message: {e}"))),
    }
}

/// `Subject: …` first line, then the body (leading blank lines dropped).
fn split_subject(text: &str) -> Option<(String, String)> {
    let text = text.trim_start_matches(['\n', '\r']);
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let subject = first.trim().strip_prefix("Subject:")?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = rest.trim_start_matches(['\n', '\r']).trim_end().to_string() + "\n";
    Some((subject, body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn subject_line_and_filters() {
        let (s, b) = split_subject("\nSubject:  Phiếu   xin lỗi\n\nKính gửi ông An\n").unwrap();
        assert_eq!(s, "Phiếu xin lỗi");
        assert_eq!(b, "Kính gửi ông An\n");
        assert!(split_subject("Kính gửi").is_none());
        assert_eq!(long_date("2023-11-03T02:32:00Z", None).unwrap(), "ngày 03 tháng 11 năm 2023");
        assert_eq!(long_date("2023-11-03T02:32:00Z", Some("en")).unwrap(), "3 November 2023");
    }

    #[test]
    fn the_shipped_templates_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/templates");
        let t = Templates::load(&dir).unwrap();
        for kind in MessageKind::ALL {
            assert!(t.pick(kind.name(), Lang::En, "txt").is_some(), "{kind}");
            assert!(t.pick(kind.name(), Lang::Vi, "html").is_some(), "{kind}");
        }
        for kind in ItemMessageKind::ALL {
            assert!(t.present.contains(&format!("{}.en.txt", kind.name())), "{kind}");
            assert!(t.pick(kind.name(), Lang::Vi, "html").is_some(), "{kind}");
        }
    }
}
