"""The send log: one line per message, in msmtp's format.

msmtp (``msmtp_get_log_info``/``msmtp_log_to_file`` in ``src/msmtp.c``)
writes::

    Dec 02 10:15:42 host=smtp.example.org tls=on auth=on user=joe
    from=joe@example.org recipients=a@example.net,b@example.net mailsize=512
    smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as 4F1' exitcode=EX_OK

(one line): the local time (``logfile_time_format``, default
``%b %d %H:%M:%S``), then ``host= tls=on|off auth=on|off``, ``user=`` (only
with authentication), ``from= recipients=a,b``, ``mailsize=`` (only when
the mail went), ``smtpstatus= smtpmsg='…'`` (only when the server replied;
a reply's lines joined by ``\\n``), ``errormsg='…'`` (only on failure) and
``exitcode=`` (a sysexits name).  Quotes in quoted values become ``?``,
control characters (and U+2028/U+2029, bidi controls) ``?``; ours: a value with blanks
(e.g. an address ``"a b"@x``) is quoted as ``smtpmsg`` is, so that it
cannot pose as further fields.  Syslog gets the same line without the time
(ident ``pysmtp-tcl``, ``LOG_INFO``, or ``LOG_ERR`` on failure).

We append fields of our own after ``exitcode``, so parsers of msmtp's lines
keep working: ``account=`` (name), ``script=`` (the Tcl script's path),
``tls_verified=on|off`` (chain and host name, or the pinned fingerprint),
``message_id=`` and, when some recipients were refused, ``refused=a,b``.
Never message text, never credentials.
"""
from __future__ import annotations

import os
import socket
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

#: Month names as C's ``%b`` spells them (the log must not follow the locale).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DEFAULT_TIME_FORMAT = "%b %d %H:%M:%S"

#: syslog facilities (RFC 5424 §6.2.1 numbers).
FACILITIES = {"LOG_USER": 1, "LOG_MAIL": 2, **{"LOG_LOCAL%d" % i: 16 + i for i in range(8)}}
LOG_ERR, LOG_INFO = 3, 6
#: Longest wait for the log file's lock (seconds, as msmtp).
LOCK_WAIT = 10
#: Where syslog datagrams go (the local syslog daemon's socket).
SYSLOG_SOCKET = "/dev/log"


@dataclass
class Record:
    """What one send did.

    :ivar reply_lines: the server's final reply (or the failing one), raw
        lines; empty when no server reply applies.
    :ivar exitcode: sysexits name (``EX_OK``, ``EX_TEMPFAIL`` …).
    """

    host: str
    tls: bool
    auth: bool
    user: Optional[str]
    sender: str
    recipients: Sequence[str]
    exitcode: str
    mailsize: Optional[int] = None
    reply_code: Optional[int] = None
    reply_lines: Sequence[str] = ()
    errormsg: Optional[str] = None
    account: Optional[str] = None
    script: Optional[str] = None
    tls_verified: bool = False
    message_id: Optional[str] = None
    refused: List[str] = field(default_factory=list)


#: Bidirectional formatting characters (Unicode UAX #9): in a value they
#: reorder how the rest of the line is displayed (an address can show
#: fields in another order, CVE-2021-42574's "Trojan Source").
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")


def _clean(text: str) -> str:
    # Control characters (C0, DEL, C1 such as U+0085 NEL) and the Unicode
    # line and paragraph separators would start a new line for some readers;
    # bidi controls would make the line read as something else.
    if text.isascii() and text.isprintable():
        return text
    return "".join("?" if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI_CONTROLS else c
                   for c in text)


def _quoted(text: str) -> str:
    return "'" + _clean(text).replace("'", "?") + "'"


def _word(text: str, empty: str = "''") -> str:
    # A value with blanks (any Unicode white space) or quotes is quoted as
    # msmtp quotes smtpmsg; an empty one is ``empty``.
    text = _clean(text)
    if not text:
        return empty
    return _quoted(text) if any(c.isspace() or c in "'\"" for c in text) else text


def format_info(r: Record) -> str:
    """The log line without the time (what syslog gets)."""
    # An address may hold blanks ("a b"@x): such a value is quoted, so it
    # cannot pose as further fields (recipients are often the script's
    # users' input).
    parts = ["host=%s" % _word(r.host, ""), "tls=%s" % ("on" if r.tls else "off"),
             "auth=%s" % ("on" if r.auth else "off")]
    if r.auth and r.user:
        parts.append("user=%s" % _word(r.user, ""))
    parts.append("from=%s" % _word(r.sender, ""))
    parts.append("recipients=%s" % _word(",".join(r.recipients), ""))
    if r.exitcode == "EX_OK" and r.mailsize is not None:
        parts.append("mailsize=%d" % r.mailsize)
    if r.reply_lines:
        parts.append("smtpstatus=%s" % (r.reply_code if r.reply_code is not None else r.reply_lines[0][:3]))
        parts.append("smtpmsg=" + _quoted("\\n".join(r.reply_lines)))
    if r.exitcode != "EX_OK" and r.errormsg:
        parts.append("errormsg=" + _quoted(r.errormsg))
    parts.append("exitcode=%s" % r.exitcode)
    # ours, after msmtp's fields
    if r.account is not None:
        parts.append("account=%s" % _word(r.account))
    if r.script:
        parts.append("script=%s" % _word(r.script))
    parts.append("tls_verified=%s" % ("on" if r.tls and r.tls_verified else "off"))
    if r.message_id:
        parts.append("message_id=%s" % _word(r.message_id))
    if r.refused:
        parts.append("refused=%s" % _word(",".join(r.refused), ""))
    return " ".join(parts)


def timestamp(fmt: Optional[str], now: Optional[float] = None) -> str:
    """Local time in ``fmt`` (strftime), ``%b`` always in English."""
    t = time.localtime(now)
    fmt = (fmt or DEFAULT_TIME_FORMAT).replace("%b", _MONTHS[t.tm_mon - 1])
    return time.strftime(fmt, t)


def append(path: str, line: str, stdout: Callable[[str], None]) -> None:
    """Append ``line`` to the log file ``path`` under an exclusive lock
    (msmtp locks too: several scripts may log to one file).  ``-`` means
    standard output (``stdout`` writes it).

    :raises OSError: the file cannot be opened, locked or written.
    """
    if path == "-":
        stdout(line)
        return
    import fcntl

    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OSError("cannot lock (tried for %d seconds)" % LOCK_WAIT) from None
                time.sleep(0.01)
        data = (line + "\n").encode("utf-8", "replace")
        while data:
            n = os.write(fd, data)
            data = data[n:]
    finally:
        os.close(fd)


def to_syslog(facility: str, info: str, error: bool, address: str = SYSLOG_SOCKET) -> None:
    """Send ``info`` to the local syslog daemon (RFC 3164 framing, as the C
    library's ``syslog()`` does).

    :raises OSError: no syslog socket.
    """
    pri = FACILITIES[facility] * 8 + (LOG_ERR if error else LOG_INFO)
    msg = "<%d>%s pysmtp-tcl[%d]: %s" % (pri, timestamp(None), os.getpid(), info)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(address)
        s.send(msg.encode("utf-8", "replace")[:8192])


def write(logfile: Optional[str], time_format: Optional[str], syslog: Optional[str], info: str, error: bool,
          stdout: Callable[[str], None], warn: Callable[[str], None],
          syslog_socket: Optional[str] = None) -> None:
    """Write one log line (``info``: :func:`format_info`, redacted) to a
    ``logfile`` and/or ``syslog`` facility.  Never raises: a log failure
    must not change a message's fate (a script retrying would send it
    twice); ``warn`` reports it (``pysmtp-tcl: cannot log to …``) with the
    line, so it is not lost.  ``syslog_socket``: default
    :data:`SYSLOG_SOCKET` as it is at the call."""
    if logfile:
        try:
            append(logfile, timestamp(time_format) + " " + info, stdout)
        except Exception as e:  # OSError, a Tcl error (stdout closed), a bad time format
            _warn(warn, "pysmtp-tcl: cannot log to %s: %s" % (logfile, getattr(e, "strerror", None) or e))
            _warn(warn, "pysmtp-tcl: log info was: %s" % info)
    if syslog:
        try:
            to_syslog(syslog, info, error, syslog_socket or SYSLOG_SOCKET)
        except OSError as e:
            _warn(warn, "pysmtp-tcl: cannot log to syslog: %s" % (e.strerror or e))


def _warn(warn: Callable[[str], None], line: str) -> None:
    try:
        warn(line)
    except Exception:  # stderr closed too: nowhere left to say it
        pass
