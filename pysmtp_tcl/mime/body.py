"""Reading a leaf part's body in canonical form (``mime::getbody``).

Canonical parts give their raw body; parsed parts are decoded from their
transfer encoding (base64 / quoted-printable; 7bit/8bit/binary/none as is).
File bodies are read in blocks, so memory stays bounded.
"""
from __future__ import annotations

from typing import Iterator, Union

from .generator import open_body_file
from .model import Entity, MimeError
from .transfer import TransferError, base64_decode, qp_decode

__all__ = ["body_pieces", "decode_string_body", "BodyError"]

Piece = Union[str, bytes]
_BLOCK = 64 * 1024


class BodyError(MimeError):
    """Reading or decoding failed while streaming (tcllib reports these
    through the ``-command`` callback's ``error`` call)."""


def _check(e: Entity) -> None:
    if e.value == "parts":
        raise MimeError("MIME part isn't a leaf")
    if not e.canonical and e.encoding not in ("", "7bit", "8bit", "binary",
                                              "base64", "quoted-printable"):
        if e.value == "file":
            raise BodyError('Can\'t handle content encoding "%s"' % e.encoding)


def decode_string_body(e: Entity) -> Piece:
    """The whole body of a string part: ``str`` for raw text, ``bytes``
    for decoded base64 / quoted-printable octets.

    :raises MimeError: for parts with subordinates, bad base64.
    """
    _check(e)
    if not e.canonical:
        try:
            if e.encoding == "base64":
                return base64_decode(e.string)
            if e.encoding == "quoted-printable":
                return _octets_if_possible(qp_decode(e.string))
        except TransferError as err:
            raise MimeError(str(err))
    return e.string


def body_pieces(e: Entity, block: int = _BLOCK) -> Iterator[Piece]:
    """The body in pieces (any sizes): one piece for string parts (see
    :func:`decode_string_body`, errors raised before the first piece),
    ``bytes`` blocks for file parts (errors then raise :class:`BodyError`).
    """
    if e.value != "file":
        yield decode_string_body(e)
        return
    _check(e)
    f = open_body_file(e.file)
    with f:
        f.seek(e.offset)
        left = None if e.canonical else max(0, e.count or 0)
        enc = "" if e.canonical else e.encoding
        carry = b""
        while left is None or left > 0:
            n = block if left is None else min(block, left)
            chunk = f.read(n)
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            if enc not in ("base64", "quoted-printable"):
                yield chunk
                continue
            # decode whole lines only (tcllib cuts its blocks at a LF too)
            chunk = carry + chunk
            cut = chunk.rfind(b"\n") + 1
            if left == 0 or cut == 0 and len(chunk) > 16 * block:
                cut = len(chunk)
            chunk, carry = chunk[:cut], chunk[cut:]
            if chunk:
                yield _decode(enc, chunk)
        if carry:
            yield _decode(enc, carry)


def _octets_if_possible(text: str) -> Piece:
    # decoded QP is octets, unless the encoded text carried raw chars
    # above U+00FF (then it stays a Tcl string, as in tcllib)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text


def _decode(enc: str, data: bytes) -> bytes:
    text = data.decode("latin-1")
    try:
        if enc == "base64":
            return base64_decode(text)
        return _octets_if_possible(qp_decode(text))
    except TransferError as err:
        raise BodyError(str(err))
