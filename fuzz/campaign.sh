#!/bin/sh
# The long campaign: each fuzz target for RUNS executions (default 10 million), two at a time on
# two cores, with debug assertions and overflow checks (any arithmetic overflow is a crash) and
# without ASan, for speed. It is tests/fuzz-short.sh without its time limit: the same build (no
# cargo-fuzz or nightly needed), the same seeds (fuzz/regressions/TARGET, our own archives,
# catalogs and compressed TARs, ../shared/corpora), and a corpus kept between campaigns in
# fuzz/corpus/TARGET (where the ASan run of docs/RELIABILITY.md finds it too; seeds and logs in
# fuzz/work). A crash keeps its input in fuzz/artifacts.
#   fuzz/campaign.sh [RUNS] [TARGET...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-10000000}
[ $# -gt 0 ] && shift
FUZZ_RUNS=$runs FUZZ_WORK="$here/work" FUZZ_CORPUS="$here/corpus" exec bash "$here/../tests/fuzz-short.sh" 0 "$@"
