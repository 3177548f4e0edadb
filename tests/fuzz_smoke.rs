//! The fuzz targets on the stable toolchain, as part of `cargo test`: each target runs
//! over its committed corpus (`fuzz/corpus/<target>/`, which holds the regression input
//! of every bug the fuzzers found) plus seeded mutations of it. See `fuzz/README.md`.
//!
//! `FUZZ_MUTATIONS` (per target; default 300) and `FUZZ_SEED` (default 1) make it a longer
//! run, `FUZZ_TARGETS=model,resp_decoder` picks targets; `fuzz/run --stable` sets them.
//! `FUZZ_REPLAY=FILE` runs just that input through the chosen targets.
//! A failing input is written to `target/fuzz-artifacts/<target>/crash-N`.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz;

use std::path::Path;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
        Err(_) => default,
    }
}

#[test]
fn every_target_survives_its_corpus_and_mutations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mutations = env_u64("FUZZ_MUTATIONS", 300);
    let seed = env_u64("FUZZ_SEED", 1);
    let only = std::env::var("FUZZ_TARGETS").ok();
    let dict = fuzz::load_dict(&root.join("dict"));
    assert!(!dict.is_empty(), "no dictionary in fuzz/dict");
    // The panics are caught and reported below; keep the default hook from printing each.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = Vec::new();
    for (name, target) in fuzz::targets::TARGETS {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|t| t.trim() == *name))
        {
            continue;
        }
        let (corpus, mutations) = match std::env::var_os("FUZZ_REPLAY") {
            Some(file) => {
                let input = std::fs::read(&file).expect("FUZZ_REPLAY names a readable file");
                (vec![(file.to_string_lossy().into_owned(), input)], 0)
            }
            None => {
                let corpus = fuzz::load_corpus(&root.join("corpus").join(name));
                assert!(corpus.len() >= 5, "fuzz/corpus/{name} has too few inputs");
                (corpus, mutations)
            }
        };
        let report = fuzz::run_target(name, *target, &corpus, &dict, mutations, seed);
        println!(
            "{name}: {} corpus inputs, {} mutations (seed {seed}), {} failures",
            report.corpus,
            report.mutations,
            report.failures.len()
        );
        if !report.failures.is_empty() {
            let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-artifacts");
            let saved = fuzz::save_failures(&report, &artifacts);
            for (f, path) in report.failures.iter().zip(&saved) {
                failed.push(format!(
                    "{name}: {} panicked: {}\n  input saved to {}",
                    f.origin,
                    f.message,
                    path.display()
                ));
            }
        }
    }
    let _ = std::panic::take_hook();
    assert!(failed.is_empty(), "\n{}", failed.join("\n"));
}
