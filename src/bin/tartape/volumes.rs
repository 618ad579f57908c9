//! `tartape volumes` (write the parts and their manifest) and `tartape locate` (which parts hold
//! an entry).

use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use tartape::checksum::hex;
use tartape::volume::{self, Volume};
use tartape::Tape;

use crate::args::{parse_size, Args};
use crate::json;
use crate::output::Output;

const VOLUMES_USAGE: &str = "usage: tartape volumes CATALOG --size SIZE [--out-dir DIR] [--md5]";
const LOCATE_USAGE: &str = "usage: tartape locate CATALOG NAME [--size SIZE] [--json]";

/// Runs `tartape volumes`.
pub fn volumes(argv: &[String]) -> Result<i32, String> {
    let mut args = Args::new(argv);
    let (mut catalog, mut size, mut out_dir, mut md5) = (None, None, PathBuf::from("."), false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size" => size = Some(parse_size(&args.value(&a)?)?),
            "--out-dir" => out_dir = PathBuf::from(args.value(&a)?),
            "--md5" => md5 = true,
            "-h" | "--help" => {
                println!("{VOLUMES_USAGE}");
                return Ok(0);
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{VOLUMES_USAGE}")),
            _ => catalog = Some(PathBuf::from(a)),
        }
    }
    let catalog = catalog.ok_or_else(|| format!("no CATALOG given\n{VOLUMES_USAGE}"))?;
    let size = size.ok_or_else(|| format!("--size is required\n{VOLUMES_USAGE}"))?;
    let tape = Arc::new(Tape::open(&catalog).map_err(|e| e.to_string())?);
    let n = volume::count(&tape, size).map_err(|e| e.to_string())?;
    fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
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
            .map(|h| format!(", \"md5\": \"{}\"", hex(&md5::Digest::finalize(h))))
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
    println!("{n} parts of {size} bytes in {}", out_dir.display());
    Ok(0)
}

/// Runs `tartape locate`.
pub fn locate(argv: &[String]) -> Result<i32, String> {
    let mut args = Args::new(argv);
    let (mut positional, mut size, mut as_json) = (Vec::new(), None, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size" => size = Some(parse_size(&args.value(&a)?)?),
            "--json" => as_json = true,
            "-h" | "--help" => {
                println!("{LOCATE_USAGE}");
                return Ok(0);
            }
            s if s.starts_with('-') && positional.len() < 2 => {
                return Err(format!("unknown option {s}\n{LOCATE_USAGE}"))
            }
            _ => positional.push(a),
        }
    }
    let [catalog, name] = positional.as_slice() else {
        return Err(format!("CATALOG and NAME are required\n{LOCATE_USAGE}"));
    };
    let tape = Tape::open(std::path::Path::new(catalog)).map_err(|e| e.to_string())?;
    let part_size = size.unwrap_or(tape.total_size().div_ceil(512).max(1) * 512);
    let loc = volume::locate(&tape, name.as_bytes(), part_size).map_err(|e| e.to_string())?;
    if as_json {
        println!(
            "{{\"index\": {}, \"header_offset\": {}, \"data_offset\": {}, \"end_offset\": {}, \"size\": {}, \"part_size\": {part_size}, \"first_part\": {}, \"last_part\": {}}}",
            loc.index, loc.header_offset, loc.data_offset, loc.end_offset, loc.size, loc.first_part, loc.last_part
        );
    } else {
        println!("entry {} {name}", loc.index);
        println!(
            "header at {}, content at {} ({} bytes), ends at {}",
            loc.header_offset, loc.data_offset, loc.size, loc.end_offset
        );
        if size.is_some() {
            println!(
                "parts {} to {} (of {part_size} bytes)",
                loc.first_part, loc.last_part
            );
        }
    }
    Ok(0)
}
