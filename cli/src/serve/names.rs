//! Names between URLs, headers and HTML: the route of a request path, Content-Disposition (RFC
//! 6266 with RFC 8187's `filename*` for names that are not plain ASCII), content types of
//! members, and escaping for the index page.
//!
//! A path only ever selects an archive by name and a member by its name in the archive's layout:
//! nothing from a URL is ever joined to a path on disk, so `..`, encoded slashes or NUL cannot
//! reach a file outside the sources. Malformed escapes and NUL are refused with 400.

use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What a request path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `/`: the index page.
    Index,
    /// `/NAME.tar`: an archive, by file name (decoded).
    Archive(Vec<u8>),
    /// `/NAME.tar/MEMBER`: a member's content (both decoded).
    Member(Vec<u8>, Vec<u8>),
}

/// The route of `path` (the request target's path, still percent-encoded).
pub fn route(path: &[u8]) -> Result<Route, &'static str> {
    let Some(rest) = path.strip_prefix(b"/") else {
        return Err("the request target must be a path");
    };
    if rest.is_empty() {
        return Ok(Route::Index);
    }
    let (archive, member) = match rest.iter().position(|&b| b == b'/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let archive = decode(archive)?;
    match member {
        None => Ok(Route::Archive(archive)),
        Some(m) => Ok(Route::Member(archive, decode(m)?)),
    }
}

/// Percent-decodes `s`; a `%` not followed by two hex digits, or a decoded NUL, is refused.
fn decode(s: &[u8]) -> Result<Vec<u8>, &'static str> {
    for (i, &b) in s.iter().enumerate() {
        if b == b'%'
            && !(s.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err("malformed percent-encoding in the path");
        }
    }
    let out: Vec<u8> = percent_decode(s).collect();
    if out.contains(&0) {
        return Err("NUL in the path");
    }
    Ok(out)
}

/// RFC 8187 attr-char: everything else is percent-encoded in `filename*`.
const ATTR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Path characters left as they are in links (unreserved, sub-delims, `:`, `@`, `/`).
const PATH: &AsciiSet = &ATTR
    .remove(b'/')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@')
    .add(b'#')
    .add(b'`')
    .add(b'^')
    .add(b'|');

/// `TYPE; filename="ascii"` plus `filename*=UTF-8''...` when the name is not plain printable
/// ASCII without quotes, backslashes or percent signs (the ASCII fallback then has `_` instead).
pub fn disposition(kind: &str, name: &[u8]) -> String {
    let plain: String = name
        .iter()
        .map(|&b| match b {
            b' '..=b'~' if !matches!(b, b'"' | b'\\' | b'%') => b as char,
            _ => '_',
        })
        .collect();
    let mut out = format!("{kind}; filename=\"{plain}\"");
    if plain.as_bytes() != name {
        let utf8 = String::from_utf8_lossy(name);
        out.push_str("; filename*=UTF-8''");
        out.extend(utf8_percent_encode(&utf8, ATTR));
    }
    out
}

/// A link to `/` + `name`, percent-encoded (any bytes).
pub fn href(name: &[u8]) -> String {
    percent_encoding::percent_encode(name, PATH).to_string()
}

/// `name` escaped for HTML text and attributes (not UTF-8: shown lossily).
pub fn html(name: &[u8]) -> String {
    let mut out = String::new();
    for c in String::from_utf8_lossy(name).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The content type of a member, from its extension (a few common ones; else octet-stream).
pub fn content_type(name: &[u8]) -> &'static str {
    let ext = match name.iter().rposition(|&b| b == b'.') {
        Some(i) => name[i + 1..].to_ascii_lowercase(),
        None => return "application/octet-stream",
    };
    match ext.as_slice() {
        b"txt" | b"md" | b"log" => "text/plain; charset=utf-8",
        b"html" | b"htm" => "text/html; charset=utf-8",
        b"css" => "text/css",
        b"js" => "text/javascript",
        b"json" => "application/json",
        b"xml" => "application/xml",
        b"csv" => "text/csv",
        b"pdf" => "application/pdf",
        b"png" => "image/png",
        b"jpg" | b"jpeg" => "image/jpeg",
        b"gif" => "image/gif",
        b"svg" => "image/svg+xml",
        b"tar" => "application/x-tar",
        b"zip" => "application/zip",
        b"gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_to_the_index_archives_and_members() {
        assert_eq!(route(b"/"), Ok(Route::Index));
        assert_eq!(route(b"/a.tar"), Ok(Route::Archive(b"a.tar".to_vec())));
        assert_eq!(
            route(b"/a.tar/d/f%20g.txt"),
            Ok(Route::Member(b"a.tar".to_vec(), b"d/f g.txt".to_vec()))
        );
        assert_eq!(
            route(b"/a%2Etar/x%2Fy"),
            Ok(Route::Member(b"a.tar".to_vec(), b"x/y".to_vec()))
        );
        // An encoded slash in the archive's name is part of the name, which no archive has.
        assert_eq!(
            route(b"/a.tar%2Fx"),
            Ok(Route::Archive(b"a.tar/x".to_vec()))
        );
        assert_eq!(route(b"/%FF.tar"), Ok(Route::Archive(b"\xff.tar".to_vec())));
        assert_eq!(
            route(b"/a.tar/../../etc/passwd"),
            Ok(Route::Member(
                b"a.tar".to_vec(),
                b"../../etc/passwd".to_vec()
            ))
        );
    }

    #[test]
    fn malformed_escapes_nul_and_non_paths_are_refused() {
        for bad in [
            &b"/a%00.tar"[..],
            b"/a.tar/x%00",
            b"/a%",
            b"/a%4",
            b"/a%zz",
            b"*",
            b"",
            b"a.tar",
        ] {
            assert!(route(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn dispositions_quote_ascii_and_encode_the_rest() {
        assert_eq!(
            disposition("attachment", b"a.tar"),
            "attachment; filename=\"a.tar\""
        );
        assert_eq!(
            disposition("attachment", "données été.tar".as_bytes()),
            "attachment; filename=\"donn__es __t__.tar\"; filename*=UTF-8''donn%C3%A9es%20%C3%A9t%C3%A9.tar"
        );
        assert_eq!(
            disposition("inline", b"a\"b\\c%d"),
            "inline; filename=\"a_b_c_d\"; filename*=UTF-8''a%22b%5Cc%25d"
        );
        assert_eq!(
            disposition("inline", b"x\xff"),
            "inline; filename=\"x_\"; filename*=UTF-8''x%EF%BF%BD"
        );
    }

    #[test]
    fn links_and_html_are_escaped() {
        assert_eq!(href(b"a b#?.tar"), "a%20b%23%3F.tar");
        assert_eq!(html(b"<a&\"'>"), "&lt;a&amp;&quot;&#39;&gt;");
        assert_eq!(content_type(b"x.JSON"), "application/json");
        assert_eq!(content_type(b"x"), "application/octet-stream");
    }
}
