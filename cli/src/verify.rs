//! `tartape verify`: every discrepancy between a catalog and the disk.

use tartape::Tape;

use crate::cli::VerifyArgs;
use crate::json;
use crate::progress::Progress;
use crate::Failure;

/// Runs `tartape verify`: exit 0 when clean, 1 when something differs.
pub fn run(args: VerifyArgs) -> Result<u8, Failure> {
    let tape = Tape::open(&args.catalog).map_err(|e| e.to_string())?;
    tape.check_catalog().map_err(|e| e.to_string())?;
    // A deep verification reads every file: its progress is in bytes of content.
    let progress = if args.deep {
        let total = (0..tape.len())
            .filter_map(|i| tape.slot(i).ok())
            .map(|s| s.entry.size)
            .sum::<u64>();
        Progress::bytes(Some(total), args.quiet)
    } else {
        Progress::bytes(None, true)
    };
    let report = tape
        .verify_with_progress(args.deep, &mut |bytes| progress.set(bytes))
        .map_err(|e| e.to_string())?;
    progress.finish();
    drop(progress);
    if args.json {
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
                d.name.escape_ascii(),
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
            if args.deep && report.without_checksum > 0 {
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
