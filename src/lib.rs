//! tartape: deterministic streaming TAR and ZIP archives with random access.
//!
//! The engine is plain Rust: build a [`TapeBuilder`], seal it into a [`Tape`] whose layout (every
//! entry's offsets and the total size) is fixed before any content is read, then stream it with
//! [`Stream`] from any offset, or read any byte range with [`Tape::read_at`]. The C ABI in [`ffi`] is
//! a thin layer over these types; [`reader`] lists and reads existing TAR and ZIP archives.
//!
//! ```
//! use std::sync::Arc;
//! use tartape::{Event, TapeBuilder};
//!
//! # fn main() -> tartape::Result<()> {
//! let mut builder = TapeBuilder::new();
//! builder.add_bytes(b"hello.txt", b"hello, world\n".to_vec(), 0o644, 1_700_000_000)?;
//! let tape = Arc::new(builder.seal()?);
//!
//! // The size is known before a byte is read, and any range can be read on its own.
//! let size = tape.total_size();
//! let mut header = [0u8; 512];
//! tape.read_at(0, &mut header)?;
//! assert_eq!(&header[..9], b"hello.txt");
//!
//! // Or stream it, with events per entry (MD5 on).
//! let mut stream = tape.stream(0, true)?;
//! let mut written = 0u64;
//! while let Some(event) = stream.next_event()? {
//!     match event {
//!         Event::Data { bytes, .. } => written += bytes.len() as u64,
//!         Event::FileEnd { md5, .. } => assert!(md5.is_some()),
//!         _ => {}
//!     }
//! }
//! assert_eq!(written, size);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod error;
pub mod ffi;
pub mod reader;
pub mod stream;
pub mod verify;
pub mod volume;

pub use error::{Error, Result};

/// The library version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

// Internals. The two thread coordinations are public only in the model-checking build
// (`--cfg loom`, tests/loom.rs), which drives them directly.
#[cfg(loom)]
#[doc(hidden)]
pub mod aheadpool;
#[cfg(not(loom))]
mod aheadpool;
#[cfg(loom)]
#[doc(hidden)]
pub mod workqueue;
#[cfg(not(loom))]
mod workqueue;

mod catalog;
mod checksum;
mod compress;
mod copyout;
mod entry;
mod fingerprint;
mod hashpool;
mod header;
mod layout;
mod name;
mod openfiles;
mod recorder;
mod seekable;
mod source;
mod table;
mod tape;
mod walk;
mod walkahead;
mod walkstream;
mod zip;

pub use checksum::Checksums;
pub use compress::frames::{DEFAULT_FRAME_SIZE, MAX_FRAME_SIZE, MIN_FRAME_SIZE};
pub use compress::{Compress, Compression, Frames};
pub use copyout::CopyReport;
pub use entry::{Entry, EntryKind, Owner};
pub use layout::{Format, Layout, Position, Slot};
pub use recorder::Recorded;
pub use source::{ReadAtSource, Source};
pub use stream::{Event, Stream};
pub use tape::{MemoryEntry, Tape, TapeBuilder};
pub use walk::{ScanProgress, Skipped, WalkOptions};
pub use walkstream::Streamed;
