"""DATA transparency: line endings and dot-stuffing, streamed.

RFC 5321 §2.3.8: a client must send CR and LF only together, as CRLF; §4.5.2:
a line starting with "." gets one more ".".  tcllib converts bare LF but lets
a bare CR through and turns CRLF into CR CR LF (the SMTP-smuggling shape,
DESIGN.md §4); here every CRLF, lone CR and lone LF becomes one CRLF.

The encoder keeps a few bytes of state between chunks, so a 100 MB message
is transformed in bounded memory, one chunk at a time.
"""
from __future__ import annotations

# What ends a line is one rule for the package (mime/lines.py): the MIME
# layer's long-line check splits lines exactly as this writer does.
from ..mime.lines import EOL as _EOL, MAX_LINE, LineMeter
from ..mime.wire import WireChunk, WireSpan

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Iterable, Iterator


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
    :ivar size: octets of the message as sent, line ends normalised and
        the closing CRLF this encoder adds included, dot-stuffing excluded:
        RFC 1870 §5's message size (complete after :meth:`finish`).  tcllib
        declares the *characters* of ``buildmessage``'s result and leaves
        out the closing CRLF it adds, so it under-declares (COMPATIBILITY.md
        S20).
    """

    def __init__(self, measure_only: bool = False) -> None:
        #: fed only to measure the message: accepts WireSpan placeholders;
        #: feed() returns no octets
        self.measure_only = measure_only
        self._pending_cr = False   # chunk ended in CR: may pair with next LF
        self._at_bol = True        # next octet starts a line
        self._meter = LineMeter(MAX_LINE)
        self.size = 0
        self.eight_bit = False     # an octet above 0x7F was seen (RFC 6152)

    def feed(self, chunk: bytes) -> bytes:
        if type(chunk) is WireSpan:
            return self._feed_span(chunk)
        if not chunk:
            return b""
        if type(chunk) is WireChunk and not self._pending_cr and not (self._at_bol and chunk[:1] == b"."):
            return self._feed_wire(chunk)
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
            self._pending_cr = True
            if not chunk:
                return b""
        # without CR every line end is a lone LF: bytes.replace is the regex at C speed
        text = _EOL.sub(b"\r\n", chunk) if b"\r" in chunk else chunk.replace(b"\n", b"\r\n")
        self._check_lines(text)
        if not self.eight_bit and not text.isascii():
            self.eight_bit = True
        self.size += len(text)
        at_bol, self._at_bol = self._at_bol, text.endswith(b"\r\n")
        if self.measure_only:
            return b""  # nothing is sent from a measuring pass: no stuffing
        # Stuff "." at the start of every line, including one that begins
        # this chunk because the previous chunk ended a line.
        stuffed = text.replace(b"\r\n.", b"\r\n..")
        if at_bol and text[:1] == b".":
            stuffed = b"." + stuffed
        return stuffed

    def _feed_wire(self, chunk: WireChunk) -> bytes:
        # Already CRLF, ASCII, no dot at a line start, inner lines short
        # (the WireChunk promise): only the lines joining the text around
        # the chunk need measuring.
        first = chunk.find(b"\r\n")
        if first < 0:
            self._skip_lines(len(chunk), 0, 0)
        else:
            # each LF ends a CRLF here; a 1-octet count is faster
            self._skip_lines(first, chunk.count(b"\n"), len(chunk) - chunk.rfind(b"\r\n") - 2)
        self.size += len(chunk)
        self._at_bol = chunk.endswith(b"\r\n")
        return b"" if self.measure_only else chunk

    def _feed_span(self, span: WireSpan) -> bytes:
        # Account for base64 text not produced (WireSpan), exactly as
        # _feed_wire would for the octets it stands for.
        if not self.measure_only:
            raise TypeError("a WireSpan stands for octets that were not produced: it cannot be sent")
        if self._pending_cr:
            # what the CR becomes before a chunk that starts with no LF
            self._pending_cr = False
            self._check_lines(b"\r\n")
            self.size += 2
        self._skip_lines(span.first, span.breaks, span.last)
        self.size += span.size
        self._at_bol = False
        return b""

    def _skip_lines(self, first: int, breaks: int, last: int) -> None:
        bad = self._meter.skip(first, breaks, last)
        if bad is not None:
            self._too_long(bad)

    def _check_lines(self, text: bytes) -> None:
        bad = self._meter.feed_crlf(text)  # text is normalised: CR and LF only as CRLF
        if bad is not None:
            self._too_long(bad)

    def _too_long(self, line: int) -> None:
        raise LineTooLong("message line %d is longer than %d octets (RFC 5322 §2.1.1): "
                          "refusing to send it" % (line, MAX_LINE))

    def finish(self) -> bytes:
        """Close the message body: a pending CR and the final CRLF if
        missing.  The caller then sends the terminating ``.CRLF`` (tcllib
        sends it as a command of its own, with its own ``-debug`` line)."""
        out = b""
        if self._pending_cr or not self._at_bol:
            # a CR of the message itself, or the line end the last line
            # lacks: either way two octets the server receives (RFC 1870 §5)
            self._pending_cr = False
            out += b"\r\n"
            self.size += 2
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
