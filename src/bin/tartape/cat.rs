//! `tartape cat ARCHIVE MEMBER`: write one member's content to stdout.

use std::io::{Read, Write};

use tartape::reader::Archive;

/// Runs `tartape cat` with `args` (after the command name), writing to stdout.
pub fn run(args: &[String]) -> Result<i32, String> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run_to(args, &mut out)
}

/// Runs `tartape cat`, writing the content to `out`. Returns the exit code (0) or the message.
pub fn run_to(args: &[String], out: &mut dyn Write) -> Result<i32, String> {
    let [path, name] = args else {
        return Err("usage: tartape cat ARCHIVE MEMBER".into());
    };
    let archive = Archive::open(path).map_err(|e| format!("cat: {path}: {e}"))?;
    let index = archive
        .find(name.as_bytes())
        .ok_or_else(|| format!("cat: {path}: no member named {name:?}"))?;
    let mut member = archive
        .open_member(index)
        .map_err(|e| format!("cat: {name}: {e}"))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = member
            .read(&mut buf)
            .map_err(|e| format!("cat: {name}: {e}"))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(|e| format!("cat: {e}"))?;
    }
    out.flush().map_err(|e| format!("cat: {e}"))?;
    Ok(0)
}
