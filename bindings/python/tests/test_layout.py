"""The ctypes declarations match the C header: struct layouts, enum values, every function."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import tartape
from tartape import _lib

from conftest import REPO_ROOT

HEADER = Path(os.environ.get("TARTAPE_HEADER", REPO_ROOT / "include" / "tartape.h"))
needs_header = pytest.mark.skipif(not HEADER.is_file(), reason=f"no header at {HEADER}")
needs_cc = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="no C compiler")

STRUCTS = {
    "tt_event": _lib.tt_event,
    "tt_entry_info": _lib.tt_entry_info,
    "tt_discrepancy": _lib.tt_discrepancy,
    "tt_manifest_item": _lib.tt_manifest_item,
    "tt_location": _lib.tt_location,
    "tt_archive_entry_info": _lib.tt_archive_entry_info,
    "tt_frame": _lib.tt_frame,
    "tt_frames_info": _lib.tt_frames_info,
}
ENUMS = [
    name
    for name in dir(_lib)
    if re.match(r"TT_(STATUS|EVENT_TYPE|ENTRY_KIND|ROLE|FORMAT|COMPRESSION|ARCHIVE_FLAG)_[A-Z_]+$", name)
]
# Constants the bindings use that older headers defined; checked when the header still has them.
CONSTANTS = ["BLOCK", "TRAILER_LEN", "BUFFER_SIZE"]


@pytest.fixture(scope="module")
def c_layout(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """sizeof/offsetof/values as the C compiler sees them, from a program built against the header."""
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "tartape.h"', "int main(void) {"]
    for struct, cls in STRUCTS.items():
        lines.append(f'  printf("sizeof {struct} %zu\\n", sizeof({struct}));')
        for field, _ in cls._fields_:
            lines.append(f'  printf("offsetof {struct}.{field} %zu\\n", offsetof({struct}, {field}));')
            lines.append(
                f'  printf("sizeof {struct}.{field} %zu\\n", sizeof((({struct} *)0)->{field}));'
            )
    for t in ("tt_status", "tt_event_type", "tt_entry_kind", "tt_role", "tt_format", "tt_archive_flag"):
        lines.append(f'  printf("sizeof {t} %zu\\n", sizeof({t}));')
        lines.append(f'  printf("signed {t} %d\\n", (int)!(({t})-1 > ({t})0));')
    for name in ENUMS:
        lines.append(f'  printf("value {name} %lld\\n", (long long){name});')
    for name in CONSTANTS:
        lines += [f"#ifdef {name}", f'  printf("value {name} %lld\\n", (long long){name});', "#endif"]
    lines.append('  printf("version TARTAPE_VERSION %s\\n", TARTAPE_VERSION);')
    lines += ["  return 0;", "}"]
    d = tmp_path_factory.mktemp("layout")
    src, exe = d / "layout.c", d / "layout"
    src.write_text("\n".join(lines) + "\n")
    cc = shutil.which("gcc") or shutil.which("cc")
    subprocess.run(
        [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(HEADER.parent), str(src), "-o", str(exe)],
        check=True,
    )
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    result: dict = {}
    for line in out.splitlines():
        kind, key, value = line.split(" ", 2)
        result[(kind, key)] = value
    return result


@needs_header
@needs_cc
@pytest.mark.parametrize("struct", sorted(STRUCTS))
def test_struct_size_and_field_offsets_match_the_c_compiler(c_layout: dict, struct: str) -> None:
    cls = STRUCTS[struct]
    assert ctypes.sizeof(cls) == int(c_layout[("sizeof", struct)])
    for field, ctype in cls._fields_:
        assert getattr(cls, field).offset == int(c_layout[("offsetof", f"{struct}.{field}")]), field
        assert ctypes.sizeof(ctype) == int(c_layout[("sizeof", f"{struct}.{field}")]), field


@needs_header
@needs_cc
def test_status_is_int32_and_enums_are_uint32(c_layout: dict) -> None:
    assert int(c_layout[("sizeof", "tt_status")]) == ctypes.sizeof(_lib.tt_status) == 4
    assert c_layout[("signed", "tt_status")] == "1"
    for t, ctype in (
        ("tt_event_type", _lib.tt_event_type),
        ("tt_entry_kind", _lib.tt_entry_kind),
        ("tt_role", _lib.tt_role),
        ("tt_format", _lib.tt_format),
        ("tt_archive_flag", _lib.tt_archive_flag),
    ):
        assert int(c_layout[("sizeof", t)]) == ctypes.sizeof(ctype) == 4
        assert c_layout[("signed", t)] == "0"
    assert _lib.tt_status is ctypes.c_int32
    assert _lib.tt_event_type is ctypes.c_uint32 and _lib.tt_entry_kind is ctypes.c_uint32


@needs_header
@needs_cc
def test_enum_values_and_constants_match_the_header(c_layout: dict) -> None:
    assert ENUMS, "no enum constants found in _lib"
    for name in ENUMS:
        assert getattr(_lib, name) == int(c_layout[("value", name)]), name
    for name in CONSTANTS:
        if ("value", name) in c_layout:
            assert getattr(_lib, name) == int(c_layout[("value", name)]), name
    assert c_layout[("version", "TARTAPE_VERSION")] == tartape.__version__ == tartape.library_version()


def _header_functions() -> dict:
    """Function name -> number of parameters, from the header's prototypes."""
    text = HEADER.read_text()
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for m in re.finditer(r"\b(tt_\w+)\s*\(([^;{}]*?)\)\s*;", text):
        name, params = m.group(1), m.group(2).strip()
        if name.endswith("_fn") or "(*" in m.group(0):
            continue
        out[name] = 0 if params in ("", "void") else params.count(",") + 1
    return out


@needs_header
def test_every_header_function_is_declared_with_its_arity() -> None:
    header = _header_functions()
    assert "tt_read_at" in header and "tt_tape_new" in header
    declared = {name: len(argtypes) for name, _, argtypes in _lib._FUNCTIONS}
    assert set(header) == set(declared)
    for name, arity in header.items():
        assert declared[name] == arity, name
    # And the loaded library carries the argtypes/restype we declared.
    for name, restype, argtypes in _lib._FUNCTIONS:
        fn = getattr(_lib.LIB, name)
        assert fn.argtypes == argtypes and fn.restype == restype, name


def test_status_names_come_from_the_library() -> None:
    assert _lib.status_name(_lib.TT_STATUS_CHANGED) == "CHANGED"
    assert _lib.status_name(12345) == "UNKNOWN"
    assert _lib.LIB.tt_status_is_fatal(31) == 1 and _lib.LIB.tt_status_is_fatal(12) == 0


def test_package_version_matches_cargo_toml() -> None:
    cargo = REPO_ROOT / "Cargo.toml"
    if not cargo.is_file():
        pytest.skip("not in a checkout")
    version = re.search(r'(?m)^version\s*=\s*"([^"]+)"', cargo.read_text()).group(1)  # type: ignore[union-attr]
    assert tartape.__version__ == version == tartape.library_version()
