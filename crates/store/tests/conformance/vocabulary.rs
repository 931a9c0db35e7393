//! The status and event-kind lists frozen in the migrations (trigger conditions, partial
//! indexes) must each be one of core's named sets: `motcua_core::vocab`. A migration cannot
//! call into Rust, so this test reads every `migrations/**/*.sql` file and compares.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use motcua_core::vocab::{ALL_SETS, MEASURED_EVENT_KINDS};

fn migrations() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
}

fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sql_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}

/// A list found in a migration: where, the column it tests, and its items as written.
#[derive(Debug)]
struct Frozen {
    at: String,
    column: &'static str,
    text: String,
    items: Vec<String>,
}

/// Every `<column> IN (…)` and `<column> NOT IN (…)` of `text`, for `column` a whole word
/// (`new.status` counts, `waiting_kind` does not count as `kind`), across line breaks.
fn lists(file: &str, text: &str, column: &'static str) -> Vec<Frozen> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(column).map(|i| i + from) {
        from = i + column.len();
        let before = lower[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = lower[from..].trim_start();
        let rest = rest.strip_prefix("not").map(str::trim_start).unwrap_or(rest);
        let Some(rest) = rest.strip_prefix("in") else { continue };
        let Some(rest) = rest.trim_start().strip_prefix('(') else { continue };
        let Some(end) = rest.find(')') else { continue };
        let start = lower.len() - rest.len();
        let line = lower[..i].matches('\n').count() + 1;
        out.push(Frozen {
            at: format!("{file}:{line}"),
            column,
            text: text[i..start + end + 1].split_whitespace().collect::<Vec<_>>().join(" "),
            items: text[start..start + end].split(',').map(|s| s.trim().to_string()).collect(),
        });
    }
    out
}

#[test]
fn migration_lists_are_core_vocabulary() {
    let root = migrations();
    let mut files = Vec::new();
    sql_files(&root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no migrations under {}", root.display());
    let named: Vec<(&str, BTreeSet<String>)> =
        ALL_SETS.iter().map(|s| (s.name, s.codes().iter().map(u8::to_string).collect())).collect();
    let measured: BTreeSet<String> = MEASURED_EVENT_KINDS.iter().map(|k| format!("'{k}'")).collect();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let file = path.strip_prefix(&root).unwrap_or(path).display().to_string();
        let file = format!("migrations/{file}");
        for f in lists(&file, &text, "status").into_iter().chain(lists(&file, &text, "kind")) {
            let items: BTreeSet<String> = f.items.iter().cloned().collect();
            let ok = match f.column {
                // Quoted words are the outbox's own statuses (pending, sent, dead), not a
                // dossier's.
                "status" if f.items.iter().all(|i| i.starts_with('\'')) => continue,
                "status" => named.iter().any(|(_, set)| *set == items),
                _ => items == measured,
            };
            checked += 1;
            if !ok {
                wrong.push(format!("{}: `{}` is none of core's named lists", f.at, f.text));
            }
        }
    }
    let names: Vec<String> = named.iter().map(|(n, s)| format!("{n} {s:?}")).collect();
    assert!(
        wrong.is_empty(),
        "lists in migrations that core's vocabulary does not name:\n  {}\ncore's status sets: {}; measured event kinds: {:?}",
        wrong.join("\n  "),
        names.join(", "),
        MEASURED_EVENT_KINDS
    );
    assert!(checked >= 20, "only {checked} lists found in the migrations: the scan is broken");
}
