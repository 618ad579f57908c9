//! The bytes behind a layout: in memory after sealing, or mapped from a catalog file. A catalog's
//! bytes are checked in chunks, each the first time it is used, so opening a catalog of a million
//! entries reads neither all of it nor parses any entry.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, Result};

/// The size of a checked chunk.
pub const CHUNK: usize = 1 << 20;

/// Read-only bytes: owned, or a private read-only mapping of a file.
pub enum Storage {
    /// Bytes in memory.
    Owned(Vec<u8>),
    /// A mapping of `len` bytes at `ptr`.
    Mapped {
        /// Start of the mapping.
        ptr: *const u8,
        /// Its length.
        len: usize,
    },
}

// SAFETY: the mapping is read-only and private; it is only unmapped in Drop.
unsafe impl Send for Storage {}
// SAFETY: as above: shared reads of immutable memory.
unsafe impl Sync for Storage {}

impl Storage {
    /// Maps `len` bytes of `file` read-only.
    pub fn map(file: &File, len: usize) -> std::io::Result<Storage> {
        if len == 0 {
            return Ok(Storage::Owned(Vec::new()));
        }
        // SAFETY: a fresh private read-only mapping of an open file; checked for failure.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Storage::Mapped {
            ptr: ptr as *const u8,
            len,
        })
    }

    /// All the bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Storage::Owned(v) => v,
            // SAFETY: the mapping is valid for `len` bytes until Drop.
            Storage::Mapped { ptr, len } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Storage::Mapped { ptr, len } = self {
            // SAFETY: unmapping exactly what `map` mapped, once.
            unsafe { libc::munmap(*ptr as *mut libc::c_void, *len) };
        }
    }
}

const UNCHECKED: u8 = 0;
const GOOD: u8 = 1;
const BAD: u8 = 2;

/// A region of storage split into chunks with a CRC-32 each.
pub struct Table {
    storage: Storage,
    /// Where the table starts in the storage.
    start: usize,
    len: usize,
    crcs: Vec<u32>,
    state: Vec<AtomicU8>,
}

impl Table {
    /// A table of bytes that need no checking (made in this process).
    pub fn trusted(bytes: Vec<u8>) -> Table {
        let len = bytes.len();
        let crcs = chunk_crcs(&bytes);
        let state = crcs.iter().map(|_| AtomicU8::new(GOOD)).collect();
        Table {
            storage: Storage::Owned(bytes),
            start: 0,
            len,
            crcs,
            state,
        }
    }

    /// A table of `len` bytes at `start` of `storage`, whose chunks must match `crcs`.
    pub fn checked(storage: Storage, start: usize, len: usize, crcs: Vec<u32>) -> Result<Table> {
        if storage.bytes().len() < start + len || crcs.len() != len.div_ceil(CHUNK) {
            return Err(Error::corrupt(
                "catalog",
                "the table is shorter than its header says",
            ));
        }
        let state = crcs.iter().map(|_| AtomicU8::new(UNCHECKED)).collect();
        Ok(Table {
            storage,
            start,
            len,
            crcs,
            state,
        })
    }

    /// The table's length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the table holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The CRC-32 of each chunk.
    pub fn crcs(&self) -> &[u32] {
        &self.crcs
    }

    /// All bytes, unchecked (for writing them out again).
    pub fn raw(&self) -> &[u8] {
        &self.storage.bytes()[self.start..self.start + self.len]
    }

    /// Checks every chunk now.
    pub fn check_all(&self) -> Result<()> {
        for i in 0..self.crcs.len() {
            self.check_chunk(i)?;
        }
        Ok(())
    }

    /// `len` bytes at `at`, after checking the chunks they lie in.
    pub fn get(&self, at: usize, len: usize) -> Result<&[u8]> {
        let end = at
            .checked_add(len)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| {
                Error::corrupt("catalog", format!("a record at {at} runs past the table"))
            })?;
        if len > 0 {
            for chunk in at / CHUNK..=(end - 1) / CHUNK {
                self.check_chunk(chunk)?;
            }
        }
        Ok(&self.raw()[at..end])
    }

    /// A little-endian u64 at `at`.
    pub fn u64_at(&self, at: usize) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.get(at, 8)?.try_into().expect("8 bytes"),
        ))
    }

    fn check_chunk(&self, chunk: usize) -> Result<()> {
        match self.state[chunk].load(Ordering::Acquire) {
            GOOD => return Ok(()),
            BAD => return Err(bad_chunk(chunk)),
            _ => {}
        }
        let from = chunk * CHUNK;
        let to = (from + CHUNK).min(self.len);
        // Fuzzing builds skip checksums so that mutations reach the record decoder.
        let ok = cfg!(fuzzing) || crc32fast::hash(&self.raw()[from..to]) == self.crcs[chunk];
        self.state[chunk].store(if ok { GOOD } else { BAD }, Ordering::Release);
        if ok {
            Ok(())
        } else {
            Err(bad_chunk(chunk))
        }
    }
}

fn bad_chunk(chunk: usize) -> Error {
    Error::corrupt(
        "catalog",
        format!(
            "checksum mismatch in bytes {}..{} of the entry table: the file was altered",
            chunk * CHUNK,
            (chunk + 1) * CHUNK
        ),
    )
}

/// The CRC-32 of each chunk of `bytes`.
pub fn chunk_crcs(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks(CHUNK).map(crc32fast::hash).collect()
}
