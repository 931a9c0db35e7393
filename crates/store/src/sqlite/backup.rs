//! `motcua backup --to FILE` on SQLite: `VACUUM INTO` a file beside the destination, on a
//! connection of its own, so the copy is one read transaction's snapshot (WAL: writers go on
//! meanwhile and nothing they commit later is in it) and the writer never waits for it. The
//! copy is checked (`PRAGMA quick_check`, its log counted) and synced before it is renamed to
//! the name asked for, so that name never holds half a backup: a full disk, a read-only
//! folder or a crash leaves at most a `.partial` file, which the next backup replaces.

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::SqliteStore;
use crate::{Backup, StoreError};

/// The file the copy is made in before it is renamed to `dest`.
fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    dest.with_file_name(name)
}

fn failed(what: &str, dest: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backup(format!("{what} {}: {e}", dest.display()))
}

impl SqliteStore {
    /// A consistent copy of the register in the new file `dest`.
    pub async fn backup_to(&self, dest: &Path) -> Result<Backup, StoreError> {
        if dest.as_os_str().is_empty() || dest.file_name().is_none() {
            return Err(StoreError::Backup("give the path of a new file for the backup".into()));
        }
        if tokio::fs::symlink_metadata(dest).await.is_ok() {
            return Err(StoreError::Backup(format!(
                "{} already exists; a backup never overwrites a file: give a new name",
                dest.display()
            )));
        }
        if let Some(dir) = dest.parent()
            && !dir.as_os_str().is_empty()
        {
            tokio::fs::create_dir_all(dir).await.map_err(|e| failed("cannot create the folder of", dest, e))?;
        }
        let partial = partial_path(dest);
        let _ = tokio::fs::remove_file(&partial).await;
        let made = self.copy_into(&partial).await;
        let checked = match made {
            Ok(()) => check(&partial).await,
            Err(e) => Err(e),
        };
        let (events, last_event_id) = match checked {
            Ok(counts) => counts,
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(e);
            }
        };
        let synced = async {
            tokio::fs::File::open(&partial).await?.sync_all().await?;
            tokio::fs::rename(&partial, dest).await?;
            if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
                tokio::fs::File::open(dir).await?.sync_all().await?;
            }
            tokio::fs::metadata(dest).await
        }
        .await;
        match synced {
            Ok(meta) => Ok(Backup { path: dest.to_path_buf(), bytes: meta.len(), events, last_event_id }),
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(failed("cannot write", dest, e))
            }
        }
    }

    /// `VACUUM INTO` on a connection of its own (not the writer: the copy must not hold up
    /// writes; not the read-only pool: `VACUUM INTO` writes the new file).
    async fn copy_into(&self, partial: &Path) -> Result<(), StoreError> {
        let target = partial.to_str().ok_or_else(|| {
            StoreError::Backup(format!("{}: the path is not valid UTF-8; choose another name", partial.display()))
        })?;
        let mut conn = self.file_options().connect().await?;
        let result = sqlx::query("VACUUM INTO ?1").bind(target).execute(&mut conn).await;
        let _ = conn.close().await;
        result.map(|_| ()).map_err(|e| failed("cannot copy the database into", partial, e))
    }
}

/// Opens the copy read-only, checks it and counts its log.
async fn check(partial: &Path) -> Result<(i64, i64), StoreError> {
    let mut conn = SqliteConnectOptions::new()
        .filename(partial)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| failed("cannot open the copy", partial, e))?;
    let result = async {
        let verdict: String = sqlx::query_scalar("PRAGMA quick_check").fetch_one(&mut conn).await?;
        let counts: (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM dossier_events").fetch_one(&mut conn).await?;
        Ok::<_, sqlx::Error>((verdict, counts))
    }
    .await;
    let _ = conn.close().await;
    let (verdict, counts) = result.map_err(|e| failed("cannot read the copy", partial, e))?;
    if verdict != "ok" {
        return Err(failed("the copy failed its check", partial, verdict));
    }
    Ok(counts)
}
