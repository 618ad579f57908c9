//! Catalog files: a sealed tape's table saved to disk and mapped again in another process, with no
//! rescan of the sources. The format is in docs/CATALOG.md.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::compress::{Compress, Compression, Frames};
use crate::entry::Owner;
use crate::error::{Error, Result};
use crate::layout::{Format, Layout, Sidecar};
use crate::table::{Storage, Table};
use crate::tape::Tape;

/// The first bytes of every catalog.
pub const MAGIC: &[u8; 16] = b"TARTAPE-CATALOG\0";
/// The newest catalog format version this build writes and reads. A tape is saved in version 1
/// (the format of earlier builds, which they read) unless some entry holds a SHA-256 or CRC-32C,
/// which version 2 added; both versions open.
pub const VERSION: u32 = 3;
/// The version a catalog with frames (a seekable compressed tape) is saved in; its records are
/// version 2's.
const FRAMES_VERSION: u32 = 3;
/// Catalog headers larger than this are refused (they hold base paths and owners only).
const HEADER_MAX: usize = 64 << 20;

/// Writes `tape` to `path` atomically: a temporary file beside it, synced, then renamed.
pub fn save(tape: &Tape, path: &Path) -> Result<()> {
    let layout = tape.layout();
    let header = encode_header(tape)?;
    let (dir, temp) = beside(path, "tmp")?;
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&temp)?;
        f.write_all(&header)?;
        f.write_all(layout.table().raw())?;
        f.sync_all()?;
        fs::rename(&temp, path)?;
        // The rename is durable once the directory is synced.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        Error::io(path, e)
    })
}

/// The directory of the catalog `path` and a temporary file's path beside it,
/// `.NAME.WHAT-PID`, where the catalog is written before its rename.
pub(crate) fn beside(path: &Path, what: &str) -> Result<(PathBuf, PathBuf)> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{}: not a file name", path.display())))?;
    let temp = dir.join(format!(
        ".{}.{what}-{}",
        base.to_string_lossy(),
        std::process::id()
    ));
    Ok((dir.to_path_buf(), temp))
}

/// Opens a catalog: checks its header and size, maps its table. Entries are checked chunk by chunk
/// as they are used; [`Tape::check_catalog`] checks all of them now.
pub fn open(path: &Path) -> Result<Tape> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let len = usize::try_from(len).map_err(|_| Error::corrupt("catalog", "too large"))?;
    let storage = Storage::map(&file, len).map_err(|e| Error::io(path, e))?;
    from_storage(storage, &path.display().to_string())
}

/// A catalog held in memory (read from object storage, say), checked as [`open`] checks a file.
pub fn from_bytes(bytes: Vec<u8>) -> Result<Tape> {
    from_storage(Storage::Owned(bytes), "catalog")
}

fn from_storage(storage: Storage, what: &str) -> Result<Tape> {
    let len = storage.bytes().len();
    let parsed = parse_header(storage.bytes())?;
    let table_end = parsed.table_offset.checked_add(parsed.table_len);
    if table_end != Some(len) {
        return Err(Error::corrupt(
            "catalog",
            format!(
                "{what}: {len} bytes, but its header says {}: truncated or extended",
                table_end.map_or_else(|| "an impossible size".to_string(), |e| e.to_string())
            ),
        ));
    }
    let table = Table::checked(storage, parsed.table_offset, parsed.table_len, parsed.crcs)?;
    let mut layout = Layout::from_parts(
        table,
        parsed.count,
        parsed.sidecar,
        parsed.total_size,
        parsed.format,
        parsed.trailer_offset,
        parsed.flags & FLAG_DEFLATED != 0,
    )?;
    layout.set_catalog_version(parsed.version.min(crate::layout::CATALOG_VERSION));
    let mut tape = Tape::from_layout(layout, Default::default(), Vec::new());
    if let Some(f) = parsed.frames {
        let mut starts = f.starts;
        starts.push(parsed.total_size);
        let frames = Frames::new(f.compress, f.frame_size, f.engine, starts, &f.sizes)?;
        tape.set_frames(frames, None);
    }
    tape.set_fingerprint(parsed.fingerprint);
    Ok(tape)
}

/// Catalog flag: some entry is deflated (the tape is stream-only).
const FLAG_DEFLATED: u32 = 1;
/// Catalog flag: the header holds the frames of a seekable compressed tape (version 3).
const FLAG_FRAMES: u32 = 2;

/// The frames section of a header, as read.
struct ParsedFrames {
    compress: Compress,
    frame_size: u64,
    engine: String,
    starts: Vec<u64>,
    sizes: Vec<u32>,
}

struct Parsed {
    version: u32,
    format: Format,
    count: usize,
    total_size: u64,
    trailer_offset: u64,
    flags: u32,
    table_offset: usize,
    table_len: usize,
    crcs: Vec<u32>,
    sidecar: Sidecar,
    fingerprint: String,
    frames: Option<ParsedFrames>,
}

/// What a catalog's header says, besides the table it precedes.
pub(crate) struct HeaderFields<'a> {
    pub(crate) version: u32,
    pub(crate) format: Format,
    pub(crate) count: u64,
    pub(crate) total_size: u64,
    pub(crate) table_len: u64,
    pub(crate) trailer_offset: u64,
    pub(crate) deflated: bool,
    pub(crate) fingerprint: &'a str,
    pub(crate) sidecar: &'a Sidecar,
    /// The CRC-32 of each chunk of the table.
    pub(crate) crcs: &'a [u32],
    /// A seekable compressed tape's frames (version 3).
    pub(crate) frames: Option<&'a Frames>,
}

fn encode_header(tape: &Tape) -> Result<Vec<u8>> {
    let layout = tape.layout();
    let fingerprint = tape.fingerprint()?;
    encode_fields(&HeaderFields {
        version: layout.catalog_version(),
        format: layout.format(),
        count: layout.len() as u64,
        total_size: layout.total_size(),
        table_len: layout.table().len() as u64,
        trailer_offset: layout.trailer_offset(),
        deflated: layout.deflated(),
        fingerprint: &fingerprint,
        sidecar: layout.sidecar(),
        crcs: layout.table().crcs(),
        frames: tape.frames().map(|f| &**f),
    })
}

/// A catalog's header bytes, its CRC included.
pub(crate) fn encode_fields(f: &HeaderFields) -> Result<Vec<u8>> {
    let mut h = Vec::new();
    h.extend_from_slice(MAGIC);
    let version = match f.frames {
        Some(_) => FRAMES_VERSION,
        None => f.version,
    };
    h.extend_from_slice(&version.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes()); // header length, set below
    h.extend_from_slice(&f.format.code().to_le_bytes()); // 0 = TAR, 1 = ZIP
    h.extend_from_slice(&f.count.to_le_bytes());
    h.extend_from_slice(&f.total_size.to_le_bytes());
    h.extend_from_slice(&f.table_len.to_le_bytes());
    h.extend_from_slice(&f.trailer_offset.to_le_bytes());
    let mut flags = if f.deflated { FLAG_DEFLATED } else { 0 };
    if f.frames.is_some() {
        flags |= FLAG_FRAMES;
    }
    h.extend_from_slice(&flags.to_le_bytes());
    put_bytes(&mut h, f.fingerprint.as_bytes());
    let sidecar = f.sidecar;
    h.extend_from_slice(&(sidecar.bases.len() as u32).to_le_bytes());
    for base in &sidecar.bases {
        use std::os::unix::ffi::OsStrExt;
        // Absolute, so that the catalog opens from any working directory (another process, a
        // worker on another host); a relative path meant the working directory of the walk.
        let absolute =
            std::path::absolute(base.as_path()).map_err(|e| Error::io(base.as_path(), e))?;
        put_bytes(&mut h, absolute.as_os_str().as_bytes());
    }
    h.extend_from_slice(&(sidecar.owners.len() as u32).to_le_bytes());
    for o in &sidecar.owners {
        h.extend_from_slice(&o.uid.to_le_bytes());
        h.extend_from_slice(&o.gid.to_le_bytes());
        put_bytes(&mut h, &o.uname);
        put_bytes(&mut h, &o.gname);
    }
    h.extend_from_slice(&(sidecar.exclude.len() as u32).to_le_bytes());
    for x in &sidecar.exclude {
        put_bytes(&mut h, x);
    }
    if let Some(fr) = f.frames {
        let c = fr.compress();
        let code: u32 = match c.compression() {
            Compression::Gzip => 1,
            _ => 2,
        };
        h.extend_from_slice(&code.to_le_bytes());
        h.extend_from_slice(&c.level().to_le_bytes());
        h.extend_from_slice(&fr.frame_size().to_le_bytes());
        put_bytes(&mut h, fr.engine().as_bytes());
        h.extend_from_slice(&(fr.len() as u64).to_le_bytes());
        for k in 0..fr.len() {
            h.extend_from_slice(&fr.plain(k).0.to_le_bytes());
            h.extend_from_slice(&fr.size(k).to_le_bytes());
        }
    }
    h.extend_from_slice(&(f.crcs.len() as u32).to_le_bytes());
    for c in f.crcs {
        h.extend_from_slice(&c.to_le_bytes());
    }
    let header_len = h.len() + 4;
    h[20..24].copy_from_slice(&(header_len as u32).to_le_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    Ok(h)
}

fn put_bytes(h: &mut Vec<u8>, b: &[u8]) {
    h.extend_from_slice(&(b.len() as u32).to_le_bytes());
    h.extend_from_slice(b);
}

/// A bounds-checked reader over the header.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| Error::corrupt("catalog", "the header is truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

fn parse_header(file: &[u8]) -> Result<Parsed> {
    if file.len() < 24 || &file[..16] != MAGIC {
        return Err(Error::corrupt(
            "catalog",
            "not a tartape catalog (bad magic)",
        ));
    }
    let version = u32::from_le_bytes(file[16..20].try_into().expect("4"));
    if !(1..=VERSION).contains(&version) {
        return Err(Error::Unsupported(format!(
            "catalog format version {version}; this build reads versions 1 to {VERSION}"
        )));
    }
    let header_len = u32::from_le_bytes(file[20..24].try_into().expect("4")) as usize;
    if !(28..=HEADER_MAX).contains(&header_len) || header_len > file.len() {
        return Err(Error::corrupt(
            "catalog",
            format!("header length {header_len} is impossible: truncated?"),
        ));
    }
    let stored = u32::from_le_bytes(file[header_len - 4..header_len].try_into().expect("4"));
    // Fuzzing builds skip checksums so that mutations reach the parsers behind them.
    if !cfg!(fuzzing) && crc32fast::hash(&file[..header_len - 4]) != stored {
        return Err(Error::corrupt(
            "catalog",
            "header checksum mismatch: the file was altered",
        ));
    }
    let mut c = Cursor {
        b: &file[..header_len - 4],
        at: 24,
    };
    let code = c.u32()?;
    let format = Format::from_code(code)
        .ok_or_else(|| Error::Unsupported(format!("catalog of archive format {code}")))?;
    let count = usize::try_from(c.u64()?).map_err(|_| Error::corrupt("catalog", "entry count"))?;
    let total_size = c.u64()?;
    let table_len =
        usize::try_from(c.u64()?).map_err(|_| Error::corrupt("catalog", "table length"))?;
    let trailer_offset = c.u64()?;
    let flags = c.u32()?;
    let known = if version >= FRAMES_VERSION {
        FLAG_DEFLATED | FLAG_FRAMES
    } else {
        FLAG_DEFLATED
    };
    if flags & !known != 0 {
        return Err(Error::Unsupported(format!("catalog flags {flags:#x}")));
    }
    let fingerprint = String::from_utf8(c.bytes()?.to_vec())
        .map_err(|_| Error::corrupt("catalog", "fingerprint is not text"))?;
    let mut sidecar = Sidecar::default();
    for _ in 0..c.u32()? {
        use std::os::unix::ffi::OsStrExt;
        let p = std::ffi::OsStr::from_bytes(c.bytes()?);
        sidecar.bases.push(Arc::new(PathBuf::from(p)));
    }
    for _ in 0..c.u32()? {
        let uid = c.u64()?;
        let gid = c.u64()?;
        let uname = c.bytes()?.into();
        let gname = c.bytes()?.into();
        sidecar.owners.push(Arc::new(Owner {
            uid,
            gid,
            uname,
            gname,
        }));
    }
    for _ in 0..c.u32()? {
        sidecar.exclude.push(c.bytes()?.to_vec());
    }
    let frames = if flags & FLAG_FRAMES != 0 {
        Some(parse_frames(&mut c)?)
    } else {
        None
    };
    let n = c.u32()? as usize;
    let crcs = c.take(
        n.checked_mul(4)
            .ok_or_else(|| Error::corrupt("catalog", "chunk count"))?,
    )?;
    let crcs = crcs
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4")))
        .collect();
    if c.at != c.b.len() {
        return Err(Error::corrupt(
            "catalog",
            "unexpected bytes at the end of the header",
        ));
    }
    Ok(Parsed {
        version,
        format,
        count,
        total_size,
        trailer_offset,
        flags,
        table_offset: header_len,
        table_len,
        crcs,
        sidecar,
        fingerprint,
        frames,
    })
}

fn parse_frames(c: &mut Cursor<'_>) -> Result<ParsedFrames> {
    let compression = match c.u32()? {
        1 => Compression::Gzip,
        2 => Compression::Zstd,
        other => return Err(Error::Unsupported(format!("frames of compression {other}"))),
    };
    let level = c.u32()? as i32;
    let compress = Compress::new(compression, level)
        .map_err(|e| Error::corrupt("catalog", format!("the frames' compression: {e}")))?;
    let frame_size = c.u64()?;
    let engine = String::from_utf8(c.bytes()?.to_vec())
        .map_err(|_| Error::corrupt("catalog", "the frames' library is not text"))?;
    let n = c.u64()?;
    // Each frame takes 12 header bytes: a count beyond what is left is a lie.
    if n.checked_mul(12)
        .map_or(true, |b| b > (c.b.len() - c.at) as u64)
    {
        return Err(Error::corrupt("catalog", format!("{n} frames")));
    }
    let (mut starts, mut sizes) = (
        Vec::with_capacity(n as usize),
        Vec::with_capacity(n as usize),
    );
    for _ in 0..n {
        starts.push(c.u64()?);
        sizes.push(c.u32()?);
    }
    Ok(ParsedFrames {
        compress,
        frame_size,
        engine,
        starts,
        sizes,
    })
}
