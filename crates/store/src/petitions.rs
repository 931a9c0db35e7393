//! Petitions, complaints and denunciations ([`PetitionStore`]): their append-only log
//! (`petition_events`) and projection (`petitions`), written like a dossier's — one
//! transaction per command, the log replayed and the new event applied by core
//! (`motcua_core::petition`), and only an accepted event appended and projected. Both backends
//! share the implementation ([`petition_store!`]).

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::petition::{Item, ItemChannel, ItemCode, ItemEvent, ItemFacts, ItemStatus, Kind, NextStep, Tally};
use motcua_core::{AgencyCode, Applicant, Domain, DossierCode};
use serde::Serialize;

use crate::error::StoreError;

/// What the desk, the public page or the API gives to file an item; the code is allocated.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub kind: Kind,
    pub agency: AgencyCode,
    pub applicant: Applicant,
    pub text: String,
    pub dossier: Option<DossierCode>,
    pub channel: ItemChannel,
}

/// One row of the `petitions` projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRow {
    pub code: ItemCode,
    pub kind: Kind,
    pub rule_set: String,
    pub agency: AgencyCode,
    pub dossier_code: Option<String>,
    pub channel: String,
    pub status: ItemStatus,
    pub applicant_name: String,
    pub applicant_email: Option<String>,
    pub applicant_phone: Option<String>,
    pub text: String,
    pub received_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decide_late: Option<bool>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub next_step: Option<NextStep>,
    pub next_due_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolve_late: Option<bool>,
    pub answer: Option<String>,
    pub reason: Option<String>,
    pub sent_to: Option<String>,
    pub satisfied: Option<bool>,
    pub last_event_at: DateTime<Utc>,
    pub event_count: u32,
}

impl ItemRow {
    /// What the report counts of this row.
    pub fn facts(&self) -> ItemFacts {
        ItemFacts {
            kind: self.kind,
            status: self.status,
            accepted: self.accepted_at.is_some(),
            resolve_late: self.resolve_late,
            satisfied: self.satisfied,
        }
    }
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    /// Only these agencies' (`None`: all).
    pub agencies: Option<Vec<AgencyCode>>,
    pub kind: Option<Kind>,
    pub status: Option<ItemStatus>,
    /// Only those owing a step, most urgent first.
    pub open: bool,
    pub dossier: Option<DossierCode>,
    pub limit: u32,
}

/// How the report groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportBy {
    Agency,
    Kind,
    Month,
}

impl ReportBy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agency" => Some(Self::Agency),
            "kind" => Some(Self::Kind),
            "month" => Some(Self::Month),
            _ => None,
        }
    }
}

/// The district's report: one tally per group, and the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: Vec<(String, Tally)>,
    pub total: Tally,
}

impl ItemReport {
    /// Tallies the items received in the period, grouped.
    pub fn build(from: NaiveDate, to: NaiveDate, rows: &[ItemRow], by: Option<ReportBy>) -> Self {
        let mut groups: std::collections::BTreeMap<String, Tally> = std::collections::BTreeMap::new();
        let mut total = Tally::default();
        for r in rows {
            let f = r.facts();
            total.add(&f);
            if let Some(by) = by {
                let key = match by {
                    ReportBy::Agency => r.agency.to_string(),
                    ReportBy::Kind => r.kind.name().to_string(),
                    ReportBy::Month => motcua_core::calendar::to_local(r.received_at).format("%Y-%m").to_string(),
                };
                groups.entry(key).or_default().add(&f);
            }
        }
        Self { from, to, rows: groups.into_iter().collect(), total }
    }
}

/// The items register.
pub trait PetitionStore: Send + Sync {
    /// Files an item received at `at`: allocates its code (per kind and local day), records
    /// `filed` with the agency's petition answer limit of the catalog, and returns its state.
    fn file_item(
        &self,
        domain: &Domain,
        new: NewItem,
        at: DateTime<Utc>,
        by: Option<String>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Item, StoreError>> + Send;

    /// Records one event on an item. A rejected event writes nothing.
    fn record_item(
        &self,
        domain: &Domain,
        code: &ItemCode,
        event: ItemEvent,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Item, StoreError>> + Send;

    /// As [`PetitionStore::record_item`], for history brought in (`simulate`, an import): the
    /// event is recorded and projected, and no message is queued (history is quiet).
    fn record_item_quiet(
        &self,
        domain: &Domain,
        code: &ItemCode,
        event: ItemEvent,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Item, StoreError>> + Send;

    /// An item's log, in order (empty if there is no such item).
    fn item_events(&self, code: &ItemCode) -> impl Future<Output = Result<Vec<ItemEvent>, StoreError>> + Send;

    fn item_row(&self, code: &ItemCode) -> impl Future<Output = Result<Option<ItemRow>, StoreError>> + Send;

    /// Items by `filter`: open ones by their next step's due instant, the others newest first.
    fn items(&self, filter: &ItemFilter) -> impl Future<Output = Result<Vec<ItemRow>, StoreError>> + Send;

    /// Items received in `[a, b)`, for the report.
    fn items_received_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<ItemRow>, StoreError>> + Send;

    /// Open items whose next step is due in `(after, until]`, in (due, code) order after
    /// `cursor`: the scheduler's candidates for reminders and at-risk warnings.
    fn item_reminder_candidates(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cursor: Option<(DateTime<Utc>, ItemCode)>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(ItemCode, DateTime<Utc>)>, StoreError>> + Send;

    /// Rebuilds the `petitions` projection from `petition_events` through core, in one
    /// transaction: rows that differ are rewritten, missing ones written, rows with no event
    /// removed. With `dry_run`, only reports what would change.
    fn recompute_items(
        &self,
        domain: &Domain,
        dry_run: bool,
    ) -> impl Future<Output = Result<ItemRecompute, StoreError>> + Send;
}

/// One field of a projection row that differs from the replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// An item whose projection row differs from the replay of its log (or is missing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemChange {
    pub code: String,
    pub fields: Vec<ItemFieldChange>,
}

/// What [`PetitionStore::recompute_items`] found (and, without `dry_run`, repaired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ItemRecompute {
    pub dry_run: bool,
    /// Items in the log.
    pub items: u64,
    pub changed: Vec<ItemChange>,
    /// Items whose log no longer replays (left as they are), with core's reason.
    pub unreplayable: Vec<(String, String)>,
    /// Projection rows with no event (removed when applied).
    pub orphans: Vec<String>,
}

impl ItemRecompute {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.unreplayable.is_empty() && self.orphans.is_empty()
    }
}

/// The fields in which `stored` differs from `replayed` (every field when nothing is stored).
pub(crate) fn item_changes(stored: Option<&ItemRow>, replayed: &ItemRow) -> Result<Vec<ItemFieldChange>, StoreError> {
    let as_map = |r: &ItemRow| match serde_json::to_value(r) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(StoreError::Corrupt("an item row is not an object".into())),
        Err(e) => Err(StoreError::Corrupt(e.to_string())),
    };
    let new = as_map(replayed)?;
    let old = stored.map(as_map).transpose()?.unwrap_or_default();
    let shown = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    Ok(new
        .iter()
        .filter(|(k, v)| old.get(k.as_str()) != Some(v))
        .map(|(k, v)| ItemFieldChange { field: k.clone(), old: shown(old.get(k.as_str())), new: shown(Some(v)) })
        .collect())
}

/// The outbox rows of an item's messages.
pub fn message_rows(
    intents: &[motcua_core::petition_letters::ItemMessageIntent],
) -> Result<Vec<crate::outbox::NewMessage>, StoreError> {
    intents
        .iter()
        .map(|i| {
            let payload = i
                .payload()
                .map_err(|e| StoreError::Corrupt(format!("cannot serialise a message of item {}: {e}", i.code)))?;
            Ok(crate::outbox::NewMessage {
                dedupe_key: i.dedupe_key(),
                kind: i.kind.name().to_string(),
                dossier_code: None,
                deadline_revision: None,
                recipient: i.recipient.to_string(),
                payload,
                at: motcua_core::calendar::truncate_to_micros(i.at),
            })
        })
        .collect()
}

/// The messages an event implies, as outbox rows.
pub(crate) fn implied_rows(
    domain: &Domain,
    item: &Item,
    event: &ItemEvent,
) -> Result<Vec<crate::outbox::NewMessage>, StoreError> {
    let intents = motcua_core::petition_letters::implied_messages(domain, item, event)
        .map_err(|e| StoreError::Corrupt(format!("the messages of an item: {e}")))?;
    message_rows(&intents)
}

/// The columns of `petitions`, in the order [`bind_item!`] binds them.
pub(crate) const ITEM_COLUMNS: [&str; 26] = [
    "code",
    "kind",
    "rule_set",
    "agency",
    "dossier_code",
    "channel",
    "status",
    "applicant_name",
    "applicant_email",
    "applicant_phone",
    "text",
    "received_at",
    "received_day",
    "decided_at",
    "decide_late",
    "accepted_at",
    "next_step",
    "next_due_at",
    "resolved_at",
    "resolve_late",
    "answer",
    "reason",
    "sent_to",
    "satisfied",
    "last_event_at",
    "event_count",
];

/// The projection row of an item (what [`ItemRow`] holds), from core's state.
pub(crate) fn row_of(item: &Item) -> Result<ItemRow, StoreError> {
    let missing = |f: &str| StoreError::Corrupt(format!("an item without {f}"));
    let next = item.next_step();
    Ok(ItemRow {
        code: item.code.clone().ok_or_else(|| missing("code"))?,
        kind: item.kind.ok_or_else(|| missing("kind"))?,
        rule_set: item.rules.ok_or_else(|| missing("rules"))?.name().to_string(),
        agency: item.agency.clone().ok_or_else(|| missing("agency"))?,
        dossier_code: item.dossier.as_ref().map(ToString::to_string),
        channel: item.channel.name().to_string(),
        status: item.status.ok_or_else(|| missing("status"))?,
        applicant_name: item.applicant.name.clone(),
        applicant_email: item.applicant.email.as_ref().map(ToString::to_string),
        applicant_phone: item.applicant.phone.as_ref().map(ToString::to_string),
        text: item.text.clone(),
        received_at: item.received_at.ok_or_else(|| missing("receipt"))?,
        decided_at: item.decided_at,
        decide_late: item.decide_late,
        accepted_at: item.accepted_at,
        next_step: next.map(|n| n.0),
        next_due_at: next.map(|n| n.1),
        resolved_at: item.resolved_at,
        resolve_late: item.resolve_late,
        answer: item.answer.clone(),
        reason: item.reason.clone(),
        sent_to: item.sent_to.clone(),
        satisfied: item.satisfied,
        last_event_at: item.last_event_at.ok_or_else(|| missing("events"))?,
        event_count: item.event_count,
    })
}

/// Reads an [`ItemRow`] from a row of `SELECT * FROM petitions`.
macro_rules! decode_item {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let bad = |col: &str, v: &str| $crate::error::StoreError::Corrupt(format!("petitions.{col} = {v:?}"));
        let code: String = r.try_get("code")?;
        let kind: String = r.try_get("kind")?;
        let status: String = r.try_get("status")?;
        let agency: String = r.try_get("agency")?;
        let next_step: Option<String> = r.try_get("next_step")?;
        let count: i32 = r.try_get("event_count")?;
        Ok::<$crate::petitions::ItemRow, $crate::error::StoreError>($crate::petitions::ItemRow {
            code: code.parse().map_err(|_| bad("code", &code))?,
            kind: motcua_core::petition::Kind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
            rule_set: r.try_get("rule_set")?,
            agency: agency.parse().map_err(|_| bad("agency", &agency))?,
            dossier_code: r.try_get("dossier_code")?,
            channel: r.try_get("channel")?,
            status: motcua_core::petition::ItemStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
            applicant_name: r.try_get("applicant_name")?,
            applicant_email: r.try_get("applicant_email")?,
            applicant_phone: r.try_get("applicant_phone")?,
            text: r.try_get("text")?,
            received_at: r.try_get("received_at")?,
            decided_at: r.try_get("decided_at")?,
            decide_late: r.try_get("decide_late")?,
            accepted_at: r.try_get("accepted_at")?,
            next_step: match next_step {
                Some(s) => Some(motcua_core::petition::NextStep::parse(&s).ok_or_else(|| bad("next_step", &s))?),
                None => None,
            },
            next_due_at: r.try_get("next_due_at")?,
            resolved_at: r.try_get("resolved_at")?,
            resolve_late: r.try_get("resolve_late")?,
            answer: r.try_get("answer")?,
            reason: r.try_get("reason")?,
            sent_to: r.try_get("sent_to")?,
            satisfied: r.try_get("satisfied")?,
            last_event_at: r.try_get("last_event_at")?,
            event_count: u32::try_from(count).map_err(|_| bad("event_count", &count.to_string()))?,
        })
    }};
}
pub(crate) use decode_item;

/// The [`PetitionStore`] both backends share. `$begin` opens the write transaction (SQLite's
/// `BEGIN IMMEDIATE` holds the write lock; PostgreSQL locks the projection table for a filing
/// with `$lock_table` and the item's row with `$lock_row`); `$json` is the payload's
/// placeholder (a cast to `jsonb` on PostgreSQL).
macro_rules! petition_store {
    ($store:ty, |$s:ident| $begin:expr, reader: $reader:ident, lock_table: $lock_table:literal, lock_row: $lock_row:literal, json: $json:literal, texts: $texts:literal) => {
        impl $crate::petitions::PetitionStore for $store {
            async fn file_item(
                &self,
                domain: &motcua_core::Domain,
                new: $crate::petitions::NewItem,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::petition::Item, $crate::error::StoreError> {
                use motcua_core::petition::{ItemCode, ItemEvent, ItemEventKind, ItemIntake};
                let at = motcua_core::calendar::truncate_to_micros(at);
                let $s = self;
                let mut tx = $begin.await?;
                if !$lock_table.is_empty() {
                    sqlx::query($lock_table).execute(&mut *tx).await?;
                }
                let day = motcua_core::calendar::to_local(at).date();
                let prefix = format!("{}-{}-", new.kind.prefix(), day.format("%y%m%d"));
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM petitions WHERE code LIKE $1")
                    .bind(format!("{prefix}%"))
                    .fetch_one(&mut *tx)
                    .await?;
                let seq = u32::try_from(n + 1)
                    .ok()
                    .filter(|s| *s <= 999_999)
                    .ok_or_else(|| $crate::error::StoreError::Corrupt(format!("more than 999999 items on {day}")))?;
                let answer_limit = domain.catalog.agency(&new.agency).and_then(|a| a.petition_answer);
                let intake = ItemIntake {
                    code: ItemCode::new(new.kind, day, seq),
                    kind: new.kind,
                    agency: new.agency,
                    applicant: new.applicant,
                    text: new.text,
                    dossier: new.dossier,
                    channel: new.channel,
                    answer_limit,
                };
                let event = ItemEvent::new(at, by, ItemEventKind::Filed { intake });
                let mut item = motcua_core::petition::Item::default();
                motcua_core::petition::apply(domain, &mut item, &event)?;
                Self::append_item_event(&mut tx, &item, &event, 1, recorded_at).await?;
                queue(&mut tx, &$crate::petitions::implied_rows(domain, &item, &event)?).await?;
                tx.commit().await?;
                Ok(item)
            }

            async fn record_item(
                &self,
                domain: &motcua_core::Domain,
                code: &motcua_core::petition::ItemCode,
                event: motcua_core::petition::ItemEvent,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::petition::Item, $crate::error::StoreError> {
                self.record_item_with(domain, code, event, recorded_at, false).await
            }

            async fn record_item_quiet(
                &self,
                domain: &motcua_core::Domain,
                code: &motcua_core::petition::ItemCode,
                event: motcua_core::petition::ItemEvent,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::petition::Item, $crate::error::StoreError> {
                self.record_item_with(domain, code, event, recorded_at, true).await
            }

            async fn item_events(
                &self,
                code: &motcua_core::petition::ItemCode,
            ) -> Result<Vec<motcua_core::petition::ItemEvent>, $crate::error::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT CAST(payload AS TEXT) AS payload FROM petition_events WHERE petition_code = $1 ORDER BY seq",
                )
                .bind(code.as_str())
                .fetch_all(self.$reader())
                .await?;
                rows.iter()
                    .map(|r| $crate::petitions::parse_item_event(code, &r.try_get::<String, _>("payload")?))
                    .collect()
            }

            async fn item_row(
                &self,
                code: &motcua_core::petition::ItemCode,
            ) -> Result<Option<$crate::petitions::ItemRow>, $crate::error::StoreError> {
                let row = sqlx::query("SELECT * FROM petitions WHERE code = $1")
                    .bind(code.as_str())
                    .fetch_optional(self.$reader())
                    .await?;
                row.as_ref().map(|r| $crate::petitions::decode_item!(r)).transpose()
            }

            async fn items(
                &self,
                filter: &$crate::petitions::ItemFilter,
            ) -> Result<Vec<$crate::petitions::ItemRow>, $crate::error::StoreError> {
                // Filters as JSON lists, so one statement serves every combination.
                let agencies = filter
                    .agencies
                    .as_ref()
                    .map(|a| serde_json::to_string(&a.iter().map(|x| x.as_str()).collect::<Vec<_>>()))
                    .transpose()
                    .map_err(|e| $crate::error::StoreError::Corrupt(e.to_string()))?;
                let q = format!(
                    "SELECT * FROM petitions WHERE ($1 IS NULL OR agency IN ({list})) \
                     AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR status = $3) \
                     AND ($4 = 0 OR next_due_at IS NOT NULL) AND ($5 IS NULL OR dossier_code = $5) \
                     ORDER BY CASE WHEN next_due_at IS NULL THEN 1 ELSE 0 END, next_due_at, received_at DESC, code \
                     LIMIT $6",
                    list = $texts.replace("$X", "$1")
                );
                let rows = sqlx::query(&q)
                    .bind(agencies)
                    .bind(filter.kind.map(|k| k.name()))
                    .bind(filter.status.map(|s| s.name()))
                    .bind(i32::from(filter.open))
                    .bind(filter.dossier.as_ref().map(|d| d.as_str().to_string()))
                    .bind(i64::from(filter.limit.max(1)))
                    .fetch_all(self.$reader())
                    .await?;
                rows.iter().map(|r| $crate::petitions::decode_item!(r)).collect()
            }

            async fn items_received_between(
                &self,
                a: chrono::DateTime<chrono::Utc>,
                b: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::petitions::ItemRow>, $crate::error::StoreError> {
                let rows =
                    sqlx::query("SELECT * FROM petitions WHERE received_at >= $1 AND received_at < $2 ORDER BY code")
                        .bind($crate::sql::At(a))
                        .bind($crate::sql::At(b))
                        .fetch_all(self.$reader())
                        .await?;
                rows.iter().map(|r| $crate::petitions::decode_item!(r)).collect()
            }

            async fn item_reminder_candidates(
                &self,
                after: chrono::DateTime<chrono::Utc>,
                until: chrono::DateTime<chrono::Utc>,
                cursor: Option<(chrono::DateTime<chrono::Utc>, motcua_core::petition::ItemCode)>,
                limit: u32,
            ) -> Result<Vec<(motcua_core::petition::ItemCode, chrono::DateTime<chrono::Utc>)>, $crate::error::StoreError> {
                use sqlx::Row as _;
                let (c_due, c_code) = match cursor {
                    Some((d, c)) => (d, c.to_string()),
                    None => (after, String::new()),
                };
                let rows = sqlx::query(
                    "SELECT code, next_due_at FROM petitions WHERE next_due_at IS NOT NULL \
                     AND next_due_at > $1 AND next_due_at <= $2 AND (next_due_at > $3 OR (next_due_at = $3 AND code > $4)) \
                     ORDER BY next_due_at, code LIMIT $5",
                )
                .bind($crate::sql::At(after))
                .bind($crate::sql::At(until))
                .bind($crate::sql::At(c_due))
                .bind(c_code)
                .bind(i64::from(limit.max(1)))
                .fetch_all(self.$reader())
                .await?;
                rows.iter()
                    .map(|r| {
                        let code: String = r.try_get("code")?;
                        let due: chrono::DateTime<chrono::Utc> = r.try_get("next_due_at")?;
                        let code = code
                            .parse()
                            .map_err(|_| $crate::error::StoreError::Corrupt(format!("petitions.code = {code:?}")))?;
                        Ok((code, due))
                    })
                    .collect()
            }

            async fn recompute_items(
                &self,
                domain: &motcua_core::Domain,
                dry_run: bool,
            ) -> Result<$crate::petitions::ItemRecompute, $crate::error::StoreError> {
                use sqlx::Row as _;
                let $s = self;
                let mut tx = $begin.await?;
                if !$lock_table.is_empty() {
                    sqlx::query($lock_table).execute(&mut *tx).await?;
                }
                let rows = sqlx::query(
                    "SELECT petition_code, CAST(payload AS TEXT) AS payload FROM petition_events ORDER BY petition_code, seq",
                )
                .fetch_all(&mut *tx)
                .await?;
                let mut logs: std::collections::BTreeMap<String, Vec<motcua_core::petition::ItemEvent>> =
                    std::collections::BTreeMap::new();
                for r in &rows {
                    let code: String = r.try_get("petition_code")?;
                    let parsed: motcua_core::petition::ItemCode = code
                        .parse()
                        .map_err(|_| $crate::error::StoreError::Corrupt(format!("petition_events.petition_code = {code:?}")))?;
                    let payload: String = r.try_get("payload")?;
                    let event = $crate::petitions::parse_item_event(&parsed, &payload)?;
                    logs.entry(code).or_default().push(event);
                }
                let stored_rows = sqlx::query("SELECT * FROM petitions").fetch_all(&mut *tx).await?;
                let mut stored: std::collections::BTreeMap<String, $crate::petitions::ItemRow> =
                    std::collections::BTreeMap::new();
                for r in &stored_rows {
                    let row = $crate::petitions::decode_item!(r)?;
                    stored.insert(row.code.to_string(), row);
                }
                let mut out = $crate::petitions::ItemRecompute { dry_run, items: logs.len() as u64, ..Default::default() };
                for (code, events) in &logs {
                    let item = match motcua_core::petition::replay(domain, events) {
                        Ok(i) => i,
                        Err(e) => {
                            out.unreplayable.push((code.clone(), e.to_string()));
                            continue;
                        }
                    };
                    let row = $crate::petitions::row_of(&item)?;
                    let fields = $crate::petitions::item_changes(stored.get(code), &row)?;
                    if fields.is_empty() {
                        continue;
                    }
                    if !dry_run {
                        Self::write_item_row(&mut tx, &row).await?;
                    }
                    out.changed.push($crate::petitions::ItemChange { code: code.clone(), fields });
                }
                for code in stored.keys().filter(|c| !logs.contains_key(*c)) {
                    if !dry_run {
                        sqlx::query("DELETE FROM petitions WHERE code = $1").bind(code.as_str()).execute(&mut *tx).await?;
                    }
                    out.orphans.push(code.clone());
                }
                if dry_run {
                    tx.rollback().await?;
                } else {
                    tx.commit().await?;
                }
                Ok(out)
            }
        }

        impl $store {
            /// Records one event on an item (its messages queued unless `quiet`).
            async fn record_item_with(
                &self,
                domain: &motcua_core::Domain,
                code: &motcua_core::petition::ItemCode,
                mut event: motcua_core::petition::ItemEvent,
                recorded_at: chrono::DateTime<chrono::Utc>,
                quiet: bool,
            ) -> Result<motcua_core::petition::Item, $crate::error::StoreError> {
                use sqlx::Row as _;

                event.at = motcua_core::calendar::truncate_to_micros(event.at);
                let $s = self;
                let mut tx = $begin.await?;
                let found = sqlx::query(concat!("SELECT code FROM petitions WHERE code = $1", $lock_row))
                    .bind(code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err($crate::error::StoreError::ItemNotFound(code.clone()));
                }
                let rows = sqlx::query(
                    "SELECT CAST(payload AS TEXT) AS payload FROM petition_events WHERE petition_code = $1 ORDER BY seq",
                )
                .bind(code.as_str())
                .fetch_all(&mut *tx)
                .await?;
                let mut events = Vec::with_capacity(rows.len());
                for r in &rows {
                    let payload: String = r.try_get("payload")?;
                    events.push($crate::petitions::parse_item_event(code, &payload)?);
                }
                let mut item = motcua_core::petition::replay(domain, &events)
                    .map_err(|e| $crate::error::StoreError::Corrupt(format!("item {code} no longer replays: {e}")))?;
                motcua_core::petition::apply(domain, &mut item, &event)?;
                let seq = i32::try_from(events.len() + 1)
                    .map_err(|_| $crate::error::StoreError::Corrupt(format!("item {code} has too many events")))?;
                Self::append_item_event(&mut tx, &item, &event, seq, recorded_at).await?;
                if !quiet {
                    queue(&mut tx, &$crate::petitions::implied_rows(domain, &item, &event)?).await?;
                }
                tx.commit().await?;
                Ok(item)
            }

            /// Appends an event and writes the item's projection, in `tx`.
            async fn append_item_event<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                item: &motcua_core::petition::Item,
                event: &motcua_core::petition::ItemEvent,
                seq: i32,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::error::StoreError> {
                let row = $crate::petitions::row_of(item)?;
                let payload = serde_json::to_string(event)
                    .map_err(|e| $crate::error::StoreError::Corrupt(format!("cannot serialise an item event: {e}")))?;
                let q = concat!(
                    "INSERT INTO petition_events (petition_code, seq, at, kind, by_staff, payload, recorded_at) \
                     VALUES ($1, $2, $3, $4, $5, ",
                    $json,
                    ", $7)"
                );
                sqlx::query(q)
                    .bind(row.code.as_str())
                    .bind(seq)
                    .bind($crate::sql::At(event.at))
                    .bind(event.kind.name())
                    .bind(event.by.as_deref())
                    .bind(payload)
                    .bind($crate::sql::At(motcua_core::calendar::truncate_to_micros(recorded_at)))
                    .execute(&mut **tx)
                    .await?;
                Self::write_item_row(tx, &row).await
            }

            /// Writes an item's projection row (inserted or replaced), in `tx`.
            async fn write_item_row<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                row: &$crate::petitions::ItemRow,
            ) -> Result<(), $crate::error::StoreError> {
                let cols = $crate::petitions::ITEM_COLUMNS;
                let params: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
                let updates: Vec<String> =
                    cols.iter().skip(1).map(|c| format!("{c} = excluded.{c}")).collect();
                let q = format!(
                    "INSERT INTO petitions ({}) VALUES ({}) ON CONFLICT (code) DO UPDATE SET {}",
                    cols.join(", "),
                    params.join(", "),
                    updates.join(", ")
                );
                sqlx::query(&q)
                    .bind(row.code.as_str())
                    .bind(row.kind.name())
                    .bind(row.rule_set.as_str())
                    .bind(row.agency.as_str())
                    .bind(row.dossier_code.as_deref())
                    .bind(row.channel.as_str())
                    .bind(row.status.name())
                    .bind(row.applicant_name.as_str())
                    .bind(row.applicant_email.as_deref())
                    .bind(row.applicant_phone.as_deref())
                    .bind(row.text.as_str())
                    .bind($crate::sql::At(row.received_at))
                    .bind(motcua_core::calendar::to_local(row.received_at).date().to_string())
                    .bind(row.decided_at.map($crate::sql::At))
                    .bind(row.decide_late)
                    .bind(row.accepted_at.map($crate::sql::At))
                    .bind(row.next_step.map(|n| n.name()))
                    .bind(row.next_due_at.map($crate::sql::At))
                    .bind(row.resolved_at.map($crate::sql::At))
                    .bind(row.resolve_late)
                    .bind(row.answer.as_deref())
                    .bind(row.reason.as_deref())
                    .bind(row.sent_to.as_deref())
                    .bind(row.satisfied)
                    .bind($crate::sql::At(row.last_event_at))
                    .bind(i32::try_from(row.event_count).unwrap_or(i32::MAX))
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use petition_store;

/// The database type of a backend, for the shared implementation's signatures.
pub(crate) trait Backend {
    type Db: sqlx::Database;
}

/// Reads a stored item event.
pub(crate) fn parse_item_event(code: &ItemCode, payload: &str) -> Result<ItemEvent, StoreError> {
    serde_json::from_str(payload).map_err(|e| StoreError::Corrupt(format!("an event of item {code}: {e}")))
}
