"""Option-value checks with tcllib's exact error texts, shared by commands."""
from __future__ import annotations

import re

from . import values
from .registry import TclError

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, List, Optional


def boolean(value: str) -> bool:
    """tcllib ``smtp::boolean``: only 0/1/false/true/no/yes/off/on, any case."""
    v = value.lower()
    if v in ("0", "false", "no", "off"):
        return False
    if v in ("1", "true", "yes", "on"):
        return True
    raise TclError("unknown boolean value: " + value)


#: A string whose Tcl list elements are its words split at spaces: printable
#: ASCII without the characters list syntax gives a meaning (braces, double
#: quote, backslash) and without white space other than SP.  Python's
#: ``str.split()`` then splits it exactly as Tcl does.
_PLAIN_LIST = re.compile(r'[ !#-\[\]-z|~]*')


def plain_list(value: str) -> Optional[List[str]]:
    """The elements of ``value`` as a Tcl list when Python can tell them
    without Tcl (see :data:`_PLAIN_LIST`: ``-servers 127.0.0.1``,
    ``-header {To a@b.c}``), else ``None``."""
    if _PLAIN_LIST.fullmatch(value) is None:
        return None
    return value.split()


def split_list(ctx: Any, value: str) -> List[str]:
    """A Tcl list's elements; Tcl's own error text for a malformed list
    (NUL-safe: see :func:`pysmtp_tcl.bridge.values.split_list`).  A plain
    list (:func:`plain_list`) is split in Python: no Tcl round trip."""
    plain = plain_list(value)
    if plain is not None:
        return plain
    return values.split_list(ctx.tk, value)


def list_string(ctx: Any, items: List[str]) -> str:
    """The canonical Tcl list string of ``items`` (as ``$args`` prints)."""
    return values.list_string(ctx.tk, items)


# A header value may hold a line break only as folding: CRLF or LF followed
# by SP or HTAB (RFC 5322 §2.2.3).  Anything else is a forged field.
_BAD_BREAK = re.compile(r"\r\n(?![ \t])|\n(?![ \t])|\r(?!\n)|\x00")
# RFC 5322 §3.6.8 field-name: printable US-ASCII (33-126) except ":"
_FIELD_NAME = re.compile(r"[!-9;-~]+")


def refuse_control(option: str, value: str) -> None:
    """Reject a value that ends up in an SMTP command and holds a character
    no command line may (C0 such as CR/LF/NUL, DEL, C1, U+2028/U+2029: the
    renderer's rule, :func:`pysmtp_tcl.smtp.commands.forbidden_char`), with
    the text of the other bad-input errors."""
    cmds = _smtp_commands()
    c = cmds.forbidden_char(value)
    if c is not None:
        raise TclError("%s value %s cannot be used in SMTP commands: it contains %s (RFC 5321 §2.3.8)"
                       % (option, cmds.shown(value), cmds.char_name(c)), ("SMTP", "BADINPUT", option))


_CMDS: list = []


def _smtp_commands() -> Any:
    # pysmtp_tcl.smtp.commands, imported when first needed (it is the SMTP
    # core: not at start-up) and then kept (an import statement in the
    # function would cost a Python call per use)
    if not _CMDS:
        from ..smtp import commands

        _CMDS.append(commands)
    return _CMDS[0]


def refuse_header_injection(option: str, name: str, value: str) -> None:
    """Reject a header name that is not an RFC 5322 field name, and a value
    whose line breaks are not folding (header injection)."""
    if _FIELD_NAME.fullmatch(name) is None:
        raise TclError('%s name "%s" is not a valid header field name (RFC 5322 §3.6.8)'
                       % (option, _visible(name)))
    if _BAD_BREAK.search(value):
        raise TclError('%s value "%s" contains a line break that is not folding, or NUL:'
                       " refused, it would inject header fields (RFC 5322 §2.2)"
                       % (option, _visible(value)))


def _visible(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("\x00", "\\0")
