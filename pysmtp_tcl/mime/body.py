"""Reading a leaf part's body in canonical form (``mime::getbody``).

Canonical parts give their raw body; parsed parts are decoded from their
transfer encoding (base64 / quoted-printable; 7bit/8bit/binary/none as is).
File bodies are read in blocks, so memory stays bounded.
"""
from __future__ import annotations

from .charsets import reversemapencoding
from .generator import open_body_file
from .model import Entity, MimeError
from .transfer import Base64Decoder, TransferError, base64_decode, qp_decode

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Iterator, Union
    Piece = Union[str, bytes]

__all__ = ["body_pieces", "decode_string_body", "BodyError", "reading_charset"]

_BLOCK = 64 * 1024


class BodyError(MimeError):
    """Reading or decoding failed while streaming (tcllib reports these
    through the ``-command`` callback's ``error`` call)."""


def _check(e: Entity) -> None:
    if e.value == "parts":
        raise MimeError("MIME part isn't a leaf")


def _decoding(e: Entity) -> str:
    """The transfer encoding to undo: ``base64``, ``quoted-printable`` or
    ``""``.  An unknown encoding (``x-uuencode``...) is not undone: RFC 2045
    §6.4 says to treat such a body as application/octet-stream, i.e. hand
    its octets over as they are -- for ``-string`` and ``-file`` parts
    alike (tcllib failed on ``-file`` parts only)."""
    if e.canonical or e.encoding not in ("base64", "quoted-printable"):
        return ""
    return e.encoding


def decode_string_body(e: Entity) -> Piece:
    """The whole body of a string part: ``str`` for raw text, ``bytes``
    for decoded base64 / quoted-printable octets.

    :raises MimeError: for parts with subordinates, bad base64.
    """
    _check(e)
    enc = _decoding(e)
    try:
        if enc == "base64":
            return base64_decode(e.string)
        if enc == "quoted-printable":
            return _octets_if_possible(qp_decode(e.string))
    except TransferError as err:
        raise MimeError(str(err))
    return e.string


def body_pieces(e: Entity, block: int = _BLOCK) -> Iterator[Piece]:
    """The body in pieces (any sizes): one piece for string parts (see
    :func:`decode_string_body`, errors raised before the first piece),
    ``bytes`` blocks for file parts (errors then raise :class:`BodyError`).
    Encoded file bodies are decoded across block boundaries.
    """
    if e.value != "file":
        yield decode_string_body(e)
        return
    _check(e)
    f = open_body_file(e.file)
    with f:
        f.seek(e.offset)
        left = None if e.canonical else max(0, e.count or 0)
        enc = _decoding(e)
        b64 = Base64Decoder() if enc == "base64" else None
        carry = b""
        while left is None or left > 0:
            n = block if left is None else min(block, left)
            chunk = f.read(n)
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            if not enc:
                yield chunk
            elif b64 is not None:
                yield b64.feed(chunk.decode("latin-1"))
            else:
                # quoted-printable is decoded in whole lines (a soft break
                # or an =XX never straddles two pieces)
                chunk = carry + chunk
                cut = chunk.rfind(b"\n") + 1
                if cut == 0 and len(chunk) > 16 * block:
                    cut = _huge_line_cut(chunk, block)
                chunk, carry = chunk[:cut], chunk[cut:]
                if chunk:
                    yield _qp(chunk, at_end=False)
        if b64 is not None:
            try:
                yield b64.finish()
            except TransferError as err:
                raise BodyError(str(err))
        elif enc:
            yield _qp(carry, at_end=True)


def _huge_line_cut(chunk: bytes, block: int) -> int:
    """Where to cut a quoted-printable line too long to hold (no line
    break in ``chunk``) so that both sides decode as the whole would: an
    ``=`` in the last two octets may start an ``=XX`` that the next block
    completes, so it stays for the next piece (cutting 2 octets from the
    end left the ``=`` of ``=XX`` in this piece, a literal ``=``); white
    space at the cut too (removed if a line break follows it, RFC 2045
    §6.7 (3)), unless there is more of it than a block."""
    cut = len(chunk) - 2
    k = chunk.rfind(b"=", cut - 2, cut)
    if k >= 0:
        cut = k
    ws = cut - len(chunk[:cut].rstrip(b" \t"))
    if ws <= block:
        cut -= ws
    return cut


def _octets_if_possible(text: str) -> Piece:
    # decoded QP is octets, unless the encoded text carried raw chars
    # above U+00FF (then it stays a Tcl string, as in tcllib)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text


def _qp(data: bytes, at_end: bool) -> bytes:
    return qp_decode(data.decode("latin-1"), at_end=at_end).encode("latin-1")


def reading_charset(charset: str, body: Piece) -> str:
    """The charset ``getbody -decode`` converts ``body`` from.

    The part's ``charset`` (US-ASCII when it has none, RFC 2045 §5.2),
    except that a body labelled US-ASCII (any alias) whose octets are not
    ASCII but valid UTF-8 is read as UTF-8: 8-bit octets cannot be US-ASCII
    text, and valid UTF-8 by chance is rare for other 8-bit text (RFC 6657
    §3 leaves unlabelled 8-bit text to the reader; 8-bit UTF-8 sent
    unlabelled or labelled by default is the common case).  tcllib converts
    with Tcl's ``ascii`` encoding, which maps each octet above 0x7F to the
    char of that code (mojibake for UTF-8).  Other octets and other labels
    are converted as tcllib does.

    :param charset: the declared charset, or ``"US-ASCII"``.
    :param body: the transfer-decoded body (bytes, or str of octets).
    """
    if reversemapencoding(charset) != "ascii":
        return charset
    if isinstance(body, str):
        try:
            body = body.encode("latin-1")
        except UnicodeEncodeError:
            return charset  # text, not octets: nothing to judge
    if body.isascii():
        return charset
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return charset
    return "UTF-8"
