//! `tartape cat ARCHIVE MEMBER`: write one member's content to standard output.
//!
//! From a file, the last member of that name (a later entry replaces an earlier one, as when
//! extracting); from a stream, which cannot go back, the first.

use std::io::Write;

use crate::cli::CatArgs;
use crate::create::bytes_of;
use tartape::reader::same_name;

use crate::input::{self, Input, Members};
use crate::Failure;

/// Runs `tartape cat`.
pub fn run(args: CatArgs) -> Result<u8, Failure> {
    let show = input::shown(&args.archive);
    let name = bytes_of(&args.member);
    let shown = name.escape_ascii().to_string();
    let input = input::open(&args.archive)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let missing = || format!("{show}: no member named \"{shown}\"");
    let mut buf = vec![0u8; 1 << 16];
    let copy = |read: &mut dyn FnMut(&mut [u8]) -> tartape::Result<usize>,
                out: &mut dyn Write,
                buf: &mut [u8]|
     -> Result<(), Failure> {
        loop {
            let n = read(buf).map_err(|e| format!("{shown}: {e}"))?;
            if n == 0 {
                return out.flush().map_err(|e| format!("standard output: {e}"));
            }
            out.write_all(&buf[..n])
                .map_err(|e| format!("standard output: {e}"))?;
        }
    };
    match input {
        Input::File(archive) => {
            let index = archive.find(name).ok_or_else(missing)?;
            let mut member = archive
                .open_member(index)
                .map_err(|e| format!("{shown}: {e}"))?;
            copy(&mut |b| member.read_data(b), &mut out, &mut buf)?;
        }
        stream => {
            let mut members = Members::new(stream);
            loop {
                let entry = members
                    .next_entry()
                    .map_err(|e| format!("{show}: {e}"))?
                    .ok_or_else(missing)?;
                if same_name(&entry.name, name) {
                    copy(&mut |b| members.read(b), &mut out, &mut buf)?;
                    break;
                }
            }
        }
    }
    Ok(0)
}
