#!/usr/bin/env bash
# The engine's shared state (open-file cache, lazily checked catalog chunks, CRCs kept on first use,
# bound sources, the MD5 pool) under ThreadSanitizer: tests/concurrency.rs (eight threads reading
# and streaming one tape) built with -Zsanitizer=thread and a rebuilt, instrumented std.
# Needs a nightly toolchain with rust-src (`rustup toolchain install nightly --component rust-src`).
#   tests/tsan.sh            run it (exit 1 on any data race report)
#   tests/tsan.sh --if-available   skip with a message when nightly or rust-src is missing
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup run nightly rustc --print sysroot >/dev/null 2>&1 ||
  [ ! -d "$(rustup run nightly rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  if [ "${1:-}" = --if-available ]; then
    echo "ThreadSanitizer run skipped: no nightly toolchain with rust-src here"
    exit 0
  fi
  echo "tests/tsan.sh needs: rustup toolchain install nightly --component rust-src" >&2
  exit 2
fi
export RUSTFLAGS="-Zsanitizer=thread" RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
args=(-Zbuild-std --target x86_64-unknown-linux-gnu --target-dir target/tsan --test concurrency --test md5_pool)
cargo +nightly test "${args[@]}" -- --test-threads=1
# The sanitizer really is in the test binaries that ran.
bins=$(cargo +nightly test "${args[@]}" --no-run --message-format=json 2>/dev/null |
  grep -o '"executable":"[^"]*/deps/[^"]*"' | cut -d'"' -f4)
[ "$(wc -w <<<"$bins")" -eq 2 ] || { echo "FAIL: expected two test binaries, got: $bins"; exit 1; }
for bin in $bins; do
  nm "$bin" | grep -E " [Tt] __tsan_func_entry$" >/dev/null || { echo "FAIL: $bin is not instrumented"; exit 1; }
done
echo "ThreadSanitizer: no data race"
