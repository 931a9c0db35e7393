//! Where "now" comes from. Only [`crate::Worker::run`] asks a [`NowSource`]; every step takes
//! its instant as a parameter, so tests and `--as-of` runs are deterministic.

use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// A source of the current instant.
pub trait NowSource: Send + Sync + fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemNow;

impl NowSource for SystemNow {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// An instant that says what it is told (`--as-of`, tests); it moves only when set.
#[derive(Debug)]
pub struct FixedNow(Mutex<DateTime<Utc>>);

impl FixedNow {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut g) = self.0.lock() {
            *g = at;
        }
    }
}

impl NowSource for FixedNow {
    fn now(&self) -> DateTime<Utc> {
        match self.0.lock() {
            Ok(g) => *g,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}
