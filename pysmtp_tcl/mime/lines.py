"""What ends a line, and how long lines may be: one rule for the package.

A line ends at CRLF, at a lone LF and at a lone CR.  The SMTP DATA writer
sends each of them as one CRLF (RFC 5321 §2.3.8: CR and LF only together),
so a lone CR starts a new line on the wire; the MIME layer's check for lines
too long to send unencoded (RFC 5322 §2.1.1, 998 octets) therefore splits
lines the same way, and both use :class:`LineMeter`.  (tcllib's own choice
of a transfer encoding splits at LF only; that rule is kept where tcllib's
behaviour is reproduced, in :func:`~.transfer.choose_encoding`.)
"""
from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Optional

__all__ = ["EOL", "MAX_LINE", "LineMeter"]

#: A line end, in octets: CRLF, lone CR or lone LF.
EOL = re.compile(rb"\r\n|\r|\n")
#: RFC 5322 §2.1.1 / RFC 5321 §4.5.3.1.6: octets in a line, CRLF excluded.
MAX_LINE = 998


class LineMeter:
    """Measures line lengths across chunks of octets.

    Feed chunks with :meth:`feed`; a CR at the end of one chunk and an LF at
    the start of the next are one line end.

    :param limit: longest allowed line, in octets without its line end.
    :ivar line: number (1-based) of the line being measured.
    """

    def __init__(self, limit: int = MAX_LINE) -> None:
        self.limit = limit
        self.line = 1
        self._len = 0        # octets of the current line so far
        self._cr = False     # the last chunk ended in CR

    def feed(self, data: bytes) -> Optional[int]:
        """Measure ``data``.

        :returns: the number of the first line seen to exceed the limit, or
            ``None`` while every line fits.
        """
        if self._cr and data[:1] == b"\n":
            data = data[1:]  # the LF of a CRLF split between chunks
        if not data:
            return None
        self._cr = data.endswith(b"\r")
        if b"\r" in data:
            # replace() runs at C speed; equal to EOL.sub(b"\n", data)
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        parts = data.split(b"\n")
        first = self._len + len(parts[0])
        if first > self.limit:
            return self.line
        if len(parts) == 1:
            self._len = first
            return None
        if len(parts) > 2 and max(map(len, parts[1:-1])) > self.limit:
            return self.line + next(i for i in range(1, len(parts) - 1) if len(parts[i]) > self.limit)
        self.line += len(parts) - 1
        self._len = len(parts[-1])
        return self.line if self._len > self.limit else None

    def feed_crlf(self, data: bytes) -> Optional[int]:
        """:meth:`feed` for octets whose every CR and LF is part of a CRLF
        pair (the DATA writer's normalised text): split at CRLF directly,
        without the two rewriting passes."""
        if self._cr:
            return self.feed(data)
        if not data:
            return None
        if self._len + len(data) <= self.limit:
            # no line here can be over the limit (a small message): only
            # count the line ends and measure the last line
            last = data.rfind(b"\r\n")
            if last < 0:
                self._len += len(data)
            else:
                self.line += data.count(b"\r\n")
                self._len = len(data) - last - 2
            return None
        parts = data.split(b"\r\n")
        first = self._len + len(parts[0])
        if first > self.limit:
            return self.line
        if len(parts) == 1:
            self._len = first
            return None
        if len(parts) > 2 and max(map(len, parts[1:-1])) > self.limit:
            return self.line + next(i for i in range(1, len(parts) - 1) if len(parts[i]) > self.limit)
        self.line += len(parts) - 1
        self._len = len(parts[-1])
        return self.line if self._len > self.limit else None

    def skip(self, first: int, breaks: int, last: int) -> Optional[int]:
        """Account for octets not looked at: ``breaks`` line breaks, a first
        line of ``first`` octets (continuing the current one) and a last of
        ``last``; the lines between are known to fit (base64 text, see
        :mod:`~.wire`).  Returns as :meth:`feed`."""
        self._cr = False
        n = self._len + first
        if n > self.limit:
            return self.line
        if not breaks:
            self._len = n
            return None
        self.line += breaks
        self._len = last
        return self.line if self._len > self.limit else None
