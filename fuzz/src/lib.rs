//! iobroker-hmip's fuzz targets, and a runner for them that needs nothing but the stable
//! toolchain.
//!
//! - [`targets`]: `event_parser`, `model`, `resp_decoder`. The libFuzzer entries in
//!   `fuzz_targets/` call them (`cargo fuzz run <target>`, see `fuzz/README.md`).
//! - [`run_target`]: the committed corpus (`fuzz/corpus/<target>/`) plus seeded mutations
//!   of it ([`mutate`]), every input under `catch_unwind`, failures kept with the input
//!   that caused them. No coverage feedback and no clock: a seed always runs the same
//!   inputs. The adapter's test `tests/fuzz_smoke.rs` includes this file, so `cargo test`
//!   runs it on every target; `fuzz/run` drives both runners.

pub mod mutate;
pub mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Inputs the runner's mutations may grow to (corpus files may be longer).
pub const MAX_LEN: usize = 64 * 1024;

/// After this many failing inputs a target's run stops: one is enough to act on.
const MAX_FAILURES: usize = 5;

/// One input that made a target panic.
#[derive(Debug)]
pub struct Failure {
    /// Where it came from: a corpus file, or `mutation N of <file>`.
    pub origin: String,
    /// The panic message.
    pub message: String,
    /// The input itself.
    pub input: Vec<u8>,
}

/// What one run of a target did.
#[derive(Debug)]
pub struct Report {
    /// The target's name.
    pub target: String,
    /// Corpus files run.
    pub corpus: usize,
    /// Mutations run.
    pub mutations: u64,
    /// The inputs that failed.
    pub failures: Vec<Failure>,
}

/// The files of a corpus directory, by name (none when it does not exist).
pub fn load_corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (!name.starts_with('.') && name != "README.md")
                .then(|| std::fs::read(e.path()).ok().map(|b| (name, b)))
                .flatten()
        })
        .collect();
    files.sort();
    files
}

/// Every token of the dictionaries in `dir` (`*.dict`).
pub fn load_dict(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "dict"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|t| mutate::parse_dict(&t))
        .collect()
}

/// Run `target` on every corpus input, then on `mutations` mutations of them from `seed`.
pub fn run_target(
    name: &str,
    target: fn(&[u8]),
    corpus: &[(String, Vec<u8>)],
    dict: &[Vec<u8>],
    mutations: u64,
    seed: u64,
) -> Report {
    let mut report = Report {
        target: name.to_string(),
        corpus: 0,
        mutations: 0,
        failures: Vec::new(),
    };
    let check = |origin: String, input: &[u8], report: &mut Report| {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| target(input))) {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic without a message".into());
            report.failures.push(Failure {
                origin,
                message,
                input: input.to_vec(),
            });
        }
        report.failures.len() < MAX_FAILURES
    };
    for (file, input) in corpus {
        report.corpus += 1;
        if !check(file.clone(), input, &mut report) {
            return report;
        }
    }
    if corpus.is_empty() {
        return report;
    }
    let mut rng = mutate::Rng::new(seed);
    for n in 0..mutations {
        let (file, base) = rng.pick(corpus);
        let (_, other) = rng.pick(corpus);
        let input = mutate::mutate(&mut rng, base, other, dict, MAX_LEN);
        report.mutations += 1;
        if !check(
            format!("mutation {n} of {file} (seed {seed})"),
            &input,
            &mut report,
        ) {
            break;
        }
    }
    report
}

/// Write each failing input to `dir/<target>/crash-<n>` (as cargo fuzz keeps its
/// artifacts), so it can be replayed and added to the corpus. Returns the paths.
pub fn save_failures(report: &Report, dir: &Path) -> Vec<PathBuf> {
    let dir = dir.join(&report.target);
    let _ = std::fs::create_dir_all(&dir);
    report
        .failures
        .iter()
        .enumerate()
        .filter_map(|(n, f)| {
            let path = dir.join(format!("crash-{n}"));
            std::fs::write(&path, &f.input).ok().map(|_| path)
        })
        .collect()
}
