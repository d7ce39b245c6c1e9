"""Hand-off to the system MTA through its ``sendmail`` program.

Postfix, Exim, msmtp and sendmail itself all take ``sendmail -i -f SENDER
-- RECIPIENT…`` with the message on standard input (in the local text
format: lines end in LF; ``-i``: a line holding a lone ``.`` is text, not
the end).  The MTA's queue then owns the message: retries and delivery at
scale without a queue of our own.

Its exit status follows ``sysexits.h``: 0 taken; ``EX_TEMPFAIL`` (75) a
temporary failure, which the script sees as return code 7 with a 4xx code
(451); any other failure as return code 7 with a 5xx code (554).  A program
that cannot be started is a Tcl error, as an unreachable server is.
"""
from __future__ import annotations

import os
from typing import Callable, List, Optional, Sequence

from ..mime.lines import MAX_LINE, LineMeter
from ..smtp.connection import Reactor
from ..smtp.datawriter import LineTooLong
from ..smtp.failures import script_text
from ..smtp.replies import Reply
from . import process

#: Where the system's sendmail usually is (``--route sendmail`` without PATH).
DEFAULT_PATHS = ("/usr/sbin/sendmail", "/usr/lib/sendmail")

EX_TEMPFAIL = 75
#: sysexits.h names, for diagnostics and the send log.
SYSEXITS = {0: "EX_OK", 64: "EX_USAGE", 65: "EX_DATAERR", 66: "EX_NOINPUT", 67: "EX_NOUSER",
            68: "EX_NOHOST", 69: "EX_UNAVAILABLE", 70: "EX_SOFTWARE", 71: "EX_OSERR",
            72: "EX_OSFILE", 73: "EX_CANTCREAT", 74: "EX_IOERR", 75: "EX_TEMPFAIL",
            76: "EX_PROTOCOL", 77: "EX_NOPERM", 78: "EX_CONFIG"}
#: Reply codes the script sees for a failed hand-off.
TEMPORARY_CODE, PERMANENT_CODE = 451, 554


class HandoffError(Exception):
    """The message was not taken.

    :ivar reply: tcllib-shaped failure for return code 7 (``None`` when the
        program could not be run at all: then a Tcl error with ``message``).
    :ivar exitcode: sysexits name for the send log.
    """

    def __init__(self, message: str, reply: Optional[Reply], exitcode: str):
        super().__init__(message)
        self.message = message
        self.reply = reply
        self.exitcode = exitcode


def default_path() -> str:
    """The first of :data:`DEFAULT_PATHS` that exists (else the first)."""
    for p in DEFAULT_PATHS:
        if os.path.exists(p):
            return p
    return DEFAULT_PATHS[0]


def argv(path: str, sender: str, recipients: Sequence[str]) -> List[str]:
    """``PATH -i -f SENDER -- RECIPIENT…``.

    :raises ValueError: an address with a control character (it would reach
        the MTA's own parsing of its arguments).
    """
    for a in [sender, *recipients]:
        if any(ord(c) < 32 or ord(c) == 127 for c in a):
            raise ValueError('address "%s" contains a control character' % a.encode("unicode_escape").decode())
    return [path, "-i", "-f", sender, "--", *recipients]


def local_text(source: process.Source) -> process.Source:
    """The message with every CRLF, lone CR and lone LF as one LF (the
    local text format ``sendmail`` reads), ending in a line end (as DATA
    does), chunk by chunk.

    :raises LineTooLong: a line over 998 octets (as over SMTP), raised into
        the hand-off so the program never sees the end of its input."""
    def run(sink: Callable[[bytes], None]) -> None:
        held_cr = False
        last = b"\n"
        meter = LineMeter(MAX_LINE)

        def feed(chunk: bytes) -> None:
            nonlocal held_cr, last
            if not chunk:
                return
            if held_cr:
                chunk = b"\r" + chunk
                held_cr = False
            if chunk.endswith(b"\r"):
                chunk, held_cr = chunk[:-1], True
            out = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if out:
                bad = meter.feed(out)
                if bad is not None:
                    # as over SMTP (DataEncoder): never handed on; the MTA
                    # would fold or cut it on its way out
                    raise LineTooLong("message line %d is longer than %d octets (RFC 5322 §2.1.1): "
                                      "refusing to send it" % (bad, MAX_LINE))
                last = out[-1:]
                sink(out)

        source(feed)
        if held_cr or last != b"\n":
            sink(b"\n")

    return run


def handoff(path: str, sender: str, recipients: Sequence[str], source: process.Source,
            reactor: Reactor, timeout: float,
            debug: Optional[Callable[[str], None]] = None) -> None:
    """Pipe one message to ``path``; return when the MTA took it.

    :raises HandoffError: not taken (exit status, signal, time-out) or the
        program could not be run.
    :raises ValueError: see :func:`argv`.
    """
    args = argv(path, sender, recipients)
    if debug:
        debug("Handing over to " + " ".join(args))
    try:
        done = process.run(args, reactor, timeout, stdin=local_text(source))
    except process.ProcessTimeout:
        text = "%s did not finish within %g seconds" % (path, timeout)
        if debug:
            debug("    ... %s ..." % text)
        raise HandoffError(text, Reply.failure(text, code=TEMPORARY_CODE), "EX_TEMPFAIL") from None
    except process.SourceError as e:
        # as over SMTP (COMPATIBILITY.md S8): nothing half-written is taken
        text = _source_text(e.cause)
        if debug:
            debug("    ... %s ..." % text)
        raise HandoffError(text, Reply.failure(text, keys=("code", "diagnostic")), "EX_NOINPUT") from None
    except process.ProcessError as e:
        raise HandoffError(e.message, None, "EX_UNAVAILABLE") from None
    if done.status == 0 and not done.stdin_closed_early:
        if debug:
            debug("%s exited with status 0 (EX_OK)" % path)
        return
    said = _last_line(done.stderr)
    if done.status < 0:
        text = "%s was killed by signal %d" % (path, -done.status)
        code, name = TEMPORARY_CODE, "EX_TEMPFAIL"
    elif done.status == 0:
        text = "%s exited before reading the whole message" % path
        code, name = PERMANENT_CODE, "EX_SOFTWARE"
    else:
        name = SYSEXITS.get(done.status, "status %d" % done.status)
        text = "%s exited with status %d (%s)" % (path, done.status, name)
        code = TEMPORARY_CODE if done.status == EX_TEMPFAIL else PERMANENT_CODE
    if said:
        text += ": " + said
    if debug:
        debug("    ... %s ..." % text)
    raise HandoffError(text, Reply.failure(text, code=code), name if name.startswith("EX_") else "EX_SOFTWARE")


def _last_line(data: bytes) -> str:
    lines = [l.strip() for l in data.decode("utf-8", "replace").splitlines() if l.strip()]
    if not lines:
        return ""
    return "".join(c if c.isprintable() else "?" for c in lines[-1])[:300]


def _source_text(e: BaseException) -> str:
    # What the script sees over SMTP: Tcl's open text when a -file part
    # cannot be read, our own texts, never a foreign exception's
    return script_text(e)
