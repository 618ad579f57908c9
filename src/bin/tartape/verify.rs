//! `tartape verify`: every discrepancy between a catalog and the disk.

use std::path::PathBuf;

use tartape::Tape;

use crate::args::Args;
use crate::json;

const USAGE: &str = "usage: tartape verify CATALOG [--deep] [--json]";

/// Runs `tartape verify`: exit 0 when clean, 1 when something differs.
pub fn run(argv: &[String]) -> Result<i32, String> {
    let mut args = Args::new(argv);
    let (mut catalog, mut deep, mut as_json) = (None, false, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--deep" => deep = true,
            "--json" => as_json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(0);
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            _ => catalog = Some(PathBuf::from(a)),
        }
    }
    let catalog = catalog.ok_or_else(|| format!("no CATALOG given\n{USAGE}"))?;
    let tape = Tape::open(&catalog).map_err(|e| e.to_string())?;
    tape.check_catalog().map_err(|e| e.to_string())?;
    let report = tape.verify(deep).map_err(|e| e.to_string())?;
    if as_json {
        let items: Vec<String> = report
            .discrepancies
            .iter()
            .map(|d| {
                format!(
                    "{{{}, \"problem\": \"{}\", \"expected\": {}, \"found\": {}}}",
                    json::name_fields("name", &d.name),
                    d.problem.as_str(),
                    json::string(d.expected.as_bytes()),
                    json::string(d.found.as_bytes())
                )
            })
            .collect();
        println!(
            "{{\"clean\": {}, \"checked\": {}, \"without_checksum\": {}, \"discrepancies\": [{}]}}",
            report.is_clean(),
            report.checked,
            report.without_checksum,
            items.join(", ")
        );
    } else {
        for d in &report.discrepancies {
            println!(
                "{}\t{}\texpected {}\tfound {}",
                d.problem.as_str(),
                String::from_utf8_lossy(&d.name),
                d.expected,
                d.found
            );
        }
        let verdict = if report.is_clean() {
            "clean"
        } else {
            "DIFFERENT"
        };
        println!(
            "{verdict}: {} entries checked, {} discrepancies{}",
            report.checked,
            report.discrepancies.len(),
            if deep && report.without_checksum > 0 {
                format!(
                    ", {} files without a recorded checksum (record with --md5)",
                    report.without_checksum
                )
            } else {
                String::new()
            }
        );
    }
    Ok(if report.is_clean() { 0 } else { 1 })
}
