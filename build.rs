//! Build steps that belong to the build: the versioned soname of the shared library.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_else(|_| "0".into());
    // Before 1.0 a minor release may break the ABI, so the soname carries it.
    let soname = if major == "0" {
        format!("libtartape.so.0.{minor}")
    } else {
        format!("libtartape.so.{major}")
    };
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        // md-5's assembly objects carry no .note.GNU-stack: keep the stack non-executable anyway.
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,noexecstack");
    }
    println!("cargo:rustc-env=TARTAPE_SONAME={soname}");
    println!("cargo:rerun-if-changed=build.rs");
}
