"""Content-Transfer-Encodings (RFC 2045 §6): choosing one as tcllib does,
and streaming base64 / quoted-printable encoders and decoders.

Data model: a Tcl string arrives as ``str``; a Tcl byte array as ``str`` of
U+0000-U+00FF, one char per octet.  :func:`octets` turns a body ``str`` into
the octets to encode.
"""
from __future__ import annotations

import base64
import binascii
import functools
import operator
import re
from collections import namedtuple

from .headers import TCL_SPACE
from .lines import LineMeter

# tcllib-exact quoted-printable (with the lone-dot fix) from the sibling module
from .qp import QPEncoder, qp_decode
from .wire import WireChunk

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Callable, Iterable, Optional, Sequence, Tuple, Union

__all__ = [
    "octets", "choose_encoding", "Base64Encoder", "Base64Decoder", "base64_decode", "qp_decode",
    "QPEncoder", "BinaryQPEncoder", "TransferError", "KNOWN_ENCODINGS", "string_has_long_line",
    "file_has_long_line", "is_ascii_line", "octets_have_long_line", "file_facts", "FileFacts",
]

KNOWN_ENCODINGS = ("7bit", "8bit", "binary", "quoted-printable", "base64")


class TransferError(ValueError):
    """Undecodable content (message is tcllib's text)."""


def octets(text: str) -> bytes:
    """The octets a body ``str`` stands for.

    Chars U+0000-U+00FF are octets (a Tcl byte array, or Latin-1 text), as
    tcllib's encoders take them.  If any char is above U+00FF the text
    cannot be octets: tcllib then keeps only the low 8 bits of each char
    (base64) or emits the char unencoded (QP), corrupting it; we encode the
    whole text as UTF-8 instead (COMPATIBILITY.md).
    """
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


# --- choosing an encoding (tcllib's ::mime::encoding) -----------------------

_ISO_8859_1_8 = re.compile(r"iso-8859-[1-8]\Z")


# In an ASCII line: a control char other than TAB and LF (CR included), or DEL.
_NOT_PRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _ascii_line(line: str) -> bool:
    # tcllib's encodingasciiP: printable ASCII, SP, TAB, CR, LF; each char is
    # judged by its low byte (`binary scan $c c`), and any CR at all fails
    # (its "CR only at the end" test compares against a literal string).
    if line.isascii():  # the common case, at C speed
        return _NOT_PRINTABLE.search(line) is None
    for c in line:
        if c in " \t\r\n":
            continue
        b = ord(c) & 0xFF
        if b < 32 or b > 126:
            return False
    return "\r" not in line


def is_ascii_line(line: str) -> bool:
    """tcllib's ``mime::encodingasciiP``: ``True`` when every char is
    printable ASCII, SP, TAB or LF and there is no CR at all.

    :param line: a Tcl string (``str``; a byte array as U+0000-U+00FF).

    tcllib judges a char by its low byte (``binary scan $c c``), so a char
    above U+00FF whose low byte is printable (U+0141 ``Ł``, U+2028) passes;
    its "CR only at the end" test compares with a literal string, so any
    CR fails.  Both kept: scripts use the result as tcllib gives it.
    """
    return _ascii_line(line)


def _short_line(line: str) -> bool:
    # tcllib's encodinglineP: <= 76 chars, no trailing white space, not
    # starting with "." or "From ".
    return not (len(line) > 76 or line != line.rstrip(TCL_SPACE)
                or line.startswith(".") or line.startswith("From "))


# Blocks of whole lines are judged at once (one pass of C-speed string
# methods per block, not Python code per line): a 50 MB body has 700,000
# lines.  Per line, both are exactly _ascii_line / _short_line.

_PRINTABLE_ASCII = bytes(range(32, 127)) + b"\t\n"
_LATIN1_HIGH = re.compile("[\x80-\xff]")
# low bytes tcllib refuses (TAB and LF are checked apart: only the chars
# themselves may have them)
_BAD_LOW_BYTE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f-\xff]")
_LAST_CHAR = operator.itemgetter(slice(-1, None))
_SPACE_CHARS = frozenset(TCL_SPACE)


def _ascii_lines(block: str) -> bool:
    # _ascii_line for every line of the block: its rule is per char (LF
    # allowed, any CR fails), so the whole block can be judged as one line.
    if block.isascii():
        # deleting the allowed octets leaves the refused ones (faster than
        # a regex search over a big block)
        return not block.encode("ascii").translate(None, _PRINTABLE_ASCII)
    if "\r" in block or _LATIN1_HIGH.search(block):  # U+0080-U+00FF: low byte > 126
        return False
    # Only chars above U+00FF are left: judge their low bytes, from the
    # UTF-32 form (every 4th octet); a char whose low byte is TAB or LF
    # but which is not TAB or LF itself fails.
    low = block.encode("utf-32-le", "surrogatepass")[::4]
    if _BAD_LOW_BYTE.search(low):
        return False
    return low.count(b"\t") + low.count(b"\n") == block.count("\t") + block.count("\n")


def _short_lines(block: str) -> bool:
    # _short_line for every line of the block
    lines = block.split("\n")
    if max(map(len, lines)) > 76:
        return False
    if block.startswith((".", "From ")) or "\n." in block or "\nFrom " in block:
        return False
    return _SPACE_CHARS.isdisjoint(map(_LAST_CHAR, lines))


def choose_encoding(content: str, params: Sequence[Tuple[str, str]],
                    blocks: Optional[Iterable[str]]) -> str:
    """The transfer encoding tcllib picks for a part it generates.

    :param content: lower-case ``type/subtype``.
    :param params: Content-Type parameters ``(key, value)`` in order.
    :param blocks: the body as blocks of whole lines, each block its lines
        joined by LF (a line longer than 76 chars may be cut across
        blocks: it fails the length rule anyway), or ``None`` for a part
        with subordinates.
    :returns: ``"base64"``, ``"quoted-printable"`` or ``""`` (send as is).

    audio/image/video are always base64; message/multipart never encoded;
    text with 8-bit data in a charset other than us-ascii/iso-8859-1..8 is
    base64, text with long lines / trailing white space / leading "." or
    "From " is QP; any other type with either is base64.
    """
    major = content.split("/", 1)[0]
    if major in ("audio", "image", "video"):
        return "base64"
    if major in ("message", "multipart") or blocks is None:
        return ""
    ascii_ok = line_ok = True
    for block in blocks:
        if ascii_ok:
            ascii_ok = _ascii_lines(block)
        if line_ok:
            line_ok = _short_lines(block)
        if not ascii_ok and not line_ok:
            break
    if major == "text":
        if not ascii_ok:
            for k, v in params:
                if k == "charset":
                    v = v.lower()
                    if v != "us-ascii" and not _ISO_8859_1_8.match(v):
                        return "base64"
                    break
        return "" if line_ok else "quoted-printable"
    return "" if ascii_ok and line_ok else "base64"


# --- lines too long to send unencoded (RFC 5322 §2.1.1) -----------------------
# A line ends at CRLF, CR or LF, as on the wire (lines.py: the DATA writer
# uses the same rule and the same meter).

_SCAN_BLOCK = 64 * 1024


def string_has_long_line(text: str, limit: int) -> bool:
    """Whether a line of ``text`` (ended by CRLF, CR or LF) is longer than
    ``limit`` octets once written as UTF-8.

    Scans in blocks of 1 MiB characters, so memory stays bounded for big
    bodies."""
    if len(text) * 4 <= limit:
        return False
    meter = LineMeter(limit)
    for start in range(0, len(text), 1 << 20):
        if meter.feed(text[start:start + (1 << 20)].encode("utf-8", "surrogatepass")) is not None:
            return True
    return False


def octets_have_long_line(data: bytes, limit: int) -> bool:
    """:func:`string_has_long_line` for octets."""
    return len(data) > limit and LineMeter(limit).feed(data) is not None


FileFacts = namedtuple("FileFacts", "long_line eight_bit nul")
FileFacts.__doc__ = """What a body holds (:func:`file_facts`, ``Entity.body_facts``):
``long_line``, ``eight_bit``, ``nul`` (bools)."""


def file_facts(path: str, offset: int, count: Optional[int], limit: int) -> FileFacts:
    """One pass over a file window: a line longer than ``limit`` octets
    (then the scan stops: the body will be encoded anyway), an octet above
    0x7F, a NUL.  Unreadable files give all ``False``."""
    facts = [False, False]

    def block_seen(block: bytes) -> None:
        if not facts[0] and not block.isascii():
            facts[0] = True
        if not facts[1] and b"\x00" in block:
            facts[1] = True

    long_line = file_has_long_line(path, offset, count, limit, block_seen)
    return FileFacts(long_line, facts[0], facts[1])


def file_has_long_line(path: str, offset: int, count: Optional[int], limit: int,
                       seen: Optional[Callable[[bytes], None]] = None) -> bool:
    """Whether the file window (``count`` octets from ``offset``; ``None``:
    to the end) has a line (ended by CRLF, CR or LF) longer than ``limit``
    octets.  Reads 64 KiB blocks (each also given to ``seen``, if set,
    until a long line is found); an unreadable file gives ``False`` (the
    generator reports the open error)."""
    meter = LineMeter(limit)
    try:
        f = open(path, "rb")
    except OSError:
        return False
    with f:
        f.seek(offset)
        left = count
        while left is None or left > 0:
            block = f.read(_SCAN_BLOCK if left is None else min(_SCAN_BLOCK, left))
            if not block:
                break
            if left is not None:
                left -= len(block)
            if seen is not None:
                seen(block)
            if meter.feed(block) is not None:
                return True
    return False


# --- quoted-printable for data that is not text ------------------------------

_BINARY_QP = ["=%02X" % i if not 33 <= i <= 126 or i == 61 else chr(i) for i in range(256)]


class BinaryQPEncoder:
    """Quoted-printable for a body that is not text (RFC 2045 §6.7 (4)):
    its CR and LF octets are data, so they are written ``=0D``/``=0A`` and
    lines end only in soft breaks (tcllib's encoder writes an LF as a line
    break, which decoders give back as CRLF).  Every octet outside
    ``!``-``~`` (and ``=``) is quoted; lines are at most 76 chars, the
    last ends in a soft break (``=``).  Input:
    ``str`` of U+0000-U+00FF (octets), any chunking."""

    def __init__(self) -> None:
        self._len = 0

    def feed(self, data: str) -> str:
        out = []
        n = self._len
        for c in data:
            piece = _BINARY_QP[ord(c) & 0xFF]
            if n + len(piece) > 75:
                out.append("=\n")
                n = 0
            out.append(piece)
            n += len(piece)
        self._len = n
        return "".join(out)

    def finish(self) -> str:
        """A final soft break: the line break a transport adds after the
        body (SMTP's CRLF before the final dot) then ends an encoded line
        instead of adding a CRLF to the data."""
        return "=" if self._len else ""


# --- base64 -----------------------------------------------------------------

class Base64Encoder:
    """Incremental base64 with 76-char lines separated by ``"\\n"`` and no
    final line break (``binary encode base64 -maxlen 76``, what tcllib
    writes).  Feed any chunking; the output is the same.

    :param wire: give the lines CRLF-separated as a
        :class:`~.wire.WireChunk` (SMTP DATA wire form) instead of a
        ``str`` with ``"\\n"``.

    Whole blocks are encoded by :func:`binascii.b2a_base64` and cut into
    lines by one C-level call (:func:`_line_cutter`): no Python loop per
    line.
    """

    _LINE = 57  # octets per 76-char line

    def __init__(self, wire: bool = False) -> None:
        self._pending = b""     # < 57 octets: an unfinished line
        self._started = False   # a line was given out: the next needs a break first
        self._wire = wire

    def feed(self, data: bytes) -> Union[str, bytes]:
        """Encode more octets; returns the lines completed so far.  A line
        break is written *before* each line but the first (so the output
        never ends with one, and nothing needs holding back)."""
        if self._pending:
            data = self._pending + data
        n = len(data) // self._LINE * self._LINE
        self._pending = bytes(data[n:])
        if not n:
            return WireChunk() if self._wire else ""
        return self._lines(memoryview(data)[:n] if n < len(data) else data)

    def finish(self) -> Union[str, bytes]:
        """The last, shorter line (if any)."""
        data, self._pending = self._pending, b""
        if data:
            return self._lines(data)
        return WireChunk() if self._wire else ""

    def _lines(self, data: bytes) -> Union[str, bytes]:
        enc = binascii.b2a_base64(data, newline=False)
        lines = (len(enc) + 75) // 76
        lead, self._started = self._started, True
        if lines > 1 or lead:
            enc = (b"\r\n" if self._wire else b"\n").join(_line_cutter(lines, lead)(enc))
        return WireChunk(enc) if self._wire else enc.decode("ascii")


@functools.lru_cache(maxsize=16)
def _line_cutter(lines: int, lead: bool) -> Callable[[bytes], Tuple[bytes, ...]]:
    """A function cutting base64 text into ``lines`` 76-char slices (the
    last may be shorter), after an empty one when ``lead`` (so that a join
    starts with the separator).  ``operator.itemgetter`` slices in C; the
    generator's blocks come in one or two sizes, hence the cache."""
    cuts = [slice(0, 0)] if lead else []
    cuts += [slice(i * 76, (i + 1) * 76) for i in range(lines)]
    return operator.itemgetter(*cuts)


_B64_JUNK = re.compile(r"[^A-Za-z0-9+/=]+")
_B64_RUNS = re.compile(r"[A-Za-z0-9+/]+|=+")


class Base64Decoder:
    """Incremental base64 decoding by RFC 2045 §6.8, as tcllib's
    ``base64::decode`` wherever that one is right.

    Characters outside the alphabet are ignored (line breaks, spaces,
    garbage); missing final padding is supplied.  A run of ``=`` that
    completes a quantum (``xx==``, ``xxx=``) ends it and decoding goes on
    after it, so data made by concatenating separately encoded pieces
    (``aGk=aGk=``) decodes piece by piece; an ``=`` that cannot be padding
    there is ignored.  tcllib drops every ``=`` and decodes the rest as one
    run, which shifts every later octet into garbage (COMPATIBILITY.md).
    Feed any chunking; the output is the same.
    """

    def __init__(self) -> None:
        self._run = ""     # alphabet chars of the unfinished quanta
        self._eq = ""      # a trailing "=" run not yet known to be complete
        self._seen = 0     # alphabet chars so far (tcllib's error position)
        self._done = False

    def feed(self, text: str) -> bytes:
        """Decode more text; returns the octets final so far."""
        out = []
        for tok in _B64_RUNS.findall(self._eq + _B64_JUNK.sub("", text)):
            self._eq = ""
            if tok[0] != "=":
                self._seen += len(tok)
                self._run += tok
                continue
            need = (0, 0, 2, 1)[len(self._run) % 4]
            if need and len(tok) >= need:
                out.append(base64.b64decode(self._run + "=" * need))
                self._run = ""
            elif need:
                self._eq = tok  # maybe the rest of this padding is still to come
        whole = len(self._run) // 4 * 4
        if whole:
            out.append(base64.b64decode(self._run[:whole]))
            self._run = self._run[whole:]
        return b"".join(out)

    def finish(self) -> bytes:
        """The last octets.

        :raises TransferError: ``invalid base64 character "X" at position
            N`` when a single char is left over (6 bits cannot make an
            octet: the data were cut in transit; tcllib's message).
        """
        run, self._run, self._eq = self._run, "", ""
        if not run:
            return b""
        if len(run) % 4 == 1:
            raise TransferError('invalid base64 character "%s" at position %d'
                                % (run[-1], self._seen - 1))
        return base64.b64decode(run + "=" * (-len(run) % 4))


def base64_decode(text: str) -> bytes:
    """Decode base64 ``text`` whole (see :class:`Base64Decoder`).

    :raises TransferError: ``invalid base64 character "X" at position N``
        when one char is left over (tcllib's message).
    """
    dec = Base64Decoder()
    return dec.feed(text) + dec.finish()
