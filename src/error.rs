//! The one error type of the engine. Every variant names what was wrong; the C ABI maps each to a
//! stable status number (see `ffi::status`).

use std::path::PathBuf;

/// A `Result` whose error is the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in tartape.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument was out of range or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// An archive name was refused (absolute, `..`, NUL, empty, duplicate...).
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name as given (lossily shown).
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The call does not fit the object's state (adding after sealing, feeding when no entry wants data...).
    #[error("wrong state: {0}")]
    State(String),

    /// Something asked for does not exist (an entry name, a member).
    #[error("not found: {0}")]
    NotFound(String),

    /// A feature or input that tartape does not handle (an encrypted member, a special file in strict mode...).
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// The bytes asked for come from a source that cannot be read twice (a push-fed entry, a deflated ZIP).
    #[error("no random access: {0}")]
    NotRandomAccess(String),

    /// An operating-system error, with the path it concerns.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A source is no longer what the layout recorded (size, mtime, identity, existence).
    #[error("source changed: {name}: {what}")]
    Changed {
        /// The entry's archive name.
        name: String,
        /// What changed, with the expected and found values.
        what: String,
    },

    /// An entry got more or fewer bytes than it declared.
    #[error("size mismatch: {name}: {what}")]
    SizeMismatch {
        /// The entry's archive name.
        name: String,
        /// Declared and actual sizes.
        what: String,
    },

    /// An archive or catalog is malformed, truncated or altered.
    #[error("corrupt {what}: {detail}")]
    Corrupt {
        /// What was being read ("tar archive", "zip archive", "catalog").
        what: &'static str,
        /// What is wrong, with offsets where known.
        detail: String,
    },

    /// A safety limit was reached (header size, entry count, inflation ratio).
    #[error("limit exceeded: {0}")]
    Limit(String),

    /// A caller-supplied callback reported a failure.
    #[error("callback failed: {0}")]
    Callback(String),
}

impl Error {
    /// An `Io` error for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A `Corrupt` error.
    pub fn corrupt(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            what,
            detail: detail.into(),
        }
    }

    /// True when the error stops a stream for good (the source or output is wrong, not the call).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Error::Io { .. }
                | Error::Changed { .. }
                | Error::SizeMismatch { .. }
                | Error::Corrupt { .. }
                | Error::Limit(_)
                | Error::Callback(_)
        )
    }
}

/// Shows a byte name for messages: UTF-8 as is, other bytes escaped.
pub fn show_name(name: &[u8]) -> String {
    String::from_utf8(name.to_vec()).unwrap_or_else(|_| name.escape_ascii().to_string())
}
