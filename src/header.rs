//! TAR headers: a pure function of an entry's metadata.
//!
//! POSIX pax interchange format: a ustar header, preceded by a pax extended header only where a
//! value does not fit ustar (see docs/FORMAT.md for the exact rules).

use crate::entry::{Entry, EntryKind};

/// A TAR block.
pub const BLOCK: usize = 512;
/// The end-of-archive marker: two zero blocks.
pub const TRAILER_LEN: u64 = 2 * BLOCK as u64;

/// Largest value of an 11-digit octal field (size, mtime).
const MAX_OCTAL_11: u64 = 0o77777777777;
/// Largest value of a 7-digit octal field (uid, gid).
const MAX_OCTAL_7: u64 = 0o7777777;

/// Rounds `n` up to a whole number of blocks.
pub fn round_up_block(n: u64) -> u64 {
    n.div_ceil(BLOCK as u64) * BLOCK as u64
}

/// The padding after `size` bytes of content.
pub fn padding(size: u64) -> u64 {
    // Modular, so that no size (a forged catalog's near 2^64) overflows.
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// Writes the whole header of `entry` (pax extended header if needed, then the ustar block) to
/// `out`, which is cleared first. Its length is always a multiple of 512.
pub fn encode(entry: &Entry, out: &mut Vec<u8>) {
    encode_padded(entry, 0, out);
}

/// Most padding one header may carry: the largest alignment, 64 KiB, and the two blocks a header
/// without pax records needs at least; far below the 1 MiB over which bsdtar rejects a pax header.
pub const MAX_PAD: u64 = 128 << 10;

/// The largest content alignment (`--align`).
pub const MAX_ALIGN: u64 = 64 << 10;

/// The least padding (a multiple of 512, or 0) that is at least `want` and that [`encode_padded`]
/// can add to `entry`'s header: a header with pax records grows by any number of blocks (a
/// `comment` record among them), one without needs a pax header of its own, two blocks at least.
pub fn pad_at_least(entry: &Entry, want: u64, step: u64) -> u64 {
    if want == 0 || has_pax(entry) || want >= 2 * BLOCK as u64 {
        return want;
    }
    want + step
}

/// True when [`encode`] writes pax records for `entry`: then one block of padding fits in them.
fn has_pax(entry: &Entry) -> bool {
    if fits_one_block(entry) {
        return false;
    }
    let (mut plain, mut padded) = (Vec::new(), Vec::new());
    encode(entry, &mut plain);
    encode_padded(entry, BLOCK as u64, &mut padded);
    padded.len() > plain.len()
}

/// [`encode`] with `pad` more bytes (a multiple of 512, 0 for none, at most [`MAX_PAD`]) in a pax
/// `comment` record, which every reader skips: how `--align` puts content at a multiple of its
/// alignment. A header without pax records gets a pax header of its own, so `pad` must then be
/// 1024 or more ([`pad_at_least`]); otherwise nothing is padded and the length tells.
pub fn encode_padded(entry: &Entry, pad: u64, out: &mut Vec<u8>) {
    out.clear();
    let path = header_path(entry);
    let mut pax = PaxRecords::default();

    let split = split_ustar_path(&path);
    // A path or link target that fits no ustar field goes in a pax record when it is UTF-8, and in
    // a GNU long-name ('L') or long-link ('K') entry when it is not: a binary pax value needs
    // `hdrcharset=BINARY`, which GNU tar (1.34) warns about as unknown and without which
    // libarchive refuses the value; all readers take GNU's entries as plain bytes.
    if split.is_none() {
        match std::str::from_utf8(&path) {
            Ok(_) => pax.add(b"path", &path),
            Err(_) => push_gnu_long(out, b'L', &path),
        }
    }
    if entry.link.len() > 100 {
        match std::str::from_utf8(&entry.link) {
            Ok(_) => pax.add(b"linkpath", &entry.link),
            Err(_) => push_gnu_long(out, b'K', &entry.link),
        }
    }
    if entry.size > MAX_OCTAL_11 {
        pax.add(b"size", entry.size.to_string().as_bytes());
    }
    if entry.mtime < 0 || entry.mtime as u64 > MAX_OCTAL_11 {
        pax.add(b"mtime", entry.mtime.to_string().as_bytes());
    }
    let (uid, gid, uname, gname): (u64, u64, &[u8], &[u8]) = match &entry.owner {
        Some(o) => (o.uid, o.gid, &o.uname, &o.gname),
        None => (0, 0, b"", b""),
    };
    if uid > MAX_OCTAL_7 {
        pax.add(b"uid", uid.to_string().as_bytes());
    }
    if gid > MAX_OCTAL_7 {
        pax.add(b"gid", gid.to_string().as_bytes());
    }
    if uname.len() > 32 {
        pax.add(b"uname", uname);
    }
    if gname.len() > 32 {
        pax.add(b"gname", gname);
    }

    if pad > 0 && pad % BLOCK as u64 == 0 && pad <= MAX_PAD {
        let pad = pad as usize;
        // The records' blocks grow by `pad`; a new pax header spends one block on its own header.
        let now = if pax.is_empty() {
            0
        } else {
            let r = pax.clone().finish().len();
            round_up_block(r as u64) as usize - r + pad
        };
        let room = if pax.is_empty() { pad - BLOCK } else { now };
        if room >= 2 * MIN_COMMENT {
            for value in comment_values(room) {
                pax.add(b"comment", &value);
            }
        }
    }
    if !pax.is_empty() {
        let records = pax.finish();
        let mut block = [0u8; BLOCK];
        let pax_name = pax_header_name(&path);
        write_bytes(&mut block[0..100], &pax_name);
        write_octal(&mut block[100..108], 0o644);
        write_octal(&mut block[108..116], 0);
        write_octal(&mut block[116..124], 0);
        write_octal(&mut block[124..136], records.len() as u64);
        write_octal(
            &mut block[136..148],
            entry.mtime.clamp(0, MAX_OCTAL_11 as i64) as u64,
        );
        block[156] = b'x';
        finish_ustar(&mut block);
        out.extend_from_slice(&block);
        out.extend_from_slice(&records);
        out.resize(round_up_block(out.len() as u64) as usize, 0);
    }

    let mut block = [0u8; BLOCK];
    match split {
        Some((prefix, name)) => {
            write_bytes(&mut block[0..100], name);
            write_bytes(&mut block[345..500], prefix);
        }
        // The real path is in the pax record; keep a recognisable tail of it here.
        None => write_bytes(&mut block[0..100], fallback_name(&path)),
    }
    write_octal(&mut block[100..108], u64::from(entry.mode & 0o7777));
    write_octal(
        &mut block[108..116],
        if uid > MAX_OCTAL_7 { 0 } else { uid },
    );
    write_octal(
        &mut block[116..124],
        if gid > MAX_OCTAL_7 { 0 } else { gid },
    );
    write_octal(
        &mut block[124..136],
        if entry.size > MAX_OCTAL_11 {
            0
        } else {
            entry.size
        },
    );
    let mtime = if entry.mtime < 0 || entry.mtime as u64 > MAX_OCTAL_11 {
        0
    } else {
        entry.mtime as u64
    };
    write_octal(&mut block[136..148], mtime);
    block[156] = match entry.kind {
        EntryKind::File => b'0',
        EntryKind::Dir => b'5',
        EntryKind::Symlink => b'2',
    };
    if entry.link.len() <= 100 {
        write_bytes(&mut block[157..257], &entry.link);
    } else {
        write_bytes(&mut block[157..257], &entry.link[..100]);
    }
    if uname.len() <= 32 {
        write_bytes(&mut block[265..297], uname);
    }
    if gname.len() <= 32 {
        write_bytes(&mut block[297..329], gname);
    }
    finish_ustar(&mut block);
    out.extend_from_slice(&block);
}

/// The header length of `entry` in bytes (a multiple of 512). Most entries need no pax or GNU
/// long-name record and take one block; only the others are encoded to be measured.
pub fn encoded_len(entry: &Entry, scratch: &mut Vec<u8>) -> u64 {
    if fits_one_block(entry) {
        return BLOCK as u64;
    }
    encode(entry, scratch);
    scratch.len() as u64
}

/// True when every field of `entry` fits the ustar block, so [`encode`] writes no extra record.
fn fits_one_block(entry: &Entry) -> bool {
    let dir = usize::from(entry.kind == EntryKind::Dir);
    let path_fits = if entry.name.len() + dir <= 100 {
        true
    } else {
        split_ustar_path(&header_path(entry)).is_some()
    };
    let (uid, gid, uname, gname): (u64, u64, &[u8], &[u8]) = match &entry.owner {
        Some(o) => (o.uid, o.gid, &o.uname, &o.gname),
        None => (0, 0, b"", b""),
    };
    path_fits
        && entry.link.len() <= 100
        && entry.size <= MAX_OCTAL_11
        && (0..=MAX_OCTAL_11 as i64).contains(&entry.mtime)
        && uid <= MAX_OCTAL_7
        && gid <= MAX_OCTAL_7
        && uname.len() <= 32
        && gname.len() <= 32
}

/// The path as written in headers: the name, with a trailing `/` for directories.
fn header_path(entry: &Entry) -> Vec<u8> {
    let mut path = entry.name.to_vec();
    if entry.kind == EntryKind::Dir {
        path.push(b'/');
    }
    path
}

/// Splits `path` into ustar's prefix (155 bytes) and name (100 bytes) at a `/`, if it fits.
fn split_ustar_path(path: &[u8]) -> Option<(&[u8], &[u8])> {
    if path.len() <= 100 {
        return Some((&[], path));
    }
    if path.len() > 256 {
        return None;
    }
    // The prefix is as long as possible so that the name part is as short as possible.
    let last_slash_in_prefix = path[..path.len().min(156)]
        .iter()
        .rposition(|&b| b == b'/')?;
    let (prefix, name) = (
        &path[..last_slash_in_prefix],
        &path[last_slash_in_prefix + 1..],
    );
    (!prefix.is_empty() && !name.is_empty() && name.len() <= 100).then_some((prefix, name))
}

/// The last 100 bytes of a long path (starting after a `/` where possible), for the ustar name field
/// of an entry whose real path is in a pax record.
fn fallback_name(path: &[u8]) -> &[u8] {
    let tail = &path[path.len().saturating_sub(100)..];
    match tail.iter().position(|&b| b == b'/') {
        Some(i) if i + 1 < tail.len() => &tail[i + 1..],
        _ => tail,
    }
}

/// A deterministic name for a pax extended header: `PaxHeaders/` and the entry's last component,
/// with bytes outside printable ASCII replaced by `_`, cut to 100 bytes.
fn pax_header_name(path: &[u8]) -> Vec<u8> {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    let base = trimmed.rsplit(|&b| b == b'/').next().unwrap_or(trimmed);
    let mut name = b"PaxHeaders/".to_vec();
    name.extend(
        base.iter()
            .map(|&b| if (0x21..0x7f).contains(&b) { b } else { b'_' }),
    );
    name.truncate(100);
    name
}

/// The shortest `comment` record: "12 comment=\n" and one byte of value.
const MIN_COMMENT: usize = 13;

/// The values of `comment` records taking exactly `len` bytes in all (at least twice
/// [`MIN_COMMENT`]): one record, or two where no record is exactly `len` long (a power of ten:
/// "99 ..." is one byte short, "101 ..." one over).
fn comment_values(len: usize) -> Vec<Vec<u8>> {
    let digits = len.to_string();
    if digits.starts_with('1') && digits[1..].bytes().all(|b| b == b'0') {
        return vec![comment_value(MIN_COMMENT), comment_value(len - MIN_COMMENT)];
    }
    vec![comment_value(len)]
}

/// The value of a `comment` record that takes exactly `len` bytes in all (at least
/// [`MIN_COMMENT`], not a power of ten).
fn comment_value(len: usize) -> Vec<u8> {
    // "LEN comment=VALUE\n": the digits of LEN, a space, "comment=", the value, a newline.
    let digits = len.to_string().len();
    let value = len - digits - 10;
    let mut v = b"tartape alignment padding ".to_vec();
    v.resize(value, b'.');
    v.truncate(value);
    v
}

/// Pax extended header records, written in the order they are added.
#[derive(Default, Clone)]
struct PaxRecords {
    records: Vec<(&'static [u8], Vec<u8>)>,
}

impl PaxRecords {
    fn add(&mut self, key: &'static [u8], value: &[u8]) {
        self.records.push((key, value.to_vec()));
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records as bytes. A value that is not UTF-8 is announced by `hdrcharset=BINARY` first,
    /// as POSIX asks, so that readers keep its bytes as they are.
    fn finish(self) -> Vec<u8> {
        let mut out = Vec::new();
        let binary = self
            .records
            .iter()
            .any(|(_, v)| std::str::from_utf8(v).is_err());
        if binary {
            push_record(&mut out, b"hdrcharset", b"BINARY");
        }
        for (key, value) in &self.records {
            push_record(&mut out, key, value);
        }
        out
    }
}

/// Appends one `"LEN KEY=VALUE\n"` record, where LEN counts the whole record including itself.
fn push_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let body = key.len() + value.len() + 3; // space, '=', newline
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Appends a GNU long-name (`L`) or long-link (`K`) entry holding `value` (NUL-terminated), in the
/// form GNU tar writes: `././@LongLink`, GNU magic, the value padded to whole blocks.
fn push_gnu_long(out: &mut Vec<u8>, typeflag: u8, value: &[u8]) {
    let mut block = [0u8; BLOCK];
    write_bytes(&mut block[0..100], b"././@LongLink");
    write_octal(&mut block[100..108], 0o644);
    write_octal(&mut block[108..116], 0);
    write_octal(&mut block[116..124], 0);
    write_octal(&mut block[124..136], value.len() as u64 + 1);
    write_octal(&mut block[136..148], 0);
    block[156] = typeflag;
    block[257..265].copy_from_slice(b"ustar  \0");
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    write_octal(&mut block[148..155], sum);
    block[155] = b' ';
    out.extend_from_slice(&block);
    out.extend_from_slice(value);
    out.push(0);
    out.resize(round_up_block(out.len() as u64) as usize, 0);
}

/// Copies `src` into a NUL-padded field (the caller guarantees it fits).
fn write_bytes(field: &mut [u8], src: &[u8]) {
    let n = src.len().min(field.len());
    field[..n].copy_from_slice(&src[..n]);
}

/// Writes `value` as zero-padded octal digits followed by a NUL, filling the field.
fn write_octal(field: &mut [u8], mut value: u64) {
    let digits = field.len() - 1;
    field[digits] = 0;
    for i in (0..digits).rev() {
        field[i] = b'0' + (value & 7) as u8;
        value >>= 3;
    }
}

/// Sets magic, version, device numbers and the checksum of a ustar block.
fn finish_ustar(block: &mut [u8; BLOCK]) {
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    write_octal(&mut block[329..337], 0);
    write_octal(&mut block[337..345], 0);
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    // Six octal digits, NUL, space: the form every reader accepts.
    write_octal(&mut block[148..155], sum);
    block[155] = b' ';
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    fn entry(name: &[u8], kind: EntryKind, size: u64) -> Entry {
        Entry {
            name: name.into(),
            kind,
            mode: 0o644,
            mtime: 1_700_000_000,
            size,
            link: Box::new([]),
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
    fn encoded_len_is_the_length_encode_writes_at_every_field_limit() {
        let names: Vec<Vec<u8>> = [99, 100, 101, 255, 256, 257]
            .iter()
            .flat_map(|&n| {
                let flat = vec![b'n'; n];
                let mut split = vec![b'p'; n.min(150)];
                split.push(b'/');
                split.resize(n.max(split.len()), b'f');
                [flat, split]
            })
            .chain([vec![0xff; 120], b"d/\xc3\xa9".to_vec()])
            .collect();
        let owners = [
            None,
            Some((0o7777777, 0o7777777, 32, 32)),
            Some((0o7777777 + 1, 0, 0, 0)),
            Some((0, 0o7777777 + 1, 0, 0)),
            Some((0, 0, 33, 0)),
            Some((0, 0, 0, 33)),
        ];
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let mut cases = 0;
        for name in &names {
            for kind in [EntryKind::File, EntryKind::Dir, EntryKind::Symlink] {
                for link in [0, 100, 101] {
                    for (size, mtime) in [
                        (0, 0),
                        (MAX_OCTAL_11, MAX_OCTAL_11 as i64),
                        (MAX_OCTAL_11 + 1, -1),
                        (1, MAX_OCTAL_11 as i64 + 1),
                    ] {
                        for owner in owners {
                            let mut e = entry(name, kind, size);
                            e.link = vec![b'l'; link].into();
                            e.mtime = mtime;
                            e.owner = owner.map(|(uid, gid, u, g)| {
                                std::sync::Arc::new(crate::entry::Owner {
                                    uid,
                                    gid,
                                    uname: vec![b'u'; u].into(),
                                    gname: vec![b'g'; g].into(),
                                })
                            });
                            encode(&e, &mut out);
                            assert_eq!(encoded_len(&e, &mut scratch), out.len() as u64, "{e:?}");
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert!(cases > 1000);
    }

    #[test]
    fn padded_headers_grow_by_exactly_the_padding() {
        let plain = entry(b"dir/file.bin", EntryKind::File, 10);
        let long = entry(&[b'n'; 300], EntryKind::File, 10); // a pax path record
        let mut out = Vec::new();
        for e in [&plain, &long] {
            encode(e, &mut out);
            let base = out.len() as u64;
            for blocks in 1..=(MAX_PAD / 512) {
                let want = blocks * 512;
                let pad = pad_at_least(e, want, 4096);
                encode_padded(e, pad, &mut out);
                assert_eq!(out.len() as u64, base + pad, "{} blocks", blocks);
                assert_eq!(
                    out[out.len() - 512 + 156],
                    b'0',
                    "ends with the file's own block"
                );
            }
        }
        // Every length of comment records is reached, powers of ten (two records) too.
        for len in (2 * MIN_COMMENT..5000).chain([9999, 10_000, 10_001, 100_000, 1_000_000]) {
            let mut records = Vec::new();
            for v in comment_values(len) {
                push_record(&mut records, b"comment", &v);
            }
            assert_eq!(records.len(), len);
        }
        // A pad the header cannot take changes nothing (the caller checks the length).
        encode_padded(&plain, 512, &mut out);
        assert_eq!(out.len(), 512);
        encode_padded(&plain, MAX_PAD + 512, &mut out);
        assert_eq!(out.len(), 512);
    }

    #[test]
    fn pax_record_length_counts_itself() {
        let mut out = Vec::new();
        push_record(&mut out, b"path", &[b'a'; 92]);
        assert_eq!(&out[..4], b"102 ");
        assert_eq!(out.len(), 102);
        out.clear();
        push_record(&mut out, b"path", &[b'a'; 2]);
        assert_eq!(out, b"11 path=aa\n");
    }

    #[test]
    fn short_names_need_one_block() {
        let mut out = Vec::new();
        encode(&entry(b"a/b.txt", EntryKind::File, 5), &mut out);
        assert_eq!(out.len(), 512);
        assert_eq!(&out[0..7], b"a/b.txt");
        assert_eq!(&out[124..136], b"00000000005\0");
        assert_eq!(&out[257..265], b"ustar\x0000");
    }

    #[test]
    fn long_names_split_into_prefix_or_use_pax() {
        let mut out = Vec::new();
        let name = [&[b'd'; 120][..], b"/", &[b'f'; 90][..]].concat();
        encode(&entry(&name, EntryKind::File, 0), &mut out);
        assert_eq!(out.len(), 512, "fits the prefix split");
        let long = vec![b'x'; 300];
        encode(&entry(&long, EntryKind::File, 0), &mut out);
        assert_eq!(
            out.len(),
            512 * 3,
            "pax header, its records, the ustar block"
        );
        assert_eq!(out[1024 + 156], b'0');
        assert_eq!(out[156], b'x');
    }

    #[test]
    fn huge_sizes_and_negative_mtimes_go_to_pax() {
        let mut out = Vec::new();
        let mut e = entry(b"big", EntryKind::File, 9 << 30);
        e.mtime = -5;
        encode(&e, &mut out);
        let text = String::from_utf8_lossy(&out[512..1024]);
        assert!(text.contains(" size=9663676416\n"), "{text}");
        assert!(text.contains(" mtime=-5\n"), "{text}");
    }

    #[test]
    fn long_non_utf8_paths_and_links_use_gnu_long_entries_not_binary_pax() {
        let mut out = Vec::new();
        let mut e = entry(&[0xff; 300], EntryKind::Symlink, 0);
        e.link = vec![0xfe; 150].into();
        encode(&e, &mut out);
        assert_eq!(
            out.len(),
            512 * 5,
            "L header and value, K header and value, ustar"
        );
        assert_eq!(&out[0..13], b"././@LongLink");
        assert_eq!(out[156], b'L');
        assert_eq!(&out[124..136], b"00000000455\0", "301 bytes with the NUL");
        assert_eq!(&out[512..812], &[0xff; 300][..]);
        assert_eq!(out[1024 + 156], b'K');
        assert_eq!(out[2048 + 156], b'2');
        assert!(!out.windows(10).any(|w| w == b"hdrcharset"));
    }

    #[test]
    fn checksum_matches_the_block() {
        let mut out = Vec::new();
        encode(&entry(b"dir", EntryKind::Dir, 0), &mut out);
        let mut copy = out.clone();
        copy[148..156].fill(b' ');
        let sum: u64 = copy.iter().map(|&b| u64::from(b)).sum();
        let field = std::str::from_utf8(&out[148..154]).unwrap();
        assert_eq!(u64::from_str_radix(field, 8).unwrap(), sum);
        assert_eq!(&out[0..4], b"dir/");
    }
}
