//! The desk's printed papers as HTML, with no IO: the receipt and appointment slip (Mẫu 01,
//! with the lookup QR code) and the apology letter with its new appointment (Mẫu 04), as the
//! dossier page's `/receipt` and `/letter` print them — thin entries into [`crate::forms`], which
//! renders every form. The `receipt_letter` fuzz target (crates/fuzz-targets) calls these with
//! hostile names, addresses and reasons. Every value is escaped by the templates (askama's HTML
//! escaping); the only markup not from a template is the QR code's SVG ([`lookup_qr`]), drawn
//! from the lookup URL.

use chrono::{DateTime, Utc};
use motcua_core::{AgencyCode, Domain, Dossier, ProcedureCode};

use crate::forms::{self, FormError, Paper};
use crate::i18n::Tr;
use crate::page::Page;

/// An agency's name in the page's language (its code if the catalog does not have it).
pub fn agency_name(domain: &Domain, tr: Tr, code: &AgencyCode) -> String {
    domain
        .catalog
        .agency(code)
        .map(|a| if tr.en() { a.name_en.clone() } else { a.name.clone() })
        .unwrap_or_else(|| code.to_string())
}

/// A procedure's name in the page's language (its code if the catalog does not have it).
pub fn procedure_name(domain: &Domain, tr: Tr, code: &ProcedureCode) -> String {
    domain
        .catalog
        .procedure(code)
        .map(|p| if tr.en() { p.name_en.clone() } else { p.name.clone() })
        .unwrap_or_else(|| code.to_string())
}

/// The QR code of a dossier's lookup URL as inline SVG for the receipt (the `<svg>` element
/// alone, no XML prologue); empty if the URL is too long to encode. The URL is the server's
/// base and a parsed dossier code, never text a user typed.
pub fn lookup_qr(url: &str) -> String {
    let svg = crate::qr::svg(url);
    svg.find("<svg").map(|i| svg[i..].to_string()).unwrap_or_default()
}

/// What the receipt prints besides the catalog: read by the handler.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptFacts<'a> {
    /// The dossier's code, as the page was asked for.
    pub code: &'a str,
    pub dossier: &'a Dossier,
    /// The dossier's public lookup page, printed under its QR code.
    pub lookup_url: &'a str,
    /// That page's QR code, as [`lookup_qr`] draws it.
    pub qr_svg: &'a str,
    /// The name of the officer who received it (empty when nobody has yet).
    pub officer: &'a str,
    /// The date printed on a dossier that has no receipt or registration instant.
    pub now: DateTime<Utc>,
}

/// The receipt of a dossier in the language of `page`, the place line naming `place`.
pub fn receipt(domain: &Domain, place: &str, page: Page, f: &ReceiptFacts<'_>) -> Result<String, askama::Error> {
    let p = Paper {
        domain,
        place,
        tr: page.tr,
        code: f.code,
        dossier: f.dossier,
        events: &[],
        officer: f.officer,
        lookup_url: f.lookup_url,
        qr_svg: f.qr_svg,
        now: f.now,
        hall: None,
    };
    match forms::receipt(&p) {
        Ok(html) => Ok(html),
        Err(FormError::Render(e)) => Err(e),
        Err(FormError::NotApplicable(why)) => Err(askama::Error::Custom(why.into())),
    }
}

/// The apology letter of dossier `code` in the language of `page`: the one core decides the
/// dossier owes ([`motcua_core::letters::owed_apology`]), in the form of the rule set in force
/// at its receipt; `None` when it owes none.
pub fn apology_letter(
    domain: &Domain,
    place: &str,
    page: Page,
    code: &str,
    d: &Dossier,
    now: DateTime<Utc>,
) -> Option<Result<String, askama::Error>> {
    let p = Paper {
        domain,
        place,
        tr: page.tr,
        code,
        dossier: d,
        events: &[],
        officer: "",
        lookup_url: "",
        qr_svg: "",
        now,
        hall: None,
    };
    match forms::apology(&p) {
        Ok(html) => Some(Ok(html)),
        Err(FormError::Render(e)) => Some(Err(e)),
        Err(FormError::NotApplicable(_)) => None,
    }
}
