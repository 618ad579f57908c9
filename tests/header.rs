//! The committed C header is exactly what cbindgen generates from the sources, and its version
//! macros match Cargo.toml.

use std::path::Path;

#[test]
fn committed_header_matches_cbindgen_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_crate(root)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = root.join("include/tartape.h");
    // TARTAPE_BLESS_HEADER=1 rewrites the header (no cbindgen binary needed), as a snapshot test.
    if std::env::var_os("TARTAPE_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/tartape.h");
    }
    let committed = std::fs::read(&path).expect("include/tartape.h");
    assert!(
        generated == committed,
        "include/tartape.h is stale: run `TARTAPE_BLESS_HEADER=1 cargo test --test header` \
         (or `cbindgen --config cbindgen.toml --crate tartape --output include/tartape.h`, cbindgen 0.29.0)"
    );
}

#[test]
fn header_version_macros_match_cargo_toml() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/tartape.h"))
            .unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(header.contains(&format!("#define TARTAPE_VERSION \"{version}\"")));
    for (part, value) in ["MAJOR", "MINOR", "PATCH"].iter().zip(version.split('.')) {
        assert!(
            header.contains(&format!("#define TARTAPE_VERSION_{part} {value}\n")),
            "TARTAPE_VERSION_{part} should be {value}"
        );
    }
    let c_version = unsafe { std::ffi::CStr::from_ptr(tartape::ffi::status::tt_version()) };
    assert_eq!(c_version.to_str().unwrap(), version);
}
