//! Helpers: run the real binary against a config folder and a database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn config_dir() -> PathBuf {
    repo().join("config")
}

/// The result of one run of `motcua`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "command failed: {}", self.stderr);
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {}", self.stdout))
    }

    /// Asserts a user error: exit code 2, one clear line on stderr, no panic.
    pub fn assert_user_error(&self, needle: &str) {
        assert_eq!(self.code, 2, "expected exit 2; stdout: {} stderr: {}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "panicked: {}", self.stderr);
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}: {}", self.stderr);
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `motcua --config <config> <args…>` with no database variables inherited.
pub fn motcua_with(config: &Path, db: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_motcua"));
    cmd.env_remove("MOTCUA_DATABASE_URL").env_remove("MOTCUA_CONFIG").arg("--config").arg(config);
    if let Some(db) = db {
        cmd.arg("--db").arg(db);
    }
    finish(cmd.args(args).output().expect("run motcua"))
}

pub fn motcua(args: &[&str]) -> Run {
    motcua_with(&config_dir(), None, args)
}

/// A copy of the config folder that a test may edit.
pub fn config_copy(dir: &Path) -> PathBuf {
    let target = dir.join("config");
    copy_dir(&config_dir(), &target);
    target
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}
