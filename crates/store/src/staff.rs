//! Staff accounts, their agencies, web sessions, API tokens, citizens' ratings, and the reads the
//! web server needs beside the [`crate::Store`] trait (work queues, the audit log).
//!
//! A separate trait, [`StaffStore`], implemented for both backends and [`crate::AnyStore`]. It
//! stores secrets only in derived form: passwords as the argon2 PHC strings the caller hashed,
//! session ids and API tokens as the caller's digests. It never touches the dossier event log.

use std::future::Future;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use motcua_core::{AgencyCode, DossierCode};
use serde::Serialize;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Encode, Postgres, Row, Sqlite, Type};

use crate::error::{StoreError, is_unique_violation};
use crate::model::DossierRow;
use crate::sql::{self, Dialect, decode_dossier};
use crate::{AnyStore, PgStore, SqliteStore};

/// What a staff account may do; the permissions of each role are decided by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reception-desk officer (cán bộ một cửa).
    Desk,
    /// Agency officer / specialist (chuyên viên).
    Agency,
    /// Head of agency (lãnh đạo cơ quan).
    Head,
    /// District chair or inspector: reads everything, changes nothing.
    Chair,
    /// Administrator: staff accounts and tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Self::Desk, Self::Agency, Self::Head, Self::Chair, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desk => "desk",
            Self::Agency => "agency",
            Self::Head => "head",
            Self::Chair => "chair",
            Self::Admin => "admin",
        }
    }
}

/// A role name that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected desk, agency, head, chair or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| UnknownRole(s.to_string()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub agencies: Vec<AgencyCode>,
    pub created_at: DateTime<Utc>,
}

/// A new account; `password_hash` is an argon2 PHC string.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub agencies: Vec<AgencyCode>,
    pub at: DateTime<Utc>,
}

/// A live session: who, and the CSRF token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub staff: StaffRow,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// A citizen's rating of one dossier's service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rating {
    pub code: DossierCode,
    pub score: u8,
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// Ratings of one lead agency's dossiers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RatingCounts {
    pub ratings: u64,
    pub score_sum: u64,
    /// 4 or 5 stars.
    pub satisfied: u64,
    /// 1 or 2 stars.
    pub dissatisfied: u64,
}

/// One line of the audit log: who recorded what on which dossier, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub by: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// Staff, sessions, tokens, ratings and the server's extra reads.
pub trait StaffStore: Send + Sync {
    /// Creates an account; `None` (nothing written) if the username is taken.
    fn add_staff(&self, new: NewStaff) -> impl Future<Output = Result<Option<StaffRow>, StoreError>> + Send;
    fn staff_list(&self) -> impl Future<Output = Result<Vec<StaffRow>, StoreError>> + Send;
    /// The account and its password hash.
    fn staff_credentials(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<(StaffRow, String)>, StoreError>> + Send;
    /// Disables (ending its sessions and revoking its tokens) or re-enables an account; false if
    /// there is no such account.
    fn set_staff_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces the password hash and ends the account's sessions; false if no such account.
    fn set_staff_password(
        &self,
        username: &str,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn create_session(
        &self,
        id_hash: &str,
        staff_id: i64,
        csrf: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The session if it exists, has not expired at `now` and its account is enabled.
    fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<SessionRow>, StoreError>> + Send;
    fn delete_session(&self, id_hash: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes the sessions expired at `now`; how many.
    fn purge_sessions(&self, now: DateTime<Utc>) -> impl Future<Output = Result<u64, StoreError>> + Send;

    fn create_token(
        &self,
        token_hash: &str,
        staff_id: i64,
        name: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// The account of a token that is not revoked, if the account is enabled.
    fn token_staff(&self, token_hash: &str) -> impl Future<Output = Result<Option<StaffRow>, StoreError>> + Send;

    /// Records a rating; false (nothing written) if the dossier was already rated.
    fn rate(&self, rating: &Rating) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn rating(&self, code: &DossierCode) -> impl Future<Output = Result<Option<Rating>, StoreError>> + Send;
    /// Ratings given in `[a, b)`, per lead agency of the rated dossier.
    fn rating_counts(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<(AgencyCode, RatingCounts)>, StoreError>> + Send;

    /// Open dossiers (core's `vocab::OPEN`) held by one of `holders`, earliest due first.
    fn held_by(
        &self,
        holders: &[AgencyCode],
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;
    /// Online submissions not yet accepted or refused (`Status::RegisteredOnline`) at one of `agencies`.
    fn registered_online(
        &self,
        agencies: &[AgencyCode],
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;
    /// The latest events of the whole log, newest first, before event id `before` (all if None).
    fn audit(&self, before: Option<i64>, limit: u32) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;
}

/// An instant as a bind parameter: fixed-width UTC text on SQLite (as every other instant of
/// the SQLite schema), `timestamptz` on PostgreSQL.
#[derive(Debug, Clone, Copy)]
struct At(DateTime<Utc>);

impl Type<Sqlite> for At {
    fn type_info() -> <Sqlite as sqlx::Database>::TypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for At {
    fn encode_by_ref(&self, buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(crate::sqlite::ts(self.0), buf)
    }
}

impl Type<Postgres> for At {
    fn type_info() -> <Postgres as sqlx::Database>::TypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for At {
    fn encode_by_ref(&self, buf: &mut <Postgres as sqlx::Database>::ArgumentBuffer<'_>) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

/// `?` placeholders rewritten as `$1, $2, …` for PostgreSQL.
fn numbered(d: Dialect, q: &str) -> String {
    match d {
        Dialect::Sqlite => q.to_string(),
        Dialect::Postgres => {
            let mut out = String::with_capacity(q.len() + 8);
            let mut n = 0;
            for c in q.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

const STAFF_COLUMNS: &str = "id, username, display_name, role, disabled, created_at";

/// Writes a staff implementation for one backend: `$reader` and `$writer` give the pools,
/// `$d` the SQL dialect. The SQL text is shared where both dialects accept it.
macro_rules! staff_store {
    ($t:ty, $row:ty, $d:expr, $reader:ident, $writer:ident) => {
        impl $t {
            async fn agencies_of(&self, staff_id: i64) -> Result<Vec<AgencyCode>, StoreError> {
                let q = numbered($d, "SELECT agency FROM staff_agencies WHERE staff_id = ? ORDER BY agency");
                let codes: Vec<String> = sqlx::query_scalar(&q).bind(staff_id).fetch_all(self.$reader()).await?;
                codes.iter().map(|c| sql::parse("staff_agencies", "agency", c)).collect()
            }

            async fn staff_from(&self, r: &$row) -> Result<StaffRow, StoreError> {
                let role: String = r.try_get("role")?;
                let id: i64 = r.try_get("id")?;
                Ok(StaffRow {
                    id,
                    username: r.try_get("username")?,
                    display_name: r.try_get("display_name")?,
                    role: role.parse().map_err(|_| StoreError::Corrupt(format!("staff.role = {role:?}")))?,
                    disabled: r.try_get("disabled")?,
                    agencies: self.agencies_of(id).await?,
                    created_at: r.try_get("created_at")?,
                })
            }
        }

        impl StaffStore for $t {
            async fn add_staff(&self, new: NewStaff) -> Result<Option<StaffRow>, StoreError> {
                let mut tx = self.$writer().begin().await?;
                let q = numbered(
                    $d,
                    "INSERT INTO staff (username, display_name, role, password_hash, disabled, created_at, password_changed_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                );
                let id: i64 = match sqlx::query_scalar(&q)
                    .bind(new.username.as_str())
                    .bind(new.display_name.as_str())
                    .bind(new.role.as_str())
                    .bind(new.password_hash.as_str())
                    .bind(false)
                    .bind(At(new.at))
                    .bind(At(new.at))
                    .fetch_one(&mut *tx)
                    .await
                {
                    Ok(id) => id,
                    Err(e) if is_unique_violation(&e) => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let q = numbered($d, "INSERT INTO staff_agencies (staff_id, agency) VALUES (?, ?) ON CONFLICT DO NOTHING");
                for a in &new.agencies {
                    sqlx::query(&q).bind(id).bind(a.as_str()).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                let mut agencies = new.agencies.clone();
                agencies.sort();
                agencies.dedup();
                Ok(Some(StaffRow {
                    id,
                    username: new.username,
                    display_name: new.display_name,
                    role: new.role,
                    disabled: false,
                    agencies,
                    created_at: crate::model::micros(new.at),
                }))
            }

            async fn staff_list(&self) -> Result<Vec<StaffRow>, StoreError> {
                let q = format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY username");
                let rows = sqlx::query(&q).fetch_all(self.$reader()).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(self.staff_from(r).await?);
                }
                Ok(out)
            }

            async fn staff_credentials(&self, username: &str) -> Result<Option<(StaffRow, String)>, StoreError> {
                let q = numbered($d, &format!("SELECT {STAFF_COLUMNS}, password_hash FROM staff WHERE username = ?"));
                let Some(r) = sqlx::query(&q).bind(username).fetch_optional(self.$reader()).await? else {
                    return Ok(None);
                };
                let hash: String = r.try_get("password_hash")?;
                Ok(Some((self.staff_from(&r).await?, hash)))
            }

            async fn set_staff_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError> {
                let mut tx = self.$writer().begin().await?;
                let q = numbered($d, "UPDATE staff SET disabled = ? WHERE username = ? RETURNING id");
                let id: Option<i64> =
                    sqlx::query_scalar(&q).bind(disabled).bind(username).fetch_optional(&mut *tx).await?;
                let Some(id) = id else { return Ok(false) };
                if disabled {
                    let q = numbered($d, "DELETE FROM sessions WHERE staff_id = ?");
                    sqlx::query(&q).bind(id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn set_staff_password(
                &self,
                username: &str,
                password_hash: &str,
                at: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let mut tx = self.$writer().begin().await?;
                let q = numbered(
                    $d,
                    "UPDATE staff SET password_hash = ?, password_changed_at = ? WHERE username = ? RETURNING id",
                );
                let id: Option<i64> = sqlx::query_scalar(&q)
                    .bind(password_hash)
                    .bind(At(at))
                    .bind(username)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(id) = id else { return Ok(false) };
                let q = numbered($d, "DELETE FROM sessions WHERE staff_id = ?");
                sqlx::query(&q).bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn create_session(
                &self,
                id_hash: &str,
                staff_id: i64,
                csrf: &str,
                at: DateTime<Utc>,
                expires_at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let q = numbered(
                    $d,
                    "INSERT INTO sessions (id_hash, staff_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                );
                sqlx::query(&q)
                    .bind(id_hash)
                    .bind(staff_id)
                    .bind(csrf)
                    .bind(At(at))
                    .bind(At(expires_at))
                    .execute(self.$writer())
                    .await?;
                Ok(())
            }

            async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>, StoreError> {
                let q = numbered(
                    $d,
                    "SELECT s.csrf, s.expires_at, st.id, st.username, st.display_name, st.role, st.disabled, st.created_at \
                     FROM sessions s JOIN staff st ON st.id = s.staff_id \
                     WHERE s.id_hash = ? AND s.expires_at > ? AND st.disabled = ?",
                );
                let Some(r) =
                    sqlx::query(&q).bind(id_hash).bind(At(now)).bind(false).fetch_optional(self.$reader()).await?
                else {
                    return Ok(None);
                };
                Ok(Some(SessionRow {
                    csrf: r.try_get("csrf")?,
                    expires_at: r.try_get("expires_at")?,
                    staff: self.staff_from(&r).await?,
                }))
            }

            async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
                let q = numbered($d, "DELETE FROM sessions WHERE id_hash = ?");
                sqlx::query(&q).bind(id_hash).execute(self.$writer()).await?;
                Ok(())
            }

            async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
                let q = numbered($d, "DELETE FROM sessions WHERE expires_at <= ?");
                Ok(sqlx::query(&q).bind(At(now)).execute(self.$writer()).await?.rows_affected())
            }

            async fn create_token(
                &self,
                token_hash: &str,
                staff_id: i64,
                name: &str,
                at: DateTime<Utc>,
            ) -> Result<i64, StoreError> {
                let q = numbered(
                    $d,
                    "INSERT INTO api_tokens (token_hash, staff_id, name, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                );
                Ok(sqlx::query_scalar(&q)
                    .bind(token_hash)
                    .bind(staff_id)
                    .bind(name)
                    .bind(At(at))
                    .fetch_one(self.$writer())
                    .await?)
            }

            async fn token_staff(&self, token_hash: &str) -> Result<Option<StaffRow>, StoreError> {
                let q = numbered(
                    $d,
                    "SELECT st.id, st.username, st.display_name, st.role, st.disabled, st.created_at \
                     FROM api_tokens t JOIN staff st ON st.id = t.staff_id \
                     WHERE t.token_hash = ? AND t.revoked_at IS NULL AND st.disabled = ?",
                );
                match sqlx::query(&q).bind(token_hash).bind(false).fetch_optional(self.$reader()).await? {
                    Some(r) => Ok(Some(self.staff_from(&r).await?)),
                    None => Ok(None),
                }
            }

            async fn rate(&self, rating: &Rating) -> Result<bool, StoreError> {
                let q = numbered(
                    $d,
                    "INSERT INTO ratings (dossier_code, score, comment, rated_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                );
                let n = sqlx::query(&q)
                    .bind(rating.code.as_str())
                    .bind(i32::from(rating.score))
                    .bind(rating.comment.as_deref())
                    .bind(At(rating.rated_at))
                    .execute(self.$writer())
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn rating(&self, code: &DossierCode) -> Result<Option<Rating>, StoreError> {
                let q = numbered($d, "SELECT score, comment, rated_at FROM ratings WHERE dossier_code = ?");
                let Some(r) = sqlx::query(&q).bind(code.as_str()).fetch_optional(self.$reader()).await? else {
                    return Ok(None);
                };
                let score: i32 = r.try_get("score")?;
                Ok(Some(Rating {
                    code: code.clone(),
                    score: u8::try_from(score).map_err(|_| StoreError::Corrupt(format!("ratings.score = {score}")))?,
                    comment: r.try_get("comment")?,
                    rated_at: r.try_get("rated_at")?,
                }))
            }

            async fn rating_counts(
                &self,
                a: DateTime<Utc>,
                b: DateTime<Utc>,
            ) -> Result<Vec<(AgencyCode, RatingCounts)>, StoreError> {
                let q = numbered(
                    $d,
                    "SELECT d.lead_agency AS agency, COUNT(*) AS n, COALESCE(SUM(r.score), 0) AS score_sum, \
                     COALESCE(SUM(CASE WHEN r.score >= 4 THEN 1 ELSE 0 END), 0) AS satisfied, \
                     COALESCE(SUM(CASE WHEN r.score <= 2 THEN 1 ELSE 0 END), 0) AS dissatisfied \
                     FROM ratings r JOIN dossiers d ON d.code = r.dossier_code \
                     WHERE r.rated_at >= ? AND r.rated_at < ? GROUP BY d.lead_agency ORDER BY d.lead_agency",
                );
                let rows = sqlx::query(&q).bind(At(a)).bind(At(b)).fetch_all(self.$reader()).await?;
                rows.iter()
                    .map(|r| {
                        let n = |c: &str| -> Result<u64, StoreError> { sql::count(r.try_get::<i64, _>(c)?, c) };
                        Ok((
                            sql::parse("dossiers", "lead_agency", &r.try_get::<String, _>("agency")?)?,
                            RatingCounts {
                                ratings: n("n")?,
                                score_sum: n("score_sum")?,
                                satisfied: n("satisfied")?,
                                dissatisfied: n("dissatisfied")?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn held_by(&self, holders: &[AgencyCode], limit: u32) -> Result<Vec<DossierRow>, StoreError> {
                if holders.is_empty() {
                    return Ok(Vec::new());
                }
                let q = format!(
                    "{} WHERE {} AND holder IN ({}) ORDER BY due_at, code LIMIT {limit}",
                    sql::select_dossiers(),
                    *sql::OPEN,
                    sql::list($d, holders.len())
                );
                let mut query = sqlx::query(&q);
                for h in holders {
                    query = query.bind(h.as_str());
                }
                query.fetch_all(self.$reader()).await?.iter().map(|r| decode_dossier!(r)).collect()
            }

            async fn registered_online(
                &self,
                agencies: &[AgencyCode],
                limit: u32,
            ) -> Result<Vec<DossierRow>, StoreError> {
                if agencies.is_empty() {
                    return Ok(Vec::new());
                }
                let q = format!(
                    "{} WHERE status = {} AND receiving_agency IN ({}) ORDER BY registered_at, code LIMIT {limit}",
                    sql::select_dossiers(),
                    motcua_core::Status::RegisteredOnline.code(),
                    sql::list($d, agencies.len())
                );
                let mut query = sqlx::query(&q);
                for a in agencies {
                    query = query.bind(a.as_str());
                }
                query.fetch_all(self.$reader()).await?.iter().map(|r| decode_dossier!(r)).collect()
            }

            async fn audit(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
                let q = numbered(
                    $d,
                    &format!(
                        "SELECT id, dossier_code, kind, at, by_staff, recorded_at FROM dossier_events \
                         WHERE id < ? ORDER BY id DESC LIMIT {limit}"
                    ),
                );
                let rows = sqlx::query(&q).bind(before.unwrap_or(i64::MAX)).fetch_all(self.$reader()).await?;
                rows.iter()
                    .map(|r| {
                        Ok(AuditRow {
                            id: r.try_get("id")?,
                            code: r.try_get("dossier_code")?,
                            kind: r.try_get("kind")?,
                            at: r.try_get("at")?,
                            by: r.try_get("by_staff")?,
                            recorded_at: r.try_get("recorded_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

impl PgStore {
    fn pg_reader(&self) -> &sqlx::PgPool {
        self.pool()
    }
}

staff_store!(SqliteStore, sqlx::sqlite::SqliteRow, Dialect::Sqlite, reader, writer);
staff_store!(PgStore, sqlx::postgres::PgRow, Dialect::Postgres, pg_reader, pool);

macro_rules! either {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e,
            AnyStore::Pg($s) => $e,
        }
    };
}

impl StaffStore for AnyStore {
    async fn add_staff(&self, new: NewStaff) -> Result<Option<StaffRow>, StoreError> {
        either!(self, s => s.add_staff(new).await)
    }
    async fn staff_list(&self) -> Result<Vec<StaffRow>, StoreError> {
        either!(self, s => s.staff_list().await)
    }
    async fn staff_credentials(&self, username: &str) -> Result<Option<(StaffRow, String)>, StoreError> {
        either!(self, s => s.staff_credentials(username).await)
    }
    async fn set_staff_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError> {
        either!(self, s => s.set_staff_disabled(username, disabled).await)
    }
    async fn set_staff_password(&self, username: &str, hash: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        either!(self, s => s.set_staff_password(username, hash, at).await)
    }
    async fn create_session(
        &self,
        id_hash: &str,
        staff_id: i64,
        csrf: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        either!(self, s => s.create_session(id_hash, staff_id, csrf, at, expires_at).await)
    }
    async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>, StoreError> {
        either!(self, s => s.session(id_hash, now).await)
    }
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        either!(self, s => s.delete_session(id_hash).await)
    }
    async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        either!(self, s => s.purge_sessions(now).await)
    }
    async fn create_token(
        &self,
        token_hash: &str,
        staff_id: i64,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        either!(self, s => s.create_token(token_hash, staff_id, name, at).await)
    }
    async fn token_staff(&self, token_hash: &str) -> Result<Option<StaffRow>, StoreError> {
        either!(self, s => s.token_staff(token_hash).await)
    }
    async fn rate(&self, rating: &Rating) -> Result<bool, StoreError> {
        either!(self, s => s.rate(rating).await)
    }
    async fn rating(&self, code: &DossierCode) -> Result<Option<Rating>, StoreError> {
        either!(self, s => s.rating(code).await)
    }
    async fn rating_counts(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<Vec<(AgencyCode, RatingCounts)>, StoreError> {
        either!(self, s => s.rating_counts(a, b).await)
    }
    async fn held_by(&self, holders: &[AgencyCode], limit: u32) -> Result<Vec<DossierRow>, StoreError> {
        either!(self, s => s.held_by(holders, limit).await)
    }
    async fn registered_online(&self, agencies: &[AgencyCode], limit: u32) -> Result<Vec<DossierRow>, StoreError> {
        either!(self, s => s.registered_online(agencies, limit).await)
    }
    async fn audit(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        either!(self, s => s.audit(before, limit).await)
    }
}
