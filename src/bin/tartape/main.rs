//! The `tartape` command line: a thin layer over the library.

fn main() {
    eprintln!("tartape {}: commands arrive with the engine", tartape::VERSION);
    std::process::exit(2);
}
