//! The embedded store's objects, kept on disk: an append-only file of records, one per
//! line, and in memory only where each object's latest record is.
//!
//! A home's objects are written once (at the first start, and when a device changes
//! shape) and read rarely (a client's query, a restart), yet they were most of the
//! store's memory. Here an object costs 8 bytes of index in memory; a query reads its
//! record back from the file (the page cache keeps the hot ones).
//!
//! Records: the object's JSON text (`{"_id":…}`), or `{"del":"<id>"}` for a deletion,
//! each followed by a newline. A write appends and returns without waiting for the disk;
//! the persistence thread syncs the file shortly after. A crash between writes loses at
//! most the records not yet synced, and a record torn by a crash (no newline at the end
//! of the file) is cut off when the file is opened again. When the file holds more than
//! twice what is live (objects replaced or deleted), it is rewritten with the live records
//! only: into a temp file, synced, renamed over the old one.
//!
//! Without a data directory the same records are kept in a buffer in memory.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::store::ids::{slot, Id, Ids};
use crate::store::StoreError;

/// Longest record the index can address (its length has 24 bits).
const MAX_RECORD: usize = (1 << 24) - 1;
/// Rewrite when the file holds this much more than what is live, and more than twice it.
const COMPACT_SLACK: u64 = 1 << 20;

/// Where the records are.
enum Backing {
    Memory(Vec<u8>),
    File { file: File, path: PathBuf },
}

/// The objects: records and, per id, where its latest one is.
pub(super) struct ObjectLog {
    /// Per [`Id::index`]: `offset << 24 | length` of its record (newline excluded); 0 =
    /// no object (a record is never empty).
    index: Vec<u64>,
    backing: Backing,
    /// Bytes in the file (or buffer).
    len: u64,
    /// Bytes of the live records (newlines included).
    live: u64,
    count: usize,
    /// Appended since the last sync.
    unsynced: bool,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(rename = "_id", borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    del: Option<Cow<'a, str>>,
}

fn pack(offset: u64, len: usize) -> u64 {
    offset << 24 | len as u64
}

fn unpack(e: u64) -> (u64, usize) {
    (e >> 24, (e & MAX_RECORD as u64) as usize)
}

fn io_err(what: &str, path: &Path, e: io::Error) -> StoreError {
    StoreError::Io(format!("{what} {}: {e}", path.display()))
}

/// Open a file of the store for appending and reading, owner-only when it is created.
fn open_rw(path: &Path) -> io::Result<File> {
    crate::private_file::open_private_append(path)
}

impl ObjectLog {
    /// Objects in memory only.
    pub(super) fn in_memory() -> ObjectLog {
        ObjectLog {
            index: Vec::new(),
            backing: Backing::Memory(Vec::new()),
            len: 0,
            live: 0,
            count: 0,
            unsynced: false,
        }
    }

    /// Open (or create) the file at `path`, indexing its records; a torn last record is
    /// cut off.
    pub(super) fn open(path: &Path, ids: &mut Ids) -> Result<ObjectLog, StoreError> {
        let file = open_rw(path).map_err(|e| io_err("cannot open", path, e))?;
        let mut log = ObjectLog {
            index: Vec::new(),
            backing: Backing::File {
                file: file
                    .try_clone()
                    .map_err(|e| io_err("cannot open", path, e))?,
                path: path.to_path_buf(),
            },
            len: 0,
            live: 0,
            count: 0,
            unsynced: false,
        };
        let mut r = BufReader::with_capacity(1 << 16, file);
        let mut line = Vec::new();
        let mut offset = 0u64;
        let mut skipped = 0usize;
        loop {
            line.clear();
            let n = r
                .read_until(b'\n', &mut line)
                .map_err(|e| io_err("cannot read", path, e))?;
            if n == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                tracing::warn!(
                    "{}: cutting off a torn last record ({n} bytes; a crash while writing)",
                    path.display()
                );
                break;
            }
            let text = &line[..n - 1];
            match serde_json::from_slice::<Record>(text) {
                Ok(Record { id: Some(id), .. }) if text.len() <= MAX_RECORD => {
                    let id = ids.intern(&id);
                    log.place(id, offset, text.len());
                }
                Ok(Record { del: Some(id), .. }) => {
                    if let Some(id) = ids.lookup(&id) {
                        log.remove(id);
                    }
                }
                _ => skipped += 1,
            }
            offset += n as u64;
        }
        if skipped > 0 {
            tracing::warn!("{}: {skipped} unreadable records skipped", path.display());
        }
        log.len = offset;
        if let Backing::File { file, .. } = &log.backing {
            if file.metadata().map(|m| m.len()).unwrap_or(offset) != offset {
                file.set_len(offset)
                    .map_err(|e| io_err("cannot truncate", path, e))?;
            }
        }
        Ok(log)
    }

    fn place(&mut self, id: Id, offset: u64, len: usize) {
        let old = std::mem::replace(slot(&mut self.index, id, || 0), pack(offset, len));
        if old == 0 {
            self.count += 1;
        } else {
            self.live -= unpack(old).1 as u64 + 1;
        }
        self.live += len as u64 + 1;
    }

    /// Forget the object of `id`; whether there was one.
    fn remove(&mut self, id: Id) -> bool {
        let Some(e) = self.index.get_mut(id.index()) else {
            return false;
        };
        let old = std::mem::take(e);
        if old == 0 {
            return false;
        }
        self.count -= 1;
        self.live -= unpack(old).1 as u64 + 1;
        true
    }

    /// Number of objects.
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// Whether `id` has an object.
    pub(super) fn contains(&self, id: Id) -> bool {
        self.index.get(id.index()).is_some_and(|&e| e != 0)
    }

    /// The ids that have an object, in id order.
    pub(super) fn ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.index
            .iter()
            .enumerate()
            .filter(|(_, &e)| e != 0)
            .map(|(i, _)| Id::from_index(i))
    }

    /// The JSON text of the object of `id`.
    pub(super) fn get(&self, id: Id) -> Result<Option<String>, StoreError> {
        let Some(&e) = self.index.get(id.index()).filter(|&&e| e != 0) else {
            return Ok(None);
        };
        let (offset, len) = unpack(e);
        let bytes = match &self.backing {
            Backing::Memory(buf) => buf[offset as usize..offset as usize + len].to_vec(),
            Backing::File { file, path } => {
                let mut buf = vec![0; len];
                read_at(file, &mut buf, offset).map_err(|e| io_err("cannot read", path, e))?;
                buf
            }
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| StoreError::Corrupt("an object record is not UTF-8".into()))
    }

    /// Append the objects' texts (one JSON object each, without newlines).
    pub(super) fn put(&mut self, objects: Vec<(Id, String)>) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(objects.iter().map(|(_, t)| t.len() + 1).sum());
        let mut places = Vec::with_capacity(objects.len());
        for (id, text) in objects {
            if text.len() > MAX_RECORD || text.contains('\n') {
                return Err(StoreError::Io(format!(
                    "an object of {} bytes cannot be stored",
                    text.len()
                )));
            }
            places.push((id, self.len + buf.len() as u64, text.len()));
            buf.extend_from_slice(text.as_bytes());
            buf.push(b'\n');
        }
        self.append(&buf)?;
        for (id, offset, len) in places {
            self.place(id, offset, len);
        }
        self.compact_in_memory()
    }

    /// A buffer in memory has no persistence thread to compact it: done here, when due.
    fn compact_in_memory(&mut self) -> Result<(), StoreError> {
        if matches!(self.backing, Backing::Memory(_)) && self.wants_compaction() {
            self.compact()?;
        }
        Ok(())
    }

    /// Delete the objects of these ids (name, id); how many there were.
    pub(super) fn delete(&mut self, ids: &[(&str, Id)]) -> Result<usize, StoreError> {
        let mut buf = Vec::new();
        let present: Vec<Id> = ids
            .iter()
            .filter(|(_, id)| self.contains(*id))
            .map(|(name, id)| {
                let rec = serde_json::json!({ "del": name });
                buf.extend_from_slice(rec.to_string().as_bytes());
                buf.push(b'\n');
                *id
            })
            .collect();
        if present.is_empty() {
            return Ok(0);
        }
        self.append(&buf)?;
        for id in &present {
            self.remove(*id);
        }
        self.compact_in_memory()?;
        Ok(present.len())
    }

    fn append(&mut self, buf: &[u8]) -> Result<(), StoreError> {
        match &mut self.backing {
            Backing::Memory(mem) => mem.extend_from_slice(buf),
            Backing::File { file, path } => {
                if let Err(e) = file.write_all(buf) {
                    // Cut a partial write off, so the next record starts on its own line.
                    let _ = file.set_len(self.len);
                    return Err(io_err("cannot write", path, e));
                }
                self.unsynced = true;
            }
        }
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Make the appended records durable.
    pub(super) fn sync(&mut self) -> Result<(), StoreError> {
        if let Backing::File { file, path } = &self.backing {
            if self.unsynced {
                file.sync_data()
                    .map_err(|e| io_err("cannot sync", path, e))?;
                self.unsynced = false;
            }
        }
        Ok(())
    }

    /// Whether the file holds so much that is no longer live that it should be rewritten.
    pub(super) fn wants_compaction(&self) -> bool {
        let dead = self.len - self.live;
        dead > COMPACT_SLACK && dead > self.live
    }

    /// Bytes of the file (or buffer): what a compaction shrinks.
    pub(super) fn file_len(&self) -> u64 {
        self.len
    }

    /// Rewrite the file with the live records only (in id order).
    pub(super) fn compact(&mut self) -> Result<(), StoreError> {
        let mut index = vec![0u64; self.index.len()];
        let mut offset = 0u64;
        let mut copy = |w: &mut dyn Write, this: &ObjectLog| -> Result<(), StoreError> {
            for id in this.ids() {
                let text = this.get(id)?.unwrap_or_default();
                w.write_all(text.as_bytes())
                    .and_then(|_| w.write_all(b"\n"))
                    .map_err(|e| StoreError::Io(format!("cannot compact the objects: {e}")))?;
                index[id.index()] = pack(offset, text.len());
                offset += text.len() as u64 + 1;
            }
            Ok(())
        };
        let backing = match &self.backing {
            Backing::Memory(_) => {
                let mut mem = Vec::with_capacity(self.live as usize);
                copy(&mut mem, self)?;
                Backing::Memory(mem)
            }
            Backing::File { path, .. } => {
                let tmp = path.with_extension("jsonl.tmp");
                let f = crate::private_file::create_private_new(&tmp)
                    .map_err(|e| io_err("cannot create", &tmp, e))?;
                let mut w = BufWriter::with_capacity(1 << 16, f);
                copy(&mut w, self)?;
                let f = w
                    .into_inner()
                    .map_err(|e| io_err("cannot write", &tmp, e.into_error()))?;
                f.sync_all().map_err(|e| io_err("cannot sync", &tmp, e))?;
                fs::rename(&tmp, path).map_err(|e| io_err("cannot rename", &tmp, e))?;
                crate::private_file::sync_dir(path);
                Backing::File {
                    file: f,
                    path: path.clone(),
                }
            }
        };
        self.backing = backing;
        self.index = index;
        self.len = offset;
        self.live = offset;
        self.unsynced = false;
        Ok(())
    }

    /// Bytes of memory the index takes.
    pub(super) fn heap_bytes(&self) -> usize {
        self.index.capacity() * 8
            + match &self.backing {
                Backing::Memory(m) => m.capacity(),
                Backing::File { .. } => 0,
            }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, offset)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}
