"""Volume layouts saved beside a catalog: TarTape 3 registers its volume sizes under tags in its
catalog (``iter_volumes(size, tag=...)``, ``Catalog.register_layout``) and finds them again in
another process (``Catalog.get_layout(tag)``). Our catalog file has no place for them, so they
live in ``<catalog>.layouts.json`` beside it, written atomically:
``{"tag": {"volume_size": N, "is_default": bool, "naming_template": str or null}}``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Optional

from .errors import CorruptError

__all__ = ["layouts_path", "load", "register", "volume_name"]


def layouts_path(catalog: Any) -> Path:
    return Path(os.fspath(catalog) + ".layouts.json")


def load(catalog: Any) -> Dict[str, Dict[str, Any]]:
    """The layouts saved beside ``catalog`` (none when there is no file)."""
    path = layouts_path(catalog)
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw)
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
    layouts = load(catalog)
    if is_default:
        for v in layouts.values():
            v["is_default"] = False
    layouts[tag] = {"volume_size": size, "is_default": is_default, "naming_template": template}
    path = layouts_path(catalog)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(layouts, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
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
