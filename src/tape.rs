//! Building a tape, sealing it into a fixed layout, and reading any byte range of it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::checksum::Checksums;
use crate::compress::{Compress, Frames};
use crate::entry::{Entry, EntryKind};
use crate::error::{show_name, Error, Result};
use crate::header;
use crate::layout::{Format, Layout, Position, Slot};
use crate::name;
use crate::openfiles::{Cached, OpenFiles};
use crate::seekable::FrameCache;
use crate::source::{read_at_full, ReadAtSource, Source};
use crate::stream::Stream;
use crate::walk::{self, Skipped, WalkOptions};
use crate::zip::header as zip;

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
    /// For ZIP: this entry's deflate level (0 stores it, 1 to 9 deflate it); `None` uses the
    /// tape's ([`TapeBuilder::set_deflate`]).
    pub level: Option<u8>,
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
            level: None,
        }
    }
}

/// Collects entries; [`TapeBuilder::seal`] fixes their layout.
///
/// Directory trees ([`TapeBuilder::add_path`]), whole buffers, read-at callbacks and entries fed
/// later by push ([`TapeBuilder::add_push`], answered with [`Stream::feed`](crate::Stream::feed))
/// mix freely; the same entries always give the same bytes.
///
/// ```
/// use tartape::{Format, TapeBuilder};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("tartape-doc-builder-{}", std::process::id()));
/// # std::fs::create_dir_all(dir.join("sub"))?;
/// # std::fs::write(dir.join("sub/a.txt"), b"alpha")?;
/// let mut builder = TapeBuilder::new();
/// builder.set_format(Format::Zip);
/// builder.options_mut().exclude.push(b".git".to_vec());
/// builder.add_path(&dir, Some(b"data"))?; // the tree under the name "data"
/// builder.add_bytes(b"README", b"generated\n".to_vec(), 0o644, 0)?;
/// let tape = builder.seal()?;
/// assert_eq!(tape.len(), 4); // data, data/sub, data/sub/a.txt, README
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct TapeBuilder {
    entries: Vec<Entry>,
    skipped: Vec<Skipped>,
    options: WalkOptions,
    checksums: Checksums,
    format: Format,
    level: u8,
    /// Entries whose level was chosen when added (by index), kept over the tape's level.
    own_level: HashMap<usize, u8>,
    /// gzip or zstd around the whole TAR.
    compress: Option<Compress>,
    /// Content alignment (0: none).
    align: u64,
}

impl TapeBuilder {
    /// An empty builder with default options (anonymous owners, special files skipped).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the MD5 and CRC-32 of every file when sealing (reading every file once), so that
    /// FILE_END reports the MD5 even for a resumed entry and deep verification can compare content.
    /// The same as [`TapeBuilder::record_checksums`] with [`Checksums::DEFAULT`] (or
    /// [`Checksums::NONE`] when `on` is false).
    pub fn set_checksums(&mut self, on: bool) {
        self.checksums = if on {
            Checksums::DEFAULT
        } else {
            Checksums::NONE
        };
    }

    /// Records the checksums in `which` of every file when sealing (reading every file once, on two
    /// threads): MD5, CRC-32, SHA-256, CRC-32C in any combination. Each entry then carries them
    /// ([`Entry::md5`], [`Entry::crc32`], [`Entry::sha256`], [`Entry::crc32c`]), catalogs keep them,
    /// FILE_END events carry them (`entry`), and deep verification compares each of them with the
    /// disk. A catalog with SHA-256 or CRC-32C is written in catalog format version 2.
    ///
    /// ```
    /// use tartape::{Checksums, TapeBuilder};
    ///
    /// # fn main() -> tartape::Result<()> {
    /// let mut builder = TapeBuilder::new();
    /// builder.record_checksums(Checksums::SHA256 | Checksums::CRC32C);
    /// builder.add_bytes(b"a.txt", b"123456789".to_vec(), 0o644, 0)?;
    /// let tape = builder.seal()?;
    /// let entry = tape.slot(0)?.entry;
    /// assert_eq!(entry.crc32c, Some(0xe306_9283));
    /// assert!(entry.sha256.is_some() && entry.md5.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn record_checksums(&mut self, which: Checksums) {
        self.checksums = which;
    }

    /// The checksums recorded when sealing.
    pub fn checksums(&self) -> Checksums {
        self.checksums
    }

    /// The archive format (TAR by default).
    pub fn set_format(&mut self, format: Format) {
        self.format = format;
    }

    /// The deflate level of ZIP entries without their own: 0 stores them (the default, keeping
    /// random access), 1 to 9 deflate them, which makes the tape stream-only
    /// ([`Error::NotRandomAccess`] for `read_at`, sizes and offsets past 0).
    pub fn set_deflate(&mut self, level: u32) -> Result<()> {
        self.level = check_level(level)?;
        Ok(())
    }

    /// Compresses the whole TAR stream with gzip or zstd ([`Compress`]), or not (`None`, the
    /// default). A compressed tape is stream-only, as a deflated ZIP is: its compressed size and
    /// offsets are known only once compressed, so [`Tape::size`], [`Tape::read_at`] and streams
    /// from an offset above 0 give [`Error::NotRandomAccess`]. The same entries, compression and
    /// level give the same bytes (for the library versions of docs/COMPRESSION.md), whatever the
    /// number of zstd threads. TAR only: sealing a compressed ZIP tape is `InvalidArgument`.
    pub fn set_compression(&mut self, compress: Option<Compress>) {
        self.compress = compress;
    }

    /// The compression set with [`TapeBuilder::set_compression`].
    pub fn compression(&self) -> Option<Compress> {
        self.compress
    }

    /// Puts each file's content at a multiple of `align` bytes in the archive (a power of two from
    /// 512 to 64 KiB; 0, the default, for none), padding the header before it with a pax `comment`
    /// record that every reader skips (docs/FORMAT.md). An aligned archive written beside its
    /// sources on a file system with reflinks (XFS, Btrfs) shares their blocks
    /// ([`Tape::copy_into`]). TAR only: sealing an aligned ZIP tape is `InvalidArgument`.
    pub fn set_align(&mut self, align: u64) -> Result<()> {
        if align != 0 && (!align.is_power_of_two() || !(512..=header::MAX_ALIGN).contains(&align)) {
            return Err(Error::InvalidArgument(format!(
                "alignment {align}: a power of two from 512 to {} bytes, or 0",
                header::MAX_ALIGN
            )));
        }
        self.align = align;
        Ok(())
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

    /// Walks `path` as [`TapeBuilder::add_path`] does and writes to `catalog` the catalog that
    /// adding it, sealing and saving ([`Tape::save`]) would write, byte for byte, without holding
    /// the tape: entries are placed as the walk finds them (in their final order, listed ahead by a
    /// few threads), their records go to temporary files beside `catalog`, and the catalog is
    /// assembled, synced and renamed into place at the end. Memory stays the same whatever the
    /// number of entries (the listings of the directories on the way excepted). Checksums asked
    /// with [`TapeBuilder::record_checksums`] are computed as files are found.
    ///
    /// For a builder that holds no entry yet (the tree is the whole tape). Errors are those that
    /// adding and sealing would give; no temporary file is left behind.
    pub fn record_path(
        &self,
        path: &Path,
        name: Option<&[u8]>,
        catalog: &Path,
    ) -> Result<crate::Recorded> {
        if !self.entries.is_empty() {
            return Err(Error::State(
                "record_path records a tree alone: the builder already holds entries".into(),
            ));
        }
        check_compression(self.format, self.compress.as_ref())?;
        if self.align > 0 && self.format != Format::Tar {
            return Err(Error::InvalidArgument(
                "alignment is for TAR tapes (a ZIP's local headers have no room for it)".into(),
            ));
        }
        let name = match name {
            Some(n) => name::normalize(n)?,
            None => walk::default_name(path)?,
        };
        let plan = crate::recorder::Plan {
            format: self.format,
            align: self.align,
            level: self.level,
            checksums: self.checksums,
            compress: self.compress,
            options: &self.options,
        };
        crate::recorder::record(path, &name, &plan, catalog)
    }

    /// Walks each of `paths` (a file, symlink or directory, each under its base name, as
    /// [`TapeBuilder::add_path`] with no name) and writes to `out` the TAR that adding them all,
    /// sealing and streaming the tape would write, byte for byte, while the walk goes: a few
    /// threads walk ahead in the final order, and each stretch of entries is streamed as soon as it
    /// is walked, so the first bytes go out at once and, on a tree of small files, the walk's work
    /// runs beside the reading instead of before it. `progress` is called with the bytes written.
    ///
    /// The total size and fingerprint are not known before the first byte (seal the tape for
    /// those), and an error of the walk stops the stream where it has got to: the output then
    /// lacks its end and must not be kept, as after any failed stream. Memory stays bounded
    /// whatever the tree's size. For a builder that holds no entry yet, TAR, with no compression,
    /// alignment or recorded checksums; anything else is `InvalidArgument` or `State`.
    pub fn stream_paths(
        &self,
        paths: &[&Path],
        out: &mut (dyn std::io::Write + Send),
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<crate::Streamed> {
        if !self.entries.is_empty() {
            return Err(Error::State(
                "stream_paths streams the given paths alone: the builder already holds entries"
                    .into(),
            ));
        }
        let refused = if self.format != Format::Tar {
            Some("ZIP (its central directory needs every entry first)")
        } else if self.compress.is_some() {
            Some("compression (stream a sealed tape)")
        } else if self.align > 0 {
            Some("alignment (seal the tape)")
        } else if !self.checksums.is_empty() {
            Some("recorded checksums (they are for catalogs: seal or record the tape)")
        } else {
            None
        };
        if let Some(what) = refused {
            return Err(Error::InvalidArgument(format!(
                "stream_paths streams plain TAR: not with {what}"
            )));
        }
        crate::walkstream::stream_paths(paths, &self.options, out, progress)
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
        if let Some(level) = meta.level {
            self.own_level
                .insert(self.entries.len(), check_level(u32::from(level))?);
        }
        self.entries.push(Entry {
            name: name.into_boxed_slice(),
            kind: meta.kind,
            mode: meta.mode,
            mtime: meta.mtime,
            size,
            link: meta.link.into_boxed_slice(),
            owner: None,
            source,
            md5: None,
            crc32: None,
            sha256: None,
            crc32c: None,
            level: 0,
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

    /// Adds member `index` of an opened archive under `name` (`None`: the member's own name), its
    /// bytes read straight from the archive when streamed or read at random: a bundle is rebuilt or
    /// converted (ZIP to TAR and back) without extracting. Directories and symlinks are copied as
    /// such. Deflated ZIP members, encrypted members and special files are refused here, before any
    /// byte goes out (deflated ones cannot be read at random offsets).
    pub fn add_member(
        &mut self,
        archive: &crate::reader::Archive,
        index: usize,
        name: Option<&[u8]>,
    ) -> Result<()> {
        use crate::reader::EntryKind as K;
        let e = archive
            .entries()
            .get(index)
            .ok_or_else(|| Error::NotFound(format!("no member at index {index}")))?;
        let name = name.unwrap_or(&e.name).to_vec();
        let refuse = |why: &str| {
            Err(Error::Unsupported(format!(
                "member {}: {why}",
                show_name(&e.name)
            )))
        };
        if e.encrypted {
            return refuse("encrypted");
        }
        let mtime = e.mtime;
        match e.kind {
            K::Dir => {
                let mut m = MemoryEntry::file(name, 0, e.mode & 0o7777, mtime);
                m.kind = EntryKind::Dir;
                self.add(m, Source::Empty)
            }
            K::Symlink => {
                let mut m = MemoryEntry::file(name, 0, 0o777, mtime);
                m.kind = EntryKind::Symlink;
                m.link = e.link.clone();
                self.add(m, Source::Empty)
            }
            K::File if e.method == 0 => {
                let source = MemberSource {
                    archive: archive.clone(),
                    index,
                };
                self.add(MemoryEntry::file(name, e.size, e.mode & 0o7777, mtime), Source::ReadAt(Arc::new(source)))
            }
            K::File => refuse("compressed members cannot be read at random offsets; stream them through a push-fed entry"),
            _ => refuse("not a file, directory or symlink"),
        }
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
        check_compression(self.format, self.compress.as_ref())?;
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

    /// Fixes the layout. Fails on duplicate names, or when recording checksums meets a file that
    /// cannot be read or has changed.
    pub fn seal(mut self) -> Result<Tape> {
        self.check()?;
        if !self.checksums.is_empty() {
            crate::checksum::record_all(&mut self.entries, self.checksums)?;
        }
        if self.format == Format::Zip {
            for (i, e) in self.entries.iter_mut().enumerate() {
                prepare_zip(e, *self.own_level.get(&i).unwrap_or(&self.level))?;
            }
        }
        let many = self.entries.len() >= TRIM_AFTER_ENTRIES;
        if self.align > 0 && self.format != Format::Tar {
            return Err(Error::InvalidArgument(
                "alignment is for TAR tapes (a ZIP's local headers have no room for it)".into(),
            ));
        }
        let (layout, bound) =
            Layout::build(self.entries, self.options.exclude, self.format, self.align);
        if many {
            release_freed_memory();
        }
        let mut tape = Tape::from_layout(layout, bound, self.skipped);
        tape.compress = self.compress;
        Ok(tape)
    }
}

pub(crate) fn check_compression(format: Format, compress: Option<&Compress>) -> Result<()> {
    match (format, compress) {
        (Format::Zip, Some(c)) => Err(Error::InvalidArgument(format!(
            "{} compression wraps TAR tapes: a ZIP compresses its entries (set_deflate)",
            c.compression().name()
        ))),
        _ => Ok(()),
    }
}

/// Sealing a builder of at least this many entries hands the freed builder memory back to the
/// system.
const TRIM_AFTER_ENTRIES: usize = 50_000;

/// The builder's entries (one allocation per name) are freed while the table is built, between
/// the table's own allocations: glibc keeps that memory in its heap, where it would stay resident
/// for the life of the tape (141 bytes per entry instead of 88 for 200,000 entries).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn check_level(level: u32) -> Result<u8> {
    if level > 9 {
        return Err(Error::InvalidArgument(format!(
            "deflate level {level}: use 0 (stored) to 9"
        )));
    }
    Ok(level as u8)
}

/// A ZIP entry as the layout places it: a symlink's content is its target (CRC recorded now);
/// only file contents are deflated; names must fit ZIP's 16-bit length.
pub(crate) fn prepare_zip(e: &mut Entry, level: u8) -> Result<()> {
    if e.name.len() + 1 > 0xFFFF {
        return Err(Error::InvalidName {
            name: show_name(&e.name),
            reason: "longer than ZIP's 65535 bytes",
        });
    }
    if e.kind == EntryKind::Symlink {
        e.size = e.link.len() as u64;
        e.crc32 = Some(crc32fast::hash(&e.link));
    }
    e.level = if e.kind == EntryKind::File { level } else { 0 };
    Ok(())
}

/// A sealed tape: a fixed layout that can be streamed from any offset and read at random.
///
/// `Tape` is `Send + Sync`: [`Tape::read_at`] may run on many threads at once.
///
/// ```
/// use std::sync::Arc;
/// use tartape::TapeBuilder;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut builder = TapeBuilder::new();
/// builder.add_bytes(b"a.txt", vec![b'a'; 3000], 0o644, 0)?;
/// builder.add_bytes(b"b.txt", vec![b'b'; 10], 0o644, 0)?;
/// let tape = Arc::new(builder.seal()?);
///
/// // Every offset is known up front: b.txt's content is at its slot's data offset.
/// let b = tape.slot(1)?;
/// let mut content = [0u8; 10];
/// tape.read_at(b.data_offset(), &mut content)?;
/// assert_eq!(content, [b'b'; 10]);
///
/// // Resuming at any byte gives the same bytes as the full stream from there.
/// let mut rest = Vec::new();
/// let mut stream = tape.stream(1000, false)?;
/// let mut buf = vec![0u8; 4096];
/// loop {
///     let n = stream.read(&mut buf)?;
///     if n == 0 { break }
///     rest.extend_from_slice(&buf[..n]);
/// }
/// assert_eq!(rest.len() as u64, tape.total_size() - 1000);
///
/// // A catalog saves the layout; another process opens it without rescanning.
/// # let path = std::env::temp_dir().join(format!("tartape-doc-{}.tartape", std::process::id()));
/// tape.save(&path)?;
/// let again = tartape::Tape::open(&path)?;
/// assert_eq!(again.fingerprint()?, tape.fingerprint()?);
/// # std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
pub struct Tape {
    layout: Layout,
    skipped: Vec<Skipped>,
    bound: RwLock<HashMap<usize, Source>>,
    open_files: OpenFiles,
    fingerprint: OnceLock<String>,
    /// ZIP: each entry's CRC-32 once streamed or computed (bit 32 set when present).
    crcs: Vec<AtomicU64>,
    /// gzip or zstd around the whole TAR stream.
    compress: Option<Compress>,
    /// A seekable compressed tape's frames (see [`Tape::record_frames`]).
    frames: Option<Arc<Frames>>,
    /// Frames compressed lately by `read_at`.
    frame_cache: FrameCache,
}

impl Tape {
    /// A tape over a layout, with the sources its table does not hold.
    pub fn from_layout(
        layout: Layout,
        bound: HashMap<usize, Source>,
        skipped: Vec<Skipped>,
    ) -> Tape {
        let crcs = match layout.format() {
            Format::Zip => (0..layout.len()).map(|_| AtomicU64::new(0)).collect(),
            Format::Tar => Vec::new(),
        };
        Tape {
            crcs,
            layout,
            skipped,
            bound: RwLock::new(bound),
            open_files: OpenFiles::default(),
            fingerprint: OnceLock::new(),
            compress: None,
            frames: None,
            frame_cache: FrameCache::default(),
        }
    }

    /// A seekable compressed tape's frames: set by [`Tape::record_frames`] or a catalog.
    pub fn frames(&self) -> Option<&Arc<Frames>> {
        self.frames.as_ref()
    }

    /// Makes the tape seekable-compressed with `frames`; `plain` is the TAR's fingerprint, from
    /// which the tape's is derived (a catalog gives none: it holds the derived one).
    pub(crate) fn set_frames(&mut self, frames: Frames, plain: Option<&str>) {
        if let Some(plain) = plain {
            self.fingerprint = OnceLock::from(crate::seekable::fingerprint(plain, &frames));
        }
        self.frames = Some(Arc::new(frames));
        self.frame_cache.clear();
    }

    pub(crate) fn frame_cache(&self) -> &FrameCache {
        &self.frame_cache
    }

    /// Sets the threads a seekable compressed tape's streams compress frames on (1 by default;
    /// the bytes are the same for any number). `State` for a tape without frames.
    pub fn set_frame_threads(&mut self, threads: u32) -> Result<()> {
        let frames = self
            .frames
            .as_mut()
            .ok_or_else(|| Error::State("the tape has no frames (record_frames)".into()))?;
        Arc::make_mut(frames).set_threads(threads)
    }

    /// Compresses this tape's streams (see [`TapeBuilder::set_compression`]); for a tape opened
    /// from a catalog, which does not record compression. TAR only (`InvalidArgument` for ZIP).
    pub fn set_compression(&mut self, compress: Option<Compress>) -> Result<()> {
        check_compression(self.format(), compress.as_ref())?;
        if let (Some(c), Some(f)) = (compress, &self.frames) {
            return Err(Error::State(format!(
                "the tape is already compressed, in {} frames of {} level {}: it cannot also be \
                 {}-compressed as one stream",
                f.len(),
                f.compress().compression().name(),
                f.compress().level(),
                c.compression().name()
            )));
        }
        self.compress = compress;
        Ok(())
    }

    /// The compression around this tape's streams, if any.
    pub fn compression(&self) -> Option<Compress> {
        self.compress
    }

    /// Opens a catalog written by [`Tape::save`], without rescanning the sources.
    pub fn open(path: &Path) -> Result<Tape> {
        crate::catalog::open(path)
    }

    /// A catalog held in memory (fetched from object storage, shipped to a worker), checked as
    /// [`Tape::open`] checks a file.
    pub fn open_bytes(bytes: Vec<u8>) -> Result<Tape> {
        crate::catalog::from_bytes(bytes)
    }

    /// Saves the tape to a catalog file, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::catalog::save(self, path)
    }

    /// Checks every byte of a catalog's table now (opening checks the header only; the table is
    /// checked chunk by chunk as it is used).
    pub fn check_catalog(&self) -> Result<()> {
        self.layout.table().check_all()
    }

    /// A stable hex identifier of the archive: it changes exactly when the archive's bytes would
    /// (every header field, the entry list, each source's size and mtime, recorded checksums), and
    /// depends neither on where a catalog lies nor on when it was written.
    pub fn fingerprint(&self) -> Result<String> {
        if let Some(f) = self.fingerprint.get() {
            return Ok(f.clone());
        }
        let f = crate::fingerprint::compute(self)?;
        Ok(self.fingerprint.get_or_init(|| f).clone())
    }

    pub(crate) fn set_fingerprint(&self, f: String) {
        let _ = self.fingerprint.set(f);
    }

    /// The layout: every entry with its offsets.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The archive's size in bytes: the compressed size for a tape with frames. For a tape with
    /// deflated entries this is the size the stored archive would have, and for a tape compressed
    /// as one stream the TAR's: use [`Tape::size`], which refuses. The TAR's size is always
    /// `layout().total_size()`.
    pub fn total_size(&self) -> u64 {
        match &self.frames {
            Some(f) => f.total(),
            None => self.layout.total_size(),
        }
    }

    /// The archive's size in bytes; [`Error::NotRandomAccess`] for a tape with deflated entries.
    pub fn size(&self) -> Result<u64> {
        self.check_random_access()?;
        Ok(self.total_size())
    }

    /// The archive format.
    pub fn format(&self) -> Format {
        self.layout.format()
    }

    /// Fails with [`Error::NotRandomAccess`] when the tape has deflated entries or is compressed.
    pub fn check_random_access(&self) -> Result<()> {
        if let Some(c) = &self.compress {
            return Err(Error::NotRandomAccess(format!(
                "the tape is {}-compressed as one stream, whose size and offsets are known only \
                 once compressed: stream it from offset 0 (the total size, read_at and resume \
                 offsets need an uncompressed tape)",
                c.compression().name()
            )));
        }
        if self.layout.deflated() {
            return Err(Error::NotRandomAccess(
                "the ZIP has deflated entries, whose sizes are known only once compressed: \
                 stream it from offset 0 (the total size, read_at and resume offsets need stored entries)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The CRC-32 of ZIP entry `index`'s content: recorded in the table, kept from a stream or an
    /// earlier call, or computed now by reading the whole member once (then kept).
    pub fn crc32(&self, index: usize) -> Result<u32> {
        let slot = self.slot(index)?;
        self.crc32_of(&slot)
    }

    pub(crate) fn crc32_of(&self, slot: &Slot) -> Result<u32> {
        if let Some(c) = slot.entry.crc32 {
            return Ok(c);
        }
        if slot.entry.size == 0 {
            return Ok(0);
        }
        if let Some(c) = self.kept_crc(slot.index) {
            return Ok(c);
        }
        let mut hasher = crc32fast::Hasher::new();
        let mut buf = vec![0u8; (1 << 20).min(slot.entry.size as usize)];
        let mut pos = 0u64;
        while pos < slot.entry.size {
            let n = ((slot.entry.size - pos) as usize).min(buf.len());
            self.read_content(slot, pos, &mut buf[..n])?;
            hasher.update(&buf[..n]);
            pos += n as u64;
        }
        let crc = hasher.finalize();
        self.keep_crc(slot.index, crc);
        Ok(crc)
    }

    fn kept_crc(&self, index: usize) -> Option<u32> {
        let v = self.crcs.get(index)?.load(Ordering::Acquire);
        (v >> 32 == 1).then_some(v as u32)
    }

    /// Keeps a CRC-32 computed while streaming, for later descriptors and central records.
    pub(crate) fn keep_crc(&self, index: usize, crc: u32) {
        if let Some(c) = self.crcs.get(index) {
            c.store(1 << 32 | u64::from(crc), Ordering::Release);
        }
    }

    /// Writes the header of `slot` (a TAR header, or a ZIP local header) to `out`.
    pub(crate) fn encode_header(&self, slot: &Slot, out: &mut Vec<u8>) -> Result<()> {
        match self.format() {
            Format::Tar => {
                header::encode(&slot.entry, out);
                let pad = u64::from(slot.header_len).saturating_sub(out.len() as u64);
                if pad > 0 {
                    // Aligned content (`--align`): the padding is the recorded length's excess.
                    header::encode_padded(&slot.entry, pad, out);
                }
            }
            Format::Zip => zip::local(
                &slot.entry,
                slot.header_offset,
                zip::STORED,
                zip::stored_zip64(slot.entry.size),
                out,
            ),
        }
        // Headers are a function of the entry: a length other than the recorded one means the
        // catalog was forged, and every offset after it would be wrong.
        if out.len() != slot.header_len as usize {
            return Err(Error::corrupt(
                "catalog",
                format!(
                    "entry {} ({}): its header takes {} bytes, the catalog says {}",
                    slot.index,
                    show_name(&slot.entry.name),
                    out.len(),
                    slot.header_len
                ),
            ));
        }
        Ok(())
    }

    /// Writes the bytes after the content of `slot` to `out`: TAR padding or a ZIP data descriptor
    /// (which needs the CRC: see [`Tape::crc32`]).
    pub(crate) fn encode_tail(
        &self,
        slot: &Slot,
        crc: Option<u32>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match self.format() {
            Format::Tar => {
                out.clear();
                out.resize((slot.end_offset() - slot.content_end()) as usize, 0);
            }
            Format::Zip => {
                let crc = match crc {
                    Some(c) => c,
                    None => self.crc32_of(slot)?,
                };
                let size = slot.entry.size;
                zip::descriptor(crc, size, size, zip::stored_zip64(size), out);
                if out.len() as u64 != slot.end_offset() - slot.content_end() {
                    return Err(Error::corrupt(
                        "catalog",
                        format!(
                            "entry {} ({}): its data descriptor does not fit its offsets",
                            slot.index,
                            show_name(&slot.entry.name)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Copies the trailer's bytes from archive offset `pos` into `out` (up to the end).
    fn read_trailer(&self, pos: u64, out: &mut [u8]) -> Result<()> {
        if self.format() == Format::Tar {
            out.fill(0);
            return Ok(());
        }
        let layout = &self.layout;
        let cd_start = layout.trailer_offset();
        let count = layout.len();
        let forged = |what: String| Error::corrupt("catalog", format!("central directory: {what}"));
        let cd_end = match count {
            0 => cd_start,
            n => {
                let last = self.layout.slot(n - 1)?;
                let len = zip::central_len(
                    &last.entry,
                    last.header_offset,
                    zip::stored_zip64(last.entry.size),
                );
                layout
                    .central_offset(n - 1)?
                    .checked_add(len)
                    .ok_or_else(|| forged("the last record ends past 2^64".into()))?
            }
        };
        let end_len = zip::end_len(count, cd_start, cd_end.saturating_sub(cd_start));
        if cd_end < cd_start || cd_end.checked_add(end_len) != Some(self.total_size()) {
            return Err(forged(format!(
                "it spans {cd_start}..{cd_end}, which does not end the archive of {} bytes",
                self.total_size()
            )));
        }
        let mut buf = Vec::new();
        let mut pos = pos;
        let mut done = 0;
        let mut i = if pos < cd_end {
            layout.find_central(pos)?
        } else {
            count
        };
        while done < out.len() {
            // Each record must fill exactly the span between its offset and the next one's: the
            // offsets come from the table, the bytes from the entry.
            let (start, end) = if i < count {
                let slot = self.slot(i)?;
                buf.clear();
                let m = zip::Member {
                    offset: slot.header_offset,
                    method: zip::STORED,
                    zip64_sizes: zip::stored_zip64(slot.entry.size),
                    crc: self.crc32_of(&slot)?,
                    compressed: slot.entry.size,
                };
                zip::central(&slot.entry, &m, &mut buf);
                let next = if i + 1 < count {
                    layout.central_offset(i + 1)?
                } else {
                    cd_end
                };
                i += 1;
                (layout.central_offset(i - 1)?, next)
            } else {
                zip::end(count, cd_start, cd_end - cd_start, &mut buf);
                (cd_end, self.total_size())
            };
            if start > pos || end <= pos || end - start != buf.len() as u64 {
                return Err(forged(format!(
                    "the record of entry {} does not fit its offsets",
                    i.saturating_sub(1)
                )));
            }
            let from = (pos - start) as usize;
            let n = (buf.len() - from).min(out.len() - done);
            out[done..done + n].copy_from_slice(&buf[from..from + n]);
            done += n;
            pos += n as u64;
        }
        Ok(())
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    /// True when the tape has no entries.
    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }

    /// Special files met while adding paths and left out.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Entry `index` with its offsets and its source (a bound source where one was bound).
    pub fn slot(&self, index: usize) -> Result<Slot> {
        let mut slot = self.layout.slot(index)?;
        if let Source::Unbound = slot.entry.source {
            if let Some(s) = self
                .bound
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&index)
            {
                slot.entry.source = s.clone();
            }
        }
        Ok(slot)
    }

    /// Checks the tape against the disk; see [`crate::verify::verify`].
    pub fn verify(&self, deep: bool) -> Result<crate::verify::Report> {
        crate::verify::verify(self, deep)
    }

    /// [`Tape::verify`] with a callback after each file entry, given the recorded sizes of the
    /// file entries checked so far (for a progress display of a deep check).
    pub fn verify_with_progress(
        &self,
        deep: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<crate::verify::Report> {
        crate::verify::verify_with_progress(self, deep, progress)
    }

    /// Supplies again the bytes of a memory entry whose source the table could not keep (after a
    /// catalog was opened): a buffer or a read-at source of exactly the entry's size.
    pub fn bind(&self, index: usize, source: Source) -> Result<()> {
        let slot = self.layout.slot(index)?;
        let name = show_name(&slot.entry.name);
        if !self.layout.is_bound_source(index)? {
            return Err(Error::State(format!(
                "{name}: its bytes come from {:?}, not from a caller's source",
                slot.entry.source
            )));
        }
        match &source {
            Source::Bytes(b) if b.len() as u64 != slot.entry.size => {
                return Err(Error::SizeMismatch {
                    name,
                    what: format!(
                        "declared {} bytes, buffer holds {}",
                        slot.entry.size,
                        b.len()
                    ),
                })
            }
            Source::Bytes(_) | Source::ReadAt(_) => {}
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "{name}: only a buffer or a read-at source can be bound"
                )))
            }
        }
        self.bound
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(index, source);
        Ok(())
    }

    /// A stream of events from `offset` (0 for the whole archive). `md5` computes each file's MD5
    /// for FILE_END when the stream reads its content from the start.
    /// A tape with deflated entries streams from offset 0 only.
    pub fn stream(self: &Arc<Self>, offset: u64, md5: bool) -> Result<Stream> {
        Stream::new(self.clone(), offset, md5)
    }

    /// Fills `buf` with the archive bytes at `offset`; returns how many bytes were written, which
    /// is `buf.len()` unless the archive ends first (0 at or past the end).
    ///
    /// For ZIP, a data descriptor or central-directory record needs its entry's CRC-32: see
    /// [`Tape::crc32`] for what that may cost. A tape with deflated entries refuses.
    /// A tape with frames reads compressed bytes (see [`Tape::record_frames`]).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.check_random_access()?;
        if let Some(f) = &self.frames {
            return self.read_framed_at(f, offset, buf);
        }
        self.read_tar_at(offset, buf)
    }

    /// [`Tape::read_at`] of the uncompressed archive, for a compressed tape's own stream (which
    /// compresses these bytes); a deflated ZIP still refuses.
    /// For a tape with frames, the TAR's bytes that its frames compress: what a member's content
    /// is read from.
    pub fn read_tar_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if self.layout.deflated() {
            self.check_random_access()?;
        }
        let total = self.layout.total_size();
        if offset >= total {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(total - offset) as usize;
        let mut done = 0;
        let mut pos = offset;
        let mut index = match self.layout.find(offset)? {
            Position::Entry(i) => i,
            _ => self.layout.len(),
        };
        let mut header = Vec::new();
        while done < want {
            if index >= self.layout.len() {
                self.read_trailer(pos, &mut buf[done..want])?;
                done = want;
                break;
            }
            // The usual case of random reads: content of a file this thread has open. What is
            // left of the range (the padding or descriptor after it) takes the path below.
            if let Cached::Read(n) = self
                .open_files
                .read_cached(index, pos, &mut buf[done..want])
            {
                done += n;
                pos += n as u64;
                continue;
            }
            let slot = self.slot(index)?;
            let n = self.read_slot(&slot, pos, &mut buf[done..want], &mut header)?;
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
        let len = ((slot.end_offset() - pos) as usize).min(out.len());
        let out = &mut out[..len];
        let data_offset = slot.data_offset();
        let mut filled = 0;
        if pos < data_offset {
            self.encode_header(slot, header_buf)?;
            let from = (pos - slot.header_offset) as usize;
            let n = (header_buf.len() - from).min(out.len());
            out[..n].copy_from_slice(&header_buf[from..from + n]);
            filled = n;
        }
        if filled == out.len() {
            return Ok(len);
        }
        let content_pos = pos + filled as u64 - data_offset;
        let size = slot.entry.size;
        if content_pos < size {
            let n = ((size - content_pos) as usize).min(out.len() - filled);
            self.read_content(slot, content_pos, &mut out[filled..filled + n])?;
            filled += n;
        }
        if filled < out.len() {
            self.encode_tail(slot, None, header_buf)?;
            let from = (pos + filled as u64 - slot.content_end()) as usize;
            let n = out.len() - filled;
            out[filled..].copy_from_slice(&header_buf[from..from + n]);
        }
        Ok(len)
    }

    /// Reads exactly `out.len()` content bytes of `slot` at `content_pos`.
    pub(crate) fn read_content(&self, slot: &Slot, content_pos: u64, out: &mut [u8]) -> Result<()> {
        let entry = &slot.entry;
        if entry.kind == EntryKind::Symlink {
            // A ZIP symlink's content is its target (its source only says what to verify).
            let start = content_pos as usize;
            let target = entry.link.get(start..start + out.len()).ok_or_else(|| {
                Error::corrupt(
                    "catalog",
                    format!(
                        "{}: a symlink's size is not its target's",
                        show_name(&entry.name)
                    ),
                )
            })?;
            out.copy_from_slice(target);
            return Ok(());
        }
        let got = match &entry.source {
            Source::Empty => 0,
            Source::Bytes(b) => {
                let start = content_pos as usize;
                out.copy_from_slice(&b[start..start + out.len()]);
                out.len()
            }
            Source::Inline { at } => {
                out.copy_from_slice(self.layout.table_bytes(at + content_pos, out.len())?);
                out.len()
            }
            Source::File(f) => self.open_files.read(slot, f, content_pos, out)?,
            Source::ReadAt(src) => read_at_full(src.as_ref(), content_pos, out).map_err(|e| {
                Error::Callback(format!("{}: reading at {content_pos}: {e}", show_name(&entry.name)))
            })?,
            Source::Push => {
                return Err(Error::NotRandomAccess(format!(
                    "{}: its bytes are pushed by the caller while streaming and cannot be read again",
                    show_name(&entry.name)
                )))
            }
            Source::Unbound => {
                return Err(Error::NotRandomAccess(format!(
                    "{}: its bytes were held by the process that recorded the tape; bind a source to it again",
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

/// A stored member of an opened archive, read in place.
struct MemberSource {
    archive: crate::reader::Archive,
    index: usize,
}

impl ReadAtSource for MemberSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.archive
            .read_member_at(self.index, offset, buf)
            .map_err(std::io::Error::other)
    }
}
