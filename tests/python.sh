#!/usr/bin/env bash
# The Python bindings, as users get them: pip installs ./bindings/python into a fresh venv (which
# builds libtartape with cargo and bundles it), then pytest runs the tests from a directory outside
# the source tree, so that the installed package, not bindings/python/src, is what is tested.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target=$root/$target ;; esac
venv=$target/py-venv

python3 -m venv --clear --system-site-packages "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$root/bindings/python"
if ! "$venv/bin/python" -c "import pytest" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pytest
fi

run_dir=$(mktemp -d)
trap 'rm -rf "$run_dir"' EXIT
cd "$run_dir"
# No variable points at the library: the installed package must find its bundled copy.
env -u TARTAPE_LIBRARY "$venv/bin/python" - <<'EOF'
import tartape, pathlib
where = pathlib.Path(tartape.__file__).parent
assert pathlib.Path(tartape.library_path()).parent == where, (tartape.library_path(), where)
print(f"tartape {tartape.__version__} from {where}, library {tartape.library_version()}")
EOF
env -u TARTAPE_LIBRARY "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  --rootdir "$run_dir" "$root/bindings/python/tests"
