"""Option-value checks with tcllib's exact error texts, shared by commands."""
from __future__ import annotations

import re
from typing import Any, List

from . import values
from .registry import TclError


def boolean(value: str) -> bool:
    """tcllib ``smtp::boolean``: only 0/1/false/true/no/yes/off/on, any case."""
    v = value.lower()
    if v in ("0", "false", "no", "off"):
        return False
    if v in ("1", "true", "yes", "on"):
        return True
    raise TclError("unknown boolean value: " + value)


def split_list(ctx: Any, value: str) -> List[str]:
    """A Tcl list's elements; Tcl's own error text for a malformed list
    (NUL-safe: see :func:`pysmtp_tcl.bridge.values.split_list`)."""
    return values.split_list(ctx.tk, value)


def list_string(ctx: Any, items: List[str]) -> str:
    """The canonical Tcl list string of ``items`` (as ``$args`` prints)."""
    return values.list_string(ctx.tk, items)


# A header value may hold a line break only as folding: CRLF or LF followed
# by SP or HTAB (RFC 5322 §2.2.3).  Anything else is a forged field.
_BAD_BREAK = re.compile(r"\r\n(?![ \t])|\n(?![ \t])|\r(?!\n)|\x00")


def refuse_control(option: str, value: str) -> None:
    """Reject a value that ends up in an SMTP command and holds a character
    no command line may (C0 such as CR/LF/NUL, DEL, C1, U+2028/U+2029: the
    renderer's rule, :func:`pysmtp_tcl.smtp.commands.forbidden_char`), with
    the text of the other bad-input errors."""
    from ..smtp.commands import char_name, forbidden_char, shown

    c = forbidden_char(value)
    if c is not None:
        raise TclError("%s value %s cannot be used in SMTP commands: it contains %s (RFC 5321 §2.3.8)"
                       % (option, shown(value), char_name(c)), ("SMTP", "BADINPUT", option))


def refuse_header_injection(option: str, name: str, value: str) -> None:
    """Reject a header name that is not an RFC 5322 field name, and a value
    whose line breaks are not folding (header injection)."""
    if not name or any(ord(c) <= 32 or ord(c) >= 127 or c == ":" for c in name):
        raise TclError('%s name "%s" is not a valid header field name (RFC 5322 §3.6.8)'
                       % (option, _visible(name)))
    if _BAD_BREAK.search(value):
        raise TclError('%s value "%s" contains a line break that is not folding, or NUL:'
                       " refused, it would inject header fields (RFC 5322 §2.2)"
                       % (option, _visible(value)))


def _visible(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("\x00", "\\0")
