"""Builds libtartape with cargo and ships it inside the ``tartape`` package.

``pip install ./bindings/python`` runs ``cargo build --release --lib --locked`` in the repository
root (``$CARGO_TARGET_DIR`` is honoured if set; ``$CARGO`` names the cargo binary), then copies
``libtartape.so`` next to the Python modules, where the loader looks first. Set
``TARTAPE_PREBUILT_LIBRARY`` to a built library to skip cargo (packagers), or
``TARTAPE_SOURCE_DIR`` to the repository root when this directory was copied elsewhere.
"""

import os
import platform
import re
import struct
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
LIB_NAME = "libtartape.dylib" if sys.platform == "darwin" else "libtartape.so"


def repository_root() -> Path:
    """The tartape repository (the directory whose Cargo.toml names the crate ``tartape``)."""
    env = os.environ.get("TARTAPE_SOURCE_DIR")
    candidates = [Path(env)] if env else list(HERE.parents)
    for path in candidates:
        cargo_toml = path / "Cargo.toml"
        if cargo_toml.is_file() and re.search(r'(?m)^name\s*=\s*"tartape"', cargo_toml.read_text()):
            return path
    raise SystemExit(
        "tartape: cannot find the repository root (a Cargo.toml of the crate tartape) above "
        f"{HERE}; set TARTAPE_SOURCE_DIR or TARTAPE_PREBUILT_LIBRARY"
    )


def crate_version() -> str:
    """The crate's version from Cargo.toml: the package has the library's version."""
    try:
        text = (repository_root() / "Cargo.toml").read_text()
    except SystemExit:
        init = (HERE / "src" / "tartape" / "__init__.py").read_text()
        return re.search(r'__version__ = "([^"]+)"', init).group(1)  # type: ignore[union-attr]
    return re.search(r'(?m)^version\s*=\s*"([^"]+)"', text).group(1)  # type: ignore[union-attr]


def cargo_binary() -> str:
    """``$CARGO``, cargo on PATH, or rustup's default location."""
    for candidate in (os.environ.get("CARGO"), shutil.which("cargo"), str(Path.home() / ".cargo/bin/cargo")):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("tartape: cargo is needed to build libtartape (https://rustup.rs)")


def build_library() -> Path:
    """Builds libtartape (or takes a prebuilt one) and returns its path."""
    prebuilt = os.environ.get("TARTAPE_PREBUILT_LIBRARY")
    if prebuilt:
        return Path(prebuilt)
    root = repository_root()
    target = Path(os.environ.get("CARGO_TARGET_DIR") or root / "target")
    if not target.is_absolute():
        target = root / target
    # -p: the root is (or is becoming) a workspace whose members include the command line.
    cmd = [cargo_binary(), "build", "--release", "--lib", "--locked", "-p", "tartape"]
    print(f"tartape: {' '.join(cmd)} (in {root}, target {target})", flush=True)
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    subprocess.run(cmd, cwd=root, env=env, check=True)
    return target / "release" / LIB_NAME


def elf_glibc_floor(library: Path) -> "tuple[int, int] | None":
    """The newest ``GLIBC_2.N`` symbol version ``library`` needs (from its ``.dynstr``), which is
    the oldest glibc it runs on; None when it is not an ELF file or needs no versioned glibc."""
    data = library.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit ELF only (x86_64, aarch64)
        return None
    end = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(end + "Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
    sections = []
    for i in range(shnum):
        name, kind, _, _, offset, size = struct.unpack_from(end + "IIQQQQ", data, shoff + i * shentsize)
        sections.append((name, kind, offset, size))
    names_at = sections[shstrndx][2]
    versions = []
    for name, _, offset, size in sections:
        label = data[names_at + name : data.index(b"\0", names_at + name)]
        if label == b".dynstr":
            for m in re.finditer(rb"GLIBC_2\.(\d+)(?:\.\d+)?\0", data[offset : offset + size]):
                versions.append((2, int(m.group(1))))
    return max(versions) if versions else None


# The manylinux policies auditwheel knows (each a PEP 600 image); a floor between two is rounded up
# to the next one, as auditwheel would (glibc 2.16 symbols give manylinux_2_17).
POLICIES = (5, 12, 17, 24, 26, 27, 28, 31, 34, 35, 36, 37, 38, 39, 40, 41)


def platform_tag(default: str) -> str:
    """``manylinux_2_N_<arch>`` for the bundled library on Linux (PEP 600): N is the newest glibc
    symbol version it needs (rounded up to a manylinux policy), so the wheel claims no more than
    it needs. Other platforms keep ``default``. ``auditwheel show`` on the wheel confirms it
    (tests/python.sh)."""
    library = Path(os.environ.get("TARTAPE_PREBUILT_LIBRARY") or "")
    if not sys.platform.startswith("linux"):
        return default
    built = getattr(BuildPyWithLibrary, "built", None)
    floor = elf_glibc_floor(built or library) if (built or library.is_file()) else None
    if floor is None:
        return default
    arch = default.split("_", 1)[1] if default.startswith("linux_") else platform.machine()
    minor = next((p for p in POLICIES if p >= floor[1]), floor[1])
    return f"manylinux_{floor[0]}_{minor}_{arch}"


class BuildPyWithLibrary(build_py):
    """build_py that also builds libtartape and copies it into the package."""

    def run(self) -> None:
        super().run()
        library = build_library()
        if not library.is_file():
            raise SystemExit(f"tartape: the build did not produce {library}")
        destination = Path(self.build_lib) / "tartape" / LIB_NAME
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(library, destination)
        os.chmod(destination, 0o755)
        strip = shutil.which("strip")
        if strip and sys.platform.startswith("linux") and not os.environ.get("TARTAPE_NO_STRIP"):
            # debug sections are most of a release build's size; the dynamic symbols stay
            subprocess.run([strip, "--strip-debug", str(destination)], check=True)
        BuildPyWithLibrary.built = destination  # type: ignore[attr-defined]


class BinaryDistribution(Distribution):
    """The wheel holds a native library: tag it for the platform, not ``any``."""

    def has_ext_modules(self) -> bool:
        return True


cmdclass = {"build_py": BuildPyWithLibrary}
try:
    from wheel.bdist_wheel import bdist_wheel

    class BdistWheel(bdist_wheel):  # type: ignore[misc]
        """Tags the wheel ``py3-none-manylinux_2_N_<arch>``: ctypes needs no particular Python
        ABI, and the library's glibc symbol versions give the oldest manylinux it runs on."""

        def get_tag(self):  # type: ignore[no-untyped-def]
            _, _, plat = super().get_tag()
            return "py3", "none", platform_tag(plat)

    cmdclass["bdist_wheel"] = BdistWheel
except ImportError:  # building without wheel (e.g. setup.py build): nothing to tag
    pass


setup(
    version=crate_version(),
    cmdclass=cmdclass,
    distclass=BinaryDistribution,
)
