//! TAR listing: v7, ustar (with prefix), GNU (long names and links, base-256 numbers, old sparse
//! 'S' members) and pax ('x', 'g', Solaris 'X', GNU.sparse 0.0, 0.1 and 1.0).
//!
//! The first all-zero block ends the archive (as GNU tar, bsdtar and CPython do; the second is not
//! required), and so does a clean end of file at a block boundary. A header cut short, a bad
//! checksum after the first header, or a member whose data runs past the end is `Corrupt`, with
//! its offset.

use super::store::Store;
use super::{is_unsafe_name, pax, ArchiveEntry, Budget, EntryKind, Limits, SparseRegion};
use crate::{Error, Result};

const BLOCK: u64 = 512;
const WHAT: &str = "tar archive";

/// True when the store begins with a block that is a valid TAR header (non-zero, checksum right).
pub(crate) fn starts_with_header(store: &Store) -> Result<bool> {
    if store.len() < BLOCK {
        return Ok(false);
    }
    let mut h = [0u8; 512];
    store.read_exact_at(0, &mut h, WHAT)?;
    Ok(h.iter().any(|b| *b != 0) && checksum_ok(&h))
}

/// The header checksum matches, summed as unsigned or as signed bytes (old tars used signed).
fn checksum_ok(h: &[u8; 512]) -> bool {
    let Some(stored) = parse_octal(&h[148..156]) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::try_from(stored) == Ok(signed)
}

/// The bytes up to the first NUL.
fn nts(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    &field[..end]
}

/// An octal field: up to the first NUL, spaces trimmed; empty is 0.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let s = nts(field).trim_ascii();
    s.iter().try_fold(0u64, |acc, b| {
        if !(b'0'..=b'7').contains(b) {
            return None;
        }
        acc.checked_mul(8)?.checked_add(u64::from(b - b'0'))
    })
}

/// A numeric field: octal, or GNU base-256 (first byte 0x80 positive, 0xff negative).
fn parse_numeric(field: &[u8]) -> Option<i64> {
    match field.first() {
        Some(0x80) | Some(0xff) => {
            let negative = field[0] == 0xff;
            let mut v: i128 = if negative { -1 } else { 0 };
            for (i, b) in field.iter().enumerate() {
                let b = if i == 0 {
                    if negative {
                        0xff
                    } else {
                        0
                    }
                } else {
                    *b
                };
                v = (v << 8) | i128::from(b);
                if v > i128::from(i64::MAX) || v < i128::from(i64::MIN) {
                    return None;
                }
            }
            i64::try_from(v).ok()
        }
        _ => parse_octal(field).and_then(|v| i64::try_from(v).ok()),
    }
}

fn round_up(n: u64) -> Option<u64> {
    n.checked_add(BLOCK - 1).map(|v| v / BLOCK * BLOCK)
}

fn corrupt(detail: String) -> Error {
    Error::corrupt(WHAT, detail)
}

/// Extension headers waiting for the member they describe.
#[derive(Default)]
struct Pending {
    start: Option<u64>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: pax::Records,
}

/// Lists a TAR archive.
pub(crate) fn list(store: &Store, limits: &Limits) -> Result<Vec<ArchiveEntry>> {
    let mut entries = Vec::new();
    let mut budget = Budget::new(limits);
    let mut walker = Walker::default();
    while let Some(entry) = walker.next(store, limits)? {
        budget.add(&entry)?;
        entries.push(entry);
    }
    Ok(entries)
}

/// Walks a TAR archive's headers front to back, one member at a time: the listing of a file and
/// the sequential reading of a stream are the same walk. Every read is at or after the previous
/// one, so a stream read once (`Store::Forward`) serves it.
#[derive(Default)]
pub(crate) struct Walker {
    pos: u64,
    globals: pax::Records,
    pending: Pending,
    ended: bool,
}

impl Walker {
    /// The next member, or `None` at the end of the archive (a zero block or the end of the
    /// data at a block boundary).
    pub(crate) fn next(&mut self, store: &Store, limits: &Limits) -> Result<Option<ArchiveEntry>> {
        if self.ended {
            return Ok(None);
        }
        loop {
            let pos = self.pos;
            let mut h = [0u8; 512];
            let got = store.read_at(pos, &mut h)?;
            if got == 0 {
                if let Some(start) = self.pending.start {
                    return Err(corrupt(format!(
                        "extension header at offset {start} is not followed by a member"
                    )));
                }
                self.ended = true;
                return Ok(None);
            }
            // What is not a TAR header at offset 0 but starts like a ZIP is named as one (a valid
            // header whose name starts with "PK" is a TAR member like any other).
            let zip_like =
                pos == 0 && (h.starts_with(b"PK\x03\x04") || h.starts_with(b"PK\x05\x06"));
            let not_tar = |store: &Store| match store {
                Store::Forward(_) => Error::Unsupported(
                    "this is a ZIP archive, whose directory is at its end: it needs a seekable \
                     file, not a stream"
                        .into(),
                ),
                // A file that starts like a ZIP but has no end record: cut short.
                _ => corrupt(
                    "it starts with a ZIP local header but has no end of central directory \
                     record (truncated?)"
                        .into(),
                ),
            };
            if got < h.len() {
                if zip_like {
                    return Err(not_tar(store));
                }
                return Err(corrupt(format!(
                    "truncated header at offset {pos}: {got} bytes left"
                )));
            }
            if h.iter().all(|b| *b == 0) {
                if let Some(start) = self.pending.start {
                    return Err(corrupt(format!(
                        "extension header at offset {start} is followed by the end of the archive"
                    )));
                }
                self.ended = true;
                return Ok(None);
            }
            if !checksum_ok(&h) {
                if zip_like {
                    return Err(not_tar(store));
                }
                return Err(corrupt(format!("bad header checksum at offset {pos}")));
            }
            let typeflag = h[156];
            let header_size = parse_numeric(&h[124..136])
                .and_then(|s| u64::try_from(s).ok())
                .ok_or_else(|| {
                    corrupt(format!("invalid size field in the header at offset {pos}"))
                })?;
            let data_offset = pos + BLOCK;
            if let b'L' | b'K' | b'x' | b'X' | b'g' = typeflag {
                let max = if matches!(typeflag, b'L' | b'K') {
                    limits.max_long_name
                } else {
                    limits.max_pax_header
                };
                if header_size > max {
                    return Err(Error::Limit(format!(
                        "extension header '{}' at offset {pos} is {header_size} bytes, more than {max}",
                        typeflag as char
                    )));
                }
                let data = store.read_vec(data_offset, header_size, WHAT)?;
                let pending = &mut self.pending;
                match typeflag {
                    b'L' => pending.long_name = Some(nts(&data).to_vec()),
                    b'K' => pending.long_link = Some(nts(&data).to_vec()),
                    b'g' => self.globals.extend(pax::parse(&data, pos)?),
                    _ => pending.pax.extend(pax::parse(&data, pos)?),
                }
                if typeflag != b'g' {
                    self.pending.start.get_or_insert(pos);
                }
                self.pos = data_offset + round_up(header_size).unwrap_or(u64::MAX - BLOCK);
                continue;
            }
            let p = std::mem::take(&mut self.pending);
            let (entry, next) = member(store, limits, &h, pos, header_size, &p, &self.globals)?;
            self.pos = next;
            return Ok(Some(entry));
        }
    }
}

/// A pax value: the entry's own record wins over a global one; an empty value means unset.
fn pax_value<'a>(p: &'a Pending, globals: &'a pax::Records, key: &str) -> Option<&'a [u8]> {
    pax::get(&p.pax, key)
        .or_else(|| pax::get(globals, key))
        .filter(|v| !v.is_empty())
}

/// Builds the entry whose (last) header is `h` at `pos`; returns it and the next header's offset.
fn member(
    store: &Store,
    limits: &Limits,
    h: &[u8; 512],
    pos: u64,
    header_size: u64,
    p: &Pending,
    globals: &pax::Records,
) -> Result<(ArchiveEntry, u64)> {
    let len = store.len();
    let mut typeflag = h[156];
    let gnu_magic = &h[257..265] == b"ustar  \0";
    let pv = |key: &str| pax_value(p, globals, key);

    let mut name = nts(&h[0..100]).to_vec();
    let prefix = nts(&h[345..500]);
    if !gnu_magic && typeflag != b'S' && !prefix.is_empty() {
        let mut full = prefix.to_vec();
        full.push(b'/');
        full.extend_from_slice(&name);
        name = full;
    }
    if let Some(long) = &p.long_name {
        name = long.clone();
    }
    if let Some(path) = pv("path") {
        name = path.to_vec();
    }
    if let Some(sparse_name) = pv("GNU.sparse.name") {
        name = sparse_name.to_vec();
    }
    let mut link = nts(&h[157..257]).to_vec();
    if let Some(long) = &p.long_link {
        link = long.clone();
    }
    if let Some(path) = pv("linkpath") {
        link = path.to_vec();
    }

    let mut size = header_size;
    if let Some(v) = pv("size") {
        size = pax::parse_u64(v).ok_or_else(|| {
            corrupt(format!(
                "invalid pax size {:?} for the member at offset {pos}",
                String::from_utf8_lossy(v)
            ))
        })?;
    }
    if typeflag == 0 && name.ends_with(b"/") {
        typeflag = b'5';
    }
    let kind = match typeflag {
        b'0' | 0 | b'7' | b'S' => EntryKind::File,
        b'1' => EntryKind::Hardlink,
        b'2' => EntryKind::Symlink,
        b'3' => EntryKind::CharDevice,
        b'4' => EntryKind::BlockDevice,
        b'5' => EntryKind::Dir,
        b'6' => EntryKind::Fifo,
        _ => EntryKind::Other,
    };
    // As CPython: only regular files and unknown types carry data; links, devices and
    // directories occupy no data blocks whatever their size field says.
    let has_data = matches!(kind, EntryKind::File | EntryKind::Other);
    let stored_total = if has_data { size } else { 0 };
    // The member's data must be in the archive (a truncated archive is corrupt).
    pos.checked_add(BLOCK)
        .and_then(|d| d.checked_add(stored_total))
        .filter(|end| *end <= len)
        .ok_or_else(|| {
            corrupt(format!(
                "the member at offset {pos} ({}) has {stored_total} bytes of data, past the end of the archive at {len}",
                crate::error::show_name(&name)
            ))
        })?;
    let mut data_offset = pos + BLOCK;
    let mut stored = stored_total;
    let mut real_size = size;
    let mut sparse = false;
    let mut sparse_map = Vec::new();

    if typeflag == b'S' {
        sparse = true;
        real_size = parse_numeric(&h[483..495])
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| corrupt(format!("invalid sparse real size at offset {pos}")))?;
        push_old_sparse(&h[386..482], &mut sparse_map, limits)?;
        let mut extended = h[482] != 0;
        while extended {
            let mut ext = [0u8; 512];
            store.read_exact_at(data_offset, &mut ext, WHAT)?;
            push_old_sparse(&ext[..504], &mut sparse_map, limits)?;
            extended = ext[504] != 0;
            data_offset += BLOCK;
        }
        if data_offset + stored > len {
            return Err(corrupt(format!(
                "sparse member at offset {pos}: data runs past the end of the archive"
            )));
        }
    } else if pv("GNU.sparse.major") == Some(b"1") && pv("GNU.sparse.minor") == Some(b"0") {
        sparse = true;
        real_size = pv("GNU.sparse.realsize")
            .and_then(pax::parse_u64)
            .ok_or_else(|| corrupt(format!("missing GNU.sparse.realsize at offset {pos}")))?;
        let map_len;
        (sparse_map, map_len) = read_sparse_10(store, data_offset, stored, limits, pos)?;
        data_offset += map_len;
        stored -= map_len;
    } else if let Some(map) = pv("GNU.sparse.map") {
        sparse = true;
        real_size = sparse_size(pv("GNU.sparse.size"), pos)?;
        let mut nums = Vec::new();
        for part in map.split(|b| *b == b',') {
            nums.push(
                pax::parse_u64(part)
                    .ok_or_else(|| corrupt(format!("invalid GNU.sparse.map at offset {pos}")))?,
            );
            if nums.len() as u64 > 2 * limits.max_sparse_regions {
                return Err(sparse_limit(limits));
            }
        }
        if nums.len() % 2 != 0 {
            return Err(corrupt(format!("odd GNU.sparse.map at offset {pos}")));
        }
        sparse_map = nums
            .chunks(2)
            .filter(|c| c[1] > 0)
            .map(|c| SparseRegion {
                offset: c[0],
                length: c[1],
            })
            .collect();
    } else if pv("GNU.sparse.size").is_some() {
        sparse = true;
        real_size = sparse_size(pv("GNU.sparse.size"), pos)?;
        let mut offset = None;
        for (k, v) in &p.pax {
            let bad = || corrupt(format!("invalid GNU.sparse 0.0 map at offset {pos}"));
            match k.as_slice() {
                b"GNU.sparse.offset" => offset = Some(pax::parse_u64(v).ok_or_else(bad)?),
                b"GNU.sparse.numbytes" => {
                    let length = pax::parse_u64(v).ok_or_else(bad)?;
                    let offset = offset.take().ok_or_else(bad)?;
                    if length > 0 {
                        sparse_map.push(SparseRegion { offset, length });
                    }
                    if sparse_map.len() as u64 > limits.max_sparse_regions {
                        return Err(sparse_limit(limits));
                    }
                }
                _ => {}
            }
        }
    }

    let mtime = pv("mtime")
        .and_then(pax::parse_time)
        .or_else(|| parse_numeric(&h[136..148]))
        .unwrap_or(0);
    let uid = pv("uid")
        .and_then(pax::parse_u64)
        .or_else(|| parse_numeric(&h[108..116]).and_then(|v| u64::try_from(v).ok()))
        .unwrap_or(0);
    let gid = pv("gid")
        .and_then(pax::parse_u64)
        .or_else(|| parse_numeric(&h[116..124]).and_then(|v| u64::try_from(v).ok()))
        .unwrap_or(0);
    // An empty pax value deletes the header field (POSIX), so an empty uname stays empty.
    let explicit = |key: &str| pax::get(&p.pax, key).or_else(|| pax::get(globals, key));
    let uname = explicit("uname").unwrap_or(nts(&h[265..297])).to_vec();
    let gname = explicit("gname").unwrap_or(nts(&h[297..329])).to_vec();
    let device = match kind {
        EntryKind::CharDevice | EntryKind::BlockDevice => {
            let number = |field: &[u8]| {
                parse_numeric(field)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0)
            };
            (number(&h[329..337]), number(&h[337..345]))
        }
        _ => (0, 0),
    };
    let mode = parse_numeric(&h[100..108]).unwrap_or(0) as u32 & 0o7777;

    // The next header follows the data area (after any sparse extension blocks), padded.
    let area_start = data_offset - (stored_total - stored);
    let next = round_up(stored_total)
        .and_then(|r| area_start.checked_add(r))
        .unwrap_or(u64::MAX);
    let entry = ArchiveEntry {
        unsafe_name: is_unsafe_name(&name),
        name,
        kind,
        typeflag: h[156],
        mode,
        mtime,
        size: if sparse { real_size } else { size },
        compressed_size: stored,
        method: 0,
        link,
        header_offset: p.start.unwrap_or(pos),
        data_offset,
        crc32: 0,
        encrypted: false,
        sparse,
        name_mismatch: false,
        sparse_map,
        uid,
        gid,
        uname,
        gname,
        device,
    };
    Ok((entry, next))
}

fn sparse_limit(limits: &Limits) -> Error {
    Error::Limit(format!(
        "sparse map with more than {} regions (Limits::max_sparse_regions)",
        limits.max_sparse_regions
    ))
}

fn sparse_size(value: Option<&[u8]>, pos: u64) -> Result<u64> {
    value
        .and_then(pax::parse_u64)
        .ok_or_else(|| corrupt(format!("invalid GNU.sparse.size at offset {pos}")))
}

/// Adds the (offset, numbytes) pairs of an old GNU sparse area (24 bytes each) until an empty one.
fn push_old_sparse(area: &[u8], map: &mut Vec<SparseRegion>, limits: &Limits) -> Result<()> {
    for pair in area.chunks_exact(24) {
        if nts(&pair[..12]).is_empty() {
            break;
        }
        let (Some(offset), Some(length)) = (parse_numeric(&pair[..12]), parse_numeric(&pair[12..]))
        else {
            break;
        };
        let (Ok(offset), Ok(length)) = (u64::try_from(offset), u64::try_from(length)) else {
            break;
        };
        if length > 0 {
            map.push(SparseRegion { offset, length });
            if map.len() as u64 > limits.max_sparse_regions {
                return Err(sparse_limit(limits));
            }
        }
    }
    Ok(())
}

/// Reads a GNU sparse 1.0 map (decimal numbers, one a line: the count, then offset and size
/// pairs) from the member's first data blocks; returns it and the bytes it takes (whole blocks).
fn read_sparse_10(
    store: &Store,
    data_offset: u64,
    stored: u64,
    limits: &Limits,
    pos: u64,
) -> Result<(Vec<SparseRegion>, u64)> {
    let bad = |why: &str| {
        corrupt(format!(
            "GNU sparse 1.0 map of the member at offset {pos}: {why}"
        ))
    };
    let mut nums: Vec<u64> = Vec::new();
    let mut count: Option<u64> = None;
    let mut cur: Option<u64> = None;
    let mut used = 0u64;
    let mut map = Vec::new();
    loop {
        // The map is whole blocks at the start of the member's data.
        if used + BLOCK > stored {
            return Err(bad("runs past the member's data"));
        }
        let mut block = [0u8; 512];
        store.read_exact_at(data_offset + used, &mut block, WHAT)?;
        used += BLOCK;
        for b in block {
            match b {
                b'0'..=b'9' => {
                    cur = Some(
                        cur.unwrap_or(0)
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(u64::from(b - b'0')))
                            .ok_or_else(|| bad("number too large"))?,
                    )
                }
                b'\n' => {
                    let n = cur.take().ok_or_else(|| bad("empty line"))?;
                    match count {
                        None => {
                            if n > limits.max_sparse_regions {
                                return Err(sparse_limit(limits));
                            }
                            count = Some(n);
                        }
                        Some(_) => nums.push(n),
                    }
                    if count == Some(nums.len() as u64 / 2) && nums.len() % 2 == 0 {
                        for c in nums.chunks(2) {
                            if c[1] > 0 {
                                map.push(SparseRegion {
                                    offset: c[0],
                                    length: c[1],
                                });
                            }
                        }
                        return Ok((map, used));
                    }
                }
                _ => return Err(bad("unexpected byte")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_named_like_a_zip_signature_is_a_tar_member() {
        let mut b = crate::TapeBuilder::new();
        b.add_bytes(b"PK\x05\x06x", b"data".to_vec(), 0o644, 0)
            .unwrap();
        let tape = b.seal().unwrap();
        let mut bytes = vec![0; tape.total_size() as usize];
        tape.read_at(0, &mut bytes).unwrap();
        let listed = crate::reader::Archive::from_bytes(bytes.clone()).unwrap();
        assert_eq!(listed.entries()[0].name, b"PK\x05\x06x");
        let mut stream = crate::reader::TarStream::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(stream.next_entry().unwrap().unwrap().name, b"PK\x05\x06x");
    }

    #[test]
    fn numeric_fields_parse_octal_and_base256() {
        assert_eq!(parse_numeric(b"0000644\0"), Some(0o644));
        assert_eq!(parse_numeric(b"  644  \0"), Some(0o644));
        assert_eq!(parse_numeric(b"\0\0\0\0"), Some(0));
        assert_eq!(parse_numeric(b"12x"), None);
        assert_eq!(parse_numeric(&[0x80, 0, 0, 1, 0]), Some(256));
        assert_eq!(parse_numeric(&[0xff; 8]), Some(-1));
        assert_eq!(parse_numeric(&[0xff, 0xff, 0xff, 0xfe]), Some(-2));
        assert_eq!(
            parse_numeric(&[
                0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
            ]),
            None
        );
    }
}
