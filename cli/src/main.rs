//! The `tartape` command line: a thin layer over the library.
//!
//! Exit status: 0 success, 1 differences found (verify), 2 trouble. Errors are one line on
//! standard error; no input makes the command end in a panic.

mod beneath;
mod cat;
mod cli;
mod create;
mod extract;
mod input;
mod json;
mod ls;
mod manifest;
mod output;
mod progress;
mod record;
mod serve;
mod upload;
mod verify;
mod volumes;
mod write;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

/// A failed command's one-line message (without the `tartape: ` prefix).
pub type Failure = String;

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    // A panic is a bug: report it in one line and exit 2 rather than with Rust's 101.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("tartape: internal error (please report it): {info}");
    }));
    let result = std::panic::catch_unwind(|| run(cli)).unwrap_or_else(|_| Err(String::new()));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            if !message.is_empty() {
                eprintln!("tartape: {message}");
            }
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Create(a) => create::run(a),
        Command::Record(a) => record::record(a),
        Command::Play(a) => record::play(a),
        Command::Verify(a) => verify::run(a),
        Command::Volumes(a) => volumes::volumes(a),
        Command::Locate(a) => volumes::locate(a),
        Command::Ls(a) => ls::run(a),
        Command::Cat(a) => cat::run(a),
        Command::Extract(a) => extract::run(a),
        Command::Upload(a) => upload::run(a),
        Command::Write(a) => write::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Completions(a) => {
            let mut cmd = Cli::command();
            clap_complete::generate(a.shell, &mut cmd, "tartape", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man(a) => write_man_pages(&a.dir),
    }
}

/// Help and version go to standard output with status 0; a usage error is condensed to one line
/// (what was wrong, clap's suggestion if it has one, where to look) with status 2.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            },
        );
    }
    let rendered = err.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut first = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if first.ends_with(':') {
        // "the following required arguments were not provided:" and the list below it.
        let items: Vec<&str> = lines
            .clone()
            .take_while(|l| l.starts_with('<') || l.starts_with('-'))
            .collect();
        first = format!("{} {}", first, items.join(", "));
    }
    let tip = lines
        .clone()
        .find_map(|l| l.strip_prefix("tip: "))
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    // The subcommand the user meant, if the first argument names one.
    let usage = std::env::args_os()
        .nth(1)
        .and_then(|a| a.into_string().ok())
        .filter(|a| Cli::command().find_subcommand(a).is_some())
        .map(|c| format!("; see 'tartape {c} --help'"))
        .unwrap_or_else(|| "; see 'tartape --help'".into());
    drop(lines);
    let mut err_out = std::io::stderr().lock();
    let _ = writeln!(err_out, "tartape: {first}{tip}{usage}");
    ExitCode::from(2)
}

/// Writes `tartape.1` and `tartape-COMMAND.1` for each visible subcommand into `dir`.
fn write_man_pages(dir: &std::path::Path) -> Result<u8, Failure> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cmd = Cli::command();
    let write = |name: String, cmd: clap::Command| -> Result<(), Failure> {
        let path = dir.join(format!("{name}.1"));
        let mut bytes = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("tartape".into(), cmd.clone())?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("tartape-{}", sub.get_name());
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        write(name, sub.clone().name(leaked))?;
    }
    Ok(0)
}
