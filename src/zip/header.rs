//! ZIP records as pure functions of an entry's metadata, its offset and its CRC-32
//! (docs/FORMAT-ZIP.md). Every entry is `[local header][data][data descriptor]`: the local header
//! carries neither the CRC nor the sizes (flag bit 3), so it is fixed before any content is read.

use crate::entry::{Entry, EntryKind};

/// The largest value of a 32-bit field; this value and above go to zip64 records.
pub const MAX32: u64 = 0xFFFF_FFFF;
/// Compression method 0: stored.
pub const STORED: u16 = 0;
/// Compression method 8: deflated.
pub const DEFLATED: u16 = 8;

const LOCAL_SIG: u32 = 0x0403_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const END_SIG: u32 = 0x0605_4b50;
/// Made by Unix (3), APPNOTE 6.3 (63).
const MADE_BY: u16 = 0x033F;
/// Bit 3: CRC and sizes are in the data descriptor.
const FLAG_DESCRIPTOR: u16 = 1 << 3;
/// Bit 11: the name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
/// The fixed part of a local file header, before the name and extra field.
pub const LOCAL_FIXED: u64 = 30;
const CENTRAL_FIXED: u64 = 46;
const EXTENDED_TIME_LEN: u64 = 9;
const ZIP64_END_LEN: u64 = 56;
const ZIP64_LOCATOR_LEN: u64 = 20;
const END_LEN: u64 = 22;
/// More entries than this need the zip64 end record.
const MAX_ENTRIES16: usize = 0xFFFF;

/// What an entry's central-directory record says besides its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Where its local header starts.
    pub offset: u64,
    /// [`STORED`] or [`DEFLATED`].
    pub method: u16,
    /// True when its descriptor and central record carry 64-bit sizes.
    pub zip64_sizes: bool,
    /// The CRC-32 of its uncompressed content.
    pub crc: u32,
    /// The bytes between its local header and its descriptor.
    pub compressed: u64,
}

/// True when a stored entry of `size` bytes needs 64-bit sizes.
pub fn stored_zip64(size: u64) -> bool {
    size >= MAX32
}

/// The most bytes deflate may produce for `size` input bytes (stored blocks, at worst), so that
/// whether a deflated entry needs 64-bit sizes is decided before it is compressed.
pub fn deflate_bound(size: u64) -> u64 {
    size + size.div_ceil(16 * 1024) * 5 + 64
}

/// The name as written: directories end with `/`.
fn write_name(entry: &Entry, out: &mut Vec<u8>) {
    out.extend_from_slice(&entry.name);
    if entry.kind == EntryKind::Dir {
        out.push(b'/');
    }
}

fn name_len(entry: &Entry) -> u64 {
    entry.name.len() as u64 + u64::from(entry.kind == EntryKind::Dir)
}

/// True when the extended-timestamp field (0x5455, a u32 mtime) can hold the mtime.
fn has_extended_time(entry: &Entry) -> bool {
    (0..1 << 31).contains(&entry.mtime)
}

fn flags(entry: &Entry) -> u16 {
    let utf8 = !entry.name.is_ascii() && std::str::from_utf8(&entry.name).is_ok();
    FLAG_DESCRIPTOR | if utf8 { FLAG_UTF8 } else { 0 }
}

fn version_needed(offset: u64, zip64_sizes: bool) -> u16 {
    if zip64_sizes || offset >= MAX32 {
        45
    } else {
        20
    }
}

/// The MS-DOS time and date of `mtime`, computed in UTC and clamped to 1980-01-01..2107-12-31.
pub fn dos_time(mtime: i64) -> (u16, u16) {
    const MIN: i64 = 315_532_800; // 1980-01-01T00:00:00Z
    const MAX: i64 = 4_354_819_198; // 2107-12-31T23:59:58Z
    let t = mtime.clamp(MIN, MAX);
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let time = ((secs / 3600) << 11) | ((secs % 3600 / 60) << 5) | ((secs % 60) / 2);
    let date = ((year - 1980) << 9) | (month << 5) | day;
    (time as u16, date as u16)
}

/// The Unix mode in the high 16 bits, and the MS-DOS directory bit.
fn external_attributes(entry: &Entry) -> u32 {
    let (kind, dos) = match entry.kind {
        EntryKind::File => (0o100_000, 0),
        EntryKind::Dir => (0o040_000, 0x10),
        EntryKind::Symlink => (0o120_000, 0),
    };
    ((kind | (entry.mode & 0o7777)) << 16) | dos
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn clamp32(v: u64) -> u32 {
    v.min(MAX32) as u32
}

fn put_extended_time(entry: &Entry, out: &mut Vec<u8>) {
    if has_extended_time(entry) {
        put16(out, 0x5455);
        put16(out, 5);
        out.push(1); // flags: mtime present
        put32(out, entry.mtime as u32);
    }
}

/// The local header's length: 30 bytes, the name, and the extended timestamp when present.
pub fn local_len(entry: &Entry) -> u64 {
    LOCAL_FIXED
        + name_len(entry)
        + if has_extended_time(entry) {
            EXTENDED_TIME_LEN
        } else {
            0
        }
}

/// Writes the local header of `entry` placed at `offset` to `out` (cleared first). CRC and sizes
/// are 0: they follow the data, in the descriptor.
pub fn local(entry: &Entry, offset: u64, method: u16, zip64_sizes: bool, out: &mut Vec<u8>) {
    out.clear();
    let (time, date) = dos_time(entry.mtime);
    put32(out, LOCAL_SIG);
    put16(out, version_needed(offset, zip64_sizes));
    put16(out, flags(entry));
    put16(out, method);
    put16(out, time);
    put16(out, date);
    put32(out, 0); // CRC-32
    put32(out, 0); // compressed size
    put32(out, 0); // uncompressed size
    put16(out, name_len(entry) as u16);
    put16(
        out,
        if has_extended_time(entry) {
            EXTENDED_TIME_LEN as u16
        } else {
            0
        },
    );
    write_name(entry, out);
    put_extended_time(entry, out);
}

/// The data descriptor's length: 16 bytes, or 24 with 64-bit sizes.
pub fn descriptor_len(zip64_sizes: bool) -> u64 {
    if zip64_sizes {
        24
    } else {
        16
    }
}

/// Writes a data descriptor to `out` (cleared first).
pub fn descriptor(crc: u32, compressed: u64, size: u64, zip64_sizes: bool, out: &mut Vec<u8>) {
    out.clear();
    put32(out, DESCRIPTOR_SIG);
    put32(out, crc);
    if zip64_sizes {
        put64(out, compressed);
        put64(out, size);
    } else {
        put32(out, compressed as u32);
        put32(out, size as u32);
    }
}

/// The zip64 extra field's data length in a central record (0: no field).
fn zip64_extra_len(offset: u64, zip64_sizes: bool) -> u64 {
    (if zip64_sizes { 16 } else { 0 }) + if offset >= MAX32 { 8 } else { 0 }
}

/// The central-directory record's length.
pub fn central_len(entry: &Entry, offset: u64, zip64_sizes: bool) -> u64 {
    let zip64 = zip64_extra_len(offset, zip64_sizes);
    CENTRAL_FIXED
        + name_len(entry)
        + if zip64 > 0 { 4 + zip64 } else { 0 }
        + if has_extended_time(entry) {
            EXTENDED_TIME_LEN
        } else {
            0
        }
}

/// Appends the central-directory record of `entry` to `out`.
pub fn central(entry: &Entry, m: &Member, out: &mut Vec<u8>) {
    let (time, date) = dos_time(entry.mtime);
    let zip64 = zip64_extra_len(m.offset, m.zip64_sizes);
    let extra = if zip64 > 0 { 4 + zip64 } else { 0 }
        + if has_extended_time(entry) {
            EXTENDED_TIME_LEN
        } else {
            0
        };
    let sizes = |v: u64| {
        if m.zip64_sizes {
            MAX32 as u32
        } else {
            v as u32
        }
    };
    put32(out, CENTRAL_SIG);
    put16(out, MADE_BY);
    put16(out, version_needed(m.offset, m.zip64_sizes));
    put16(out, flags(entry));
    put16(out, m.method);
    put16(out, time);
    put16(out, date);
    put32(out, m.crc);
    put32(out, sizes(m.compressed));
    put32(out, sizes(entry.size));
    put16(out, name_len(entry) as u16);
    put16(out, extra as u16);
    put16(out, 0); // comment length
    put16(out, 0); // disk number
    put16(out, 0); // internal attributes
    put32(out, external_attributes(entry));
    put32(out, clamp32(m.offset));
    write_name(entry, out);
    if zip64 > 0 {
        put16(out, 0x0001);
        put16(out, zip64 as u16);
        if m.zip64_sizes {
            put64(out, entry.size);
            put64(out, m.compressed);
        }
        if m.offset >= MAX32 {
            put64(out, m.offset);
        }
    }
    put_extended_time(entry, out);
}

fn needs_zip64_end(count: usize, cd_offset: u64, cd_size: u64) -> bool {
    count > MAX_ENTRIES16 || cd_offset >= MAX32 || cd_size >= MAX32
}

/// The length of the end records after a central directory.
pub fn end_len(count: usize, cd_offset: u64, cd_size: u64) -> u64 {
    END_LEN
        + if needs_zip64_end(count, cd_offset, cd_size) {
            ZIP64_END_LEN + ZIP64_LOCATOR_LEN
        } else {
            0
        }
}

/// Writes the end records (zip64 end record and locator when needed, then the end record) of a
/// central directory of `count` records at `cd_offset` to `out` (cleared first).
pub fn end(count: usize, cd_offset: u64, cd_size: u64, out: &mut Vec<u8>) {
    out.clear();
    let cd_end = cd_offset + cd_size;
    if needs_zip64_end(count, cd_offset, cd_size) {
        put32(out, ZIP64_END_SIG);
        put64(out, ZIP64_END_LEN - 12);
        put16(out, MADE_BY);
        put16(out, 45);
        put32(out, 0); // this disk
        put32(out, 0); // the central directory's disk
        put64(out, count as u64);
        put64(out, count as u64);
        put64(out, cd_size);
        put64(out, cd_offset);
        put32(out, ZIP64_LOCATOR_SIG);
        put32(out, 0);
        put64(out, cd_end);
        put32(out, 1); // disks
    }
    let count16 = count.min(MAX_ENTRIES16) as u16;
    put32(out, END_SIG);
    put16(out, 0);
    put16(out, 0);
    put16(out, count16);
    put16(out, count16);
    put32(out, clamp32(cd_size));
    put32(out, clamp32(cd_offset));
    put16(out, 0); // comment length
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    fn entry(name: &str, kind: EntryKind, size: u64, mtime: i64) -> Entry {
        Entry {
            name: name.as_bytes().into(),
            kind,
            mode: 0o644,
            mtime,
            size,
            link: Box::default(),
            owner: None,
            source: Source::Empty,
            md5: None,
            crc32: None,
            sha256: None,
            crc32c: None,
            level: 0,
        }
    }

    #[test]
    fn dos_time_is_utc_and_clamped() {
        // 2021-03-04T05:06:08Z
        assert_eq!(
            dos_time(1_614_834_368),
            (5 << 11 | 6 << 5 | 4, 41 << 9 | 3 << 5 | 4)
        );
        assert_eq!(dos_time(0), (0, 1 << 5 | 1));
        assert_eq!(
            dos_time(i64::MAX),
            (23 << 11 | 59 << 5 | 29, 127 << 9 | 12 << 5 | 31)
        );
    }

    #[test]
    fn lengths_match_encodings() {
        let mut out = Vec::new();
        for e in [
            entry("a.txt", EntryKind::File, 5, 1_000_000),
            entry("dir", EntryKind::Dir, 0, -5),
            entry("big", EntryKind::File, 5 << 30, 1 << 31),
        ] {
            let z = stored_zip64(e.size);
            local(&e, 0, STORED, z, &mut out);
            assert_eq!(out.len() as u64, local_len(&e));
            for offset in [0, 5 << 30] {
                out.clear();
                let m = Member {
                    offset,
                    method: STORED,
                    zip64_sizes: z,
                    crc: 1,
                    compressed: e.size,
                };
                central(&e, &m, &mut out);
                assert_eq!(out.len() as u64, central_len(&e, offset, z));
            }
            descriptor(1, e.size, e.size, z, &mut out);
            assert_eq!(out.len() as u64, descriptor_len(z));
        }
        for (count, off) in [(3, 10), (70_000, 10), (3, 5 << 30)] {
            end(count, off, 100, &mut out);
            assert_eq!(out.len() as u64, end_len(count, off, 100));
        }
    }
}
