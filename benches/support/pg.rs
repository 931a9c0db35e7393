//! A fresh PostgreSQL database for a benchmark's run.

/// Drops and creates database `name` on the server of `base` (a URL ending in `/<database>`);
/// the new database's URL.
pub async fn fresh_pg(base: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
    let i = base.rfind('/').ok_or_else(|| anyhow::anyhow!("database URL without a database: {base}"))?;
    Ok(format!("{}/{name}", &base[..i]))
}
