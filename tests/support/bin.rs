//! Where the `tartape` command line of this build is. It is its own crate (cli/): in its own
//! tests cargo says where (CARGO_BIN_EXE_tartape); in the engine's, it sits beside the test
//! executables' directory when the workspace is built together (`cargo test` at the root builds
//! both packages).

use std::path::PathBuf;

/// The `tartape` binary of this build.
pub fn tartape_bin() -> PathBuf {
    if let Some(bin) = option_env!("CARGO_BIN_EXE_tartape") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("tartape"))
        .expect("a target directory");
    assert!(
        bin.is_file(),
        "{} is missing: run the tests from the workspace root (cargo test builds tartape-cli too)",
        bin.display()
    );
    bin
}
