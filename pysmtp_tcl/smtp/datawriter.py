"""DATA transparency: line endings and dot-stuffing, streamed.

RFC 5321 §2.3.8: a client must send CR and LF only together, as CRLF; §4.5.2:
a line starting with "." gets one more ".".  tcllib converts bare LF but lets
a bare CR through and turns CRLF into CR CR LF (the SMTP-smuggling shape,
DESIGN.md §4); here every CRLF, lone CR and lone LF becomes one CRLF.

The encoder keeps a few bytes of state between chunks, so a 100 MB message
is transformed in bounded memory, one chunk at a time.
"""
from __future__ import annotations

import re
from typing import Iterable, Iterator

_EOL = re.compile(rb"\r\n|\r|\n")
_DOT = re.compile(rb"\r\n\.")
#: RFC 5322 §2.1.1 / RFC 5321 §4.5.3.1.6: at most 998 octets before CRLF.
MAX_LINE = 998


class LineTooLong(ValueError):
    """A message line exceeds :data:`MAX_LINE` octets.  The MIME layer
    re-encodes long body lines and folds long header fields, so this is the
    last line of defence: the send is aborted rather than put on the wire."""


class DataEncoder:
    """Incremental encoder from message octets to the DATA wire form.

    Call :meth:`feed` per chunk (bytes) and :meth:`finish` once; each
    returns wire bytes.  The concatenation of the outputs ends with
    ``CRLF.CRLF`` and contains no bare CR or LF.

    :ivar eight_bit: whether the message has octets above 0x7F.
    :ivar size: octets of the message as normalised, before dot-stuffing
        and before the closing CRLF this encoder may add (what RFC 1870 SIZE
        declares, and what tcllib declares: the length of ``buildmessage``).
    """

    def __init__(self) -> None:
        self._pending_cr = False   # chunk ended in CR: may pair with next LF
        self._at_bol = True        # next octet starts a line
        self._line_len = 0         # octets of the current, unfinished line
        self.lines = 1             # current line number (for error texts)
        self.size = 0
        self.eight_bit = False     # an octet above 0x7F was seen (RFC 6152)

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
            self._pending_cr = True
            if not chunk:
                return b""
        text = _EOL.sub(b"\r\n", chunk)
        self._check_lines(text)
        if not self.eight_bit and not text.isascii():
            self.eight_bit = True
        self.size += len(text)
        # Stuff "." at the start of every line, including one that begins
        # this chunk because the previous chunk ended a line.
        lead = b"\r\n" if self._at_bol else b""
        stuffed = _DOT.sub(b"\r\n..", lead + text)[len(lead):]
        self._at_bol = text.endswith(b"\r\n")
        return stuffed

    def _check_lines(self, text: bytes) -> None:
        # Split per chunk (chunks are bounded): C-speed, unlike a regex scan
        # for 999 non-CRLF octets, which backtracks at every position.
        parts = text.split(b"\r\n")
        self._line_len += len(parts[0])
        if len(parts) > 1:
            if self._line_len > MAX_LINE:
                self._too_long(0)
            longest = max(map(len, parts[1:-1]), default=0)
            if longest > MAX_LINE:
                self._too_long(next(i for i in range(1, len(parts) - 1) if len(parts[i]) > MAX_LINE))
            self.lines += len(parts) - 1
            self._line_len = len(parts[-1])
        if self._line_len > MAX_LINE:
            self._too_long(0)

    def _too_long(self, offset: int) -> None:
        raise LineTooLong("message line %d is longer than %d octets (RFC 5322 §2.1.1): "
                          "refusing to send it" % (self.lines + offset, MAX_LINE))

    def finish(self) -> bytes:
        """Close the message body: a pending CR and the final CRLF if
        missing.  The caller then sends the terminating ``.CRLF`` (tcllib
        sends it as a command of its own, with its own ``-debug`` line)."""
        out = b""
        if self._pending_cr:
            self._pending_cr = False
            out += b"\r\n"
            self.size += 2  # a CR of the message itself
            self._at_bol = True
        if not self._at_bol:
            out += b"\r\n"
            self._at_bol = True
        return out


def encode_all(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Convenience: the wire form of a whole message given as chunks."""
    enc = DataEncoder()
    for c in chunks:
        out = enc.feed(c)
        if out:
            yield out
    yield enc.finish() + b".\r\n"
