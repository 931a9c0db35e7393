//! Replays every committed corpus file (`fuzz/corpus/<target>/`) and every reproducer kept in
//! `fuzz/regressions/<target>/` through its target on the stable toolchain: a panic fails the
//! test and names the file.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use motcua_fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_corpus_input_returns_normally() {
    let domain = motcua_fuzz_targets::fixtures::domain();
    assert!(domain.is_ok(), "the repository's configuration does not load: {:?}", domain.err());
    let templates = motcua_fuzz_targets::fixtures::templates();
    assert!(templates.is_ok(), "the repository's templates do not load: {:?}", templates.err());
    assert!(
        motcua_fuzz_targets::fixtures::letter(false).is_some() && motcua_fuzz_targets::fixtures::letter(true).is_some()
    );
    assert!(motcua_fuzz_targets::fixtures::sender().is_some());
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        let corpus = inputs(&fuzz_dir().join("corpus").join(name));
        assert!(corpus.len() >= 3, "fuzz/corpus/{name} holds {} inputs; commit its corpus", corpus.len());
        let regressions = inputs(&fuzz_dir().join("regressions").join(name));
        for path in corpus.iter().chain(&regressions) {
            let data = match fs::read(path) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("{}: cannot read: {e}", path.display()));
                    continue;
                }
            };
            if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
                failures.push(format!("{name}: {} panics", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{} inputs panic:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_target_has_a_fuzz_binary() {
    for (name, _) in TARGETS {
        let file = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = fs::read_to_string(&file).unwrap_or_default();
        assert!(
            text.contains(&format!("motcua_fuzz_targets::{name}(")),
            "{} must call motcua_fuzz_targets::{name}",
            file.display()
        );
    }
}
