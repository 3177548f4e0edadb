//! Reading and atomically writing one JSON map file of the embedded store (`states.json`,
//! and the `objects.json` of earlier versions, read once to move into the object log).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::states::{Load, StateTable};
use crate::iobroker::now_ms;
use crate::store::compact::Strings;
use crate::store::ids::Ids;
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
            move_aside(path, &parse_err)?;
            Ok(BTreeMap::new())
        }
    }
}

/// Load the states in `path` into `table`, one at a time. Missing file: nothing. Unparsable
/// file: moved aside as [`load`] does, and the table left empty.
pub(super) fn load_states(
    path: &Path,
    ids: &mut Ids,
    strings: &Strings,
    table: &mut StateTable,
) -> Result<(), StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(StoreError::Io(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, file));
    let loaded = serde::de::DeserializeSeed::deserialize(
        Load {
            ids,
            strings,
            table,
        },
        &mut de,
    )
    .and_then(|()| de.end());
    if let Err(parse_err) = loaded {
        *table = StateTable::default();
        move_aside(path, &parse_err)?;
    }
    Ok(())
}

/// Move a corrupt file aside to `<name>.corrupt-<ms>` with a warning.
fn move_aside(path: &Path, parse_err: &dyn std::fmt::Display) -> Result<(), StoreError> {
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
        if path.ends_with(super::LEGACY_OBJECTS_FILE) {
            "object tree"
        } else {
            "set of states"
        },
    );
    Ok(())
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

/// Write a file atomically and owner-only ([`crate::private_file::write_atomically`]).
pub(super) fn save_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), StoreError> {
    crate::private_file::write_atomically(path, write).map_err(|e| StoreError::Io(e.to_string()))
}
