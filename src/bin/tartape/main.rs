//! The `tartape` command line: a thin layer over the library.

mod args;
mod create;
mod output;
mod progress;

const USAGE: &str = "tartape: deterministic streaming TAR archives

usage:
  tartape create [-o FILE] [--no-md5] [--offset N] [--length N] [--quiet] PATH...
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
        "create" => create::run(rest),
        "--version" | "-V" => {
            println!("tartape {}", tartape::VERSION);
            Ok(())
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    if let Err(message) = result {
        eprintln!("tartape: {}", message.lines().next().unwrap_or(""));
        for line in message.lines().skip(1) {
            eprintln!("{line}");
        }
        std::process::exit(1);
    }
}
