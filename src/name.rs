//! Archive names: validated and normalised byte strings.
//!
//! A name is a relative path of `/`-separated components. `.` components and repeated or trailing
//! slashes are dropped; an absolute path, a `..` component, a NUL byte or a name with nothing left
//! is refused. Names are bytes: non-UTF-8 names are kept as they are.

use crate::error::{show_name, Error, Result};

/// Validates `raw` and returns its normal form (no leading, trailing or double `/`, no `.`).
pub fn normalize(raw: &[u8]) -> Result<Vec<u8>> {
    let refuse = |reason| Error::InvalidName {
        name: show_name(raw),
        reason,
    };
    if raw.is_empty() {
        return Err(refuse("empty name"));
    }
    if raw.contains(&0) {
        return Err(refuse("contains a NUL byte"));
    }
    if raw[0] == b'/' {
        return Err(refuse("absolute path"));
    }
    let mut out = Vec::with_capacity(raw.len());
    for component in raw.split(|&b| b == b'/') {
        match component {
            b"" | b"." => continue,
            b".." => return Err(refuse("contains a '..' component")),
            _ => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(component);
            }
        }
    }
    if out.is_empty() {
        return Err(refuse("no component left after removing '.' and '/'"));
    }
    Ok(out)
}

/// Joins a validated parent name and one child component (a directory entry's file name).
pub fn join(parent: &[u8], child: &[u8]) -> Result<Vec<u8>> {
    if child.is_empty() || child == b"." || child == b".." || child.contains(&b'/') {
        return Err(Error::InvalidName {
            name: show_name(child),
            reason: "not a single path component",
        });
    }
    let mut out = Vec::with_capacity(parent.len() + 1 + child.len());
    out.extend_from_slice(parent);
    out.push(b'/');
    out.extend_from_slice(child);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_drops_dots_and_slashes() {
        assert_eq!(normalize(b"./a//b/./c/").unwrap(), b"a/b/c");
        assert_eq!(normalize(b"\xff\xfe/x").unwrap(), b"\xff\xfe/x");
    }

    #[test]
    fn normalize_refuses_unsafe_names() {
        for bad in [
            &b""[..],
            b"/etc/passwd",
            b"a/../b",
            b"..",
            b"a\0b",
            b"./.",
            b"//",
        ] {
            assert!(
                matches!(normalize(bad), Err(Error::InvalidName { .. })),
                "{bad:?}"
            );
        }
    }
}
