"""Formatting Python strings as Tcl list text (for messages that quote a
Tcl value, e.g. ``-header expects a key and a value, not ...``)."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Iterable

__all__ = ["tcl_quote", "tcl_list"]

_SPECIAL = set(' \t\n\r\v\f;"$[]{}\\')


def tcl_quote(s: str) -> str:
    """One list element as Tcl's ``list`` would write it (braces when
    possible, backslashes otherwise)."""
    if s == "":
        return "{}"
    if not any(c in _SPECIAL for c in s) and s[0] != "#":
        return s
    depth = 0
    ok = not s.endswith("\\")
    for c in s:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                ok = False
                break
    if ok and depth == 0 and "\\" not in s:
        return "{" + s + "}"
    out = []
    for c in s:
        if c in _SPECIAL:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r", "\v": "\\v", "\f": "\\f"}.get(c, "\\" + c))
        else:
            out.append(c)
    return "".join(out)


def tcl_list(items: Iterable[str]) -> str:
    """``[list a b ...]`` as text."""
    return " ".join(tcl_quote(i) for i in items)
