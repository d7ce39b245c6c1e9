"""Tcl values on their way into Python, as the strings Tcl sees.

tkinter maps a Tcl *result* by the object's internal type: a list becomes a
``tuple``, a byte array ``bytes``, an integer ``int``, a double ``float``, a
dict or other typed value a ``Tcl_Obj``; only an untyped value becomes a
``str``.  Tcl 9 keeps types where 8.6 made fresh strings (``format %s $v``
returns ``$v`` itself; a value that failed to parse as an index is left a
list), so code that calls ``str()`` on a result works on 8.6 and prints a
Python ``repr`` on Tcl 9.  And once tkinter has turned a list into a tuple,
the value's own text is gone (``a  b`` comes back as ``('a', 'b')``).

So every value whose text matters is taken as a string *in Tcl* (``string
range $v 0 end`` is a fresh, untyped string on 8.6 and 9; for a byte array
it stays a byte array, whose text is one char per octet) before it
crosses, and what has already crossed is converted by :func:`tcl_string`.
Arguments of commands registered with ``createcommand`` always arrive as
``str`` (their text) on both, and need none of this.
"""
from __future__ import annotations

import tkinter

from .registry import TclError

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Iterable, List

__all__ = ["tcl_string", "call_string", "split_list", "list_string"]

# Runs a command at level #0 and hands back its result's text.
_STRING_RESULT = "args {string range [uplevel #0 $args] 0 end}"


def tcl_string(tk: Any, value: Any) -> str:
    """The text of a value tkinter handed to Python.

    :param tk: the interpreter (``tkapp``), used for values whose text only
        Tcl can write (doubles, lists).
    :param value: ``str`` (returned as is), ``bytes`` (a byte array: one
        char U+0000–U+00FF per octet), ``int``, ``float``, ``tuple`` (a
        list: its canonical text, as ``list`` would write it), ``Tcl_Obj``
        (its own text) or ``None`` (``""``).
    :returns: the text.  For a typed value whose original text is gone
        (a list that was written ``a  b``, a boolean that was ``yes``) this
        is Tcl's canonical text for the value; take results with
        :func:`call_string` where that matters.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (tuple, list, float)):
        return tcl_string(tk, tk.call("string", "range", _tcl_list(value), 0, "end"))
    return str(value)  # Tcl_Obj: its string representation


def _tcl_list(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def call_string(tk: Any, *words: Any) -> str:
    """Run one command at level #0 (as ``tk.call`` does) and return its
    result's text, whatever the result's internal type.

    :raises tkinter.TclError: as ``tk.call``.
    """
    return tcl_string(tk, tk.call("apply", _STRING_RESULT, *words))


def split_list(tk: Any, value: Any) -> List[str]:
    """A Tcl list's elements, each as its text; Tcl's own error for a
    malformed list (as :class:`~pysmtp_tcl.bridge.registry.TclError`).

    Split by Tcl itself (``lrange``): ``tk.splitlist`` refuses a str holding
    U+0000, which a script may legitimately pass.  ``value`` is normally a
    ``str`` (a command argument); a value that already crossed as a typed
    result is first turned into its text.
    """
    text = tcl_string(tk, value)
    if text == "":
        return []
    try:
        items = tk.call("lrange", text, 0, "end")
    except tkinter.TclError as e:
        raise TclError(str(e)) from None
    if isinstance(items, tuple):
        return [tcl_string(tk, x) for x in items]
    return [] if items is None or items == "" else [tcl_string(tk, items)]


def list_string(tk: Any, items: Iterable[Any]) -> str:
    """The canonical Tcl list text of ``items`` (as ``list`` or ``$args``
    writes it)."""
    return tcl_string(tk, tuple(items))
