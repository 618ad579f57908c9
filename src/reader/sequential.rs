//! Reading a TAR archive once, front to back, from any reader: a pipe, standard input, a socket.
//! Nothing is seeked and nothing but the current member's header is kept, so memory stays
//! constant whatever the archive's size.

use std::io::{self, Read};

use super::member::{to_io, Body};
use super::store::{Forward, Store};
use super::tar::Walker;
use super::{ArchiveEntry, Compression, Limits};
use crate::Result;

/// A TAR archive read sequentially: [`TarStream::next_entry`] moves to the next member (skipping
/// what is left of the current one's content), and [`TarStream::read_data`] (or [`Read`]) reads
/// the current member's content (sparse members expanded). The same checks and [`Limits`] as
/// [`super::Archive`] apply; a ZIP archive is refused with `Unsupported`, since its directory is at
/// its end.
///
/// ```
/// use std::io::Read;
/// use tartape::reader::TarStream;
///
/// # fn main() -> tartape::Result<()> {
/// # let bytes = {
/// #     let mut b = tartape::TapeBuilder::new();
/// #     b.add_bytes(b"hello.txt", b"hello\n".to_vec(), 0o644, 0)?;
/// #     let tape = std::sync::Arc::new(b.seal()?);
/// #     let mut out = vec![0; tape.total_size() as usize];
/// #     tape.read_at(0, &mut out)?;
/// #     out
/// # };
/// let mut tar = TarStream::new(std::io::Cursor::new(bytes))?; // or std::io::stdin()
/// while let Some(entry) = tar.next_entry()? {
///     println!("{} ({} bytes)", entry.name.escape_ascii(), entry.size);
/// }
/// # Ok(())
/// # }
/// ```
pub struct TarStream {
    store: Store,
    limits: Limits,
    walker: Walker,
    current: Option<(ArchiveEntry, Body)>,
}

impl std::fmt::Debug for TarStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TarStream")
            .field("entry", &self.current.as_ref().map(|(e, _)| &e.name))
            .finish()
    }
}

impl TarStream {
    /// Reads the archive from `reader` with the default [`Limits`]. A stream that starts with the
    /// magic bytes of gzip, zstd, xz or bzip2 is decompressed as it is read (a `.tar.gz` on a
    /// pipe), within the limits' inflation bounds.
    pub fn new(reader: impl Read + Send + 'static) -> Result<TarStream> {
        TarStream::with_limits(reader, Limits::default())
    }

    /// Reads the archive from `reader` with `limits`; its first bytes are read now, to see
    /// whether it is compressed.
    pub fn with_limits(reader: impl Read + Send + 'static, limits: Limits) -> Result<TarStream> {
        let forward = Forward::new(Box::new(reader), &limits)?;
        Ok(TarStream {
            store: Store::Forward(std::sync::Mutex::new(forward)),
            limits,
            walker: Walker::default(),
            current: None,
        })
    }

    /// The compression the archive is decoded from ([`Compression::None`] for a plain TAR).
    pub fn compression(&self) -> Compression {
        match &self.store {
            Store::Forward(f) => f.lock().unwrap_or_else(|e| e.into_inner()).compression(),
            _ => Compression::None,
        }
    }

    /// Moves to the next member and returns it, or `None` at the end of the archive.
    pub fn next_entry(&mut self) -> Result<Option<&ArchiveEntry>> {
        self.current = None;
        let Some(entry) = self.walker.next(&self.store, &self.limits)? else {
            if let Store::Forward(f) = &self.store {
                f.lock().unwrap_or_else(|e| e.into_inner()).finish()?;
            }
            return Ok(None);
        };
        let body = Body::new(&entry, &self.limits, false)?;
        self.current = Some((entry, body));
        Ok(self.current.as_ref().map(|(e, _)| e))
    }

    /// The current member (after a `next_entry` that returned one).
    pub fn entry(&self) -> Option<&ArchiveEntry> {
        self.current.as_ref().map(|(e, _)| e)
    }

    /// Reads the current member's content; 0 at its end (or with no current member).
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize> {
        match &mut self.current {
            Some((entry, body)) => body.read(&self.store, entry, buf),
            None => Ok(0),
        }
    }
}

impl Read for TarStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_data(buf).map_err(to_io)
    }
}
