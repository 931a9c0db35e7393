//! The desk's letters to print ([`DeskLetterStore`]): the outbox rows addressed to a desk
//! (`recipient = 'desk:<agency>'`: citizens with no e-mail address get their letters printed
//! at the receiving desk), a page at a time with their count, and the desk's marks on each —
//! printed ("Đã in"), then handed over to the citizen ("Đã trao") — each made once, by an
//! officer at an instant, never changed (`letter_marks`, migration 19).
//!
//! The SQL is the same on both backends (`$n` placeholders); each backend instantiates
//! [`letters_store!`] with its pools.

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use motcua_core::AgencyCode;
use serde::Serialize;

use crate::error::StoreError;
use crate::outbox::OutboxMessage;
use crate::staff::{Paged, Window};

/// A mark the desk puts on a letter to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterMark {
    /// Printed and signed ("Đã in").
    Printed,
    /// Handed over to the citizen ("Đã trao"); only after [`LetterMark::Printed`].
    Handed,
}

impl LetterMark {
    pub const ALL: [LetterMark; 2] = [Self::Printed, Self::Handed];

    pub fn name(self) -> &'static str {
        match self {
            Self::Printed => "printed",
            Self::Handed => "handed",
        }
    }
}

impl fmt::Display for LetterMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LetterMark {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| format!("unknown mark {s:?}: printed or handed"))
    }
}

/// Which letters a page of the print queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterFilter {
    #[default]
    All,
    /// Not yet marked printed.
    NotPrinted,
    /// Not yet marked handed over (printed or not).
    NotHanded,
}

impl LetterFilter {
    pub const ALL: [LetterFilter; 3] = [Self::All, Self::NotPrinted, Self::NotHanded];

    pub fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::NotPrinted => "not_printed",
            Self::NotHanded => "not_handed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The term of the list's WHERE clause, on the joined marks `p` (printed) and `h` (handed).
    pub(crate) fn term(self) -> &'static str {
        match self {
            Self::All => "",
            Self::NotPrinted => " AND p.outbox_id IS NULL",
            Self::NotHanded => " AND h.outbox_id IS NULL",
        }
    }
}

/// Who made a mark, and when (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarkRecord {
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A letter of the print queue with its marks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskLetter {
    pub message: OutboxMessage,
    pub printed: Option<MarkRecord>,
    pub handed: Option<MarkRecord>,
}

/// What marking a letter did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Marked {
    /// Recorded now.
    Done(MarkRecord),
    /// The letter had that mark already (who and when): nothing written.
    Already(MarkRecord),
    /// Handed over before it was printed: refused, nothing written.
    NotPrinted,
    /// No such letter at these desks: nothing written.
    NotFound,
}

/// The desk's letters to print and their marks.
pub trait DeskLetterStore: Send + Sync {
    /// One page of the letters addressed to the desks of `agencies` (every status), newest
    /// first, with their marks and how many letters the whole list (after `filter`) has.
    fn desk_letter_page(
        &self,
        agencies: &[AgencyCode],
        filter: LetterFilter,
        window: Window,
    ) -> impl Future<Output = Result<Paged<DeskLetter>, StoreError>> + Send;

    /// Marks letter `id` — an outbox row addressed to the desk of one of `agencies` — as
    /// `mark` by `by` at `at`, once; handed over only once printed. A refusal writes nothing.
    fn mark_letter(
        &self,
        id: i64,
        agencies: &[AgencyCode],
        mark: LetterMark,
        by: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Marked, StoreError>> + Send;
}

/// The list's FROM and WHERE, `$1…$n` the desks' recipients.
pub(crate) fn letters_from(n: usize, filter: LetterFilter) -> String {
    let list: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    // The LIKE term is the partial index's own (migration 7), so that it is used.
    format!(
        "FROM outbox LEFT JOIN letter_marks p ON p.outbox_id = outbox.id AND p.mark = 'printed' \
         LEFT JOIN letter_marks h ON h.outbox_id = outbox.id AND h.mark = 'handed' \
         WHERE outbox.recipient IN ({}) AND outbox.recipient LIKE 'desk:%'{}",
        list.join(", "),
        filter.term()
    )
}

/// `DeskLetterStore` for backend `$t`; `$reader` and `$writer` give its pools.
macro_rules! letters_store {
    ($t:ty, $reader:ident, $writer:ident) => {
        impl $crate::letters::DeskLetterStore for $t {
            async fn desk_letter_page(
                &self,
                agencies: &[motcua_core::AgencyCode],
                filter: $crate::letters::LetterFilter,
                window: $crate::staff::Window,
            ) -> Result<$crate::staff::Paged<$crate::letters::DeskLetter>, $crate::error::StoreError> {
                use sqlx::Row;
                if agencies.is_empty() {
                    return Ok($crate::staff::Paged::empty());
                }
                let recipients: Vec<String> = agencies.iter().map($crate::outbox::desk_recipient).collect();
                let from = $crate::letters::letters_from(recipients.len(), filter);
                let count_sql = format!("SELECT COUNT(*) {from}");
                let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
                for r in &recipients {
                    count = count.bind(r);
                }
                let total = $crate::sql::count(count.fetch_one(self.$reader()).await?, "letters")?;
                let q = format!(
                    "SELECT {}, p.marked_by AS printed_by, p.marked_at AS printed_at, \
                     h.marked_by AS handed_by, h.marked_at AS handed_at {from} \
                     ORDER BY outbox.id DESC LIMIT {} OFFSET {}",
                    $crate::outbox::COLUMNS,
                    window.limit,
                    window.offset
                );
                let mut query = sqlx::query(&q);
                for r in &recipients {
                    query = query.bind(r);
                }
                let rows = query.fetch_all(self.$reader()).await?;
                let rows = rows
                    .iter()
                    .map(|r| {
                        let message = $crate::outbox::decode_message!(r)?;
                        let mark = |by: &str, at: &str| -> Result<Option<$crate::letters::MarkRecord>, $crate::error::StoreError> {
                            let who: Option<String> = r.try_get(by)?;
                            let when: Option<chrono::DateTime<chrono::Utc>> = r.try_get(at)?;
                            Ok(who.zip(when).map(|(by, at)| $crate::letters::MarkRecord { by, at }))
                        };
                        Ok($crate::letters::DeskLetter {
                            message,
                            printed: mark("printed_by", "printed_at")?,
                            handed: mark("handed_by", "handed_at")?,
                        })
                    })
                    .collect::<Result<Vec<_>, $crate::error::StoreError>>()?;
                Ok($crate::staff::Paged { total, rows })
            }

            async fn mark_letter(
                &self,
                id: i64,
                agencies: &[motcua_core::AgencyCode],
                mark: $crate::letters::LetterMark,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::letters::Marked, $crate::error::StoreError> {
                use $crate::letters::{LetterMark, MarkRecord, Marked};
                use sqlx::Row;
                let at = motcua_core::calendar::truncate_to_micros(at);
                let mut tx = self.$writer().begin().await?;
                let recipient: Option<String> = sqlx::query_scalar("SELECT recipient FROM outbox WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let ours = recipient.is_some_and(|r| agencies.iter().any(|a| $crate::outbox::desk_recipient(a) == r));
                if !ours {
                    return Ok(Marked::NotFound);
                }
                let marks = sqlx::query("SELECT mark, marked_by, marked_at FROM letter_marks WHERE outbox_id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut existing = Vec::new();
                for r in &marks {
                    let name: String = r.try_get("mark")?;
                    let m: LetterMark = name.parse().map_err($crate::error::StoreError::Corrupt)?;
                    existing.push((m, MarkRecord { by: r.try_get("marked_by")?, at: r.try_get("marked_at")? }));
                }
                if let Some((_, record)) = existing.iter().find(|(m, _)| *m == mark) {
                    return Ok(Marked::Already(record.clone()));
                }
                if mark == LetterMark::Handed && !existing.iter().any(|(m, _)| *m == LetterMark::Printed) {
                    return Ok(Marked::NotPrinted);
                }
                let inserted = sqlx::query(
                    "INSERT INTO letter_marks (outbox_id, mark, marked_by, marked_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(mark.name())
                .bind(by)
                .bind($crate::sql::At(at))
                .execute(&mut *tx)
                .await;
                match inserted {
                    Ok(_) => {}
                    // Marked by another request since it was read: that mark stands.
                    Err(e) if $crate::error::is_unique_violation(&e) => {
                        drop(tx);
                        let r = sqlx::query(
                            "SELECT marked_by, marked_at FROM letter_marks WHERE outbox_id = $1 AND mark = $2",
                        )
                        .bind(id)
                        .bind(mark.name())
                        .fetch_one(self.$reader())
                        .await?;
                        return Ok(Marked::Already(MarkRecord { by: r.try_get("marked_by")?, at: r.try_get("marked_at")? }));
                    }
                    Err(e) => return Err(e.into()),
                }
                tx.commit().await?;
                Ok(Marked::Done(MarkRecord { by: by.to_string(), at }))
            }
        }
    };
}
pub(crate) use letters_store;
