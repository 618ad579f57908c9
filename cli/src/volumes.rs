//! `tartape volumes` (write the parts and their manifest) and `tartape locate` (which parts hold
//! an entry).

use std::fs;
use std::io::Read;
use std::sync::Arc;

use tartape::volume::{self, Volume};
use tartape::Tape;

use crate::cli::{LocateArgs, VolumesArgs};
use crate::create::bytes_of;
use crate::json;
use crate::output::Output;
use crate::progress::Progress;
use crate::Failure;

/// Runs `tartape volumes`.
pub fn volumes(args: VolumesArgs) -> Result<u8, Failure> {
    let (size, out_dir, md5) = (args.size, &args.out_dir, args.md5);
    let tape = Arc::new(Tape::open(&args.catalog).map_err(|e| e.to_string())?);
    let n = volume::count(&tape, size).map_err(|e| e.to_string())?;
    fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let progress = Progress::bytes(Some(tape.total_size()), args.quiet);
    let mut done = 0u64;
    let width = n.to_string().len().max(4);
    let mut parts_json = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    for part in 0..n {
        let file_name = format!("part-{part:0width$}.tar");
        let mut vol = Volume::new(tape.clone(), size, part).map_err(|e| e.to_string())?;
        let mut out = Output::open(Some(&out_dir.join(&file_name)))?;
        let mut hasher = md5.then(<md5::Md5 as md5::Digest>::new);
        loop {
            let got = vol.read(&mut buf).map_err(|e| e.to_string())?;
            if got == 0 {
                break;
            }
            if let Some(h) = &mut hasher {
                md5::Digest::update(h, &buf[..got]);
            }
            out.write_all(&buf[..got])?;
            done += got as u64;
            progress.set(done);
        }
        out.commit()?;
        let items = volume::manifest(&tape, size, part).map_err(|e| e.to_string())?;
        let items: Vec<String> = items
            .iter()
            .map(|m| {
                format!(
                    "{{\"index\": {}, {}, \"role\": \"{}\", \"range\": [{}, {}], \"content_range\": [{}, {}], \"content_offset\": {}, \"size\": {}}}",
                    m.index,
                    json::name_fields("name", &m.name),
                    m.role.as_str(),
                    m.range.0,
                    m.range.1,
                    m.content_range.0,
                    m.content_range.1,
                    m.content_offset,
                    m.size
                )
            })
            .collect();
        let digest = hasher
            .map(|h| format!(", \"md5\": \"{}\"", json::hex(&md5::Digest::finalize(h))))
            .unwrap_or_default();
        parts_json.push(format!(
            "{{\"part\": {part}, \"file\": {}, \"start\": {}, \"length\": {}{digest}, \"entries\": [{}]}}",
            json::string(file_name.as_bytes()),
            vol.start(),
            vol.len(),
            items.join(", ")
        ));
    }
    let manifest = format!(
        "{{\"fingerprint\": \"{}\", \"total_size\": {}, \"part_size\": {size}, \"parts\": [\n{}\n]}}\n",
        tape.fingerprint().map_err(|e| e.to_string())?,
        tape.total_size(),
        parts_json.join(",\n")
    );
    let mut out = Output::open(Some(&out_dir.join("manifest.json")))?;
    out.write_all(manifest.as_bytes())?;
    out.commit()?;
    progress.finish();
    drop(progress);
    println!("{n} parts of {size} bytes in {}", out_dir.display());
    Ok(0)
}

/// Runs `tartape locate`.
pub fn locate(args: LocateArgs) -> Result<u8, Failure> {
    let (size, as_json) = (args.size, args.json);
    let name = bytes_of(&args.name);
    let tape = Tape::open(&args.catalog).map_err(|e| e.to_string())?;
    let part_size = size.unwrap_or(tape.total_size().div_ceil(512).max(1) * 512);
    let loc = volume::locate(&tape, name, part_size).map_err(|e| e.to_string())?;
    if as_json {
        let compressed = loc.compressed.map_or(String::new(), |(a, b)| {
            format!(", \"compressed_offset\": {a}, \"compressed_end\": {b}")
        });
        println!(
            "{{\"index\": {}, \"header_offset\": {}, \"data_offset\": {}, \"end_offset\": {}, \"size\": {}, \"part_size\": {part_size}, \"first_part\": {}, \"last_part\": {}{compressed}}}",
            loc.index, loc.header_offset, loc.data_offset, loc.end_offset, loc.size, loc.first_part, loc.last_part
        );
    } else {
        println!("entry {} {}", loc.index, name.escape_ascii());
        let tar = if loc.compressed.is_some() {
            " in the TAR"
        } else {
            ""
        };
        println!(
            "header at {}, content at {} ({} bytes), ends at {}{tar}",
            loc.header_offset, loc.data_offset, loc.size, loc.end_offset
        );
        if let Some((a, b)) = loc.compressed {
            println!("compressed: bytes {a} to {b} of the archive (the frames that hold it)");
        }
        if size.is_some() {
            println!(
                "parts {} to {} (of {part_size} bytes)",
                loc.first_part, loc.last_part
            );
        }
    }
    Ok(0)
}
