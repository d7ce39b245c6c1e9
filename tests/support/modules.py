"""Finding code by name for tests: a module file outside any package, and
the object that owns a dotted attribute (to replace it in a test)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Tuple


def load_file(name: str, path: Path) -> Any:
    """The module in ``path`` (e.g. ``compat-suite/run.py``, whose folder
    name has a dash), imported once as ``name``."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def owner_of(target: str) -> Tuple[Any, str]:
    """``(owner, attribute)`` for ``"pkg.module.attr"`` or
    ``"pkg.module.Class.attr"``."""
    mod_name, _, attr = target.rpartition(".")
    try:
        owner = importlib.import_module(mod_name)
    except ModuleNotFoundError:
        mod_name, _, cls = mod_name.rpartition(".")
        owner = getattr(importlib.import_module(mod_name), cls)
    return owner, attr
