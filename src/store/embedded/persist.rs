//! Reading and atomically writing one JSON map file of the embedded store.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::iobroker::now_ms;
use crate::store::StoreError;

/// Load the map in `path`. Missing file: empty. Unparsable file: moved aside to
/// `<name>.corrupt-<ms>` with a warning, then empty, so nothing is silently overwritten.
pub(super) fn load<T: DeserializeOwned>(path: &Path) -> Result<BTreeMap<String, T>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(StoreError::Io(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(map) => Ok(map),
        Err(parse_err) => {
            let aside = aside_name(path);
            fs::rename(path, &aside).map_err(|e| {
                StoreError::Io(format!(
                    "{} is corrupt ({parse_err}) and could not be moved aside to {}: {e}",
                    path.display(),
                    aside.display()
                ))
            })?;
            tracing::warn!(
                "{} is corrupt ({parse_err}); moved it to {} and starting with an empty {}",
                path.display(),
                aside.display(),
                if path.ends_with(super::OBJECTS_FILE) {
                    "object tree"
                } else {
                    "set of states"
                },
            );
            Ok(BTreeMap::new())
        }
    }
}

fn aside_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut ts = now_ms();
    loop {
        let candidate = path.with_file_name(format!("{name}.corrupt-{ts}"));
        if !candidate.exists() {
            return candidate;
        }
        ts += 1;
    }
}

/// `map` as the JSON text of a file.
pub(super) fn serialise<T: Serialize>(map: &BTreeMap<String, T>) -> Result<Vec<u8>, StoreError> {
    let mut text = serde_json::to_vec(map)
        .map_err(|e| StoreError::Io(format!("cannot serialise the store: {e}")))?;
    text.push(b'\n');
    Ok(text)
}

/// Write `text` to `path` atomically: a temp file in the same directory, synced, then
/// renamed over the old file; a crash leaves either the old or the new file.
pub(super) fn save(path: &Path, text: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("json.tmp");
    let io_err =
        |what: &str, e: io::Error| StoreError::Io(format!("{what} {}: {e}", tmp.display()));
    let file = File::create(&tmp).map_err(|e| io_err("cannot create", e))?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    w.write_all(text).map_err(|e| io_err("cannot write", e))?;
    let file = w
        .into_inner()
        .map_err(|e| io_err("cannot write", e.into_error()))?;
    file.sync_all().map_err(|e| io_err("cannot sync", e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| {
        StoreError::Io(format!(
            "cannot rename {} to {}: {e}",
            tmp.display(),
            path.display()
        ))
    })?;
    // Make the rename itself durable (best effort: not every platform can open a directory).
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
