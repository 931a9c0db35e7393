//! Store operations run again when they failed in a way a retry may not meet again.

use std::future::Future;

use motcua_store::StoreError;

/// Runs a store operation again (up to 5 times in all) when it failed in a way a retry may not
/// meet again: with several workers on PostgreSQL, writers of the outbox and of its
/// trigger-maintained counters can deadlock, and the database then rolls one of them back whole.
pub(crate) async fn transient_retry<T, F, Fut>(mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut tries = 0;
    loop {
        match op().await {
            Err(e) if tries < 4 && motcua_store::outbox::is_transient(&e) => {
                tries += 1;
                // Counted by the many-processes test: with counters added in key order there
                // should be none.
                tracing::warn!(error = %e, tries, "store operation rolled back (deadlock or serialization failure): retrying");
                tokio::time::sleep(std::time::Duration::from_millis(5 * (1 << tries))).await;
            }
            other => return other,
        }
    }
}
