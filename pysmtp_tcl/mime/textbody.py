"""The octets a script's text body goes out in, and the charset naming them.

A Tcl string reaches us as ``str``; a Tcl byte array (``encoding convertto
iso8859-2 $text``) as ``str`` of U+0000-U+00FF, one char per octet: the two
cannot be told apart.  tcllib writes an unencoded body as characters (so
``buildmessage`` sends UTF-8 whatever the ``charset`` says) and encodes a
base64/quoted-printable body as the low 8 bits of each character.  Both
send octets the ``charset`` parameter does not describe (``café`` labelled
``iso-8859-1`` goes out as UTF-8; labelled ``utf-8`` with ``-encoding
base64`` it goes out as Latin-1).  :func:`text_plan` decides, for a
``text/*`` body that is not ASCII (RFC 2045 §5, RFC 2046 §4.1.2):

1. ``charset`` names a charset Python knows:

   a. the string is octets valid in that charset (every char U+0000-U+00FF
      and they decode): they are sent as they are -- the script encoded
      the text itself (tcllib's base64/QP octets);
   b. else the text is encoded in that charset;
   c. else (characters the charset lacks) the text is sent as UTF-8 and
      the parameter says ``utf-8``;

2. no ``charset`` (``us-ascii`` by default, RFC 2045 §5.2) or ``us-ascii``:
   UTF-8, labelled ``charset=utf-8`` -- or the string itself when it is
   already valid UTF-8 octets;
3. a charset Python does not know: as tcllib (nothing can be checked).

Other leaves (application/*, image/* ...) whose string holds only U+0000-U+00FF
are octets, sent as they are also when unencoded (tcllib writes them as
characters, so each octet above 0x7F became two UTF-8 octets); message/*
and multipart/* bodies, ASCII bodies and file bodies are never touched.
"""
from __future__ import annotations

import codecs

from ..records import Value

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Optional, Sequence, Tuple

__all__ = ["TextPlan", "NO_PLAN", "text_plan"]


class TextPlan(Value):
    """``octets``: what the body is sent as (``None``: as tcllib writes
    it); ``charset``: the ``charset`` parameter to write instead of the
    part's own (``None``: the part's own)."""

    __slots__ = ("octets", "charset")

    def __init__(self, octets: Optional[bytes], charset: Optional[str]) -> None:
        self.octets = octets
        self.charset = charset


NO_PLAN = TextPlan(None, None)


def _codec(charset: str) -> Optional[str]:
    """Python's text codec for ``charset``; ``None`` when there is none:
    also for the names of Python's bytes-to-bytes codecs (``base64``,
    ``rot13``, ``zlib``, ``hex``, ``uu``, ``bz2``, ``quopri``), which are no
    charsets and which ``str.encode`` refuses."""
    try:
        info = codecs.lookup(charset)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _narrow(text: str) -> Optional[bytes]:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
        return True
    except UnicodeError:  # ("undefined" and "idna" raise UnicodeError itself)
        return False


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def text_plan(content: str, params: Sequence[Tuple[str, str]], text: str) -> TextPlan:
    """The plan for a canonical string body (see the module docstring): the
    name is for its main job, text bodies.

    :param content: lower-case ``type/subtype``.
    :param params: the part's Content-Type parameters.
    :param text: the body as the script gave it.
    """
    if text.isascii() or content.startswith(("message/", "multipart/")):
        return NO_PLAN
    if not content.startswith("text/"):
        narrow = _narrow(text)
        return NO_PLAN if narrow is None else TextPlan(narrow, None)
    charset = next((v for k, v in params if k == "charset"), "").strip().lower()
    narrow = _narrow(text)
    if charset in ("", "us-ascii", "ascii"):
        if narrow is not None and _decodes(narrow, "utf-8"):
            return TextPlan(narrow, "utf-8")
        return TextPlan(_utf8(text), "utf-8")
    codec = _codec(charset)
    if codec is None:
        return NO_PLAN
    if narrow is not None and _decodes(narrow, codec):
        return TextPlan(narrow, None)
    try:
        return TextPlan(text.encode(codec), None)
    except UnicodeError:
        return TextPlan(_utf8(text), "utf-8")
