//! The status code every C function returns, its names, and the library version.

use std::ffi::c_char;

use crate::Error;

/// What a call did. A fixed-width integer (`int32_t`) with stable numbers; retired numbers are
/// never reused.
///
/// Graded like libarchive's: `OK` and `EOF` are success; 10 to 29 are errors in the call that leave
/// the handle as it was (fix the call and try again); 30 and up stop the handle's stream for good
/// (the source, the data or the environment is wrong), though a sealed tape still answers
/// `tt_read_at` and its accessors. The handle's message says what went wrong.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tt_status {
    /// Success.
    Ok = 0,
    /// Success, and there is nothing more: the stream or listing has ended.
    Eof = 1,
    /// An argument was NULL where it may not be, out of range, or malformed.
    InvalidArgument = 10,
    /// An archive name was refused: absolute, with a `..` component, a NUL, empty, or a duplicate.
    InvalidName = 11,
    /// The call does not fit the handle's state (adding after sealing, feeding when no entry wants data).
    State = 12,
    /// What was asked for does not exist.
    NotFound = 13,
    /// Not supported by tartape (an encrypted member, a special file in strict mode, a compression method).
    Unsupported = 14,
    /// The bytes asked for cannot be read at random (a push-fed entry, a deflated ZIP member).
    NotRandomAccess = 15,
    /// An operating-system error reading a source or writing an output.
    Io = 30,
    /// A source changed after it was recorded: size, mtime, identity, or it is gone.
    Changed = 31,
    /// An entry got more or fewer bytes than it declared.
    SizeMismatch = 32,
    /// An archive or a catalog is malformed, truncated or altered.
    Corrupt = 33,
    /// A safety limit was reached (header size, entry count, inflation ratio).
    Limit = 34,
    /// A caller's callback reported a failure.
    Callback = 35,
    /// A bug inside tartape was caught at the boundary; the handle should be freed.
    Panic = 99,
}

impl tt_status {
    /// The status that stands for `err`.
    pub fn of(err: &Error) -> tt_status {
        match err {
            Error::InvalidArgument(_) => tt_status::InvalidArgument,
            Error::InvalidName { .. } => tt_status::InvalidName,
            Error::State(_) => tt_status::State,
            Error::NotFound(_) => tt_status::NotFound,
            Error::Unsupported(_) => tt_status::Unsupported,
            Error::NotRandomAccess(_) => tt_status::NotRandomAccess,
            Error::Io { .. } => tt_status::Io,
            Error::Changed { .. } => tt_status::Changed,
            Error::SizeMismatch { .. } => tt_status::SizeMismatch,
            Error::Corrupt { .. } => tt_status::Corrupt,
            Error::Limit(_) => tt_status::Limit,
            Error::Callback(_) => tt_status::Callback,
        }
    }

    fn name(self) -> &'static [u8] {
        match self {
            tt_status::Ok => b"OK\0",
            tt_status::Eof => b"EOF\0",
            tt_status::InvalidArgument => b"INVALID_ARGUMENT\0",
            tt_status::InvalidName => b"INVALID_NAME\0",
            tt_status::State => b"STATE\0",
            tt_status::NotFound => b"NOT_FOUND\0",
            tt_status::Unsupported => b"UNSUPPORTED\0",
            tt_status::NotRandomAccess => b"NOT_RANDOM_ACCESS\0",
            tt_status::Io => b"IO\0",
            tt_status::Changed => b"CHANGED\0",
            tt_status::SizeMismatch => b"SIZE_MISMATCH\0",
            tt_status::Corrupt => b"CORRUPT\0",
            tt_status::Limit => b"LIMIT\0",
            tt_status::Callback => b"CALLBACK\0",
            tt_status::Panic => b"PANIC\0",
        }
    }

    const ALL: [tt_status; 15] = [
        tt_status::Ok,
        tt_status::Eof,
        tt_status::InvalidArgument,
        tt_status::InvalidName,
        tt_status::State,
        tt_status::NotFound,
        tt_status::Unsupported,
        tt_status::NotRandomAccess,
        tt_status::Io,
        tt_status::Changed,
        tt_status::SizeMismatch,
        tt_status::Corrupt,
        tt_status::Limit,
        tt_status::Callback,
        tt_status::Panic,
    ];
}

/// The name of a status ("OK", "CHANGED", ...), or "UNKNOWN" for a number that is not one.
///
/// Returns a static NUL-terminated string: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_status_name(status: i32) -> *const c_char {
    let name: &'static [u8] = tt_status::ALL
        .iter()
        .find(|s| **s as i32 == status)
        .map(|s| s.name())
        .unwrap_or(b"UNKNOWN\0");
    name.as_ptr().cast()
}

/// Nonzero when `status` stops a handle's stream for good (30 and up), zero otherwise. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_status_is_fatal(status: i32) -> i32 {
    i32::from(status >= 30)
}

/// The library's version ("MAJOR.MINOR.PATCH"), the same as `TARTAPE_VERSION` in the header of the
/// release it comes from. Static string: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
