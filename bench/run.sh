#!/usr/bin/env bash
# The one command: builds the release library and command line and the benchmark programs, sets up
# Python TarTape (PyPI) in its own venv, generates the datasets (once), runs every contender in
# alternation and writes BENCHMARKS.md.
#   bench/run.sh [--quick] [--only GROUP[,GROUP...]] [--reps N]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
command -v bsdtar >/dev/null || { apt-get update -qq && apt-get install -y -qq libarchive-tools; }

make release
make -C bench/c OUT="$CARGO_TARGET_DIR/bench" REL="$CARGO_TARGET_DIR/release"
# The small-file floor through io_uring (its own workspace; the io-uring crate is for it alone).
cargo build -q --release --locked --manifest-path bench/uring_floor/Cargo.toml \
  --target-dir "$CARGO_TARGET_DIR/uring_floor"
cp "$CARGO_TARGET_DIR/uring_floor/release/uring_floor" "$CARGO_TARGET_DIR/bench/"

venv=bench/.venv-tartape3
if [ "$("$venv/bin/python" -c 'import tartape; print(tartape.__version__)' 2>/dev/null)" != 3.0.3 ]; then
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install -q tartape==3.0.3
fi

# boto3 for the upload group's comparison (its own venv, the version pinned).
boto3_venv=bench/.venv-boto3
if [ "$("$boto3_venv/bin/python" -c 'import boto3; print(boto3.__version__)' 2>/dev/null)" != 1.43.11 ]; then
  python3 -m venv --clear "$boto3_venv"
  "$boto3_venv/bin/pip" install -q boto3==1.43.11
fi

mode=full
for a in "$@"; do [ "$a" = --quick ] && mode=quick; done
python3 bench/run.py "$@"
python3 bench/report.py "bench/out/latest-$mode.jsonl" > "bench/BENCHMARKS-$mode.md.tmp"
if [ "$mode" = full ]; then
  mv bench/BENCHMARKS-full.md.tmp bench/BENCHMARKS.md
  echo "wrote bench/BENCHMARKS.md"
else
  mv bench/BENCHMARKS-quick.md.tmp bench/out/BENCHMARKS-quick.md
  echo "wrote bench/out/BENCHMARKS-quick.md"
fi
