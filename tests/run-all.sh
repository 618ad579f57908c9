#!/usr/bin/env bash
# The whole test suite: Rust, the C examples, Python, Go and the interoperability checks with real
# tools. README.md's test command runs this; so does .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
step() { printf '\n=== [%s] %s\n' "$(date +%T)" "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

step "the engine's Rust API documentation builds without a warning (its examples run with the tests)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps -p tartape --quiet

step "SeaweedFS, the real S3 server of the upload tests (built once per machine into ~/.cache/tartape-test)"
bash tests/services/seaweedfs.sh || echo "*** SeaweedFS could not be built: the upload tests will say they are skipped ***"

step "Rust tests (engine, C ABI, command line, interoperability), optimised, with overflow checks"
cargo test --locked --profile tests

step "ThreadSanitizer on the engine's shared state (needs nightly + rust-src; skipped without)"
bash tests/tsan.sh --if-available

step "loom: every interleaving of the walk's work queue and the MD5 pool (lost or repeated work, a deadlock)"
RUSTFLAGS="--cfg loom" cargo test --locked -p tartape --test loom --target-dir target/loom

step "a short run of every fuzz target (30 s each, two at a time; the long campaign is fuzz/campaign.sh)"
bash tests/fuzz-short.sh 30

step "C examples (-Wall -Wextra -Werror -pedantic), checked with GNU tar and Python"
make --no-print-directory examples >/dev/null
bash tests/c/run.sh

step "C API test under AddressSanitizer + UBSan, and under valgrind"
bash tests/c/sanitize.sh

step "make install into a temporary prefix, stream_dir built with pkg-config against it"
bash tests/install.sh

step "--align for real: an aligned archive on a loop-mounted XFS shares its sources' blocks"
bash tests/reflink.sh

# Go before Python: pip's build of the library alone (`cargo build -p tartape --lib`) resolves the
# dependencies' features without the command line's and so rebuilds libtartape; the Go test's
# `make release` after it would rebuild both crates once more (78 s here).
for extra in tests/go.sh tests/python.sh; do
  if [ -f "$extra" ]; then
    step "$extra"
    bash "$extra"
  fi
done
echo
echo "all test groups passed"
