//! Building a tape, sealing it into a fixed layout, and reading any byte range of it.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::entry::{Entry, EntryKind};
use crate::error::{show_name, Error, Result};
use crate::header;
use crate::layout::{Layout, Position, Slot};
use crate::name;
use crate::source::{pread_full, read_at_full, ReadAtSource, Source};
use crate::stream::Stream;
use crate::walk::{self, Skipped, WalkOptions};

/// The metadata of an entry added from memory.
#[derive(Debug, Clone)]
pub struct MemoryEntry {
    /// The archive name (validated and normalised when added).
    pub name: Vec<u8>,
    /// File, directory or symlink.
    pub kind: EntryKind,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Content size (files only).
    pub size: u64,
    /// Symlink target (symlinks only).
    pub link: Vec<u8>,
}

impl MemoryEntry {
    /// A regular file of `size` bytes.
    pub fn file(name: impl Into<Vec<u8>>, size: u64, mode: u32, mtime: i64) -> Self {
        MemoryEntry {
            name: name.into(),
            kind: EntryKind::File,
            mode,
            mtime,
            size,
            link: Vec::new(),
        }
    }
}

/// Collects entries; [`TapeBuilder::seal`] fixes their layout.
#[derive(Debug, Default)]
pub struct TapeBuilder {
    entries: Vec<Entry>,
    skipped: Vec<Skipped>,
    options: WalkOptions,
}

impl TapeBuilder {
    /// An empty builder with default options (anonymous owners, special files skipped).
    pub fn new() -> Self {
        Self::default()
    }

    /// The walk options for paths added from now on.
    pub fn options_mut(&mut self) -> &mut WalkOptions {
        &mut self.options
    }

    /// Adds a file, symlink or directory (recursively). `name` is the name inside the archive;
    /// `None` uses the path's last component.
    pub fn add_path(&mut self, path: &Path, name: Option<&[u8]>) -> Result<()> {
        let name = match name {
            Some(n) => name::normalize(n)?,
            None => walk::default_name(path)?,
        };
        let before = self.entries.len();
        let result = walk::walk(
            path,
            &name,
            &self.options,
            &mut self.entries,
            &mut self.skipped,
        );
        if result.is_err() {
            // All or nothing: a failed walk leaves the builder as it was.
            self.entries.truncate(before);
        }
        result
    }

    /// Adds an entry whose content comes from `source`.
    pub fn add(&mut self, meta: MemoryEntry, source: Source) -> Result<()> {
        let name = name::normalize(&meta.name)?;
        let size = match meta.kind {
            EntryKind::File => meta.size,
            EntryKind::Dir | EntryKind::Symlink => 0,
        };
        if let Source::Bytes(b) = &source {
            if b.len() as u64 != size {
                return Err(Error::SizeMismatch {
                    name: show_name(&name),
                    what: format!("declared {size} bytes, buffer holds {}", b.len()),
                });
            }
        }
        if meta.kind == EntryKind::Symlink && (meta.link.is_empty() || meta.link.contains(&0)) {
            return Err(Error::InvalidArgument(format!(
                "symlink {}: the target must be non-empty and without NUL",
                show_name(&name)
            )));
        }
        if meta.mode > 0o7777 {
            return Err(Error::InvalidArgument(format!(
                "{}: mode {:o} has bits beyond 07777",
                show_name(&name),
                meta.mode
            )));
        }
        let source = if size == 0 { Source::Empty } else { source };
        self.entries.push(Entry {
            name: name.into_boxed_slice(),
            kind: meta.kind,
            mode: meta.mode,
            mtime: meta.mtime,
            size,
            link: meta.link.into_boxed_slice(),
            owner: None,
            source,
        });
        Ok(())
    }

    /// Adds a file whose bytes the caller pushes when the stream reaches it.
    pub fn add_push(&mut self, name: &[u8], size: u64, mode: u32, mtime: i64) -> Result<()> {
        self.add(MemoryEntry::file(name, size, mode, mtime), Source::Push)
    }

    /// Adds a file whose bytes are `data`.
    pub fn add_bytes(
        &mut self,
        name: &[u8],
        data: impl Into<Arc<[u8]>>,
        mode: u32,
        mtime: i64,
    ) -> Result<()> {
        let data = data.into();
        self.add(
            MemoryEntry::file(name, data.len() as u64, mode, mtime),
            Source::Bytes(data),
        )
    }

    /// Adds a file of `size` bytes read from `source` at any offset.
    pub fn add_read_at(
        &mut self,
        name: &[u8],
        size: u64,
        mode: u32,
        mtime: i64,
        source: Arc<dyn ReadAtSource>,
    ) -> Result<()> {
        self.add(
            MemoryEntry::file(name, size, mode, mtime),
            Source::ReadAt(source),
        )
    }

    /// The entries added so far.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Special files met in walks and left out.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Checks that the entries can be sealed: no name appears twice (an archive name must say
    /// which entry it is).
    pub fn check(&self) -> Result<()> {
        let mut order: Vec<u32> = (0..self.entries.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            self.entries[a as usize]
                .name
                .cmp(&self.entries[b as usize].name)
        });
        for pair in order.windows(2) {
            let (a, b) = (
                &self.entries[pair[0] as usize],
                &self.entries[pair[1] as usize],
            );
            if a.name == b.name {
                return Err(Error::InvalidName {
                    name: show_name(&a.name),
                    reason: "added twice",
                });
            }
        }
        Ok(())
    }

    /// Fixes the layout. Fails on duplicate names.
    pub fn seal(self) -> Result<Tape> {
        self.check()?;
        Ok(Tape::from_layout(Layout::build(self.entries), self.skipped))
    }
}

/// A sealed tape: a fixed layout that can be streamed from any offset and read at random.
///
/// `Tape` is `Send + Sync`: [`Tape::read_at`] may run on many threads at once.
pub struct Tape {
    layout: Layout,
    skipped: Vec<Skipped>,
    open_files: OpenFiles,
}

impl Tape {
    /// A tape over an existing layout.
    pub fn from_layout(layout: Layout, skipped: Vec<Skipped>) -> Tape {
        Tape {
            layout,
            skipped,
            open_files: OpenFiles::default(),
        }
    }

    /// The layout: every entry with its offsets.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The archive's size in bytes.
    pub fn total_size(&self) -> u64 {
        self.layout.total_size()
    }

    /// Special files met while adding paths and left out.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// A stream of events from `offset` (0 for the whole archive). `md5` computes each file's MD5
    /// for FILE_END when the stream reads its content from the start.
    pub fn stream(self: &Arc<Self>, offset: u64, md5: bool) -> Result<Stream> {
        Stream::new(self.clone(), offset, md5)
    }

    /// Fills `buf` with the archive bytes at `offset`; returns how many bytes were written, which
    /// is `buf.len()` unless the archive ends first (0 at or past the end).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let total = self.total_size();
        if offset >= total {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(total - offset) as usize;
        let mut done = 0;
        let mut pos = offset;
        let mut index = match self.layout.find(offset) {
            Position::Entry(i) => i,
            _ => self.layout.slots().len(),
        };
        let mut header = Vec::new();
        while done < want {
            let Some(slot) = self.layout.slot(index) else {
                // The trailer: zeros.
                buf[done..want].fill(0);
                done = want;
                break;
            };
            let n = self.read_slot(slot, pos, &mut buf[done..want], &mut header)?;
            done += n;
            pos += n as u64;
            index += 1;
        }
        Ok(done)
    }

    /// Copies the bytes of `slot` from archive offset `pos` into `out` (up to the slot's end).
    fn read_slot(
        &self,
        slot: &Slot,
        pos: u64,
        out: &mut [u8],
        header_buf: &mut Vec<u8>,
    ) -> Result<usize> {
        let end = slot.end_offset();
        let len = ((end - pos) as usize).min(out.len());
        let out = &mut out[..len];
        let data_offset = slot.data_offset();
        let mut filled = 0;
        if pos < data_offset {
            header::encode(&slot.entry, header_buf);
            let from = (pos - slot.header_offset) as usize;
            let n = (header_buf.len() - from).min(out.len());
            out[..n].copy_from_slice(&header_buf[from..from + n]);
            filled = n;
        }
        let content_pos = pos + filled as u64 - data_offset;
        let size = slot.entry.size;
        if filled < out.len() && content_pos < size {
            let n = ((size - content_pos) as usize).min(out.len() - filled);
            self.read_content(slot, content_pos, &mut out[filled..filled + n])?;
            filled += n;
        }
        out[filled..].fill(0); // padding
        Ok(len)
    }

    /// Reads exactly `out.len()` content bytes of `slot` at `content_pos`.
    pub(crate) fn read_content(&self, slot: &Slot, content_pos: u64, out: &mut [u8]) -> Result<()> {
        let entry = &slot.entry;
        let got = match &entry.source {
            Source::Empty => 0,
            Source::Bytes(b) => {
                let start = content_pos as usize;
                out.copy_from_slice(&b[start..start + out.len()]);
                out.len()
            }
            Source::File(f) => {
                let file = self.open_files.get(slot, f)?;
                let got = pread_full(&file, content_pos, out)
                    .map_err(|e| Error::io(f.path(&entry.name), e))?;
                // The file stays open between calls: check that it is still what was recorded, so
                // that bytes edited after an earlier read_at are never returned as its content.
                f.check(&entry.name, &file)?;
                got
            }
            Source::ReadAt(src) => read_at_full(src.as_ref(), content_pos, out).map_err(|e| {
                Error::Callback(format!(
                    "{}: reading at {content_pos}: {e}",
                    show_name(&entry.name)
                ))
            })?,
            Source::Push => {
                return Err(Error::NotRandomAccess(format!(
                "{}: its bytes are pushed by the caller while streaming and cannot be read again",
                show_name(&entry.name)
            )))
            }
        };
        if got < out.len() {
            return Err(Error::Changed {
                name: show_name(&entry.name),
                what: format!(
                    "shrank: only {} of {} bytes at offset {content_pos}",
                    got,
                    out.len()
                ),
            });
        }
        Ok(())
    }
}

/// Files kept open for random access, checked against their recorded identity when opened.
#[derive(Default)]
struct OpenFiles {
    files: Mutex<HashMap<u64, Arc<File>>>,
}

/// How many files `read_at` keeps open at once.
const OPEN_FILES_MAX: usize = 64;

impl OpenFiles {
    fn get(&self, slot: &Slot, source: &crate::source::FileSource) -> Result<Arc<File>> {
        let key = slot.header_offset;
        if let Some(f) = self.lock().get(&key) {
            return Ok(f.clone());
        }
        let file = Arc::new(source.open_checked(&slot.entry.name)?);
        let mut files = self.lock();
        if files.len() >= OPEN_FILES_MAX {
            files.clear();
        }
        files.insert(key, file.clone());
        Ok(file)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<File>>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }
}
