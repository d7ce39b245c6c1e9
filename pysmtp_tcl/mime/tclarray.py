"""Iteration order of Tcl arrays, so key/value lists come out as tcllib's do.

tcllib keeps Content-Type parameters and ``getproperty``'s result in Tcl
arrays and returns ``[array get ...]``: the order is Tcl's hash-table order,
which scripts see (``getproperty $tok params``, the order of the parameter
lines in a generated ``Content-Type``).  This module reproduces Tcl 8.6's
table (``generic/tclHash.c`` with ``TclHashObjKey``, no randomisation):
4 buckets to start, grown 4x when entries reach 3x the bucket count, new
entries pushed at the head of their bucket's chain, iteration bucket by
bucket.  Verified against ``tclsh`` 8.6 in ``tests/test_mime_tclarray.py``.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Iterable, List, Sequence, Tuple

__all__ = ["tcl_hash", "array_order", "array_get"]


def _tcl_utf8(key: str) -> bytes:
    # Tcl's internal "modified UTF-8": NUL is C0 80, non-BMP as surrogates.
    b = key.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
    return b.encode("utf-8", "surrogatepass").replace(b"\x00", b"\xc0\x80")


def tcl_hash(key: str) -> int:
    """Tcl 8.6 string hash of ``key`` (unsigned 32-bit int)."""
    data = _tcl_utf8(key)
    result = 0
    if data:
        result = data[0]
        for c in data[1:]:
            result = (result + (result << 3) + c) & 0xFFFFFFFF
    return result


def array_order(keys: Iterable[str]) -> List[str]:
    """Distinct ``keys`` in the order ``array names`` lists them after they
    were set one by one, in the given order, into a fresh Tcl array."""
    nbuckets = 4
    buckets: List[List[Tuple[str, int]]] = [[] for _ in range(nbuckets)]
    seen = set()
    for key in keys:
        if key in seen:
            continue
        seen.add(key)
        h = tcl_hash(key)
        buckets[h & (nbuckets - 1)].insert(0, (key, h))
        if len(seen) >= nbuckets * 3:
            old, nbuckets = buckets, nbuckets * 4
            buckets = [[] for _ in range(nbuckets)]
            for chain in old:
                for entry in chain:
                    buckets[entry[1] & (nbuckets - 1)].insert(0, entry)
    return [key for chain in buckets for key, _ in chain]


def array_get(pairs: Sequence[Tuple[str, object]]) -> List[Tuple[str, object]]:
    """``array set a {}; foreach {k v} $pairs {set a($k) $v}; array get a``
    as a list of ``(key, value)``: later values win, Tcl's order."""
    values = {}
    for k, v in pairs:
        values[k] = v
    return [(k, values[k]) for k in array_order(k for k, _ in pairs)]
