//! The C ABI: a thin layer over the engine, one module per handle type.
//!
//! Conventions (also in README.md): every function runs inside a panic boundary; every pointer is
//! checked (NULL gives `INVALID_ARGUMENT` or the documented fallback); `(NULL, 0)` is an empty buffer;
//! the handle comes first, inputs next, outputs last, and outputs are written only on success; error
//! details live on the handle until the next call on it.

// These functions are called from C with pointers that C guarantees or that are NULL; marking them
// `unsafe` would change nothing for C and only hide the checks inside.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod archive;
pub mod catalog;
pub mod frames;
pub mod status;
pub mod stream;
pub mod tape;
pub mod volume;

use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

pub use status::tt_status;

use crate::Error;

/// Runs `f` so that a panic becomes `tt_status::Panic` instead of crossing into C.
pub(crate) fn boundary(f: impl FnOnce() -> tt_status) -> tt_status {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(tt_status::Panic)
}

/// Runs `f` so that a panic becomes `fallback`.
pub(crate) fn boundary_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// A caller's input buffer: `(NULL, 0)` is empty; NULL with a length is `None`.
///
/// # Safety
/// When non-NULL, `ptr` must point to `len` readable bytes that outlive the returned slice.
pub(crate) unsafe fn input<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return (len == 0).then_some(&[][..]);
    }
    Some(std::slice::from_raw_parts(ptr, len))
}

/// A caller's output buffer: `(NULL, 0)` is empty; NULL with a length is `None`.
///
/// # Safety
/// When non-NULL, `ptr` must point to `len` writable bytes that outlive the returned slice.
pub(crate) unsafe fn output<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if ptr.is_null() {
        return (len == 0).then_some(&mut [][..]);
    }
    Some(std::slice::from_raw_parts_mut(ptr, len))
}

/// Writes `value` through an optional out-parameter; NULL means the caller does not want it.
///
/// # Safety
/// When non-NULL, `ptr` must point to a writable, aligned `T`.
pub(crate) unsafe fn put<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        ptr.write(value);
    }
}

/// A NUL-terminated C string as bytes; NULL is `None`.
///
/// # Safety
/// When non-NULL, `ptr` must be a valid NUL-terminated string.
pub(crate) unsafe fn c_bytes<'a>(ptr: *const c_char) -> Option<&'a [u8]> {
    (!ptr.is_null()).then(|| std::ffi::CStr::from_ptr(ptr).to_bytes())
}

/// The message of a handle's last error, owned by the handle.
pub(crate) struct LastError(Mutex<CString>);

impl LastError {
    pub(crate) fn new() -> Self {
        LastError(Mutex::new(CString::default()))
    }

    /// Records `err` as the handle's message and returns its status.
    pub(crate) fn set(&self, err: &Error) -> tt_status {
        self.set_message(tt_status::of(err), &err.to_string())
    }

    /// Records `message` and returns `status`.
    pub(crate) fn set_message(&self, status: tt_status, message: &str) -> tt_status {
        let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = text;
        status
    }

    /// Clears the message and returns `OK` (or the result's error status).
    pub(crate) fn result(&self, result: crate::Result<()>) -> tt_status {
        match result {
            Ok(()) => tt_status::Ok,
            Err(e) => self.set(&e),
        }
    }

    /// Copies the message into `buf[0..len]` (cut to fit, always NUL-terminated when `len > 0`)
    /// and returns its full length without the NUL. Safe while other threads set messages.
    pub(crate) fn copy_to(&self, buf: *mut c_char, len: usize) -> usize {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = guard.as_bytes();
        if !buf.is_null() && len > 0 {
            let n = bytes.len().min(len - 1);
            // SAFETY: buf points to len writable bytes by the caller's contract; n < len.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr().cast(), buf, n);
                *buf.add(n) = 0;
            }
        }
        bytes.len()
    }

    /// The message; valid until the next call that sets one.
    pub(crate) fn as_ptr(&self) -> *const c_char {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ptr()
    }
}
