"""Texts a script may see when a send fails inside Python.

No Python exception type name, message of a foreign exception or traceback
may reach a script (the project's rule).  Our own errors carry texts written
for scripts (tcllib's or ours, in its style); an operating-system error gets
Tcl's wording; anything else is a bug of ours: the script gets
:data:`INTERNAL_TEXT` and the traceback goes to the Python logger
``pysmtp_tcl`` (for the developer, never the script).
"""
from __future__ import annotations

import os

from ..mime import HeaderValueError, MimeError
from ..mime.contenttype import ContentTypeError
from ..mime.transfer import TransferError
from .commands import CommandError
from .connection import SMTPIOError
from .datawriter import LineTooLong

__all__ = ["script_text", "INTERNAL_TEXT", "LOG"]



class _Log:
    """The logger ``pysmtp_tcl``, its module imported at the first record:
    ``logging`` (with ``traceback``, ``string``...) costs ~3 ms per
    process, and a send that goes well logs nothing."""

    __slots__ = ()

    def __getattr__(self, name: str):
        import logging

        return getattr(logging.getLogger("pysmtp_tcl"), name)


#: ``LOG.error(...)`` etc. reach ``logging.getLogger("pysmtp_tcl")``.
LOG = _Log()

#: What a script sees for a failure that is a bug of ours.
INTERNAL_TEXT = ("internal error in pysmtp-tcl (the details went to the Python logger "
                 "\"pysmtp_tcl\")")

#: Exceptions whose ``str()`` is a text written for scripts.
SCRIPT_FACING = (MimeError, HeaderValueError, ContentTypeError, TransferError, LineTooLong,
                 CommandError, SMTPIOError)


def script_text(e: BaseException, doing: str = "producing the message") -> str:
    """The text a script gets for ``e``.

    :param doing: what failed, for the log record of an internal error.
    :returns: ``couldn't open "PATH": no such file or directory`` (Tcl's
        ``open``) for a file error, the exception's own text for our errors,
        else :data:`INTERNAL_TEXT` (and the traceback is logged).
    """
    if isinstance(e, SCRIPT_FACING):
        return getattr(e, "message", None) or str(e)
    if isinstance(e, OSError) and e.errno:
        text = os.strerror(e.errno)
        text = text[:1].lower() + text[1:]
        if e.filename is not None:
            # what Tcl's open says (tcllib's buildmessage opens -file parts)
            return 'couldn\'t open "%s": %s' % (e.filename, text)
        return "error reading the message: " + text
    LOG.error("internal error while %s", doing, exc_info=(type(e), e, e.__traceback__))
    return INTERNAL_TEXT
