//! `tartape ls ARCHIVE [--json]`: one line per entry of a TAR or ZIP archive.
//!
//! Text: type character, octal mode, size, mtime as UTC `YYYY-MM-DD HH:MM:SS`, name (and
//! ` -> target` for links). `--json`: one JSON object per line with every column; names are JSON
//! strings in which each byte that is not UTF-8 appears as the text `\\xXX` (a JSON-escaped
//! backslash), plus a `name_hex` field when the name is not UTF-8.

use std::io::Write;

use tartape::reader::{ArchiveEntry, EntryKind};

use crate::cli::LsArgs;
use crate::input::{self, Input, Members};
use crate::json;
use crate::Failure;

/// Runs `tartape ls`: the whole listing of a file, or each member of a stream as it comes.
pub fn run(args: LsArgs) -> Result<u8, Failure> {
    let show = input::shown(&args.archive);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut print = |e: &ArchiveEntry| -> Result<(), Failure> {
        let line = if args.json {
            json_line(e)
        } else {
            text_line(e)
        };
        writeln!(out, "{line}").map_err(|e| format!("standard output: {e}"))
    };
    match input::open(&args.archive)? {
        Input::File(archive) => archive.entries().iter().try_for_each(&mut print)?,
        stream => {
            let mut members = Members::new(stream);
            while let Some(e) = members.next_entry().map_err(|e| format!("{show}: {e}"))? {
                print(&e)?;
            }
        }
    }
    out.flush().map_err(|e| format!("standard output: {e}"))?;
    Ok(0)
}

/// The `ls -l`-like type character.
pub fn type_char(kind: EntryKind) -> char {
    match kind {
        EntryKind::File => '-',
        EntryKind::Dir => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::Hardlink => 'h',
        EntryKind::CharDevice => 'c',
        EntryKind::BlockDevice => 'b',
        EntryKind::Fifo => 'p',
        EntryKind::Other => '?',
    }
}

/// Seconds since the epoch as UTC `YYYY-MM-DD HH:MM:SS`.
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn text_line(e: &ArchiveEntry) -> String {
    let mut line = format!(
        "{}{:04o} {:>12} {} {}",
        type_char(e.kind),
        e.mode,
        e.size,
        utc(e.mtime),
        e.name.escape_ascii()
    );
    if !e.link.is_empty() {
        line.push_str(&format!(" -> {}", e.link.escape_ascii()));
    }
    line
}

fn json_line(e: &ArchiveEntry) -> String {
    let kind = match e.kind {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Symlink => "symlink",
        EntryKind::Hardlink => "hardlink",
        EntryKind::CharDevice => "char",
        EntryKind::BlockDevice => "block",
        EntryKind::Fifo => "fifo",
        EntryKind::Other => "other",
    };
    let mut s = format!("{{\"name\":{}", json::string(&e.name));
    if std::str::from_utf8(&e.name).is_err() {
        let hex: String = e.name.iter().map(|b| format!("{b:02x}")).collect();
        s.push_str(&format!(",\"name_hex\":\"{hex}\""));
    }
    s.push_str(&format!(
        ",\"type\":\"{kind}\",\"type_char\":\"{}\",\"mode\":\"{:04o}\",\"size\":{},\"compressed_size\":{},\"method\":{},\"mtime\":{},\"mtime_utc\":\"{}\",\"link\":{},\"header_offset\":{},\"data_offset\":{},\"crc32\":{},\"encrypted\":{},\"unsafe_name\":{},\"sparse\":{},\"name_mismatch\":{}}}",
        type_char(e.kind),
        e.mode,
        e.size,
        e.compressed_size,
        e.method,
        e.mtime,
        utc(e.mtime),
        json::string(&e.link),
        e.header_offset,
        e.data_offset,
        e.crc32,
        e.encrypted,
        e.unsafe_name,
        e.sparse,
        e.name_mismatch
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_epoch_and_negative_times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1293801246), "2010-12-31 13:14:06");
        assert_eq!(utc(-1), "1969-12-31 23:59:59");
    }
}
