//! `motcua form KIND CODE`: a dossier's official paper (receipt, supplement, refusal,
//! apology, control) as the web prints it, and `motcua form book --from --to --agency`: the
//! desk's tracking book as CSV (UTF-8 with a byte-order mark, for Excel) or a printable page.

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Args;
use motcua_core::forms::FormKind;
use motcua_core::{AgencyCode, Domain, DossierCode};
use motcua_server::forms::{self, BookFacts, FormError, PaperError, PaperPlace};
use motcua_server::i18n::{Lang, Tr};
use motcua_store::{StaffStore, Store};

use crate::config::Config;
use crate::input;

#[derive(Debug, Clone, Args)]
pub struct FormArgs {
    /// receipt, supplement, refusal, apology, control or book.
    pub kind: String,
    /// The dossier's code (not for `book`).
    pub code: Option<String>,
    /// text or html for a dossier's paper; csv or html for the book.
    #[arg(long)]
    pub format: Option<String>,
    #[arg(long, default_value = "vi", value_parser = ["vi", "en"])]
    pub lang: String,
    /// The book's first day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// The book's last day (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// The desk (receiving agency) whose book to print.
    #[arg(long)]
    pub agency: Option<String>,
    /// The place named in the paper's date line (default: `place` of motcua.toml).
    #[arg(long)]
    pub place: Option<String>,
    /// The server's public address, for the receipt's lookup link and QR code (default:
    /// `public_url` of motcua.toml).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Print as of this instant (the control sheet's pending rows; the book's date line).
    #[arg(long)]
    pub as_of: Option<String>,
}

pub async fn run<S: Store + StaffStore + motcua_store::HallStore>(
    config: &Config,
    store: &S,
    domain: &Domain,
    a: &FormArgs,
) -> Result<()> {
    let at = PaperPlace {
        place: a.place.clone().unwrap_or_else(|| config.settings.place.clone()),
        public_url: a.public_url.clone().unwrap_or_else(|| config.settings.public_url.clone()),
    };
    let kind: FormKind = a.kind.parse().map_err(anyhow::Error::msg)?;
    let tr = Tr::new(if a.lang == "en" { Lang::En } else { Lang::Vi });
    let now = a.as_of.as_deref().map(input::instant).transpose()?.unwrap_or_else(Utc::now);
    if kind == FormKind::Book {
        if a.code.is_some() {
            bail!("the book takes --from, --to and --agency, not a dossier code");
        }
        let agency: AgencyCode = a.agency.as_deref().context("the book needs --agency")?.trim().parse()?;
        domain.agency(&agency)?;
        let from = input::date(a.from.as_deref().context("the book needs --from")?)?;
        let to = input::date(a.to.as_deref().context("the book needs --to")?)?;
        if from > to {
            bail!("--from {from} is after --to {to}");
        }
        let rows = forms::load_book(store, domain, &agency, from, to).await?;
        match a.format.as_deref().unwrap_or("csv") {
            "csv" => crate::out!("{}", forms::book_csv(tr.en(), &rows)),
            "html" => {
                let facts = BookFacts { domain, place: &at.place, tr, agency: &agency, from, to, rows: &rows, now };
                crate::out!("{}", forms::book_html(&facts)?);
            }
            other => bail!("--format {other}: the book is csv or html"),
        }
        return Ok(());
    }
    let Some(code) = a.code.as_deref() else { bail!("motcua form {kind} needs a dossier code") };
    let code: DossierCode = code.trim().parse()?;
    let html = match forms::dossier_paper(store, domain, kind, &code, &at, tr, now).await {
        Ok(h) => h,
        Err(PaperError::Form(FormError::NotApplicable(why))) => bail!("{why}"),
        Err(e) => return Err(e.into()),
    };
    match a.format.as_deref().unwrap_or("text") {
        "html" => crate::out!("{html}"),
        "text" => crate::out!("{}", forms::html_to_text(&html)),
        other => bail!("--format {other}: a dossier's paper is text or html"),
    }
    Ok(())
}
