//! Daily digests: the notices to staff that do not go alone. At the configured time of each
//! working day (`[mail.digest] time`, +07:00), every staff address with pending notices of the
//! digested kinds (at-risk warnings and last-day reminders, with `at_risk = "daily"`) or held
//! over the daily cap, decided before that time, gets one digest, written by the store in one transaction with the
//! notices it gathers (see `OutboxStore::gather_digest`); the dispatcher then delivers it as
//! any other row. Its dedupe key, `digest:<recipient>:<local date>`, makes a second digest for
//! the same address and day impossible: notices queued after the day's digest wait for the
//! next one. A notice is listed as its dossier stands when the digest is written: one whose
//! dossier has finished, or waits for the citizen, since it was queued is left out (settled
//! with `digest = 'dropped'` and the reason), and a listed one shows the dossier's due date now.
//!
//! The cap: the dispatcher sends at most `cap_per_recipient_day` staff notices alone to one
//! address per local day (the digests counted); a claimed notice beyond it is given back to
//! wait for that address's next digest (`OutboxStore::hold_for_digest`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use motcua_core::calendar::{from_local, to_local};
use motcua_core::letters::{MessageKind, Recipient, digest_instant};
use motcua_store::{OutboxMessage, OutboxStore, PetitionStore, Store};
use serde::Serialize;

use crate::error::WorkerError;
use crate::retry::transient_retry;
use crate::worker::Worker;

/// What one [`Worker::gather_digests`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DigestStats {
    /// Digests written.
    pub digests: usize,
    /// Notices gathered into them.
    pub notices: usize,
    /// Notices whose payload was not a letter, parked as dead.
    pub dead: usize,
    /// Notices left out because they no longer apply: the dossier finished, or waits for the
    /// citizen, after the notice was queued.
    pub dropped: usize,
}

/// The class of a recipient, for the per-recipient gauge (never the address itself).
pub fn recipient_class(recipient: &str, kind: &str) -> &'static str {
    if matches!(recipient.parse::<Recipient>(), Ok(Recipient::Desk(_))) {
        "desk"
    } else if kind.parse::<MessageKind>().is_ok_and(MessageKind::is_staff_notice)
        || kind.parse::<motcua_core::petition_letters::ItemMessageKind>().is_ok_and(|k| k.is_staff_notice())
    {
        "staff"
    } else {
        "citizen"
    }
}

/// Whether a notice of `kind` counts against the cap and may be held: the staff notices
/// except the digest itself.
fn cappable(kind: &str) -> bool {
    kind.parse::<MessageKind>().is_ok_and(|k| k.is_staff_notice() && k != MessageKind::Digest)
}

/// The start of `now`'s local day.
pub fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    from_local(to_local(now).date().and_time(chrono::NaiveTime::MIN))
}

impl<S> Worker<S>
where
    S: Store + OutboxStore + PetitionStore + Clone + Send + Sync + 'static,
{
    /// Writes the day's digests if `now` is at or past the digest time of a working day.
    /// Running it again (or from a second worker) adds nothing for an address already served
    /// that day.
    pub async fn gather_digests(&self, now: DateTime<Utc>) -> Result<DigestStats, WorkerError> {
        let mut stats = DigestStats::default();
        let today = to_local(now).date();
        let until = digest_instant(today, self.config.digest.time);
        if now < until || !self.domain.calendar.is_working_day(today)? {
            return Ok(stats);
        }
        let kinds = self.config.held_kinds();
        let recipients = transient_retry(|| self.store.digest_recipients(&kinds, until)).await?;
        for r in recipients {
            if self.stopping() {
                break;
            }
            let gathered =
                transient_retry(|| self.store.gather_digest(&self.domain, &r, &kinds, today, until, now)).await?;
            if let Some(g) = gathered {
                stats.dead += g.dead;
                stats.dropped += g.dropped;
                if g.notices > 0 {
                    stats.digests += 1;
                    stats.notices += g.notices;
                    self.metric(|m| m.digest_gathered(g.notices));
                }
            }
        }
        Ok(stats)
    }

    /// Splits claimed rows into those to send and those over their recipient's daily cap,
    /// which are given back to wait for the next digest. Returns the rows to send.
    pub(crate) async fn apply_cap(
        &self,
        rows: Vec<OutboxMessage>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<OutboxMessage>, usize), WorkerError> {
        if !rows.iter().any(|r| cappable(&r.kind)) {
            return Ok((rows, 0));
        }
        let cap = u64::from(self.config.digest.cap_per_recipient_day);
        let sent = transient_retry(|| self.store.sent_since(day_start(now))).await?;
        let mut counts: HashMap<String, u64> = HashMap::new();
        for c in sent.into_iter().filter(|c| recipient_class(&c.recipient, &c.kind) == "staff") {
            *counts.entry(c.recipient).or_default() += c.messages;
        }
        let (mut keep, mut over) = (Vec::with_capacity(rows.len()), Vec::new());
        for row in rows {
            if cappable(&row.kind) {
                let n = counts.entry(row.recipient.clone()).or_default();
                if *n >= cap {
                    over.push(row);
                    continue;
                }
                *n += 1;
            }
            keep.push(row);
        }
        if over.is_empty() {
            return Ok((keep, 0));
        }
        let ids: Vec<i64> = over.iter().map(|r| r.id).collect();
        let owner = self.config.owner.as_str();
        let held = transient_retry(|| self.store.hold_for_digest(&ids, owner, now)).await?;
        for row in over.iter().filter(|r| held.contains(&r.id)) {
            self.metric(|m| m.notice_capped(&row.kind));
        }
        Ok((keep, held.len()))
    }

    /// Reports the most messages sent today to one recipient of each class.
    pub(crate) async fn report_per_recipient(&self, now: DateTime<Utc>) -> Result<(), WorkerError> {
        if self.metrics.is_none() {
            return Ok(());
        }
        let sent = transient_retry(|| self.store.sent_since(day_start(now))).await?;
        let mut per: HashMap<(&'static str, &str), u64> = HashMap::new();
        for c in &sent {
            *per.entry((recipient_class(&c.recipient, &c.kind), c.recipient.as_str())).or_default() += c.messages;
        }
        for class in ["staff", "citizen", "desk"] {
            let max = per.iter().filter(|((k, _), _)| *k == class).map(|(_, n)| *n).max().unwrap_or(0);
            self.metric(|m| m.notices_per_recipient_day(class, max));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_cappable_kinds() {
        assert_eq!(recipient_class("desk:000.00.01.H17", "apology"), "desk");
        assert_eq!(recipient_class("so@dept.example", "at_risk"), "staff");
        assert_eq!(recipient_class("so@dept.example", "digest"), "staff");
        assert_eq!(recipient_class("an@example.vn", "supplement_request"), "citizen");
        assert!(cappable("escalation") && cappable("at_risk") && !cappable("digest") && !cappable("apology"));
        let now = DateTime::parse_from_rfc3339("2025-03-17T20:00:00Z").unwrap().with_timezone(&Utc);
        // 03:00 on 18/03 local: the day began at 17:00 UTC on the 17th.
        assert_eq!(day_start(now).to_rfc3339(), "2025-03-17T17:00:00+00:00");
    }
}
