//! Recording a walked tree straight into a catalog file, in memory independent of the number of
//! entries: the catalog [`crate::TapeBuilder::seal`] then [`crate::Tape::save`] would write, byte
//! for byte, without the tape ever being held.
//!
//! The walk hands entries over in their final order (src/walkahead.rs); each is placed at once
//! (its header length, its offset) and its index item and record are appended to two temporary
//! files beside the catalog, unlinked as soon as they are made. When the walk is over, the count,
//! the total size and the table's length are known: the catalog's temporary file gets the index
//! (with the record offsets and ZIP central-directory offsets made final) and the records after
//! room for its header, the table's chunk CRCs and the fingerprint are computed on the way, and
//! the header is written last, before the file is synced and renamed into place.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::catalog::{self, HeaderFields};
use crate::checksum::Checksums;
use crate::compress::Compress;
use crate::entry::{Entry, EntryKind, Owner};
use crate::error::{Error, Result};
use crate::header::{self, TRAILER_LEN};
use crate::layout::{self, Format, Layout, Sidecar, CATALOG_VERSION};
use crate::source::Source;
use crate::table::{Table, CHUNK};
use crate::tape::Tape;
use crate::walk::{Skipped, WalkOptions};
use crate::walkahead::{self, Step};
use crate::zip::header as zip;

/// What recording a tree wrote.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The number of entries.
    pub entries: u64,
    /// The archive's size in bytes (for a tape with deflated entries, the size the stored archive
    /// would have, as [`crate::Tape::total_size`]).
    pub total_size: u64,
    /// True when some entry is deflated (the tape is stream-only).
    pub deflated: bool,
    /// The tape's fingerprint, as stored in the catalog.
    pub fingerprint: String,
    /// Special files met and left out.
    pub skipped: Vec<Skipped>,
}

/// How the tree is placed: the builder's settings.
pub(crate) struct Plan<'a> {
    pub(crate) format: Format,
    pub(crate) align: u64,
    pub(crate) level: u8,
    pub(crate) checksums: Checksums,
    pub(crate) compress: Option<Compress>,
    pub(crate) options: &'a WalkOptions,
}

/// Buffers of the temporary files.
const BUF: usize = 1 << 20;
/// Record bytes fingerprinted at a time.
const RUN: usize = 256 << 10;

/// Walks `path` under the archive name `name` and writes its catalog to `catalog`, atomically.
pub(crate) fn record(path: &Path, name: &[u8], plan: &Plan, catalog: &Path) -> Result<Recorded> {
    let (dir, out_path) = catalog::beside(catalog, "tmp")?;
    let index = Spill::new(catalog::beside(catalog, "index")?.1, catalog)?;
    let records = Spill::new(catalog::beside(catalog, "records")?.1, catalog)?;
    let mut placer = Placer::new(plan, index, records);
    let mut each = |step: Step| placer.step(step);
    walkahead::walk_each(path, name, plan.options, plan.checksums, &mut each)?;
    if let Some(e) = placer.deferred.take() {
        return Err(e);
    }
    let mut out = TempOut {
        path: out_path,
        done: false,
    };
    let recorded = placer.assemble(&out.path, catalog)?;
    fs::rename(&out.path, catalog).map_err(|e| Error::io(catalog, e))?;
    out.done = true;
    // The rename is durable once the directory is synced.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(recorded)
}

/// The catalog's temporary file, removed unless renamed into place.
struct TempOut {
    path: PathBuf,
    done: bool,
}

impl Drop for TempOut {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A temporary file written once and read back, unlinked as soon as it is made: nothing is left
/// on disk whatever stops the process.
struct Spill {
    path: PathBuf,
    w: BufWriter<File>,
    len: u64,
}

impl Spill {
    /// A temporary file at `path`, beside `catalog` (named in the error if it cannot be made).
    fn new(path: PathBuf, catalog: &Path) -> Result<Spill> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(catalog, e))?;
        fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Spill {
            path,
            w: BufWriter::with_capacity(BUF, file),
            len: 0,
        })
    }

    fn write(&mut self, b: &[u8]) -> Result<()> {
        self.len += b.len() as u64;
        self.w.write_all(b).map_err(|e| Error::io(&self.path, e))
    }

    /// The file written so far, read again from its start.
    fn reader(&mut self) -> Result<BufReader<File>> {
        self.w.flush().map_err(|e| Error::io(&self.path, e))?;
        let mut f = self
            .w
            .get_ref()
            .try_clone()
            .map_err(|e| Error::io(&self.path, e))?;
        f.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(BufReader::with_capacity(BUF, f))
    }
}

/// Places the entries as they come, as [`Layout::build`] does, writing index items and records to
/// the temporary files.
struct Placer<'a> {
    plan: &'a Plan<'a>,
    index: Spill,
    records: Spill,
    /// Entries placed.
    count: u64,
    /// Where the next header starts.
    offset: u64,
    /// ZIP: the central directory's length so far.
    cd_len: u64,
    deflated: bool,
    version: u32,
    sidecar: Sidecar,
    base_ids: HashMap<*const PathBuf, u32>,
    owner_ids: HashMap<*const Owner, u32>,
    skipped: Vec<Skipped>,
    /// The first error that sealing would meet after the walk (a file that could not be hashed,
    /// a name too long for ZIP): reported once the walk is over, so that the walk's own errors
    /// come first, as when sealing.
    deferred: Option<Error>,
    scratch: Vec<u8>,
    record: Vec<u8>,
}

impl<'a> Placer<'a> {
    fn new(plan: &'a Plan<'a>, index: Spill, records: Spill) -> Placer<'a> {
        Placer {
            plan,
            index,
            records,
            count: 0,
            offset: 0,
            cd_len: 0,
            deflated: false,
            version: 1,
            sidecar: Sidecar {
                exclude: plan.options.exclude.clone(),
                ..Sidecar::default()
            },
            base_ids: HashMap::new(),
            owner_ids: HashMap::new(),
            skipped: Vec::new(),
            deferred: None,
            scratch: Vec::with_capacity(1024),
            record: Vec::with_capacity(1024),
        }
    }

    fn step(&mut self, step: Step) -> Result<()> {
        match step {
            Step::Skipped(s) => self.skipped.push(s),
            Step::Entry { hash_error, .. } if self.deferred.is_some() || hash_error.is_some() => {
                self.deferred = self.deferred.take().or(hash_error);
            }
            Step::Entry { mut entry, .. } => {
                if self.plan.format == Format::Zip {
                    if let Err(e) = crate::tape::prepare_zip(&mut entry, self.plan.level) {
                        self.deferred = Some(e);
                        return Ok(());
                    }
                }
                self.place(&entry)?;
            }
        }
        Ok(())
    }

    /// Places one entry after the others (the body of [`Layout::build`]'s loop).
    fn place(&mut self, entry: &Entry) -> Result<()> {
        let format = self.plan.format;
        let align = self.plan.align;
        let mut header_len = layout::header_len(format, entry, &mut self.scratch);
        if align > 0 && format == Format::Tar && entry.kind == EntryKind::File && entry.size > 0 {
            let rem = (self.offset + header_len) % align;
            let want = if rem == 0 { 0 } else { align - rem };
            header_len += header::pad_at_least(entry, want, align);
        }
        // Record offsets are relative to the records' start (and ZIP central-directory offsets to
        // the directory's start) until the count is known.
        let mut item = [0u8; 24];
        item[..8].copy_from_slice(&self.offset.to_le_bytes());
        item[8..16].copy_from_slice(&self.records.len.to_le_bytes());
        let item = if format == Format::Zip {
            item[16..].copy_from_slice(&self.cd_len.to_le_bytes());
            self.cd_len += zip::central_len(entry, self.offset, zip::stored_zip64(entry.size));
            self.deflated |= entry.level > 0;
            &item[..]
        } else {
            &item[..16]
        };
        self.index.write(item)?;
        let base = match &entry.source {
            Source::File(f) => Some(*self.base_ids.entry(Arc::as_ptr(&f.base)).or_insert_with(
                || {
                    self.sidecar.bases.push(f.base.clone());
                    self.sidecar.bases.len() as u32 - 1
                },
            )),
            _ => None,
        };
        let owner = entry.owner.as_ref().map(|o| {
            *self.owner_ids.entry(Arc::as_ptr(o)).or_insert_with(|| {
                self.sidecar.owners.push(o.clone());
                self.sidecar.owners.len() as u32 - 1
            })
        });
        if entry.sha256.is_some() || entry.crc32c.is_some() {
            self.version = CATALOG_VERSION;
        }
        self.record.clear();
        // A walk's entries all come from disk: the table holds every one of their sources.
        let _ = layout::encode_record(entry, header_len as u32, base, owner, &mut self.record);
        let record = std::mem::take(&mut self.record);
        let written = self.records.write(&record);
        self.record = record;
        written?;
        self.offset += header_len + entry.size + layout::tail_len(format, entry.size);
        self.count += 1;
        Ok(())
    }

    /// Writes the catalog into `out_path`: room for the header, the index made final, the
    /// records, then the header; synced. Returns what was recorded.
    fn assemble(mut self, out_path: &Path, catalog: &Path) -> Result<Recorded> {
        let format = self.plan.format;
        let item = format.index_item();
        let count = usize::try_from(self.count)
            .map_err(|_| Error::InvalidArgument("too many entries for this machine".into()))?;
        let trailer_offset = self.offset;
        let total_size = match format {
            Format::Tar => trailer_offset + TRAILER_LEN,
            Format::Zip => {
                trailer_offset + self.cd_len + zip::end_len(count, trailer_offset, self.cd_len)
            }
        };
        let records_start = self.count * item as u64;
        let table_len = records_start + self.records.len;
        let chunks = usize::try_from(table_len.div_ceil(CHUNK as u64))
            .map_err(|_| Error::InvalidArgument("the catalog is too large".into()))?;
        let fields = |fingerprint, crcs| HeaderFields {
            version: self.version,
            format,
            count: self.count,
            total_size,
            table_len,
            trailer_offset,
            deflated: self.deflated,
            fingerprint,
            sidecar: &self.sidecar,
            crcs,
            frames: None,
        };
        // The header's length does not depend on the values of its fingerprint and CRCs.
        let (zeros, no_crcs) = ("0".repeat(32), vec![0; chunks]);
        let header_len = catalog::encode_fields(&fields(&zeros, &no_crcs))?.len();
        let out_err = |e| Error::io(catalog, e);
        let mut file = File::create(out_path).map_err(out_err)?;
        file.seek(SeekFrom::Start(header_len as u64))
            .map_err(out_err)?;
        let mut table = TableOut {
            w: BufWriter::with_capacity(BUF, file),
            crc: crc32fast::Hasher::new(),
            in_chunk: 0,
            crcs: Vec::with_capacity(chunks),
        };
        // The index, its offsets made final.
        let mut reader = self.index.reader()?;
        let mut buf = [0u8; 24];
        for _ in 0..count {
            let b = &mut buf[..item];
            reader
                .read_exact(b)
                .map_err(|e| Error::io(&self.index.path, e))?;
            let rel = le_u64(b, 8);
            b[8..16].copy_from_slice(&(records_start + rel).to_le_bytes());
            if format == Format::Zip {
                let rel = le_u64(b, 16);
                b[16..24].copy_from_slice(&(trailer_offset + rel).to_le_bytes());
            }
            table.put(b).map_err(out_err)?;
        }
        // The records, fingerprinted on the way: their fingerprint bytes are made here and
        // hashed by another thread.
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let mut h = crate::fingerprint::begin(format, self.plan.compress, self.count, total_size);
        let mut fp = Fingerprint {
            out: full_tx,
            empty: empty_rx,
            items: self.index.reader()?,
            index_path: self.index.path.clone(),
            item,
            format,
            deflated: self.deflated,
            sidecar: &self.sidecar,
            count,
            done: 0,
            trailer_offset,
            total_size,
            records_len: self.records.len,
            pending: Vec::new(),
            pending_at: 0,
            ahead: VecDeque::new(),
        };
        let mut reader = self.records.reader()?;
        let records_path = &self.records.path;
        let fed = std::thread::scope(|scope| {
            let hasher = std::thread::Builder::new()
                .name("tartape-fingerprint".into())
                .spawn_scoped(scope, move || {
                    use md5::Digest;
                    for mut bytes in full_rx {
                        h.update(&bytes);
                        bytes.clear();
                        let _ = empty_tx.send(bytes);
                    }
                    h
                })
                .map_err(|e| Error::State(format!("no fingerprint thread: {e}")))?;
            // Runs of about 2,500 records: buffers of about 1.4 MB of fingerprint bytes.
            let mut block = vec![0u8; RUN];
            let fed = loop {
                let n = match reader.read(&mut block) {
                    Ok(0) => break Ok(()),
                    Ok(n) => n,
                    Err(e) => break Err(Error::io(records_path, e)),
                };
                if let Err(e) = table.put(&block[..n]) {
                    break Err(out_err(e));
                }
                if let Err(e) = fp.feed(&block[..n]) {
                    break Err(e);
                }
            };
            let done = fp.done;
            drop(fp);
            let h = hasher
                .join()
                .map_err(|_| Error::State("the fingerprint thread panicked".into()));
            fed.and(h).map(|h| (h, done))
        });
        let (h, done) = fed?;
        if done != count {
            return Err(Error::State(format!(
                "{}: {done} of {count} records read back",
                self.records.path.display(),
            )));
        }
        let fingerprint = crate::fingerprint::finish(h);
        let crcs = table.finish().map_err(out_err)?;
        let file = table.w.into_inner().map_err(|e| out_err(e.into_error()))?;
        let header = catalog::encode_fields(&fields(&fingerprint, &crcs))?;
        if header.len() != header_len {
            return Err(Error::State(format!(
                "{}: the header took {} bytes, {header_len} were set aside",
                catalog.display(),
                header.len()
            )));
        }
        file.write_all_at(&header, 0).map_err(out_err)?;
        file.sync_all().map_err(out_err)?;
        Ok(Recorded {
            entries: self.count,
            total_size,
            deflated: self.deflated,
            fingerprint,
            skipped: std::mem::take(&mut self.skipped),
        })
    }
}

/// The table written out in order, with the CRC-32 of each chunk.
struct TableOut {
    w: BufWriter<File>,
    crc: crc32fast::Hasher,
    in_chunk: usize,
    crcs: Vec<u32>,
}

impl TableOut {
    fn put(&mut self, mut b: &[u8]) -> std::io::Result<()> {
        self.w.write_all(b)?;
        while !b.is_empty() {
            let n = (CHUNK - self.in_chunk).min(b.len());
            self.crc.update(&b[..n]);
            self.in_chunk += n;
            b = &b[n..];
            if self.in_chunk == CHUNK {
                let full = std::mem::replace(&mut self.crc, crc32fast::Hasher::new());
                self.crcs.push(full.finalize());
                self.in_chunk = 0;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<Vec<u32>> {
        self.w.flush()?;
        if self.in_chunk > 0 {
            let last = std::mem::replace(&mut self.crc, crc32fast::Hasher::new());
            self.crcs.push(last.finalize());
            self.in_chunk = 0;
        }
        Ok(std::mem::take(&mut self.crcs))
    }
}

/// The fingerprint over records read back in order: each run of whole records is made a small
/// tape of its own (its entries at their offsets) and fingerprinted as a sealed tape's entries
/// are, by the same code.
struct Fingerprint<'a> {
    /// Fingerprint bytes to hash, in order, and buffers to fill again.
    out: std::sync::mpsc::SyncSender<Vec<u8>>,
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
    /// The index spill, read again for the header offsets and record boundaries.
    items: BufReader<File>,
    index_path: PathBuf,
    item: usize,
    format: Format,
    deflated: bool,
    sidecar: &'a Sidecar,
    count: usize,
    /// Entries fingerprinted.
    done: usize,
    trailer_offset: u64,
    total_size: u64,
    records_len: u64,
    /// Records read and not yet fingerprinted, from relative offset `pending_at`.
    pending: Vec<u8>,
    pending_at: u64,
    /// Index items (header offset, relative record offset) read ahead, from entry `done` on.
    ahead: VecDeque<(u64, u64)>,
}

impl Fingerprint<'_> {
    /// Reads index items until `want` are ahead (or the index is over).
    fn read_ahead(&mut self, want: usize) -> Result<()> {
        let mut b = [0u8; 24];
        while self.ahead.len() < want && self.done + self.ahead.len() < self.count {
            self.items
                .read_exact(&mut b[..self.item])
                .map_err(|e| Error::io(&self.index_path, e))?;
            self.ahead.push_back((le_u64(&b, 0), le_u64(&b, 8)));
        }
        Ok(())
    }

    /// Where the record of the `k`th entry ahead ends (relative), and the header after it starts.
    fn end_of(&self, k: usize) -> (u64, u64) {
        match self.ahead.get(k + 1) {
            Some(&(header, rel)) => (rel, header),
            None => (self.records_len, self.trailer_offset),
        }
    }

    /// Takes more record bytes; fingerprints every record now whole.
    fn feed(&mut self, bytes: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(bytes);
        let have = self.pending_at + self.pending.len() as u64;
        let mut n = 0;
        while self.done + n < self.count {
            self.read_ahead(n + 2)?;
            if self.end_of(n).0 > have {
                break;
            }
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        let (end_rel, next_header) = self.end_of(n - 1);
        let used = (end_rel - self.pending_at) as usize;
        let index_len = n * self.item;
        let mut bytes = Vec::with_capacity(index_len + used);
        for &(header, rel) in self.ahead.iter().take(n) {
            bytes.extend_from_slice(&header.to_le_bytes());
            let at = index_len as u64 + (rel - self.pending_at);
            bytes.extend_from_slice(&at.to_le_bytes());
            if self.format == Format::Zip {
                bytes.extend_from_slice(&0u64.to_le_bytes());
            }
        }
        bytes.extend_from_slice(&self.pending[..used]);
        // A run of entries ending where the next one starts (a TAR's size is its trailer's end).
        let total = match self.format {
            Format::Tar => next_header + TRAILER_LEN,
            Format::Zip => self.total_size.max(next_header),
        };
        let layout = Layout::from_parts(
            Table::trusted(bytes),
            n,
            self.sidecar.clone(),
            total,
            self.format,
            next_header,
            self.deflated,
        )?;
        let run = Tape::from_layout(layout, HashMap::new(), Vec::new());
        let mut out = self.empty.try_recv().unwrap_or_default();
        crate::fingerprint::add_entries(&mut out, &run)?;
        self.out
            .send(out)
            .map_err(|_| Error::State("the fingerprint thread stopped".into()))?;
        self.pending.drain(..used);
        self.pending_at = end_rel;
        self.ahead.drain(..n);
        self.done += n;
        Ok(())
    }
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
