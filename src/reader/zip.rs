//! ZIP listing: the end-of-central-directory record (searched in the last 64 KiB + 22 bytes), the
//! zip64 locator and record, central directory entries (zip64 extra field, UTF-8 flag or CP437
//! names, Unix modes, symlinks, extended timestamps), data in front of the archive, and the local
//! headers that give each member's data offset.
//!
//! As CPython's `zipfile`, the central directory is taken to end right before the EOCD (or the
//! zip64 records): the difference between where it is and where the EOCD says it is, the `concat`
//! shift, is added to every offset, so self-extracting stubs and other leading data work.

use super::member::Body;
use super::store::Store;
use super::{cp437, is_unsafe_name, ArchiveEntry, Budget, EntryKind, Limits};
use crate::{Error, Result};

const WHAT: &str = "zip archive";
const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
const EOCD64_SIG: &[u8; 4] = b"PK\x06\x06";
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
/// The most EOCD signatures tried, from the end backwards.
const MAX_CANDIDATES: usize = 32;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

fn corrupt(detail: String) -> Error {
    Error::corrupt(WHAT, detail)
}

/// The end of central directory, zip64 values applied.
#[derive(Debug)]
pub(crate) struct Eocd {
    /// Where the EOCD record is.
    pos: u64,
    /// The central directory's size.
    cd_size: u64,
    /// The central directory's offset as recorded.
    cd_offset: u64,
    /// A zip64 record was found (it and its locator sit between the directory and the EOCD).
    zip64: bool,
    /// The archive comment.
    comment: Vec<u8>,
}

impl Eocd {
    /// Where the central directory actually starts: right before the EOCD (and zip64 records).
    fn cd_start(&self) -> Result<u64> {
        let extra = if self.zip64 { 76 } else { 0 };
        self.pos
            .checked_sub(self.cd_size)
            .and_then(|v| v.checked_sub(extra))
            .ok_or_else(|| {
                corrupt(format!(
                    "bad offset for central directory: {} bytes do not fit before the end record at {}",
                    self.cd_size, self.pos
                ))
            })
    }
}

/// Finds and validates the end of central directory record; `None` when there is no signature.
pub(crate) fn locate(store: &Store) -> Result<Option<Eocd>> {
    let len = store.len();
    if len < 22 {
        return Ok(None);
    }
    let tail_len = len.min(65535 + 22);
    let tail_start = len - tail_len;
    let tail = store.read_vec(tail_start, tail_len, WHAT)?;
    let candidates: Vec<usize> = (0..=tail.len() - 22)
        .rev()
        .filter(|i| &tail[*i..*i + 4] == EOCD_SIG)
        .take(MAX_CANDIDATES)
        .collect();
    let mut first: Option<Result<Eocd>> = None;
    for i in candidates {
        let result = parse_eocd(store, &tail, i, tail_start + i as u64);
        if let Ok(eocd) = &result {
            if directory_starts_right(store, eocd)? {
                return Ok(Some(result?));
            }
        }
        first.get_or_insert(result);
    }
    first.transpose()
}

fn parse_eocd(store: &Store, tail: &[u8], i: usize, pos: u64) -> Result<Eocd> {
    let rec = &tail[i..i + 22];
    let comment_len = usize::from(u16_at(rec, 20));
    let comment = tail[i + 22..tail.len().min(i + 22 + comment_len)].to_vec();
    let mut eocd = Eocd {
        pos,
        cd_size: u64::from(u32_at(rec, 12)),
        cd_offset: u64::from(u32_at(rec, 16)),
        zip64: false,
        comment,
    };
    if pos >= 20 {
        let mut loc = [0u8; 20];
        store.read_exact_at(pos - 20, &mut loc, WHAT)?;
        if &loc[..4] == LOCATOR_SIG {
            if u32_at(&loc, 4) != 0 || u32_at(&loc, 16) > 1 {
                return Err(Error::Unsupported(
                    "zip archives that span several disks".into(),
                ));
            }
            if pos >= 76 {
                let mut rec64 = [0u8; 56];
                store.read_exact_at(pos - 76, &mut rec64, WHAT)?;
                if &rec64[..4] == EOCD64_SIG {
                    eocd.cd_size = u64_at(&rec64, 40);
                    eocd.cd_offset = u64_at(&rec64, 48);
                    eocd.zip64 = true;
                }
            }
        }
    }
    Ok(eocd)
}

fn directory_starts_right(store: &Store, eocd: &Eocd) -> Result<bool> {
    if eocd.cd_size == 0 {
        return Ok(true);
    }
    let Ok(start) = eocd.cd_start() else {
        return Ok(false);
    };
    let mut sig = [0u8; 4];
    Ok(store.read_at(start, &mut sig)? == 4 && &sig == CENTRAL_SIG)
}

/// Lists the entries of the ZIP whose end record is `eocd`; returns them and the comment.
pub(crate) fn list(
    store: &Store,
    eocd: &Eocd,
    limits: &Limits,
) -> Result<(Vec<ArchiveEntry>, Vec<u8>)> {
    let start = eocd.cd_start()?;
    let concat = i128::from(start) - i128::from(eocd.cd_offset);
    // The directory lies before the EOCD, so its size is bounded by the file's length.
    let cd = store.read_vec(start, eocd.cd_size, WHAT)?;
    let mut entries = Vec::new();
    let mut budget = Budget::new(limits);
    let mut p = 0usize;
    while p < cd.len() {
        let at = start + p as u64;
        if cd.len() - p < 46 {
            return Err(corrupt(format!(
                "truncated central directory entry at offset {at}"
            )));
        }
        if &cd[p..p + 4] != CENTRAL_SIG {
            return Err(corrupt(format!(
                "bad signature for central directory entry at offset {at}"
            )));
        }
        let h = &cd[p..p + 46];
        let (nlen, xlen, clen) = (
            usize::from(u16_at(h, 28)),
            usize::from(u16_at(h, 30)),
            usize::from(u16_at(h, 32)),
        );
        let end = p + 46 + nlen + xlen + clen;
        if end > cd.len() {
            return Err(corrupt(format!(
                "central directory entry at offset {at} runs past the directory"
            )));
        }
        let name_raw = &cd[p + 46..p + 46 + nlen];
        let extra = &cd[p + 46 + nlen..p + 46 + nlen + xlen];
        let entry = central_entry(store, limits, h, name_raw, extra, concat, at)?;
        budget.add(&entry)?;
        entries.push(entry);
        p = end;
    }
    Ok((entries, eocd.comment.clone()))
}

/// The extra field blocks `(id, data)`; a block that runs past the field ends the walk.
fn extra_fields(extra: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = extra;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let (id, size) = (u16_at(rest, 0), usize::from(u16_at(rest, 2)));
        if 4 + size > rest.len() {
            return None;
        }
        let data = &rest[4..4 + size];
        rest = &rest[4 + size..];
        Some((id, data))
    })
}

fn central_entry(
    store: &Store,
    limits: &Limits,
    h: &[u8],
    name_raw: &[u8],
    extra: &[u8],
    concat: i128,
    at: u64,
) -> Result<ArchiveEntry> {
    let made_by = u16_at(h, 4);
    let flags = u16_at(h, 8);
    let method = u16_at(h, 10);
    let (dos_time, dos_date) = (u16_at(h, 12), u16_at(h, 14));
    let crc32 = u32_at(h, 16);
    let mut compressed_size = u64::from(u32_at(h, 20));
    let mut size = u64::from(u32_at(h, 24));
    let external = u32_at(h, 38);
    let mut local = u64::from(u32_at(h, 42));

    let name = if flags & 0x800 != 0 {
        name_raw.to_vec()
    } else {
        cp437::decode(name_raw)
    };
    let show = crate::error::show_name(&name);

    let mut mtime = None;
    for (id, data) in extra_fields(extra) {
        match id {
            0x0001 => {
                let mut fields = data.chunks_exact(8).map(|c| u64_at(c, 0));
                let mut take = |value: &mut u64, what: &str| -> Result<()> {
                    if *value == 0xFFFF_FFFF {
                        *value = fields.next().ok_or_else(|| {
                            corrupt(format!(
                                "zip64 extra field of {show:?} (central directory at {at}) lacks the {what}"
                            ))
                        })?;
                    }
                    Ok(())
                };
                take(&mut size, "file size")?;
                take(&mut compressed_size, "compressed size")?;
                take(&mut local, "header offset")?;
            }
            0x5455 if data.len() >= 5 && data[0] & 1 != 0 => {
                mtime = Some(i64::from(i32::from_le_bytes([
                    data[1], data[2], data[3], data[4],
                ])));
            }
            _ => {}
        }
    }
    let mtime = mtime.unwrap_or_else(|| dos_to_unix(dos_date, dos_time));

    let unix_mode = if made_by >> 8 == 3 { external >> 16 } else { 0 };
    let kind = match unix_mode & 0o170000 {
        _ if name.ends_with(b"/") => EntryKind::Dir,
        0o040000 => EntryKind::Dir,
        0o120000 => EntryKind::Symlink,
        0o020000 => EntryKind::CharDevice,
        0o060000 => EntryKind::BlockDevice,
        0o010000 => EntryKind::Fifo,
        _ => EntryKind::File,
    };
    let mode = match (unix_mode & 0o7777, kind) {
        (0, EntryKind::Dir) => 0o755,
        (0, _) => 0o644,
        (m, _) => m,
    };

    let header_offset = u64::try_from(i128::from(local) + concat)
        .ok()
        .filter(|o| o.checked_add(30).is_some_and(|e| e <= store.len()))
        .ok_or_else(|| {
            corrupt(format!(
                "local header of {show:?} (central directory at {at}) is outside the archive"
            ))
        })?;
    let mut lh = [0u8; 30];
    store.read_exact_at(header_offset, &mut lh, WHAT)?;
    if &lh[..4] != LOCAL_SIG {
        return Err(corrupt(format!(
            "bad signature for the local header of {show:?} at offset {header_offset}"
        )));
    }
    let local_name_len = u16_at(&lh, 26);
    // The local header's name, compared with the central one: a difference is how archives
    // smuggle a second name past tools that check only one of the two.
    let name_mismatch = if usize::from(local_name_len) == name_raw.len() {
        let mut local_name = vec![0u8; name_raw.len()];
        store.read_exact_at(header_offset + 30, &mut local_name, WHAT)?;
        local_name != name_raw
    } else {
        true
    };
    let data_offset = header_offset + 30 + u64::from(local_name_len) + u64::from(u16_at(&lh, 28));
    if data_offset
        .checked_add(compressed_size)
        .map_or(true, |end| end > store.len())
    {
        return Err(corrupt(format!(
            "data of {show:?} ({compressed_size} bytes at offset {data_offset}) runs past the end of the archive"
        )));
    }

    let mut entry = ArchiveEntry {
        unsafe_name: is_unsafe_name(&name),
        name,
        kind,
        typeflag: 0,
        mode,
        mtime,
        size,
        compressed_size,
        method,
        link: Vec::new(),
        header_offset,
        data_offset,
        crc32,
        encrypted: flags & 1 != 0,
        sparse: false,
        name_mismatch,
        sparse_map: Vec::new(),
        uid: 0,
        gid: 0,
        uname: Vec::new(),
        gname: Vec::new(),
        device: (0, 0),
    };
    if kind == EntryKind::Symlink
        && !entry.encrypted
        && matches!(method, 0 | 8 | 12 | 14 | 93 | 95)
        && size <= limits.max_long_name
    {
        let mut body = Body::new(&entry, limits, true)?;
        let mut target = vec![0u8; size as usize];
        let mut done = 0;
        while done < target.len() {
            let n = body.read(store, &entry, &mut target[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        target.truncate(done);
        entry.link = target;
    }
    Ok(entry)
}

/// A DOS date and time, taken as UTC, in seconds since the epoch (out-of-range parts clamped).
fn dos_to_unix(date: u16, time: u16) -> i64 {
    let year = 1980 + i64::from(date >> 9);
    let month = i64::from((date >> 5) & 0xf).clamp(1, 12);
    let day = i64::from(date & 0x1f).max(1);
    let (h, m, s) = (
        i64::from(time >> 11),
        i64::from((time >> 5) & 0x3f),
        i64::from(time & 0x1f) * 2,
    );
    days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_times_are_utc() {
        // 2010-12-31 13:14:06
        let date = ((2010 - 1980) << 9) | (12 << 5) | 31;
        let time = (13 << 11) | (14 << 5) | 3;
        assert_eq!(dos_to_unix(date, time), 1293801246);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(dos_to_unix(0, 0), 315532800);
    }
}
