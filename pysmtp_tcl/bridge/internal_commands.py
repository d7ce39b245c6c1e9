"""tcllib internals that public scripts call although they are not
exported: ``mime::encodingasciiP``, ``mime::getsize`` and ``smtp::boolean``
(found in newsgrouper's ``field_encode``, beepcore-tcl and tcllib's own
``examples/mime/mbot`` scripts).  Each behaves as in tcllib 1.21, messages
included; the shims in ``tcl/mime.tcl`` and ``tcl/smtp.tcl`` give Tcl
tcllib's formal arguments, so ``wrong # args`` is Tcl's own text.
"""
from __future__ import annotations

import os

from .mime_commands import _entity
from .registry import TclError, tclcommand

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any

_FALSE = ("0", "false", "no", "off")
_TRUE = ("1", "true", "yes", "on")


@tclcommand("mime::encodingasciiP")
def encodingasciiP(ctx: Any, line: str) -> int:  # noqa: N802 - tcllib's name
    """``mime::encodingasciiP line``: 1 when ``line`` needs no encoding for
    being ASCII (see :func:`pysmtp_tcl.mime.transfer.is_ascii_line`), else 0."""
    return int(ctx.host.ascii_line(line))  # Tcl 9: bridge/host.py


@tclcommand("mime::getsize")
def getsize(ctx: Any, token: str) -> int:
    """``mime::getsize token``: what ``getproperty token size`` answers
    (canonical string/file: its length in characters/octets; parts: their
    sum; parsed: the encoded length, 3/4 of it for base64).

    :raises TclError: tcllib's messages: an unknown or finalized token
        (``can't read "state(value)": no such variable``), a canonical file
        gone (``could not read "PATH": no such file or directory``).
    """
    e = _entity(ctx, token, "value")
    try:
        return e.size()
    except OSError as err:
        why = os.strerror(err.errno).lower() if err.errno else str(err)
        raise TclError('could not read "%s": %s' % (err.filename or e.file, why))
    except ValueError as err:  # FinalizedPartError and the other MimeErrors
        raise TclError(str(err))


@tclcommand("smtp::boolean")
def boolean(ctx: Any, value: str) -> int:
    """``smtp::boolean value``: 0 for ``0 false no off``, 1 for ``1 true yes
    on`` (any case, nothing else: no abbreviations, no other numbers).

    :raises TclError: ``unknown boolean value: VALUE`` otherwise.
    """
    v = value.lower()
    if v in _FALSE:
        return 0
    if v in _TRUE:
        return 1
    raise TclError("unknown boolean value: %s" % value)
