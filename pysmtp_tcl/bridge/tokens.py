"""Tokens that look like tcllib's (``::mime::N``), mapped to Python objects.

Scripts see only the token string; reaching into token internals with
``upvar #0 $token state`` is unsupported (DESIGN.md §1).
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Dict, Iterator, Tuple


class TokenRegistry:
    """Per-interpreter map ``"::<ns>::N" -> object``.

    Numbers grow monotonically per namespace, as tcllib's ``uid`` counters
    do, and are never reused within one interpreter.
    """

    def __init__(self) -> None:
        self._objects: Dict[str, Any] = {}
        self._counters: Dict[str, int] = {}

    def new(self, obj: Any, ns: str = "mime") -> str:
        """Register ``obj`` and return its new token, e.g. ``"::mime::3"``."""
        token = self.take(ns)
        self._objects[token] = obj
        return token

    def take(self, ns: str = "mime") -> str:
        """Use up the next token number of ``ns`` and return its token,
        registering nothing (as ``new`` followed by ``drop`` does)."""
        n = self._counters.get(ns, 0) + 1
        self._counters[ns] = n
        return "::%s::%d" % (ns, n)

    def skip(self, n: int, ns: str = "mime") -> None:
        """Use up ``n`` token numbers of ``ns`` (as ``n`` calls of
        ``new``, each followed by ``drop``, do)."""
        if n:
            self._counters[ns] = self._counters.get(ns, 0) + n

    def register(self, token: str, obj: Any) -> None:
        """Register ``obj`` under a given name (tcllib names a parsed
        message's parts ``TOKEN-1``, ``TOKEN-1-2`` …)."""
        self._objects[token] = obj

    def lookup(self, token: str) -> Any:
        """The object behind ``token``, or ``None`` if there is none.

        A token given without leading ``::`` (``mime::3``) is accepted, as Tcl
        resolves such a variable name from the global namespace.
        """
        obj = self._objects.get(token)
        if obj is None and not token.startswith("::"):
            obj = self._objects.get("::" + token)
        return obj

    def drop(self, token: str) -> Any:
        """Forget ``token``; returns its object (``None`` if unknown)."""
        obj = self._objects.pop(token, None)
        if obj is None and not token.startswith("::"):
            obj = self._objects.pop("::" + token, None)
        return obj

    def items(self) -> Iterator[Tuple[str, Any]]:
        return iter(list(self._objects.items()))

    def __len__(self) -> int:
        return len(self._objects)
