#!/bin/sh
# Runs each fuzz target for RUNS executions (default 10 million) one after the other, without
# ASan but with debug assertions (overflow checks), seeded from ../shared/corpora and fuzz/seed.sh.
# Inputs that once crashed a target are kept in fuzz/regressions/TARGET and seed it again.
# Prints each target's last libFuzzer status line; logs go to fuzz/logs/. Needs cargo-fuzz.
#   fuzz/campaign.sh [RUNS] [TARGET...]
# FUZZ_TARGET_DIR builds elsewhere than fuzz/target (to rebuild while another campaign runs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpora="$here/../../shared/corpora"
runs=${1:-10000000}
[ $# -gt 0 ] && shift
targets=${*:-"catalog_loader pax_records tar_reader tar_stream zip_reader compressed_reader tape_api"}
cd "$here"
tdir=${FUZZ_TARGET_DIR:-target}
RUSTC_BOOTSTRAP=1 cargo fuzz build -O -a --sanitizer none --target-dir "$tdir" >/dev/null
[ -d corpus/catalog_loader ] || ./seed.sh >/dev/null
mkdir -p logs artifacts
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    seeds=""
    [ -d "regressions/$t" ] && seeds="regressions/$t"
    case $t in tar_reader | zip_reader) [ -d "$corpora" ] && seeds="$seeds $corpora/libarchive $corpora/cpython $corpora/tar-rs $corpora/zip2" ;; esac
    start=$(date +%s)
    # shellcheck disable=SC2086
    if "$tdir/x86_64-unknown-linux-gnu/release/$t" "corpus/$t" $seeds -runs="$runs" \
        -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
        -artifact_prefix="artifacts/$t/" >"logs/$t.log" 2>&1; then
        status=ok
    else
        status=FAILED
    fi
    echo "$t: $status in $(($(date +%s) - start)) s: $(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)"
done
