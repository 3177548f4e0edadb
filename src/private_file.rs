//! The one way this program writes a file that holds user data (the config with its
//! tokens and PINs, the embedded store's objects and states): owner-only (0600 files in
//! 0700 directories), and a whole file replaced by a synced temporary file and a rename,
//! so that a crash leaves the old file or the new one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Mode of every file written.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every directory made.
pub const DIR_MODE: u32 = 0o700;

/// Make `dir` (and missing parents) owner-only; an existing one that others may enter is
/// closed to them.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    b.mode(DIR_MODE);
    b.create(dir)?;
    tighten(dir, DIR_MODE)
}

/// Open `path` for reading and appending, creating it owner-only; an existing file that
/// others may read is closed to them.
pub fn open_private_append(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).append(true).create(true);
    #[cfg(unix)]
    o.mode(FILE_MODE);
    let f = o.open(path)?;
    tighten(path, FILE_MODE)?;
    Ok(f)
}

/// Create `path` anew, owner-only. A file left there (by a crash, or by someone else with
/// looser permissions, or as a symlink) is removed first: opening it would keep its mode
/// or lead elsewhere.
pub fn create_private_new(path: &Path) -> io::Result<File> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut o = OpenOptions::new();
    o.read(true).write(true).create_new(true);
    #[cfg(unix)]
    o.mode(FILE_MODE);
    o.open(path)
}

/// Replace `path` with what `write` writes: into `<path>.tmp` (owner-only), synced, renamed
/// over `path`, and the rename made durable.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = temporary(path);
    let file = create_private_new(&tmp).map_err(|e| context(e, "cannot create", &tmp))?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    write(&mut w).map_err(|e| context(e, "cannot write", &tmp))?;
    let file = w
        .into_inner()
        .map_err(|e| context(e.into_error(), "cannot write", &tmp))?;
    file.sync_all()
        .map_err(|e| context(e, "cannot sync", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| context(e, "cannot replace", path))?;
    sync_dir(path);
    Ok(())
}

/// `<path>.tmp`, beside it (a rename within one directory is atomic).
pub fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Make a rename in the directory of `path` durable (best effort: not every platform can
/// open a directory).
pub fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn context(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Take group and other permissions away from `path` when it has any.
fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        let meta = fs::metadata(path)?;
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_file_is_replaced_whole_and_owner_only_even_over_a_loose_leftover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("states.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        // A leftover temporary file, readable by all, and a symlink to elsewhere.
        let tmp = temporary(&path);
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, "untouched").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &tmp).unwrap();
        write_atomically(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "untouched");
        assert!(!tmp.exists());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, "old").unwrap();
        let err = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn directories_and_appended_files_are_made_or_closed_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/b");
        create_private_dir(&data).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&data).unwrap();
        assert_eq!(mode(&data), 0o700, "an existing open directory is closed");
        let log = data.join("objects.jsonl");
        drop(open_private_append(&log).unwrap());
        assert_eq!(mode(&log), 0o600);
        fs::set_permissions(&log, fs::Permissions::from_mode(0o644)).unwrap();
        drop(open_private_append(&log).unwrap());
        assert_eq!(mode(&log), 0o600);
    }
}
