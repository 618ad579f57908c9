//! The `tartape` command line: a thin layer over the library.

mod args;
mod cat;
mod create;
mod json;
mod ls;
mod output;
mod progress;
mod record;
mod verify;
mod volumes;

const USAGE: &str = "tartape: deterministic streaming TAR and ZIP archives

usage:
  tartape create [-o FILE] [--format tar|zip] [--deflate[=LEVEL]] [--no-md5] [--offset N] [--length N] [--quiet] PATH...
  tartape record DIR [--catalog FILE] [--format tar|zip] [--deflate[=LEVEL]] [--md5] [--exclude NAME]
  tartape play CATALOG [--offset N] [--length N] [-o FILE]
  tartape verify CATALOG [--deep] [--json]
  tartape volumes CATALOG --size SIZE [--out-dir DIR] [--md5]
  tartape locate CATALOG NAME [--size SIZE] [--json]
  tartape ls ARCHIVE [--json]          (TAR or ZIP, read in place)
  tartape cat ARCHIVE MEMBER           (a member's content on standard output)
  tartape --version

Sizes take binary suffixes (K, M, G, T). Run `tartape COMMAND --help` for a command's options.";

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = argv.first() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let rest = &argv[1..];
    let result = match command.as_str() {
        "create" => create::run(rest).map(|()| 0),
        "record" => record::record(rest),
        "play" => record::play(rest),
        "verify" => verify::run(rest),
        "volumes" => volumes::volumes(rest),
        "locate" => volumes::locate(rest),
        "ls" => ls::run(rest),
        "cat" => cat::run(rest),
        "--version" | "-V" => {
            println!("tartape {}", tartape::VERSION);
            Ok(0)
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(0)
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(message) => {
            eprintln!("tartape: {}", message.lines().next().unwrap_or(""));
            for line in message.lines().skip(1) {
                eprintln!("{line}");
            }
            // verify uses 1 for "discrepancies found"; errors are 2 there and everywhere.
            std::process::exit(2);
        }
    }
}
