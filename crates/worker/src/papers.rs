//! The desk's official papers in the print queue. A letter for a citizen with no e-mail address
//! is printed at the desk; where an official form stands for it (the receipt, Mẫu 01; the
//! supplement request, Mẫu 02; the apology, Mẫu 04) the queue's file must be that form exactly
//! as the web page and `motcua form` draw it. The renderer lives with the web pages, so the
//! binary hands the worker a [`Papers`] ([`Worker::with_papers`](crate::Worker::with_papers));
//! without one the letter's own template is printed.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use motcua_core::DossierCode;
use motcua_core::forms::FormKind;

/// A paper drawn for the print queue: the printable page and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedPaper {
    pub html: String,
    pub text: String,
}

/// What [`Papers::paper`] returns: the paper, `None` when the dossier has no such paper (the
/// letter's template is printed instead), or why it could not be read (the row is retried).
pub type PaperFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<PrintedPaper>, String>> + Send + 'a>>;

/// Draws a dossier's official paper for the print queue.
pub trait Papers: Send + Sync + std::fmt::Debug {
    /// The paper `kind` of `dossier`, in English when `en`, dated `now` where no event dates it.
    fn paper<'a>(&'a self, kind: FormKind, dossier: &'a DossierCode, en: bool, now: DateTime<Utc>) -> PaperFuture<'a>;
}
