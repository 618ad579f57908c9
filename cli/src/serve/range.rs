//! The `Range` header (RFC 9110 section 14): which bytes of a representation of `size` bytes a
//! request asks for.
//!
//! Plain functions over the header's bytes, so every rule is tested here without a server:
//! - only the `bytes` unit is understood (case-insensitive); any other unit, or a range set that
//!   does not follow the grammar, is ignored and the whole representation is served (14.2: a server
//!   MAY ignore the field; it MUST ignore a unit it does not understand);
//! - `first-last` (a last past the end stops at the end), `first-` and `-suffix` (the last
//!   `suffix` bytes; the whole when longer than the representation);
//! - numbers too large for 64 bits are as large as they can be: a first position past the end is
//!   unsatisfiable, a last position or a suffix past the end stops at the end;
//! - ranges that overlap or touch are coalesced, in ascending order (15.3.7.2 allows both); when
//!   more than `max` ranges remain, the field is ignored (as nginx's `max_ranges`), so no request
//!   gets the same bytes many times over or thousands of tiny parts;
//! - when no range is satisfiable (its first position at or past the end, or a zero suffix), the
//!   answer is 416 (15.5.17).

/// What to send for a request's `Range` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranges {
    /// The whole representation (no field, or one that is ignored).
    Whole,
    /// These byte ranges, `start..end` (end exclusive), ascending, none touching another.
    Parts(Vec<std::ops::Range<u64>>),
    /// None of the ranges can be satisfied: 416 with `Content-Range: bytes */SIZE`.
    Unsatisfiable,
}

/// One `byte-range-spec` or `suffix-range` as written, before it meets the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-last` (`last` `None` for `first-`).
    From { first: u64, last: Option<u64> },
    /// `-suffix`.
    Suffix(u64),
}

/// How many range specs a field may list before it is ignored without looking further (the
/// header size limit already bounds this; the limit keeps the work per request small).
const MAX_SPECS: usize = 20_000;

/// Answers the `Range` field `value` for a representation of `size` bytes, keeping at most `max`
/// ranges after coalescing.
pub fn parse(value: &[u8], size: u64, max: usize) -> Ranges {
    let Some(specs) = specs(value) else {
        return Ranges::Whole;
    };
    let mut parts: Vec<std::ops::Range<u64>> =
        specs.into_iter().filter_map(|s| resolve(s, size)).collect();
    if parts.is_empty() {
        return Ranges::Unsatisfiable;
    }
    parts.sort_unstable_by_key(|r| (r.start, r.end));
    let mut merged: Vec<std::ops::Range<u64>> =
        Vec::with_capacity(parts.len().min(max.saturating_add(1)));
    for r in parts {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    if merged.len() > max {
        return Ranges::Whole;
    }
    Ranges::Parts(merged)
}

/// The specs of a `bytes=` range set, or `None` when the field is to be ignored.
fn specs(value: &[u8]) -> Option<Vec<Spec>> {
    let eq = value.iter().position(|&b| b == b'=')?;
    if !value[..eq].eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let mut out = Vec::new();
    // A list (RFC 9110 5.6.1): elements separated by commas with optional whitespace; empty
    // elements are allowed and skipped, but at least one range must be given.
    for element in value[eq + 1..].split(|&b| b == b',') {
        let element = trim_ows(element);
        if element.is_empty() {
            continue;
        }
        if out.len() == MAX_SPECS {
            return None;
        }
        out.push(spec(element)?);
    }
    (!out.is_empty()).then_some(out)
}

fn spec(text: &[u8]) -> Option<Spec> {
    let dash = text.iter().position(|&b| b == b'-')?;
    let (first, last) = (&text[..dash], &text[dash + 1..]);
    if first.is_empty() {
        return Some(Spec::Suffix(number(last)?));
    }
    let first = number(first)?;
    let last = if last.is_empty() {
        None
    } else {
        Some(number(last)?)
    };
    if matches!(last, Some(l) if l < first) {
        // 14.1.1: a last position before the first makes the spec, and the field, invalid.
        return None;
    }
    Some(Spec::From { first, last })
}

/// `1*DIGIT`, saturating at `u64::MAX` (see the module comment).
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The bytes a spec selects in a representation of `size` bytes, `None` when unsatisfiable.
fn resolve(spec: Spec, size: u64) -> Option<std::ops::Range<u64>> {
    match spec {
        Spec::From { first, last } => {
            if first >= size {
                return None;
            }
            let end = last.map_or(size, |l| l.saturating_add(1).min(size));
            Some(first..end)
        }
        // A suffix of nothing, or of an empty representation, selects no byte.
        Spec::Suffix(0) => None,
        Spec::Suffix(_) if size == 0 => None,
        Spec::Suffix(n) => Some(size.saturating_sub(n)..size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &str, size: u64) -> Ranges {
        parse(v.as_bytes(), size, 100)
    }

    fn parts(list: &[(u64, u64)]) -> Ranges {
        Ranges::Parts(list.iter().map(|&(a, b)| a..b).collect())
    }

    #[test]
    fn single_ranges_closed_open_ended_and_suffix() {
        assert_eq!(p("bytes=0-499", 1000), parts(&[(0, 500)]));
        assert_eq!(p("bytes=500-999", 1000), parts(&[(500, 1000)]));
        assert_eq!(p("bytes=9500-", 10000), parts(&[(9500, 10000)]));
        assert_eq!(p("bytes=-500", 10000), parts(&[(9500, 10000)]));
        assert_eq!(p("bytes=0-0", 1), parts(&[(0, 1)]));
        assert_eq!(p("bytes=999-999", 1000), parts(&[(999, 1000)]));
    }

    #[test]
    fn ends_past_the_size_stop_at_the_size() {
        assert_eq!(p("bytes=10-5000", 100), parts(&[(10, 100)]));
        assert_eq!(p("bytes=-5000", 100), parts(&[(0, 100)]));
        assert_eq!(
            p("bytes=0-99999999999999999999999999", 100),
            parts(&[(0, 100)])
        );
        assert_eq!(p("bytes=-99999999999999999999999999", 7), parts(&[(0, 7)]));
    }

    #[test]
    fn unsatisfiable_ranges_give_416() {
        assert_eq!(p("bytes=1000-", 1000), Ranges::Unsatisfiable);
        assert_eq!(p("bytes=1000-2000", 1000), Ranges::Unsatisfiable);
        assert_eq!(p("bytes=-0", 1000), Ranges::Unsatisfiable);
        assert_eq!(p("bytes=0-", 0), Ranges::Unsatisfiable);
        assert_eq!(p("bytes=-10", 0), Ranges::Unsatisfiable);
        assert_eq!(
            p("bytes=99999999999999999999999-", 1000),
            Ranges::Unsatisfiable
        );
        // Satisfiable ones are kept, the others dropped.
        assert_eq!(p("bytes=2000-3000, 0-1", 1000), parts(&[(0, 2)]));
    }

    #[test]
    fn malformed_fields_are_ignored() {
        for v in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes= , ,",
            "bytes=abc",
            "bytes=5",
            "bytes=--5",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=-1-2",
            "bytes=1 -2",
            "bytes=0x10-20",
            "bytes=5-4",
            "bytes=0-1,5-4",
            "bytes=0-1;2-3",
            "items=0-1",
            "bytes =0-1",
            "bytes=1\u{0}-2",
            "bytes=１-2",
        ] {
            assert_eq!(p(v, 1000), Ranges::Whole, "{v:?}");
        }
    }

    #[test]
    fn unit_is_case_insensitive_and_whitespace_around_elements_is_allowed() {
        assert_eq!(p("BYTES=0-1", 10), parts(&[(0, 2)]));
        assert_eq!(p("Bytes= 0-1 ,\t4-5 ,", 10), parts(&[(0, 2), (4, 6)]));
    }

    #[test]
    fn overlapping_and_adjacent_ranges_are_coalesced_in_order() {
        assert_eq!(p("bytes=0-9,5-14", 100), parts(&[(0, 15)]));
        assert_eq!(p("bytes=10-19,0-9", 100), parts(&[(0, 20)]));
        assert_eq!(
            p("bytes=50-59,0-0,2-3", 100),
            parts(&[(0, 1), (2, 4), (50, 60)])
        );
        assert_eq!(p("bytes=0-,-10", 100), parts(&[(0, 100)]));
        assert_eq!(p("bytes=0-0,0-0,0-0", 100), parts(&[(0, 1)]));
    }

    #[test]
    fn too_many_ranges_serve_the_whole_and_repeats_cost_nothing() {
        let many: Vec<String> = (0..101).map(|i| format!("{}-{}", 2 * i, 2 * i)).collect();
        let v = format!("bytes={}", many.join(","));
        assert_eq!(p(&v, 10_000), Ranges::Whole);
        let v = format!("bytes={}", many[..100].join(","));
        assert!(matches!(p(&v, 10_000), Ranges::Parts(r) if r.len() == 100));
        // The same bytes ten thousand times are one range.
        let same = vec!["0-99"; 10_000].join(",");
        assert_eq!(p(&format!("bytes={same}"), 1000), parts(&[(0, 100)]));
        // Past the spec limit the field is ignored without building every range.
        let huge = vec!["0-0"; MAX_SPECS + 1].join(",");
        assert_eq!(p(&format!("bytes={huge}"), 1000), Ranges::Whole);
    }
}
