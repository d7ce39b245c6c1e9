"""Writing a part out as ``mime::copymessage`` / ``mime::buildmessage`` do.

:func:`generate` produces the message as a sequence of chunks, each a
``str`` (text, logical line ends ``"\\n"`` as Tcl's ``puts`` writes them) or
``bytes`` (raw octets from a ``-file`` body sent without a transfer
encoding).  Chunks stay below 64 KiB and files are read block by block, so
a 100 MB attachment needs a few hundred KB of memory.

Layout (tcllib): ``MIME-Version``, user headers in order,
``Content-Transfer-Encoding`` (if any), ``Content-Type``; a blank line; the
body.  Multipart: each part preceded by ``\\n--boundary\\n`` and closed by
``\\n--boundary--\\n`` (RFC 2046 §5.1.1: the CRLF before a delimiter belongs
to it).  message/*: blank line, then the first subordinate.
"""
from __future__ import annotations

import os
import re
import stat

from .contenttype import boundary_of, format_content_type
from .headers import MAX_LINE, ScriptValue, check_header_value, fold_long_lines
from .headerwriter import wire_field
from .ids import make_boundary
from .model import Entity, FinalizedPartError, MimeError
from .transfer import Base64Encoder, BinaryQPEncoder, QPEncoder, octets
from .wire import WireChunk, WireSpan

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Callable, Iterable, Iterator, List, Optional, Tuple, Union
    Chunk = Union[str, bytes]
    Write = Callable[[Chunk], None]

__all__ = ["generate", "build_message", "CRLFCollector", "open_body_file", "read_blocks"]

_FILE_BLOCK = 57 * 768      # octets per read: whole base64 lines, < 64 KiB out
_TEXT_BLOCK = 48 * 1024     # chars per QP / raw text chunk


def open_body_file(path: str):
    """``open $file RDONLY`` in binary mode.

    :raises MimeError: with Tcl's message, e.g. ``couldn't open "x": no
        such file or directory``.
    """
    try:
        return open(path, "rb")
    except OSError as e:
        reason = os.strerror(e.errno).lower() if e.errno else str(e)
        raise MimeError('couldn\'t open "%s": %s' % (path, reason))


def generate(entity: Entity, write: Write, *, utf8: bool = False, wire: bool = False,
             spans: bool = False) -> None:
    """Write ``entity`` (and its subordinates) as tcllib's ``copymessage``.

    :param entity: the part.
    :param write: called with each chunk (``str`` or ``bytes``).
    :param utf8: the message goes out in an SMTPUTF8 transaction (RFC 6531):
        non-ASCII addresses in address fields are written as UTF-8 (RFC 6532)
        instead of with IDNA domains (:mod:`.headerwriter`).
    :param wire: write base64 bodies as :class:`~.wire.WireChunk` (CRLF
        line breaks, ready for SMTP DATA as they are) rather than ``str``
        with ``"\\n"``; the octets are otherwise the same.
    :param spans: (with ``wire``) write each base64 body as one
        :class:`~.wire.WireSpan` instead, without encoding it: for a sink
        that only measures the message (SMTP SIZE).
    :raises MimeError: ``Can't handle content encoding "x"`` for a parsed
        part with an unknown transfer encoding; file open errors.
    :raises HeaderValueError: a parsed part's field holding a bare CR, NUL
        or a line break that is not folding (it would forge a field on
        output; script-made fields are refused when set).

    Header values the script gave go through
    :func:`~.headerwriter.wire_field` (RFC 2047 encoded-words for non-ASCII
    text); non-ASCII Content-Type parameters are written in RFC 2231 form,
    with the ``charset`` a text body is sent in (:mod:`.textbody`).  Header
    lines over 998 octets are folded at white space
    (:func:`~.headers.fold_long_lines`).  A leaf whose body has a line over
    998 octets or a NUL goes out quoted-printable/base64 even if
    7bit/8bit/binary was asked for; 8-bit octets get an ``8bit`` label
    (:meth:`~.model.Entity.transfer_label`).
    """
    if entity.dead:  # a finalized subordinate: tcllib's copymessageaux fails
        raise FinalizedPartError("header")
    te, upgraded = entity.checked_transfer_label()
    plan = entity.text_plan()
    boundary = ""
    if entity.value == "parts":
        boundary = boundary_of(entity.params)
        if not boundary and entity.content.startswith("multipart/"):
            boundary = make_boundary(entity.token or "")
    fields = [("MIME-Version", entity.version)]
    fields += entity.headers.pairs()
    if te:
        fields.append(("Content-Transfer-Encoding", te))
    fields.append(("Content-Type", format_content_type(entity, boundary, wire=True,
                                                      charset=plan.charset)))
    head = _head(entity, fields, utf8)

    if entity.value == "parts":
        _write_joined(head, write)
        if entity.content.startswith("message/"):
            write("\n")
            if entity.parts:
                generate(entity.parts[0], write, utf8=utf8, wire=wire, spans=spans)
            return
        for part in entity.parts:
            write(_parsed(entity, "\n--%s\n" % boundary))
            generate(part, write, utf8=utf8, wire=wire, spans=spans)
        write(_parsed(entity, "\n--%s--\n" % boundary))
        return

    # a part upgraded for a long line or NUL is written exactly as with an
    # explicit -encoding quoted-printable / base64 (its octets, CR included)
    encode = (entity.canonical or upgraded) and te in ("base64", "quoted-printable")
    converter = te if encode else ""
    if converter == "quoted-printable" and not entity.content.startswith(("text/", "message/")):
        converter = "binary-qp"  # line breaks are data here (RFC 2045 §6.7 (4))
    if entity.value == "string":
        text = entity.string
        if not converter and plan.octets is None and len(text) <= _TEXT_BLOCK:
            # a small body written as it is: one chunk with the header
            if len(head) == 1 and type(head[0]) is str and type(text) is str:
                write("%s\n%s" % (head[0], text))  # what _write_joined makes of the three str pieces
            else:
                _write_joined(head + ["\n", text], write)
            return
    head.append("\n")
    _write_joined(head, write)
    if entity.value == "string":
        if plan.octets is not None:
            # the octets the charset parameter names (a text body)
            if encode or plan.octets != text.encode("utf-8", "surrogatepass"):
                _write_octets(plan.octets, converter, write, wire, spans)
                return
        elif encode and upgraded:
            # Encode the octets the unencoded part would have put on the
            # wire (text goes out as UTF-8), not the chars read as Latin-1:
            # "café" must decode as "café" under its charset=utf-8.
            text = text.encode("utf-8", "surrogatepass").decode("latin-1")
        _write_string(text, converter, write, wire, spans)
    else:
        _write_file(entity, converter, write, wire, spans)


# the lines of a header that can go out as they are: no line break, CR or
# NUL (RFC 5322 §2.2), none longer than 998 octets (§2.1.1)
_BREAK_OR_NUL = re.compile("[\r\x00]")
_LONG_LINE = re.compile("[^\n]{%d}" % (MAX_LINE + 1))


def _head(entity: Entity, fields: List[Tuple[str, str]], utf8: bool) -> List[Chunk]:
    """The header fields as written (:func:`generate`), one line each,
    ``"\\n"`` after each: a list of pieces for :func:`_write_joined`."""
    if not entity.header_octets:
        # The usual header: ASCII one-line fields, none too long.  Every
        # check and writer below would give it back unchanged: each field
        # is "Name: value" (wire_field, fold_long_lines) and passes
        # check_header_value.  One pass at C speed.
        text = "".join(map("%s: %s\n".__mod__, fields))
        if (text.isascii() and text.count("\n") == len(fields) and _BREAK_OR_NUL.search(text) is None
                and (len(text) <= MAX_LINE or _LONG_LINE.search(text) is None)):
            return [text]
    head: List[Chunk] = []
    for name, value in fields:
        check_header_value(name, value)
        if isinstance(value, ScriptValue):
            head.append(fold_long_lines(wire_field(name, value, utf8)) + "\n")
        else:
            head.append(_parsed(entity, fold_long_lines("%s: %s" % (name, value)) + "\n"))
    return head


def _parsed(entity: Entity, text: str) -> Chunk:
    """Header text read from a message: from octets (``-file``), the octets
    it was read from (tcllib writes each char as UTF-8, so 8-bit octets
    came back as two each); from a ``-string``, the script's chars."""
    if entity.header_octets:
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:  # pragma: no cover - parsed text is octets
            pass
    return text


def _write_joined(pieces: List[Chunk], write: Write) -> None:
    """Write runs of ``str`` pieces as one ``str`` chunk and runs of
    ``bytes`` as one ``bytes`` chunk (text must stay text for
    ``copymessage``, which writes through the channel's encoding)."""
    run: List[Chunk] = []
    for piece in pieces + [None]:
        if run and (piece is None or type(piece) is not type(run[0])):
            write(run[0][:0].join(run))
            run = []
        if piece is not None:
            run.append(piece)


def _qp(converter: str):
    return BinaryQPEncoder() if converter == "binary-qp" else _TextLines(QPEncoder())


class _TextLines:
    """Feeds a quoted-printable encoder text whose CRLF pairs are line
    breaks (RFC 2045 §6.7 (4): a line break of the text is a hard line
    break), also when a CR and its LF come in two chunks.  tcllib's encoder
    breaks lines at LF only and writes the CR before it as ``=0D``, which
    decoders give back as CR CR LF: every line of a CRLF text (a parsed
    message, a text file) got an extra CR.  A lone CR stays ``=0D``."""

    def __init__(self, enc: QPEncoder) -> None:
        self._enc = enc
        self._cr = False  # the last chunk ended in CR

    def feed(self, text: str) -> str:
        if self._cr:
            text = "\r" + text
        self._cr = text.endswith("\r")
        if self._cr:
            text = text[:-1]
        return self._enc.feed(text.replace("\r\n", "\n"))

    def finish(self) -> str:
        out = self._enc.feed("\r") if self._cr else ""
        self._cr = False
        return out + self._enc.finish()


def _write_base64(data: bytes, write: Write, wire: bool, spans: bool) -> None:
    if spans:
        if data:
            write(WireSpan(len(data)))
        return
    _encode_to(Base64Encoder(wire), _slices(data, _FILE_BLOCK), write)


def _write_octets(data: bytes, converter: str, write: Write, wire: bool, spans: bool) -> None:
    if converter == "base64":
        _write_base64(data, write, wire, spans)
    elif converter in ("quoted-printable", "binary-qp"):
        _encode_to(_qp(converter), _slices(data.decode("latin-1"), _TEXT_BLOCK), write)
    else:
        for piece in _slices(data, _FILE_BLOCK):
            write(piece)


def _write_string(text: str, converter: str, write: Write, wire: bool, spans: bool) -> None:
    if converter == "base64":
        _write_base64(octets(text), write, wire, spans)
    elif converter in ("quoted-printable", "binary-qp"):
        if text and not text.isascii() and max(text) > "\xff":  # C speed, not a Python loop
            text = octets(text).decode("latin-1")
        _encode_to(_qp(converter), _slices(text, _TEXT_BLOCK), write)
    else:
        for piece in _slices(text, _TEXT_BLOCK):
            write(piece)


def _write_file(entity: Entity, converter: str, write: Write, wire: bool, spans: bool) -> None:
    with open_body_file(entity.file) as f:
        f.seek(entity.offset)
        left = entity.count if not entity.canonical else None
        blocks = read_blocks(f, left, _FILE_BLOCK)
        if converter == "base64" and spans:
            n = _octets_left(f, entity.offset, left)
            if n is None:  # not a regular file: count what it gives
                n = sum(map(len, blocks))
            if n:
                write(WireSpan(n))
        elif converter == "base64":
            _encode_to(Base64Encoder(wire), blocks, write)
        elif converter in ("quoted-printable", "binary-qp"):
            _encode_to(_qp(converter), (b.decode("latin-1") for b in blocks), write)
        else:
            for block in blocks:
                write(block)


def _octets_left(f, offset: int, left: Optional[int]) -> Optional[int]:
    # what read_blocks would give, from the file's size (None: unknown)
    st = os.fstat(f.fileno())
    if not stat.S_ISREG(st.st_mode):
        return None
    n = max(0, st.st_size - offset)
    return n if left is None else min(n, left)


def _slices(data, size: int) -> Iterator:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def read_blocks(f, left: Optional[int], size: int) -> Iterator[bytes]:
    """Blocks of at most ``size`` octets from ``f``'s position: ``left``
    octets in all (``None``: up to the end of the file)."""
    while left is None or left > 0:
        block = f.read(size if left is None else min(size, left))
        if not block:
            return
        if left is not None:
            left -= len(block)
        yield block


def _encode_to(enc, pieces: Iterable, write: Write) -> None:
    """Feed an incremental transfer encoder and write what it gives."""
    for piece in pieces:
        out = enc.feed(piece)
        if out:
            write(out)
    tail = enc.finish()
    if tail:
        write(tail)


class CRLFCollector:
    """Collects :func:`generate` chunks into the octets ``buildmessage``
    returns: text encoded as UTF-8 (Tcl's system encoding here), every LF
    written as CRLF (tcllib's ``-translation crlf`` memchan).

    tcllib also turns an existing CRLF into CR CR LF; we keep CRLF as is
    (COMPATIBILITY.md).  :class:`~.wire.WireChunk` octets are kept as they
    are (already CRLF).
    """

    _LF = re.compile(rb"(?<!\r)\n")

    def __init__(self) -> None:
        self._out: List[bytes] = []
        self._cr = False  # previous chunk ended with CR

    def __call__(self, chunk: Chunk) -> None:
        data = chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk
        if not data:
            return
        if type(data) is WireChunk:
            # the "\n" text form of a CRLF here would pair with that CR
            self._out.append(data[1:] if self._cr and data[:2] == b"\r\n" else data)
            self._cr = False
            return
        data = bytes(data)
        if self._cr and data[:1] == b"\n":
            self._out.append(b"\n")
            data = data[1:]
        # without CR, every LF is a lone one: bytes.replace is the regex at C speed
        self._out.append(self._LF.sub(b"\r\n", data) if b"\r" in data else data.replace(b"\n", b"\r\n"))
        self._cr = data[-1:] == b"\r"

    def getvalue(self) -> bytes:
        return b"".join(self._out)


def build_message(entity: Entity, *, utf8: bool = False) -> bytes:
    """``mime::buildmessage``: the whole message as CRLF octets (``utf8``:
    see :func:`generate`)."""
    out = CRLFCollector()
    generate(entity, out, utf8=utf8, wire=True)
    return out.getvalue()
