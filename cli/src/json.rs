//! Just enough JSON writing for listings, reports and manifests (no dependency needed).

/// A JSON string literal of `bytes`: UTF-8 kept, control characters as `\u00XX`, and each byte
/// of an invalid UTF-8 sequence as the text `\\xXX` (a JSON-escaped backslash), so the string
/// stays valid JSON and still shows the byte; callers that need the exact bytes add a hex field.
pub fn string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\t' => s.push_str("\\t"),
                '\r' => s.push_str("\\r"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    s.push_str(&format!("\\u{:04x}", c as u32))
                }
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\\\x{b:02x}"));
        }
    }
    s.push('"');
    s
}

/// A name as JSON fields: `"KEY": ...` and, when it is not UTF-8, `"KEY_hex": ...` with its exact
/// bytes.
pub fn name_fields(key: &str, name: &[u8]) -> String {
    let mut s = format!("\"{key}\": {}", string(name));
    if std::str::from_utf8(name).is_err() {
        s.push_str(&format!(", \"{key}_hex\": \"{}\"", hex(name)));
    }
    s
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_invalid_utf8_and_controls() {
        assert_eq!(string(b"a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(string(b"\xff\n"), "\"\\\\xff\\n\"");
        assert_eq!(string("é".as_bytes()), "\"é\"");
        assert_eq!(
            name_fields("name", b"\xff"),
            "\"name\": \"\\\\xff\", \"name_hex\": \"ff\""
        );
    }
}
