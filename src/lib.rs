//! tartape: deterministic streaming TAR and ZIP archives with random access.
//!
//! The engine is plain Rust: build a [`TapeBuilder`], seal it into a [`Tape`] whose layout (every
//! entry's offsets and the total size) is fixed before any content is read, then stream it with
//! [`Stream`] from any offset, or read any byte range with [`Tape::read_at`]. The C ABI in [`ffi`] is
//! a thin layer over these types.
#![deny(missing_docs)]

pub mod error;
pub mod ffi;
pub mod reader;

pub use error::{Error, Result};

/// The library version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub mod aheadpool;
pub mod catalog;
pub mod checksum;
pub mod compress;
pub mod entry;
pub mod fingerprint;
pub mod hashpool;
pub mod header;
pub mod layout;
pub mod name;
pub mod source;
pub mod stream;
pub mod table;
pub mod tape;
pub mod verify;
pub mod volume;
pub mod walk;
pub mod workqueue;
pub mod zip;

pub use compress::{Compress, Compression};
pub use entry::{Entry, EntryKind, Owner};
pub use layout::{Format, Layout, Position, Slot};
pub use source::{ReadAtSource, Source};
pub use stream::{Event, Stream};
pub use tape::{MemoryEntry, Tape, TapeBuilder};
pub use walk::{Skipped, WalkOptions};
