//! Login throttling: wrong passwords slow down, then stop, a guesser — per account name and per
//! client address, whether the account exists or not (so the answers do not tell which do).
//!
//! An account name may fail [`ACCOUNT_FREE`] times; each later failure makes the next try wait
//! twice as long (1 s, 2 s, 4 s … at most [`MAX_DELAY_SECS`]); after [`ACCOUNT_LOCK`] failures
//! the name is locked until an administrator unlocks it (`POST /api/v1/staff/{username}/unlock`
//! or `motcua staff unlock USERNAME`). A right password before the lock clears the count.
//!
//! The account names' counts and locks are kept in the store (`login_failures`), so a lock
//! survives a restart and every server process of one database sees the same count: a guesser
//! cannot reset them by waiting for a deploy, nor multiply their tries by the number of
//! processes behind a load balancer.
//!
//! A client address may fail [`CLIENT_FREE`] times before its tries are delayed the same way;
//! its count is forgotten after [`CLIENT_FORGET_SECS`] without a failure. These counts live in
//! the serving process only, on purpose: they are short-lived (minutes), keyed on addresses an
//! attacker can have many of (writing one row per address and guess would let a spray of
//! addresses turn wrong passwords into database writes), and they never lock anyone out, so a
//! restart that forgets them gives a guesser at most another [`CLIENT_FREE`] tries from that
//! address — while the account names' counts go on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use motcua_store::{LoginFailures, StaffStore, StoreError};

pub const ACCOUNT_FREE: u32 = 5;
pub const ACCOUNT_LOCK: u32 = 20;
pub const CLIENT_FREE: u32 = 20;
pub const MAX_DELAY_SECS: i64 = 15 * 60;
pub const CLIENT_FORGET_SECS: i64 = 15 * 60;

#[derive(Debug, Clone, Default)]
struct Record {
    failures: u32,
    last_failure: Option<DateTime<Utc>>,
    wait_until: Option<DateTime<Utc>>,
}

/// Why a login is not tried now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Try again after this many seconds.
    Wait(u64),
    /// The account name is locked until an administrator unlocks it.
    Locked,
}

/// The client addresses' failure counts of one serving process; the account names' are in
/// the store.
#[derive(Debug, Default)]
pub struct LoginGuard {
    clients: Mutex<HashMap<IpAddr, Record>>,
}

/// The name a count is kept under: trimmed, in lower case, so `An.NV ` and `an.nv` share one.
pub fn account_key(username: &str) -> String {
    username.trim().to_lowercase()
}

fn delay(failures: u32, free: u32) -> Option<Duration> {
    let over = failures.checked_sub(free)?;
    let secs = 1i64.checked_shl(over.min(30)).unwrap_or(MAX_DELAY_SECS).min(MAX_DELAY_SECS);
    Some(Duration::seconds(secs))
}

/// Whether an account name with these failures may be tried at `now`.
fn account_refusal(f: &LoginFailures, now: DateTime<Utc>) -> Result<(), Refusal> {
    if f.locked_at.is_some() || f.failures >= ACCOUNT_LOCK {
        return Err(Refusal::Locked);
    }
    match delay(f.failures, ACCOUNT_FREE).map(|d| f.last_failure_at + d) {
        Some(until) if until > now => Err(Refusal::Wait(seconds_until(now, until))),
        _ => Ok(()),
    }
}

/// An administrator's unlock: the account name's count and lock are gone. True if there was
/// anything to clear.
pub async fn unlock<S: StaffStore>(store: &S, username: &str) -> Result<bool, StoreError> {
    store.clear_login_failures(&account_key(username)).await
}

impl LoginGuard {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<IpAddr, Record>) -> T) -> T {
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut clients)
    }

    /// Whether a login for `username` from `client` may be tried at `now`.
    pub async fn check<S: StaffStore>(
        &self,
        store: &S,
        username: &str,
        client: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, StoreError> {
        if let Some(f) = store.login_failures(&account_key(username)).await? {
            let refusal = account_refusal(&f, now);
            if refusal.is_err() {
                return Ok(refusal);
            }
        }
        Ok(self.check_client(client, now))
    }

    fn check_client(&self, client: IpAddr, now: DateTime<Utc>) -> Result<(), Refusal> {
        self.with(|clients| match clients.get(&client).and_then(|r| r.wait_until).filter(|u| *u > now) {
            Some(until) => Err(Refusal::Wait(seconds_until(now, until))),
            None => Ok(()),
        })
    }

    /// Counts a wrong password (or an unknown or disabled account).
    pub async fn failed<S: StaffStore>(
        &self,
        store: &S,
        username: &str,
        client: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client_failed(client, now);
        store.count_login_failure(&account_key(username), now, ACCOUNT_LOCK).await?;
        Ok(())
    }

    fn client_failed(&self, client: IpAddr, now: DateTime<Utc>) {
        self.with(|clients| {
            let r = clients.entry(client).or_default();
            if r.last_failure.is_some_and(|t| now - t > Duration::seconds(CLIENT_FORGET_SECS)) {
                *r = Record::default();
            }
            r.failures = r.failures.saturating_add(1);
            r.last_failure = Some(now);
            r.wait_until = delay(r.failures, CLIENT_FREE).map(|d| now + d);
        });
    }

    /// A right password: the account's count starts again.
    pub async fn succeeded<S: StaffStore>(&self, store: &S, username: &str) -> Result<(), StoreError> {
        store.clear_login_failures(&account_key(username)).await?;
        Ok(())
    }
}

fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    u64::try_from((until - now).num_milliseconds().max(0)).unwrap_or(0).div_ceil(1000).max(1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-03-10T02:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn failures(n: u32, last: DateTime<Utc>) -> LoginFailures {
        LoginFailures { account: "an.nv".into(), failures: n, last_failure_at: last, locked_at: None }
    }

    #[test]
    fn an_account_name_slows_down_then_locks() {
        let now = t0();
        assert_eq!(account_refusal(&failures(ACCOUNT_FREE - 1, now), now), Ok(()), "the fifth try is still free");
        assert_eq!(account_refusal(&failures(ACCOUNT_FREE, now), now), Err(Refusal::Wait(1)));
        assert_eq!(account_refusal(&failures(ACCOUNT_FREE + 1, now), now), Err(Refusal::Wait(2)), "the delay doubles");
        let one = failures(ACCOUNT_FREE + 1, now);
        assert_eq!(account_refusal(&one, now + Duration::seconds(2)), Ok(()));
        let long = failures(ACCOUNT_LOCK - 1, now);
        assert_eq!(account_refusal(&long, now), Err(Refusal::Wait(u64::try_from(MAX_DELAY_SECS).unwrap())));
        let locked = LoginFailures { locked_at: Some(now), ..failures(3, now) };
        assert_eq!(account_refusal(&locked, now + Duration::days(30)), Err(Refusal::Locked), "locked until unlocked");
        assert_eq!(account_refusal(&failures(ACCOUNT_LOCK, now), now + Duration::days(30)), Err(Refusal::Locked));
        assert_eq!(account_key(" AN.NV "), "an.nv", "names compare case-insensitively");
    }

    #[test]
    fn one_client_guessing_many_names_is_slowed_too() {
        let g = LoginGuard::default();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let now = t0();
        for _ in 0..CLIENT_FREE {
            assert_eq!(g.check_client(ip, now), Ok(()));
            g.client_failed(ip, now);
        }
        assert_eq!(g.check_client(ip, now), Err(Refusal::Wait(1)));
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        assert_eq!(g.check_client(other, now), Ok(()), "per address");
        let later = now + Duration::seconds(CLIENT_FORGET_SECS + 1);
        assert_eq!(g.check_client(ip, later), Ok(()));
        g.client_failed(ip, later);
        assert_eq!(g.check_client(ip, later), Ok(()), "the count was forgotten");
    }
}
