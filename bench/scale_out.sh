#!/usr/bin/env bash
# Scale-out figures (docs/SCALE-OUT.md): bench/py/scale_out.py in its own venv (dask.distributed,
# boto3), against the SeaweedFS that tests/services/seaweedfs.sh builds, on bench/data's large set
# unless a directory is given. Usage: bench/scale_out.sh [DIR] [--reps N] [--workers 1,2,3]
set -euo pipefail
cd "$(dirname "$0")/.."
data=bench/data/full/large
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then data=$1; shift; fi
[ -d "$data" ] || { echo "no $data: run bench/run.sh once (it makes the datasets) or give a DIR" >&2; exit 2; }
make --no-print-directory release >/dev/null
venv=bench/.venv-dask
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "dask[distributed]" boto3; }
mkdir -p bench/out
TARTAPE_LIBRARY=$PWD/target/release/libtartape.so PYTHONPATH=$PWD/bindings/python/src \
  "$venv/bin/python" bench/py/scale_out.py --data "$data" --out bench/out/scale-out.jsonl "$@"
