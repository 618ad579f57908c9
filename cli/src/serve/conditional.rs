//! Conditional requests (RFC 9110 section 13): `If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since` and `If-Range`, evaluated in the order of 13.2.2 against a
//! representation's strong ETag and Last-Modified date.
//!
//! Plain functions over the field values (all lines of a field, in order), tested here:
//! - `If-Match` uses the strong comparison; `*` matches; a value that is not a list of entity tags
//!   matches nothing (412: the client's precondition cannot be shown to hold);
//! - `If-None-Match` uses the weak comparison; `*` matches; a match is 304 for GET and HEAD (412
//!   for other methods, which this server does not serve); a malformed value matches nothing;
//! - the date fields are ignored when `If-Match` (for `If-Unmodified-Since`) or `If-None-Match`
//!   (for `If-Modified-Since`) is present, or when their value is not an HTTP-date (13.1.3, 13.1.4);
//! - `If-Range` lets `Range` apply only when it holds exactly one strong entity tag equal to ours,
//!   or an HTTP-date equal to our Last-Modified; anything else (a weak tag, a different tag, an
//!   earlier or later date, garbage, several values) means the whole representation is sent.

use std::time::{SystemTime, UNIX_EPOCH};

/// A representation's validators.
#[derive(Debug, Clone)]
pub struct Validators {
    /// The strong entity tag, quotes included: `"abc"`.
    pub etag: String,
    /// The Last-Modified date (whole seconds).
    pub last_modified: SystemTime,
}

/// The conditional fields of a request (each a list of the field's lines).
#[derive(Debug, Default, Clone)]
pub struct Conditions<'a> {
    /// `If-Match` lines.
    pub if_match: Vec<&'a [u8]>,
    /// `If-None-Match` lines.
    pub if_none_match: Vec<&'a [u8]>,
    /// `If-Modified-Since` lines.
    pub if_modified_since: Vec<&'a [u8]>,
    /// `If-Unmodified-Since` lines.
    pub if_unmodified_since: Vec<&'a [u8]>,
    /// `If-Range` lines.
    pub if_range: Vec<&'a [u8]>,
}

/// What the preconditions decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Go on; `Range` applies when `ranges` is true (If-Range absent or matching).
    Proceed {
        /// Whether a `Range` field may be honoured.
        ranges: bool,
    },
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates the preconditions of a GET or HEAD request (13.2.2).
pub fn evaluate(c: &Conditions, v: &Validators) -> Outcome {
    // Step 1 and 2.
    if !c.if_match.is_empty() {
        if !list_matches(&c.if_match, &v.etag, true) {
            return Outcome::Failed;
        }
    } else if let Some(date) = single_date(&c.if_unmodified_since) {
        if seconds(v.last_modified) > seconds(date) {
            return Outcome::Failed;
        }
    }
    // Step 3 and 4.
    if !c.if_none_match.is_empty() {
        if list_matches(&c.if_none_match, &v.etag, false) {
            return Outcome::NotModified;
        }
    } else if let Some(date) = single_date(&c.if_modified_since) {
        if seconds(v.last_modified) <= seconds(date) {
            return Outcome::NotModified;
        }
    }
    // Step 5.
    let ranges = c.if_range.is_empty() || if_range_holds(&c.if_range, v);
    Outcome::Proceed { ranges }
}

/// True when `If-Range` (all its lines) lets the `Range` field apply (13.1.5).
fn if_range_holds(lines: &[&[u8]], v: &Validators) -> bool {
    let [value] = lines else {
        return false;
    };
    let value = trim(value);
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        return match entity_tags(value) {
            Some(tags) => {
                matches!(tags.as_slice(), [t] if !t.weak && t.opaque == v.etag.as_bytes())
            }
            None => false,
        };
    }
    match std::str::from_utf8(value)
        .ok()
        .and_then(|s| httpdate::parse_http_date(s).ok())
    {
        Some(date) => seconds(date) == seconds(v.last_modified),
        None => false,
    }
}

/// An entity tag as written: `opaque` with its quotes.
#[derive(Debug, PartialEq, Eq)]
struct Tag<'a> {
    weak: bool,
    opaque: &'a [u8],
}

/// Whether the field's lines, a list of entity tags or `*`, match `etag` (strong or weak
/// comparison). A malformed list matches nothing.
fn list_matches(lines: &[&[u8]], etag: &str, strong: bool) -> bool {
    let mut any = false;
    for line in lines {
        let line = trim(line);
        if line == b"*" {
            return true;
        }
        let Some(tags) = entity_tags(line) else {
            return false;
        };
        any |= tags
            .iter()
            .any(|t| t.opaque == etag.as_bytes() && !(strong && t.weak));
    }
    any
}

/// Parses `#entity-tag` (empty elements allowed); `None` when the value is not such a list.
fn entity_tags(value: &[u8]) -> Option<Vec<Tag<'_>>> {
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = skip(rest, b" \t,");
        if rest.is_empty() {
            break;
        }
        let (weak, body) = match rest.strip_prefix(b"W/") {
            Some(b) => (true, b),
            None => (false, rest),
        };
        if body.first() != Some(&b'"') {
            return None;
        }
        let close = body[1..].iter().position(|&b| b == b'"')? + 1;
        let opaque = &body[..=close];
        // etagc = %x21 / %x23-7E / obs-text
        if !opaque[1..close]
            .iter()
            .all(|&b| b == 0x21 || (0x23..=0x7E).contains(&b) || b >= 0x80)
        {
            return None;
        }
        tags.push(Tag { weak, opaque });
        rest = skip(&body[close + 1..], b" \t");
        if !(rest.is_empty() || rest[0] == b',') {
            return None;
        }
    }
    Some(tags)
}

fn skip<'a>(mut s: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let [b, rest @ ..] = s {
        if !set.contains(b) {
            break;
        }
        s = rest;
    }
    s
}

fn trim(s: &[u8]) -> &[u8] {
    let s = skip(s, b" \t");
    let end = s.len()
        - s.iter()
            .rev()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
    &s[..end]
}

/// The date of a date field given once, as a valid HTTP-date; otherwise `None` (ignored).
fn single_date(lines: &[&[u8]]) -> Option<SystemTime> {
    let [value] = lines else {
        return None;
    };
    let text = std::str::from_utf8(trim(value)).ok()?;
    httpdate::parse_http_date(text).ok()
}

/// Seconds since the epoch (dates before it count as 0): HTTP dates have whole seconds.
pub fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn v() -> Validators {
        Validators {
            etag: "\"abc\"".into(),
            last_modified: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    const LM: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
    const BEFORE: &str = "Tue, 14 Nov 2023 22:13:19 GMT";
    const AFTER: &str = "Tue, 14 Nov 2023 22:13:21 GMT";

    fn eval(f: impl FnOnce(&mut Conditions<'static>)) -> Outcome {
        let mut c = Conditions::default();
        f(&mut c);
        evaluate(&c, &v())
    }

    const GO: Outcome = Outcome::Proceed { ranges: true };
    const WHOLE: Outcome = Outcome::Proceed { ranges: false };

    #[test]
    fn the_validator_date_is_what_the_tests_think() {
        assert_eq!(httpdate::fmt_http_date(v().last_modified), LM);
    }

    #[test]
    fn if_match_is_strong_and_fails_with_412() {
        assert_eq!(eval(|c| c.if_match = vec![b"\"abc\""]), GO);
        assert_eq!(eval(|c| c.if_match = vec![b"*"]), GO);
        assert_eq!(eval(|c| c.if_match = vec![b"\"x\", \"abc\""]), GO);
        assert_eq!(eval(|c| c.if_match = vec![b"\"x\"", b"\"abc\""]), GO);
        assert_eq!(eval(|c| c.if_match = vec![b"W/\"abc\""]), Outcome::Failed);
        assert_eq!(eval(|c| c.if_match = vec![b"\"abd\""]), Outcome::Failed);
        assert_eq!(eval(|c| c.if_match = vec![b"abc"]), Outcome::Failed);
        assert_eq!(eval(|c| c.if_match = vec![b""]), Outcome::Failed);
    }

    #[test]
    fn if_none_match_is_weak_and_gives_304() {
        assert_eq!(
            eval(|c| c.if_none_match = vec![b"\"abc\""]),
            Outcome::NotModified
        );
        assert_eq!(
            eval(|c| c.if_none_match = vec![b"W/\"abc\""]),
            Outcome::NotModified
        );
        assert_eq!(eval(|c| c.if_none_match = vec![b"*"]), Outcome::NotModified);
        assert_eq!(
            eval(|c| c.if_none_match = vec![b" \"q\" ,, W/\"abc\" "]),
            Outcome::NotModified
        );
        assert_eq!(eval(|c| c.if_none_match = vec![b"\"other\""]), GO);
        assert_eq!(eval(|c| c.if_none_match = vec![b"\"abc"]), GO);
        assert_eq!(eval(|c| c.if_none_match = vec![b"\"a\"b\""]), GO);
        assert_eq!(eval(|c| c.if_none_match = vec![b"\"a b\""]), GO);
        assert_eq!(eval(|c| c.if_none_match = vec![b"garbage"]), GO);
    }

    #[test]
    fn dates_apply_only_without_the_tag_fields_and_when_valid() {
        assert_eq!(
            eval(|c| c.if_modified_since = vec![LM.as_bytes()]),
            Outcome::NotModified
        );
        assert_eq!(
            eval(|c| c.if_modified_since = vec![AFTER.as_bytes()]),
            Outcome::NotModified
        );
        assert_eq!(eval(|c| c.if_modified_since = vec![BEFORE.as_bytes()]), GO);
        assert_eq!(eval(|c| c.if_modified_since = vec![b"yesterday"]), GO);
        assert_eq!(
            eval(|c| {
                c.if_modified_since = vec![LM.as_bytes()];
                c.if_none_match = vec![b"\"other\""];
            }),
            GO
        );
        assert_eq!(
            eval(|c| c.if_unmodified_since = vec![BEFORE.as_bytes()]),
            Outcome::Failed
        );
        assert_eq!(eval(|c| c.if_unmodified_since = vec![LM.as_bytes()]), GO);
        assert_eq!(eval(|c| c.if_unmodified_since = vec![b"\x00\xff"]), GO);
        assert_eq!(
            eval(|c| {
                c.if_unmodified_since = vec![BEFORE.as_bytes()];
                c.if_match = vec![b"\"abc\""];
            }),
            GO
        );
    }

    #[test]
    fn if_match_is_checked_before_if_none_match() {
        assert_eq!(
            eval(|c| {
                c.if_match = vec![b"\"nope\""];
                c.if_none_match = vec![b"\"abc\""];
            }),
            Outcome::Failed
        );
    }

    #[test]
    fn if_range_needs_our_strong_tag_or_exactly_our_date() {
        assert_eq!(eval(|c| c.if_range = vec![b"\"abc\""]), GO);
        assert_eq!(eval(|c| c.if_range = vec![LM.as_bytes()]), GO);
        for bad in [
            &b"W/\"abc\""[..],
            b"\"abd\"",
            b"\"abc\", \"abc\"",
            BEFORE.as_bytes(),
            AFTER.as_bytes(),
            b"garbage",
            b"",
            b"\"abc",
        ] {
            assert_eq!(
                eval(|c| c.if_range = vec![bad]),
                WHOLE,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(eval(|c| c.if_range = vec![b"\"abc\"", b"\"abc\""]), WHOLE);
    }
}
