#!/usr/bin/env bash
# A short run of every fuzz target (default 60 s each, two at a time on two cores); CI runs 30 s.
# Builds the targets the way cargo-fuzz does (libFuzzer with SanitizerCoverage, --cfg fuzzing,
# debug assertions and overflow checks; no ASan, for speed) with plain `cargo build`, so neither
# cargo-fuzz nor a nightly toolchain is needed. Seeds: fuzz/regressions, archives and catalogs of
# examples/site made by our command line (compressed by gzip, zstd, xz and bzip2 for
# compressed_reader), and ../shared/corpora when it is there.
# A crash, hang (10 s), or allocation over 2 GiB fails the run; the input is kept in fuzz/artifacts.
#   tests/fuzz-short.sh [SECONDS] [TARGET...]      (SECONDS 0: no time limit)
# FUZZ_RUNS=N stops each target after N executions; FUZZ_WORK=DIR keeps the seeds and logs there
# (by default a temporary directory), FUZZ_CORPUS=DIR the corpus, one TARGET directory each (by
# default DIR/corpus of the work directory). The long campaign, fuzz/campaign.sh, is this script
# with all three set; see docs/RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=(${*:-tar_reader tar_stream zip_reader compressed_reader pax_records tape_api catalog_loader})

export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
triple=x86_64-unknown-linux-gnu
# --target keeps RUSTFLAGS away from build scripts and proc macros, as cargo-fuzz does.
cargo build --locked --release --quiet --manifest-path fuzz/Cargo.toml --target "$triple" \
  --target-dir target/fuzz-short
unset RUSTFLAGS
bins="$repo/target/fuzz-short/$triple/release"
# The binaries really are instrumented for libFuzzer (a plain build would "pass" by doing nothing).
for t in "${targets[@]}"; do
  nm "$bins/$t" | grep ' __sancov_gen_' >/dev/null || { echo "FAIL: $t is not instrumented"; exit 1; }
done

if [ -n "${FUZZ_WORK:-}" ]; then
  mkdir -p "$FUZZ_WORK"
  work=$(cd "$FUZZ_WORK" && pwd)
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
corpus=${FUZZ_CORPUS:-$work/corpus}
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
cargo build --locked --release --quiet --bin tartape
cli="$repo/target/release/tartape"
mkdir -p "$work/archives"
"$cli" create -o "$work/archives/site.tar" examples/site >/dev/null
"$cli" create --format zip -o "$work/archives/site.zip" examples/site >/dev/null
"$cli" create --format zip --deflate -o "$work/archives/site-deflate.zip" examples/site >/dev/null
CARGO_TERM_QUIET=true sh fuzz/seed.sh "$work/catalogs" "$work/compressed" >/dev/null

seeds_for() {
  local t=$1 s=()
  [ -d "fuzz/regressions/$t" ] && s+=("fuzz/regressions/$t")
  case $t in
  tar_reader | tar_stream | zip_reader)
    s+=("$work/archives")
    for c in libarchive cpython tar-rs zip2; do
      [ -d "../shared/corpora/$c" ] && s+=("../shared/corpora/$c")
    done
    ;;
  compressed_reader) s+=("$work/compressed") ;;
  catalog_loader) s+=("$work/catalogs") ;;
  esac
  echo "${s[@]}"
}

run_one() {
  local t=$1 start
  start=$(date +%s)
  mkdir -p "$corpus/$t" fuzz/artifacts/"$t"
  # shellcheck disable=SC2046
  if "$bins/$t" "$corpus/$t" $(seeds_for "$t") -max_total_time="$secs" "${runs[@]}" -max_len=65536 \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$t/" >"$work/$t.log" 2>&1; then
    echo "$t: ok, $(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log") executions in $(($(date +%s) - start)) s$(
      sed -n 's/^stat::average_exec_per_sec: *\([1-9][0-9]*\)$/, \1\/s/p' "$work/$t.log")"
  else
    echo "$t: FAILED (input kept in fuzz/artifacts/$t/); the end of its log:"
    tail -40 "$work/$t.log"
    return 1
  fi
}

# Two at a time: one per core.
status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  for t in "${targets[@]:i:2}"; do
    run_one "$t" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
done
exit $status
