//! Pax extended header records (`"<len> <key>=<value>\n"`) and the values tartape applies.

use crate::{Error, Result};

/// The records of one pax header, in order (a key may repeat, as GNU sparse 0.0 does).
pub(crate) type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// Parses the records of a pax header whose data starts at `at` (for messages). Trailing NUL
/// padding is allowed; a last record without its newline is accepted.
pub(crate) fn parse(data: &[u8], at: u64) -> Result<Records> {
    let mut records = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        if data[pos..].iter().all(|b| *b == 0 || *b == b'\n') {
            break;
        }
        let bad = |why: &str| {
            Error::corrupt(
                "tar archive",
                format!(
                    "pax header at offset {at}: {why} in the record at byte {pos}",
                    pos = pos
                ),
            )
        };
        let digits = data[pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || digits > 19 || data.get(pos + digits) != Some(&b' ') {
            return Err(bad("no length"));
        }
        let len: usize = std::str::from_utf8(&data[pos..pos + digits])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad length"))?;
        if len < digits + 2 || len > data.len() - pos {
            return Err(bad("length out of range"));
        }
        let mut record = &data[pos + digits + 1..pos + len];
        if let Some(r) = record.strip_suffix(b"\n") {
            record = r;
        }
        let eq = record
            .iter()
            .position(|b| *b == b'=')
            .ok_or_else(|| bad("no '='"))?;
        records.push((record[..eq].to_vec(), record[eq + 1..].to_vec()));
        pos += len;
    }
    Ok(records)
}

/// The last value of `key`, if any.
pub(crate) fn get<'a>(records: &'a Records, key: &str) -> Option<&'a [u8]> {
    records
        .iter()
        .rev()
        .find(|(k, _)| k == key.as_bytes())
        .map(|(_, v)| v.as_slice())
}

/// A decimal unsigned integer.
pub(crate) fn parse_u64(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 20 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A pax time (`[-]seconds[.fraction]`) as whole seconds, rounded down (`-1.5` is -2).
pub(crate) fn parse_time(value: &[u8]) -> Option<i64> {
    let (negative, rest) = match value.strip_prefix(b"-") {
        Some(r) => (true, r),
        None => (false, value),
    };
    let (int, frac) = match rest.iter().position(|b| *b == b'.') {
        Some(dot) => (&rest[..dot], &rest[dot + 1..]),
        None => (rest, &b""[..]),
    };
    if !frac.iter().all(u8::is_ascii_digit) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let secs: i64 = if int.is_empty() {
        0
    } else {
        i64::try_from(parse_u64(int)?).ok()?
    };
    let has_frac = frac.iter().any(|b| *b != b'0');
    Some(if negative {
        -secs - i64::from(has_frac)
    } else {
        secs
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_in_order_with_repeats() {
        let data = b"11 a=first\n12 a=second\n8 path=\n\0\0\0";
        let r = parse(data, 0).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(get(&r, "a"), Some(&b"second"[..]));
        assert_eq!(get(&r, "path"), Some(&b""[..]));
    }

    #[test]
    fn malformed_records_are_corrupt() {
        for data in [&b"x a=b\n"[..], b"99 a=b\n", b"3 a=b\n", b"7 ab\n\n\n"] {
            assert!(parse(data, 0).is_err(), "{data:?}");
        }
    }

    #[test]
    fn times_round_down() {
        assert_eq!(parse_time(b"1041808783.000000000"), Some(1041808783));
        assert_eq!(parse_time(b"-1.5"), Some(-2));
        assert_eq!(parse_time(b"-2"), Some(-2));
        assert_eq!(parse_time(b"12.9"), Some(12));
        assert_eq!(parse_time(b"abc"), None);
        assert_eq!(parse_time(b"99999999999999999999999"), None);
    }
}
