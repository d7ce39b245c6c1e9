"""What differs between a Tcl 8.6 and a Tcl 9 host, in one place.

The bridge runs in whatever Tcl this Python's tkinter links.  On Tcl 8.6 a
script sees what tcllib 1.21 gives there; on Tcl 9 what tcllib 2.0 gives
there (COMPATIBILITY.md, "Tcl 9").  Most differences need no code because
the bridge lets the interpreter itself do what tcllib does with Tcl (``expr``,
index and ``clock scan`` semantics and wording, ``010`` no longer octal,
strict ``encoding convertto`` of script text).  This module holds the rest:

* the package versions (tcllib 2.0's ``mime`` 1.7.2 and ``smtp`` 1.5.2);
* ``tcl_rcFileName`` (Tcl 9 expands no ``~``: tclsh9.0 sets the full path);
* texts the Python side writes in Tcl's words: ``ENOTCONN`` in a connect
  failure, a base64 decoding error;
* a port read as Tcl's ``socket`` reads it (integer syntax, error text and
  ``-errorcode``);
* octets decoded as Tcl 8.6 did, where Tcl 9's strict profile would make
  ``getbody -decode``, ``field_decode`` or ``word_encode -charset_encoded
  1`` fail on an octet the charset does not define (every binary
  attachment, charset US-ASCII by default; a script's Latin-1 text given
  as UTF-8 octets) -- tcllib 2.0 raises there;
* ``encodingasciiP`` of a char above U+00FF (tcllib 2.0's ``binary scan``
  fails on Tcl 9): 0;
* message text a binary channel cannot hold (chars above U+00FF) written
  as its UTF-8 octets, where Tcl 9 would fail in the middle of
  ``copymessage`` with part of the message written.
"""
from __future__ import annotations

import errno
import os
import re
import socket

import tkinter

from .registry import TclError
from .values import call_string, split_list, tcl_string

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Optional

__all__ = ["Host", "from_utf8"]

_BASE64_8 = re.compile(r'invalid base64 character "(.)" at position (\d+)', re.S)
# Reads a port as Tcl's socket command does (TclSockGetPort: Tcl_GetIntFromObj,
# whose error text and -errorcode `string repeat` shares on 8.6 and 9).
_PORT = "{p} {string repeat {} $p; expr {$p + 0}}"
# Tcl 9: decode strictly up to the first octet the charset does not define.
_DECODE_UPTO = ("{enc data} {list [encoding convertfrom -profile strict -failindex i $enc $data]"
                " $i}")


def from_utf8(tk: Any, data: bytes) -> Any:
    """The Tcl string whose UTF-8 form is ``data`` (which may hold a lone
    surrogate as CESU-8, as Tcl itself holds one).  Tcl 8.6 reads such
    octets leniently; Tcl 9's default ``strict`` profile refuses them
    ("unexpected byte sequence"), its ``tcl8`` profile reads them as 8.6
    does, giving the char the script had (U+D800 stays U+D800)."""
    try:
        return tk.call("encoding", "convertfrom", "utf-8", data)
    except tkinter.TclError:
        return tk.call("encoding", "convertfrom", "-profile", "tcl8", "utf-8", data)


class Host:
    """Facts about the interpreter's Tcl, and the operations that depend
    on its version.

    :param tk: the interpreter (``tkapp``).
    :ivar patchlevel: ``info patchlevel`` (``"8.6.13"``, ``"9.0.4"``).
    :ivar major: 8 or 9.
    """

    def __init__(self, tk: Any) -> None:
        self.tk = tk
        self.patchlevel = call_string(tk, "info", "patchlevel")
        self.major = int(self.patchlevel.split(".")[0])
        #: port text -> number, as port() read it (Tcl's integer syntax is
        #: fixed for an interpreter: asked once per text)
        self._ports: dict = {}

    @property
    def package_versions(self) -> dict:
        """The ``mime`` and ``smtp`` versions we provide: tcllib 1.21's on
        Tcl 8.6, tcllib 2.0's on Tcl 9 (scripts written for it may ``package
        require mime 1.7.2``; its 1.7.1/1.7.2 fixes are ours already)."""
        if self.tcl9:
            return {"mime": "1.7.2", "smtp": "1.5.2"}
        return {"mime": "1.7.0", "smtp": "1.5.1"}

    @property
    def tcl9(self) -> bool:
        """True on Tcl 9 (strict encoding profiles, new errno texts …)."""
        return self.major >= 9

    def rc_file_name(self, name: str) -> str:
        """``tcl_rcFileName`` as tclsh/wish set it: ``~/.tclshrc`` on Tcl
        8.6; on Tcl 9, which expands no ``~`` in file names, the expanded
        path (``file tildeexpand ~/.tclshrc``)."""
        if self.tcl9:
            return call_string(self.tk, "file", "tildeexpand", "~/" + name)
        return "~/" + name

    # -- Tcl's words ------------------------------------------------------------
    @property
    def not_connected(self) -> str:
        """Tcl's ``Tcl_ErrnoMsg(ENOTCONN)``, as tcllib's asynchronous connect
        failure reports it: Tcl 8.6 has its own table, Tcl 9 the C
        library's ``strerror`` with a lower-case first letter."""
        if not self.tcl9:
            return "socket is not connected"
        text = os.strerror(errno.ENOTCONN)
        return text[:1].lower() + text[1:]

    def base64_error(self, char: str, position: int) -> str:
        """``binary decode base64 -strict``'s error for ``char`` at
        ``position`` (Tcl 9 adds the code point)."""
        if self.tcl9:
            return 'invalid base64 character "%s" (U+%06X) at position %d' % (
                char, ord(char), position)
        return 'invalid base64 character "%s" at position %d' % (char, position)

    def reword(self, message: str) -> str:
        """A core error message in this host Tcl's words (the cores write
        Tcl 8.6's: ``invalid base64 character "X" at position N``)."""
        if self.tcl9:
            m = _BASE64_8.fullmatch(message)
            if m:
                return self.base64_error(m.group(1), int(m.group(2)))
        return message

    def port(self, text: str) -> int:
        """A port as Tcl's ``socket`` reads it on this host: Tcl's integer
        syntax (``010`` is 8 on 8.6 and 10 on Tcl 9; ``0x19``, ``1_000`` on
        Tcl 9), else a service name (``smtp``), else Tcl's error.

        :raises pysmtp_tcl.smtp.connection.SMTPIOError: (direct) with Tcl's
            text and ``-errorcode``, or ``port number too high``.
        """
        n = self._ports.get(text)
        if n is not None:
            return n
        from ..smtp.connection import SMTPIOError

        try:
            n = int(call_string(self.tk, "apply", _PORT, text))
        except tkinter.TclError as e:
            try:
                n = socket.getservbyname(text, "tcp")
            except (OSError, UnicodeError, ValueError):
                code = call_string(self.tk, "set", "::errorCode")
                raise SMTPIOError(str(e), direct=True,
                                  errorcode=tuple(split_list(self.tk, code))) from None
        if n > 0xFFFF:
            raise SMTPIOError("couldn't open socket: port number too high", direct=True)
        if n < 0:  # Tcl hands it to getaddrinfo, which refuses it thus
            raise SMTPIOError("couldn't open socket: Servname not supported for ai_socktype",
                              direct=True)
        if len(self._ports) >= 64:
            self._ports.clear()
        self._ports[text] = n
        return n

    def ascii_line(self, line: str) -> bool:
        """``mime::encodingasciiP``: tcllib judges each char by ``binary
        scan $c c``, i.e. by its low byte on Tcl 8.6 (so U+0141 passes);
        on Tcl 9 that ``binary scan`` fails for a char above U+00FF
        (tcllib 2.0 raises), and we answer 0: such a char is not ASCII."""
        from ..mime.transfer import is_ascii_line

        if self.tcl9 and not line.isascii() and max(line) > "\xff":
            return False
        return is_ascii_line(line)

    # -- encodings ----------------------------------------------------------------
    def decode_octets(self, encoding: str, octets: Any) -> str:
        """``encoding convertfrom``, lenient as on Tcl 8.6: an octet the
        charset does not define becomes the char of the same number
        (U+0080–U+00FF), where Tcl 9's strict profile raises (and its
        ``tcl8`` profile reads 0x80–0x9F as cp1252, losing the octet).
        Valid data is decoded by Tcl itself on both hosts.  Used wherever
        tcllib decodes octets: ``getbody -decode``, ``field_decode``,
        ``word_encode -charset_encoded 1``.

        :param octets: ``bytes``, or ``str`` of U+0000–U+00FF.
        :raises TclError: for an unknown encoding (Tcl's text).
        """
        try:
            return call_string(self.tk, "encoding", "convertfrom", encoding, octets)
        except tkinter.TclError as e:
            if not self.tcl9 or "unexpected byte sequence" not in str(e):
                raise TclError(str(e)) from None
        data = octets if isinstance(octets, bytes) else tcl_string(self.tk, octets).encode("latin-1")
        if encoding in ("ascii", "iso8859-1", "binary"):
            return data.decode("latin-1")
        if encoding == "utf-8":
            from ..mime import encoded_words  # noqa: F401 - registers pysmtp_tcl_latin1

            return data.decode("utf-8", "pysmtp_tcl_latin1")
        out, i = [], 0
        while i < len(data):  # other charsets: Tcl's decoder between bad octets
            text, fail = split_list(self.tk, call_string(self.tk, "apply", _DECODE_UPTO,
                                                         encoding, data[i:]))
            if int(fail) < 0:
                out.append(text)
                break
            # `fail` may point past the lead octet of the bad sequence: keep
            # the longest prefix that decodes whole, then one octet as a char
            j = int(fail)
            while j > 0:
                try:
                    text = call_string(self.tk, "encoding", "convertfrom", "-profile", "strict",
                                       encoding, data[i:i + j])
                    break
                except tkinter.TclError:
                    j -= 1
            out.append(text if j else "")
            out.append(chr(data[i + j]))
            i += j + 1
        return "".join(out)

    def channel_chunk(self, channel: str, chunk: Any, cache: dict) -> Any:
        """What to ``puts`` for ``chunk`` on ``channel``: on Tcl 9, text
        with chars above U+00FF for a binary channel goes as its UTF-8
        octets (Tcl 9 refuses such chars there mid-message; Tcl 8.6 keeps
        their low 8 bits, as tcllib 1.21 does, and is left so).

        :param cache: per-copy dict remembering the channel's encoding.
        """
        if not self.tcl9 or not isinstance(chunk, str) or chunk.isascii():
            return chunk
        enc: Optional[str] = cache.get(channel)
        if enc is None:
            enc = cache[channel] = tcl_string(
                self.tk, self.tk.call("chan", "configure", channel, "-encoding"))
        if enc in ("iso8859-1", "binary") and max(chunk) > "\xff":
            return chunk.encode("utf-8")
        return chunk
