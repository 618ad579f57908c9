//! Where an archive's bytes live: a file read with `pread`, memory, or the uncompressed view of
//! either (src/reader/unpack).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::unpack::index::Unpacked;
use super::unpack::stream::StreamDecoder;
use super::unpack::{detect, Compression};
use super::Limits;
use crate::{Error, Result};

/// An archive's bytes. Both variants are read at an offset without a shared cursor, so one store
/// serves several threads.
pub(crate) enum Store {
    /// A file and its path (for messages) and length when opened.
    File(File, PathBuf, u64),
    /// Bytes in memory.
    Memory(Arc<[u8]>),
    /// The uncompressed bytes of a compressed store (`.tar.gz`...).
    Unpacked(Arc<Unpacked>),
    /// A stream read once, front to back (a pipe, standard input): its length is not known until
    /// its end, and a read behind the cursor is refused.
    Forward(Mutex<Forward>),
}

/// The state of a [`Store::Forward`].
pub(crate) struct Forward {
    input: ForwardInput,
    /// Bytes consumed so far: the offset of the next byte the reader gives.
    pos: u64,
}

/// What a forward store reads: the stream's bytes, or their uncompressed form when the stream
/// starts with the magic bytes of gzip, zstd, xz or bzip2.
enum ForwardInput {
    Plain(Box<dyn Read + Send>),
    Decoded(Box<StreamDecoder>),
}

impl ForwardInput {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self {
            ForwardInput::Plain(r) => loop {
                match r.read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io(Path::new("standard input"), e)),
                }
            },
            ForwardInput::Decoded(d) => d.read(buf),
        }
    }
}

impl Forward {
    /// Reads the first bytes of `reader` to see whether it is compressed, and decodes it if so.
    pub(crate) fn new(mut reader: Box<dyn Read + Send>, limits: &Limits) -> Result<Forward> {
        let mut head = vec![0u8; 10];
        let mut got = 0;
        while got < head.len() {
            match reader.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(Path::new("standard input"), e)),
            }
        }
        head.truncate(got);
        let input = match detect(&head) {
            Compression::None => {
                ForwardInput::Plain(Box::new(std::io::Cursor::new(head).chain(reader)))
            }
            c => ForwardInput::Decoded(Box::new(StreamDecoder::new(c, head, reader, limits)?)),
        };
        Ok(Forward { input, pos: 0 })
    }

    /// The compression the stream is decoded from.
    pub(crate) fn compression(&self) -> Compression {
        match &self.input {
            ForwardInput::Plain(_) => Compression::None,
            ForwardInput::Decoded(d) => d.compression(),
        }
    }

    /// At the end of the archive: a compressed stream is decoded to its end, so that a cut or
    /// damaged end (a gzip trailer, a zstd checksum) is `Corrupt` and not taken for whole.
    pub(crate) fn finish(&mut self) -> Result<()> {
        if let ForwardInput::Decoded(d) = &mut self.input {
            let mut scratch = vec![0u8; 64 << 10];
            while d.read(&mut scratch)? > 0 {}
        }
        Ok(())
    }

    /// Reads at `offset` (not behind the cursor; bytes before it are read and dropped) as far as
    /// the stream goes.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset < self.pos {
            return Err(Error::Unsupported(format!(
                "the archive is read front to back from a stream: offset {offset} is behind \
                 offset {}, which needs a seekable file",
                self.pos
            )));
        }
        let mut scratch = [0u8; 8192];
        while self.pos < offset {
            let want = (offset - self.pos).min(scratch.len() as u64) as usize;
            let n = self.input.read(&mut scratch[..want])?;
            if n == 0 {
                // Content the headers promised is missing: the stream was cut short.
                return Err(Error::corrupt(
                    "tar archive",
                    format!(
                        "truncated: the stream ends at offset {}, inside data that runs to {offset}",
                        self.pos
                    ),
                ));
            }
            self.pos += n as u64;
        }
        let mut done = 0;
        while done < buf.len() {
            match self.input.read(&mut buf[done..])? {
                0 => break,
                n => done += n,
            }
        }
        self.pos += done as u64;
        Ok(done)
    }
}

impl Store {
    pub(crate) fn open(path: &Path) -> Result<Store> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "{} is a directory",
                path.display()
            )));
        }
        Ok(Store::File(file, path.to_path_buf(), meta.len()))
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Store::File(_, _, len) => *len,
            Store::Memory(bytes) => bytes.len() as u64,
            Store::Unpacked(u) => u.len(),
            // Unknown until the end: reads past it give 0 bytes, as for a file.
            Store::Forward(_) => u64::MAX,
        }
    }

    /// What the store is, for messages: its path, or "archive in memory".
    pub(crate) fn describe(&self) -> String {
        match self {
            Store::File(_, path, _) => path.display().to_string(),
            Store::Memory(_) => "archive in memory".into(),
            Store::Unpacked(u) => format!("uncompressed {}", u.compression().name()),
            Store::Forward(f) => match f.lock().unwrap_or_else(|e| e.into_inner()).compression() {
                Compression::None => "standard input".into(),
                c => format!("standard input ({})", c.name()),
            },
        }
    }

    /// Reads at `offset` into `buf` as far as the store goes; returns the bytes read.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match self {
            Store::File(file, path, _) => {
                let mut done = 0;
                while done < buf.len() {
                    match file.read_at(&mut buf[done..], offset + done as u64) {
                        Ok(0) => break,
                        Ok(n) => done += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Error::io(path, e)),
                    }
                }
                Ok(done)
            }
            Store::Memory(bytes) => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                let n = buf.len().min(bytes.len() - start);
                buf[..n].copy_from_slice(&bytes[start..start + n]);
                Ok(n)
            }
            Store::Unpacked(u) => u.read_at(offset, buf),
            Store::Forward(f) => f
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .read_at(offset, buf),
        }
    }

    /// Reads exactly `buf.len()` bytes at `offset`; running out is `Corrupt` (`what` is truncated).
    pub(crate) fn read_exact_at(
        &self,
        offset: u64,
        buf: &mut [u8],
        what: &'static str,
    ) -> Result<()> {
        let n = self.read_at(offset, buf)?;
        if n < buf.len() {
            return Err(Error::corrupt(
                what,
                format!(
                    "truncated: {} bytes wanted at offset {offset}, the archive ends at {}",
                    buf.len(),
                    offset + n as u64
                ),
            ));
        }
        Ok(())
    }

    /// Reads `len` bytes at `offset` into a new vector (callers bound `len` first).
    pub(crate) fn read_vec(&self, offset: u64, len: u64, what: &'static str) -> Result<Vec<u8>> {
        if offset.checked_add(len).map_or(true, |end| end > self.len()) {
            return Err(Error::corrupt(
                what,
                format!(
                    "truncated: {len} bytes wanted at offset {offset}, the archive is {} bytes",
                    self.len()
                ),
            ));
        }
        let mut buf = vec![0; len as usize];
        self.read_exact_at(offset, &mut buf, what)?;
        Ok(buf)
    }
}
