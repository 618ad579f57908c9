"""What TarTape 3 keeps in its SQLite catalog and ours has no place for, saved beside the catalog
in ``<catalog>.meta.json`` (written atomically):

- ``layouts``: volume sizes registered under tags (``iter_volumes(size, tag=...)``,
  ``Catalog.register_layout``), found again in another process (``Catalog.get_layout(tag)``):
  ``{"tag": {"volume_size": N, "is_default": bool, "naming_template": str or null}}``;
- ``recording``: how ``tartape.record`` recorded the tape (``checksum_algorithm``, ``anonymized``,
  ``exclude``, ``created_at``, and the catalog's ``fingerprint``), for ``Tape.checksum_algorithm``,
  ``has_file_checksums``, ``is_anonymized``, ``exclude_patterns`` and ``created_at``. A catalog
  saved otherwise (the command line, ``Tape.save``) has none, and those answer None; so does one
  saved again since (its fingerprint no longer matches).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from .errors import CorruptError

__all__ = ["layouts_path", "load", "register", "volume_name", "recording", "save_recording"]


def layouts_path(catalog: Any) -> Path:
    return Path(os.fspath(catalog) + ".meta.json")


def _read(catalog: Any) -> Dict[str, Any]:
    path = layouts_path(catalog)
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except ValueError as e:
        raise CorruptError(f"{path}: not a tartape metadata file ({e})") from None


def _write(catalog: Any, data: Dict[str, Any]) -> None:
    path = layouts_path(catalog)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def recording(catalog: Any, fingerprint: Callable[[], str]) -> Optional[Dict[str, Any]]:
    """How ``tartape.record`` recorded the catalog whose fingerprint ``fingerprint()`` gives
    (called only when there is a recording), or None when it was saved otherwise (or saved again
    since: the fingerprints differ)."""
    rec = _read(catalog).get("recording")
    if not isinstance(rec, dict) or rec.get("fingerprint") != fingerprint():
        return None
    return rec


def save_recording(catalog: Any, fingerprint: str, checksum_algorithm: Optional[str], anonymized: bool,
                   exclude: Any, created_at: int) -> None:
    """Written by ``record``: replaces the file (a new recording starts without layouts)."""
    _write(catalog, {"recording": {"fingerprint": fingerprint, "checksum_algorithm": checksum_algorithm,
                                   "anonymized": anonymized, "exclude": [os.fsdecode(e) for e in exclude],
                                   "created_at": created_at},
                     "layouts": {}})


def load(catalog: Any) -> Dict[str, Dict[str, Any]]:
    """The layouts saved beside ``catalog`` (none when there is no file)."""
    data = _read(catalog).get("layouts", {})
    path = layouts_path(catalog)
    try:
        out = {}
        for tag, v in data.items():
            size = v["volume_size"]
            if not isinstance(size, int) or size <= 0 or size % 512:
                raise ValueError(f"volume_size {size!r}")
            out[str(tag)] = {"volume_size": size, "is_default": bool(v.get("is_default")),
                             "naming_template": v.get("naming_template")}
        return out
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CorruptError(f"{path}: not a layouts file ({e})") from None


def register(catalog: Any, tag: str, size: int, is_default: bool, template: Optional[str]) -> Dict[str, Dict[str, Any]]:
    """Adds (or replaces) ``tag`` in the layouts beside ``catalog`` and returns them all."""
    data = _read(catalog)
    layouts = load(catalog)
    if is_default:
        for v in layouts.values():
            v["is_default"] = False
    layouts[tag] = {"volume_size": size, "is_default": is_default, "naming_template": template}
    data["layouts"] = layouts
    _write(catalog, data)
    return layouts


def default_tag(layouts: Dict[str, Dict[str, Any]]) -> Optional[str]:
    """The default layout's tag: the one marked so, or the only one."""
    marked = [t for t, v in layouts.items() if v["is_default"]]
    if marked:
        return marked[-1]
    return next(iter(layouts)) if len(layouts) == 1 else None


def volume_name(template: Optional[str], index: int, total: int, name: str, fingerprint: str) -> str:
    """A volume's name: ``part-0000``... (ours), or TarTape's template with ``{name}``,
    ``{fingerprint}``, ``{index}``, ``{pindex}`` (1-based, 3 digits or more), ``{part}``, ``{total}``."""
    if template is None:
        return f"part-{index:0{max(4, len(str(total)))}d}"
    return template.format(
        name=name,
        fingerprint=fingerprint,
        index=index,
        pindex=str(index + 1).zfill(max(3, len(str(total)))),
        part=index + 1,
        total=total,
    )
