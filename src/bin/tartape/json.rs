//! Just enough JSON writing for reports and manifests (no dependency needed).

/// `s` as a JSON string literal. Bytes that are not UTF-8 are shown as `\u00XX` of the lossy form;
/// callers that need the exact bytes add a hex field.
pub fn string(s: &[u8]) -> String {
    let text = String::from_utf8_lossy(s);
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A name as JSON fields: `"name": ...` and, when it is not UTF-8, `"name_hex": ...`.
pub fn name_fields(key: &str, name: &[u8]) -> String {
    let mut s = format!("\"{key}\": {}", string(name));
    if std::str::from_utf8(name).is_err() {
        let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
        s.push_str(&format!(", \"{key}_hex\": \"{hex}\""));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string(b"a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(
            name_fields("name", b"\xff"),
            "\"name\": \"\u{fffd}\", \"name_hex\": \"ff\""
        );
    }
}
