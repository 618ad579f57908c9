//! ZIP archives: the same tape written as ZIP instead of TAR (docs/FORMAT-ZIP.md).
//!
//! Stored entries keep every offset known before streaming, so the layout, `read_at`, resume,
//! volumes and locate work as for TAR. Deflated entries are stream-only ([`deflate`]).

pub mod deflate;
pub mod header;
