"""Octets the generator already wrote in SMTP DATA wire form.

The DATA encoder (:mod:`pysmtp_tcl.smtp.datawriter`) normally rewrites
every chunk: line ends to CRLF, dot-stuffing, a line-length check.  Base64
output needs none of it, and over a 50 MB attachment those passes cost more
than the encoding itself.  :func:`~.generator.generate` called with
``wire=True`` hands such output over as :class:`WireChunk`, a ``bytes``
whose type is the promise; the encoder then passes it through unchanged.
"""
from __future__ import annotations

__all__ = ["WireChunk", "WireSpan"]


class WireChunk(bytes):
    """Octets that promise (RFC 5321 §2.3.8, §4.5.2, §4.5.3.1.6):

    - ASCII only;
    - every CR and LF is part of a CRLF pair;
    - no line starts with ``"."`` (the first one included);
    - no line is longer than 998 octets (the first and last lines may join
      the text around the chunk; the DATA encoder checks those two).

    Made by the generator's base64 encoder only; anything else is plain
    ``bytes`` and goes through the full DATA transformation.
    """

    __slots__ = ()


class WireSpan:
    """Stands in for the :class:`WireChunk` octets of a whole base64 body
    that were not produced: their measurements only.

    The SMTP client measures the message before sending it (RFC 1870 SIZE,
    RFC 6152 8BITMIME).  Base64 output is 7-bit and its size follows from
    the number of octets encoded, so a sink that only measures (one with a
    true ``measures_only`` attribute) is handed a span instead of having a
    50 MB attachment encoded once more for nothing.

    :ivar size: octets of the base64 text, line breaks (CRLF) included.
    :ivar breaks: line breaks in it.
    :ivar first: octets of its first line; :ivar last: of its last line.
    """

    __slots__ = ("size", "breaks", "first", "last")

    def __init__(self, octets: int) -> None:
        """The span of ``octets`` (> 0) octets base64-encoded in 76-char
        lines with no final line break (:class:`~.transfer.Base64Encoder`)."""
        chars = (octets + 2) // 3 * 4
        lines = (chars + 75) // 76
        self.breaks = lines - 1
        self.size = chars + 2 * self.breaks
        self.first = min(chars, 76)
        self.last = chars - 76 * self.breaks
