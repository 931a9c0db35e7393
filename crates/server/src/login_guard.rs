//! Login throttling: wrong passwords slow down, then stop, a guesser — per account name and per
//! client address, whether the account exists or not (so the answers do not tell which do).
//!
//! An account name may fail [`ACCOUNT_FREE`] times; each later failure makes the next try wait
//! twice as long (1 s, 2 s, 4 s … at most [`MAX_DELAY_SECS`]); after [`ACCOUNT_LOCK`] failures
//! the name is locked until an administrator unlocks it (`POST /api/v1/staff/{username}/unlock`).
//! A client address may fail [`CLIENT_FREE`] times before its tries are delayed the same way; its
//! count is forgotten after [`CLIENT_FORGET_SECS`] without a failure. A right password clears
//! the account's count. The counts live in the serving process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

pub const ACCOUNT_FREE: u32 = 5;
pub const ACCOUNT_LOCK: u32 = 20;
pub const CLIENT_FREE: u32 = 20;
pub const MAX_DELAY_SECS: i64 = 15 * 60;
pub const CLIENT_FORGET_SECS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

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

/// The failure counts of one serving process.
#[derive(Debug, Default)]
pub struct LoginGuard {
    records: Mutex<HashMap<Key, Record>>,
}

fn account(username: &str) -> Key {
    Key::Account(username.trim().to_lowercase())
}

fn delay(failures: u32, free: u32) -> Option<Duration> {
    let over = failures.checked_sub(free)?;
    let secs = 1i64.checked_shl(over.min(30)).unwrap_or(MAX_DELAY_SECS).min(MAX_DELAY_SECS);
    Some(Duration::seconds(secs))
}

impl LoginGuard {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<Key, Record>) -> T) -> T {
        let mut records = self.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut records)
    }

    /// Whether a login for `username` from `client` may be tried at `now`.
    pub fn check(&self, username: &str, client: IpAddr, now: DateTime<Utc>) -> Result<(), Refusal> {
        self.with(|records| {
            if let Some(r) = records.get(&account(username)) {
                if r.failures >= ACCOUNT_LOCK {
                    return Err(Refusal::Locked);
                }
                if let Some(until) = r.wait_until.filter(|u| *u > now) {
                    return Err(Refusal::Wait(seconds_until(now, until)));
                }
            }
            if let Some(r) = records.get(&Key::Client(client))
                && let Some(until) = r.wait_until.filter(|u| *u > now)
            {
                return Err(Refusal::Wait(seconds_until(now, until)));
            }
            Ok(())
        })
    }

    /// Counts a wrong password (or an unknown or disabled account).
    pub fn failed(&self, username: &str, client: IpAddr, now: DateTime<Utc>) {
        self.with(|records| {
            for (key, free) in [(account(username), ACCOUNT_FREE), (Key::Client(client), CLIENT_FREE)] {
                let r = records.entry(key.clone()).or_default();
                let stale = matches!(key, Key::Client(_))
                    && r.last_failure.is_some_and(|t| now - t > Duration::seconds(CLIENT_FORGET_SECS));
                if stale {
                    *r = Record::default();
                }
                r.failures = r.failures.saturating_add(1);
                r.last_failure = Some(now);
                r.wait_until = delay(r.failures, free).map(|d| now + d);
            }
        });
    }

    /// A right password: the account's count starts again.
    pub fn succeeded(&self, username: &str) {
        self.with(|records| records.remove(&account(username)));
    }

    /// An administrator's unlock: the account name's count and lock are gone. True if there
    /// was anything to clear.
    pub fn unlock(&self, username: &str) -> bool {
        self.with(|records| records.remove(&account(username)).is_some())
    }
}

fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    u64::try_from((until - now).num_milliseconds().max(0)).unwrap_or(0).div_ceil(1000).max(1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn failures_slow_down_then_lock_until_unlocked() {
        let g = LoginGuard::default();
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let mut now = DateTime::parse_from_rfc3339("2025-03-10T02:00:00Z").unwrap().with_timezone(&Utc);
        for _ in 0..ACCOUNT_FREE - 1 {
            assert_eq!(g.check("an.nv", ip, now), Ok(()));
            g.failed("an.nv", ip, now);
        }
        assert_eq!(g.check("an.nv", ip, now), Ok(()), "the fifth try is still free");
        g.failed("an.nv", ip, now);
        assert_eq!(g.check("AN.NV ", ip, now), Err(Refusal::Wait(1)), "names compare case-insensitively");
        now += Duration::seconds(1);
        g.failed("an.nv", ip, now);
        assert_eq!(g.check("an.nv", ip, now), Err(Refusal::Wait(2)), "the delay doubles");
        for _ in 0..ACCOUNT_LOCK {
            now += Duration::seconds(MAX_DELAY_SECS);
            g.failed("an.nv", ip, now);
        }
        now += Duration::days(1);
        assert_eq!(g.check("an.nv", ip, now), Err(Refusal::Locked), "locked until unlocked");
        assert!(g.unlock("an.nv"));
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        assert_eq!(g.check("an.nv", other, now), Ok(()));
        g.succeeded("an.nv");
        assert!(!g.unlock("an.nv"));
    }

    #[test]
    fn one_client_guessing_many_names_is_slowed_too() {
        let g = LoginGuard::default();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let now = DateTime::parse_from_rfc3339("2025-03-10T02:00:00Z").unwrap().with_timezone(&Utc);
        for i in 0..CLIENT_FREE {
            g.failed(&format!("user{i}"), ip, now);
        }
        assert_eq!(g.check("someone.else", ip, now), Err(Refusal::Wait(1)));
        let later = now + Duration::seconds(CLIENT_FORGET_SECS + 1);
        assert_eq!(g.check("someone.else", ip, later), Ok(()));
    }
}
