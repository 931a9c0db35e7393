//! The outbox dispatcher: lease due rows, render and send them outside any transaction, mark
//! them sent while the lease holds, retry failures with exponential backoff, park a row as dead
//! after `max_attempts` of its own failures (a 5xx rejection, a message that cannot be
//! written). A server that cannot be reached, or that answers "try again later" (4xx), is the
//! server's fault, not the message's: the attempt is given back and the row retried (every
//! `outage_retry_max` at most) until `outage_tolerance` has passed since it was queued.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::{Address, Message};
use motcua_core::deadlines::Lang;
use motcua_core::forms::FormKind;
use motcua_core::letters::{ApologyTimeliness, Audience, Digest, EmailResult, Letter, MessageKind, Recipient};
use motcua_core::petition_letters::{ItemLetter, ItemMessageKind};
use motcua_core::{AgencyCode, Email};
use motcua_store::{OutboxMessage, OutboxStore, PetitionStore, Store};
use tokio::task::JoinSet;

use crate::compose;
use crate::error::WorkerError;
use crate::mailer::{Fault, SendError};
use crate::pass::Stats;
use crate::retry::transient_retry;
use crate::templates::Rendered;
use crate::worker::Worker;

/// What to do with one leased row.
enum Job {
    Mail { stem: String, message: Box<Message> },
    Print { stem: String, rendered: Rendered },
}

/// A leased row, what is known of it, and what became of it.
struct Item {
    row: OutboxMessage,
    /// For the apology metric: responsible agency and timeliness.
    apology: Option<(AgencyCode, ApologyTimeliness)>,
    outcome: Result<bool, String>,
    /// The failure is in the row itself (a payload, address or name no e-mail can carry):
    /// trying again cannot help, so the row is parked as dead at once.
    permanent: bool,
    /// The server's fault (unreachable, or a 4xx reply): the attempt does not count against
    /// the row.
    server_fault: Option<Fault>,
    /// Marked sent (or printed) while this worker's lease held. A message is marked the
    /// moment the server accepts it, not with the rest of its batch, so a worker killed
    /// mid-batch leaves unmarked only what was in flight.
    marked: bool,
}

/// What an outbox row carries: a letter, (kind `digest`) a digest of notices, or (kinds
/// `petition_…`) a petition's message.
enum Payload {
    Letter(Box<Letter>),
    Digest(Box<Digest>),
    Item(Box<ItemLetter>),
}

/// The letter (or digest) an outbox row carries. A payload that is not one (a field missing,
/// a value core does not know) is the row's failure, recorded with the reason: nothing is
/// guessed.
fn payload_of(row: &OutboxMessage) -> Result<Payload, String> {
    if row.kind.parse::<ItemMessageKind>().is_ok() {
        return serde_json::from_str(&row.payload)
            .map(|l| Payload::Item(Box::new(l)))
            .map_err(|e| format!("the payload is not a petition's message: {e}"));
    }
    if row.kind == MessageKind::Digest.name() {
        return serde_json::from_str(&row.payload)
            .map(|d| Payload::Digest(Box::new(d)))
            .map_err(|e| format!("the payload is not a digest: {e}"));
    }
    serde_json::from_str(&row.payload)
        .map(|l| Payload::Letter(Box::new(l)))
        .map_err(|e| format!("the payload is not a letter: {e}"))
}

/// For the apology metric: the responsible agency and the timeliness of an apology letter.
fn apology_of(payload: &Payload) -> Option<(AgencyCode, ApologyTimeliness)> {
    match payload {
        Payload::Letter(letter) => letter.apology.as_ref().map(|a| (a.responsible.code.clone(), a.timeliness)),
        Payload::Digest(_) | Payload::Item(_) => None,
    }
}

impl<S> Worker<S>
where
    S: Store + OutboxStore + PetitionStore + Clone + Send + Sync + 'static,
{
    /// Renders one row: the e-mail to send, or the letter to print at the desk.
    fn prepare(&self, row: &OutboxMessage, payload: &Payload) -> Result<Job, String> {
        let rendered = match payload {
            Payload::Letter(letter) => self.templates.render(&row.kind, self.config.lang, letter, &row.recipient),
            Payload::Digest(digest) => self.templates.render_digest(self.config.lang, digest, &row.recipient),
            Payload::Item(letter) => self.templates.render_item(self.config.lang, letter, &row.recipient),
        }
        .map_err(|e| e.to_string())?;
        let stem = compose::stem(row.id, &row.dedupe_key);
        let recipient: Recipient =
            row.recipient.parse().map_err(|e| format!("bad recipient {:?}: {e}", row.recipient))?;
        match recipient {
            Recipient::Desk(_) => Ok(Job::Print { stem, rendered }),
            Recipient::Email(email) => {
                let name = match payload {
                    Payload::Letter(l) if l.audience == Audience::Citizen => {
                        compose::display_name(&l.dossier.applicant_name)
                    }
                    Payload::Item(l) if l.audience == Audience::Citizen => {
                        compose::display_name(&l.item.applicant_name)
                    }
                    _ => None,
                };
                let to = mailbox(&email, name)?;
                let id = compose::message_id(row.id, &row.dedupe_key, &self.from);
                let message = compose::build(&self.from, to, &id, row.created_at, &rendered)?;
                Ok(Job::Mail { stem, message: Box::new(message) })
            }
        }
    }

    /// Writes a desk letter to the print queue (`<print_dir>/<stem>.txt` and `.html`): the
    /// official form that stands for it when the worker has [`Papers`](crate::Papers) and the
    /// dossier has that paper, the letter's template otherwise. The text file opens with the
    /// letter's subject either way.
    async fn print(
        &self,
        row: &OutboxMessage,
        stem: &str,
        rendered: &Rendered,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let form = row.kind.parse::<MessageKind>().ok().and_then(FormKind::for_letter);
        let paper = match (&self.papers, form, &row.dossier_code) {
            (Some(papers), Some(form), Some(code)) => {
                papers.paper(form, code, self.config.lang == Lang::En, now).await?
            }
            _ => None,
        };
        let (text, html) = match paper {
            Some(p) => (p.text, Some(p.html)),
            None => (rendered.text.clone(), rendered.html.clone()),
        };
        let dir = &self.config.print_dir;
        tokio::fs::create_dir_all(dir).await.map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let write = |ext: &str, body: String| {
            let path = dir.join(format!("{stem}.{ext}"));
            async move { tokio::fs::write(&path, body).await.map_err(|e| format!("cannot write {}: {e}", path.display())) }
        };
        write("txt", format!("{}\n\n{}", rendered.subject, text)).await?;
        if let Some(html) = html {
            write("html", html).await?;
        }
        Ok(())
    }

    /// Sends the outbox rows due at `now` until none is left (rows that fail now are due again
    /// later, so this ends). Each row is leased for `lease`, sent outside any transaction and
    /// marked sent only while the lease holds.
    pub async fn run_pending_jobs(&self, now: DateTime<Utc>) -> Result<Stats, WorkerError> {
        let mut stats = Stats::default();
        let owner = self.config.owner.as_str();
        while !self.stopping() {
            let held_kinds = self.config.held_kinds();
            // Each batch is leased from the instant it is claimed, not from the start of the
            // pass: a pass that sends for longer than a lease would otherwise claim rows whose
            // lease has already run out, which another worker then claims and sends again.
            // Retries and marks of the batch count from the same instant.
            let now = now.max(self.now.now());
            let rows = transient_retry(|| {
                self.store.claim_except(owner, now, now + self.config.lease, self.config.batch, &held_kinds)
            })
            .await?;
            if rows.is_empty() {
                break;
            }
            stats.claimed += rows.len();
            let (rows, held) = self.apply_cap(rows, now).await?;
            stats.held += held;
            let items = self.deliver(rows, now, owner).await?;
            // The lease is judged at the instant of marking, never earlier than `now`.
            let mark_at = now.max(self.now.now());
            for item in &items {
                let kind = item.row.kind.as_str();
                match &item.outcome {
                    Ok(printed) => {
                        if !item.marked {
                            stats.lost_lease += 1;
                            continue;
                        }
                        if *printed {
                            stats.printed += 1;
                        } else {
                            stats.sent += 1;
                            self.metric(|m| m.email_sent(kind, EmailResult::Sent));
                        }
                        if let Some((agency, t)) = &item.apology {
                            self.metric(|m| m.apology_issued(agency, *t));
                        }
                    }
                    Err(error) => {
                        let attempts = item.row.attempts;
                        let (retry_at, error) = if let Some(fault) = item.server_fault {
                            let waited = now - item.row.created_at;
                            let retry_at = (waited < self.config.outage_tolerance)
                                .then(|| now + self.config.outage_retry_after(waited));
                            let what = if fault == Fault::Deferred { "deferred the message" } else { "unreachable" };
                            (retry_at, format!("mail server {what} (no attempt counted): {error}"))
                        } else {
                            let retry_at = (!item.permanent && attempts < self.config.max_attempts)
                                .then(|| now + self.config.backoff_after(attempts));
                            (retry_at, format!("attempt {attempts}: {error}"))
                        };
                        let id = item.row.id;
                        let failure = motcua_store::outbox::Failure {
                            error: &error,
                            retry_at,
                            counted: item.server_fault.is_none(),
                        };
                        if transient_retry(|| self.store.mark_failed(id, owner, mark_at, failure)).await? {
                            if retry_at.is_some() {
                                stats.retried += 1;
                                self.metric(|m| m.email_sent(kind, EmailResult::Failed));
                            } else {
                                stats.dead += 1;
                                self.metric(|m| m.email_sent(kind, EmailResult::Dead));
                            }
                        } else {
                            stats.lost_lease += 1;
                        }
                    }
                }
            }
        }
        if let Err(e) = self.report_per_recipient(now).await {
            tracing::warn!(error = %e, "messages per recipient not measured");
        }
        Ok(stats)
    }

    /// Marks one delivered row sent, at the instant of marking (never earlier than `now`):
    /// true while this worker's lease held.
    async fn mark_one(&self, id: i64, owner: &str, now: DateTime<Utc>) -> Result<bool, WorkerError> {
        let at = now.max(self.now.now());
        let ids = [id];
        Ok(!transient_retry(|| self.store.mark_sent(&ids, owner, at)).await?.is_empty())
    }

    /// Renders and delivers a batch, `concurrency` at a time, marking each row sent as soon as
    /// it is delivered. A mark that fails (the database away) stops the marking, lets the
    /// sends in flight finish and returns the error: the unmarked rows are sent again once
    /// their lease runs out.
    async fn deliver(
        &self,
        rows: Vec<OutboxMessage>,
        now: DateTime<Utc>,
        owner: &str,
    ) -> Result<Vec<Item>, WorkerError> {
        let mut mark_error: Option<WorkerError> = None;
        let mut items = Vec::with_capacity(rows.len());
        let mut mails: Vec<(usize, String, Box<Message>)> = Vec::new();
        for row in rows {
            let letter = payload_of(&row);
            let apology = letter.as_ref().ok().and_then(apology_of);
            // A stored value that makes the mail library panic is this row's failure, never
            // the pass's: the rest of the batch still goes out.
            let job = letter.and_then(|l| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.prepare(&row, &l)))
                    .unwrap_or_else(|_| Err("the e-mail could not be built from the stored values".into()))
            });
            let permanent = job.is_err();
            let outcome = match job {
                Err(e) => Err(e),
                Ok(Job::Print { stem, rendered }) => self.print(&row, &stem, &rendered, now).await.map(|()| true),
                Ok(Job::Mail { stem, message }) => {
                    mails.push((items.len(), stem, message));
                    Ok(false)
                }
            };
            let mut marked = false;
            if matches!(outcome, Ok(true)) && mark_error.is_none() {
                match self.mark_one(row.id, owner, now).await {
                    Ok(m) => marked = m,
                    Err(e) => mark_error = Some(e),
                }
            }
            items.push(Item { row, apology, outcome, permanent, server_fault: None, marked });
        }
        let mut results: HashMap<usize, Result<(), SendError>> = HashMap::new();
        let mut panicked: Vec<usize> = Vec::new();
        let mut tasks: HashMap<tokio::task::Id, usize> = HashMap::new();
        let mut pending = mails.into_iter();
        let mut set = JoinSet::new();
        loop {
            while set.len() < self.config.concurrency {
                let Some((i, stem, message)) = pending.next() else { break };
                let mailer = self.mailer.clone();
                let task = set.spawn(async move { mailer.send(&stem, &message).await });
                tasks.insert(task.id(), i);
            }
            match set.join_next_with_id().await {
                Some(Ok((id, r))) => {
                    if let Some(i) = tasks.remove(&id) {
                        if r.is_ok() && mark_error.is_none() {
                            match self.mark_one(items[i].row.id, owner, now).await {
                                Ok(m) => items[i].marked = m,
                                Err(e) => mark_error = Some(e),
                            }
                        }
                        results.insert(i, r);
                    }
                }
                Some(Err(e)) => {
                    // A send task that panicked (a stored value the mail library cannot
                    // write) or was cancelled: that row fails with the reason, the others
                    // of the batch are unaffected.
                    tracing::error!(error = %e, "a send task failed");
                    if let Some(i) = tasks.remove(&e.id()) {
                        if e.is_panic() {
                            panicked.push(i);
                        }
                        results.insert(
                            i,
                            Err(SendError { reason: format!("the send task failed: {e}"), fault: Fault::Message }),
                        );
                    }
                }
                None => break,
            }
        }
        for (i, item) in items.iter_mut().enumerate() {
            if matches!(item.outcome, Ok(false)) {
                let result = results.remove(&i).unwrap_or_else(|| {
                    Err(SendError { reason: "the send task did not finish".into(), fault: Fault::Message })
                });
                item.server_fault = result.as_ref().err().filter(|e| e.server_fault()).map(|e| e.fault);
                item.outcome = result.map(|()| false).map_err(|e| e.reason);
                item.permanent = panicked.contains(&i);
            }
        }
        match mark_error {
            Some(e) => Err(e),
            None => Ok(items),
        }
    }
}

/// The recipient's mailbox, with the citizen's name when the message is addressed to them.
fn mailbox(email: &Email, name: Option<String>) -> Result<Mailbox, String> {
    let address: Address = email.as_str().parse().map_err(|e| format!("bad address {email}: {e}"))?;
    Ok(Mailbox::new(name, address))
}
