"""RFC 2047 encoded-words, as tcllib 1.21's ``mime::word_encode``,
``mime::word_decode`` and ``mime::field_decode``.

Public names:

- :func:`word_encode` ``(charset, method, text, *, charset_encoded=True,
  maxlength=66, codec=None) -> str``; built from :func:`check_word_args`,
  :func:`word_text` and :func:`encode_words` so the bridge can evaluate
  Tcl option values in tcllib's order;
- :func:`word_decode` ``(encoded) -> (tcl_encoding, method, octets)``;
- :func:`field_decode` ``(field, codec=None) -> str``;
- :class:`Codec` (the conversion interface), :class:`PythonCodec` (the
  default, Python codecs); the bridge supplies one backed by Tcl's
  ``encoding convertto/convertfrom`` (20 Tcl encodings are unknown to
  Python, and Tcl's lenient decoding differs);
- :exc:`WordError` (``ValueError``; message is tcllib's text);
- the charset tables are :mod:`pysmtp_tcl.mime.charsets`
  (``mapencoding``, ``reversemapencoding``, ``ENCODINGS``), re-exported here.

Octet strings are ``str`` of U+0000-U+00FF (one char per octet), as Tcl byte
arrays arrive through tkinter.

Deliberate differences from tcllib (COMPATIBILITY.md):

- a Q word keeps a final ``_``/space (tcllib's decoder strips it, case 13);
- LF and 0x1F inside a Q word are written ``=0A``/``=1F`` (tcllib puts them
  raw into the header);
- with ``-charset_encoded 1`` (default), text holding chars above U+00FF
  cannot be octets in the charset: it is encoded as text (tcllib keeps the
  low 8 bits of every char, silently producing other text);
- a character that can never fit into ``-maxlength`` raises the "too short"
  error for base64 too (tcllib loops forever);
- ``field_decode`` leaves a word it cannot decode as it is (RFC 2047 §6.3;
  tcllib fails the whole field), decodes adjacent words of one charset
  together (a character split across them comes out whole), and both
  decoders ignore an RFC 2231 §5 language suffix (``=?utf-8*en?Q?…?=``).

The header writer's own encoder (RFC 2047 §5 (3) phrase-safe, 75/76-char
limits) is :mod:`pysmtp_tcl.mime.folding`.
"""
from __future__ import annotations

import base64
import codecs
import re
import unicodedata

from .charsets import ENCODINGS, mapencoding, reversemapencoding
from .qp import qp_decode, qp_encode

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Optional, Protocol, Tuple, Union
    Number = Union[int, float]
else:  # a plain base class at run time (nothing checks it there)
    Protocol = object

__all__ = [
    "word_encode", "check_word_args", "word_text", "encode_words",
    "word_decode", "field_decode", "Codec", "PythonCodec", "WordError",
    "mapencoding", "reversemapencoding", "ENCODINGS", "tcl_is_space",
]


class WordError(ValueError):
    """An error with tcllib's exact message (``str(e)``)."""


class Base64Error(WordError):
    """Tcl's strict base64 decoder refused ``char`` at ``position`` (the
    message is Tcl 8.6's; the bridge words it as the host Tcl does)."""

    def __init__(self, char: str, position: int) -> None:
        super().__init__('invalid base64 character "%s" at position %d' % (char, position))
        self.char = char
        self.position = position


class Codec(Protocol):
    """Charset conversion as Tcl's ``encoding`` command does it.

    ``convertto(enc, text) -> octets`` and ``convertfrom(enc, octets) ->
    text``; ``enc`` is a *Tcl* encoding name (``iso8859-1``, ``shiftjis``),
    octets are ``str`` of U+0000-U+00FF.  Unknown encodings raise
    :exc:`WordError` ``unknown encoding "NAME"``.
    """

    def convertto(self, enc: str, text: str) -> str: ...

    def convertfrom(self, enc: str, octets: str) -> str: ...


# Tcl encoding name -> Python codec, for the encodings Python has.
_PY_NAMES = {
    "ascii": "ascii", "big5": "big5", "cp932": "cp932", "cp936": "gbk",
    "cp949": "cp949", "cp950": "cp950", "euc-cn": "gb2312", "euc-jp": "euc_jp",
    "euc-kr": "euc_kr", "gb2312": "gb2312", "iso2022-jp": "iso2022_jp",
    "iso2022-kr": "iso2022_kr", "koi8-r": "koi8_r", "koi8-u": "koi8_u",
    "shiftjis": "shift_jis", "tis-620": "tis_620", "utf-8": "utf-8",
    "unicode": "utf-16-le", "identity": "latin-1", "macCentEuro": "mac_latin2",
    "macCroatian": "mac_croatian", "macCyrillic": "mac_cyrillic",
    "macGreek": "mac_greek", "macIceland": "mac_iceland", "macRoman": "mac_roman",
    "macRomania": "mac_romanian", "macTurkish": "mac_turkish",
    "ebcdic": "cp037",
}


def _py_codec(enc: str) -> str:
    name = _PY_NAMES.get(enc)
    if name is None and re.fullmatch(r"cp\d+|iso8859-\d+", enc):
        name = enc.replace("iso8859-", "iso8859_")
    try:
        return codecs.lookup(name).name if name else ""
    except LookupError:
        return ""


class PythonCodec:
    """:class:`Codec` on Python's codecs (used when no Tcl is at hand).

    Like Tcl 8.6: unencodable chars become ``?``; in UTF-8 input an invalid
    octet decodes to the char of the same value; other invalid input
    decodes to U+FFFD.
    """

    def convertto(self, enc: str, text: str) -> str:
        name = _py_codec(enc)
        if not name:
            raise WordError('unknown encoding "%s"' % enc)
        return text.encode(name, "replace").decode("latin-1")

    def convertfrom(self, enc: str, octets: str) -> str:
        name = _py_codec(enc)
        if not name:
            raise WordError('unknown encoding "%s"' % enc)
        # Tcl reads a non-byte string's chars as their low 8 bits.
        data = bytes(ord(c) & 0xFF for c in octets)
        if name == "utf-8":
            return data.decode("utf-8", "pysmtp_tcl_latin1")
        return data.decode(name, "replace")


def _latin1_fallback(err: UnicodeDecodeError) -> Tuple[str, int]:
    return err.object[err.start:err.end].decode("latin-1"), err.end


codecs.register_error("pysmtp_tcl_latin1", _latin1_fallback)

_DEFAULT_CODEC = PythonCodec()


def check_word_args(charset: str, method: str) -> str:
    """Validate ``word_encode``'s charset and method as tcllib does, first.

    :returns: the MIME charset name (``ISO-8859-1`` for ``iso8859-1``).
    :raises WordError: ``unknown charset 'X'`` (not a Tcl encoding tcllib
        lists), ``invalid charset 'X'`` (listed without a MIME name),
        ``unknown method 'X', must be base64 or quoted-printable``.
    """
    if charset not in ENCODINGS:
        raise WordError("unknown charset '%s'" % charset)
    if not ENCODINGS[charset]:
        raise WordError("invalid charset '%s'" % charset)
    if method not in ("base64", "quoted-printable"):
        raise WordError("unknown method '%s', must be base64 or quoted-printable" % method)
    return ENCODINGS[charset]


def word_text(charset: str, text: str, charset_encoded: bool, codec: Optional[Codec] = None) -> str:
    """The text to encode: ``text`` itself, or (``charset_encoded``) the
    octets ``text`` decoded from ``charset``.  Text with chars above U+00FF
    is never octets, so it is taken as text (tcllib truncates it)."""
    if charset_encoded and all(c <= "\xff" for c in text):
        return (codec or _DEFAULT_CODEC).convertfrom(charset, text)
    return text


def _q_octets(octets: str) -> str:
    # qp_encode's encoded-word mode leaves LF and 0x1F raw; an encoded-word
    # cannot hold them (RFC 2047 §4.2 (3), §5).
    return qp_encode(octets, True).replace("\n", "=0A").replace("\x1f", "=1F")


def encode_words(charset: str, method: str, text: str, maxlength: Number = 66,
                 maxlength_text: Optional[str] = None, codec: Optional[Codec] = None) -> str:
    """Encode ``text`` into encoded-words of at most ``maxlength`` chars,
    joined by ``"\\n "`` (tcllib's folding), never splitting a character.

    :param charset: Tcl encoding name (validated by :func:`check_word_args`).
    :param method: ``base64`` or ``quoted-printable``.
    :param text: the text (not octets); ``""`` gives ``""``.
    :param maxlength: max chars per word including ``=?CHARSET?X?`` and
        ``?=`` (int or float, as Tcl's ``expr`` gave it).
    :param maxlength_text: the option value as written, for error messages.
    :raises WordError: ``maxlength N too short for chosen charset and
        encoding``.
    """
    mime = check_word_args(charset, method)
    codec = codec or _DEFAULT_CODEC
    if not text:
        return ""
    shown = maxlength_text if maxlength_text is not None else str(maxlength)
    too_short = WordError("maxlength %s too short for chosen charset and encoding" % shown)
    room = maxlength - len(mime) - 7  # "=?" "?Q?" "?=" around the text
    if method == "base64":
        if room < 4:
            raise too_short
        # octets per word (3 per 4 base64 chars); Tcl's "/" floors ints only
        room = (room / 4 if isinstance(room, float) else room // 4) * 3
        words = _fill_words((codec.convertto(charset, ch) for ch in text), room, too_short)
        encoded = [base64.b64encode(w.encode("latin-1")).decode("ascii") for w in words]
        return "\n ".join("=?%s?B?%s?=" % (mime, w) for w in encoded)
    if room < 1:
        raise too_short
    words = _fill_words((_q_octets(codec.convertto(charset, ch)) for ch in text), room, too_short)
    return "\n ".join("=?%s?Q?%s?=" % (mime, w) for w in words)


def _fill_words(pieces, room, too_short: Exception) -> list:
    """Pack per-character pieces into words of at most ``room`` units,
    never splitting a character (RFC 2047 §5 (3)); ``too_short`` is raised
    when one character alone does not fit."""
    words, current, length = [], [], 0
    for piece in pieces:
        if len(piece) > room:
            raise too_short
        if length + len(piece) > room:
            words.append("".join(current))
            current, length = [], 0
        current.append(piece)
        length += len(piece)
    words.append("".join(current))
    return words


def word_encode(charset: str, method: str, text: str, *, charset_encoded: bool = True,
                maxlength: Number = 66, codec: Optional[Codec] = None) -> str:
    """``mime::word_encode charset method string ?-charset_encoded B?
    ?-maxlength N?`` (RFC 2047 §4).

    :param charset: Tcl encoding name (``utf-8``, ``iso8859-1``...).
    :param method: ``base64`` or ``quoted-printable``.
    :param text: octets in ``charset`` (``charset_encoded``) or text.
    :param maxlength: max length of one encoded-word (default 66, so a
        ``Subject:`` line stays short).
    :returns: the words joined by ``"\\n "``; ``""`` for empty text.
    :raises WordError: with tcllib's messages (see :func:`check_word_args`,
        :func:`encode_words`).
    """
    check_word_args(charset, method)
    return encode_words(charset, method, word_text(charset, text, charset_encoded, codec),
                        maxlength, None, codec)


_WORD = re.compile(r"=\?([^?]+)\?(.)\?([^?]*)\?=", re.S)
_B64_JUNK = re.compile(r"[^A-Za-z0-9+/]")


def _b64_decode(data: str) -> str:
    # tcllib's base64::decode: drop every non-alphabet char (padding too),
    # then Tcl's strict decoder, which refuses only a lone trailing char.
    data = _B64_JUNK.sub("", data)
    if len(data) % 4 == 1:
        raise Base64Error(data[-1], len(data) - 1)
    data += "=" * (-len(data) % 4)
    return base64.b64decode(data).decode("latin-1")


def word_decode(encoded: str) -> Tuple[str, str, str]:
    """``mime::word_decode``: decode the first encoded-word in ``encoded``.

    :returns: ``(tcl_encoding, "base64"|"quoted-printable", octets)``;
        octets are not yet converted from the charset.
    :raises WordError: ``malformed word-encoded expression '...'``,
        ``unknown charset 'X'``, ``unknown method 'X', must be B or Q``,
        ``invalid base64 character ...``.
    """
    m = _WORD.search(encoded)
    if m is None:
        raise WordError("malformed word-encoded expression '%s'" % encoded)
    charset, method, data = m.groups()
    # RFC 2231 §5: "charset*language"
    enc = reversemapencoding(charset) or (reversemapencoding(charset.split("*", 1)[0])
                                          if "*" in charset else "")
    if not enc:
        raise WordError("unknown charset '%s'" % charset)
    if method in ("b", "B"):
        return enc, "base64", _b64_decode(data)
    if method in ("q", "Q"):
        return enc, "quoted-printable", qp_decode(data, True)
    raise WordError("unknown method '%s', must be B or Q" % method)


_TCL_SPACE_EXTRA = frozenset("\t\n\v\f\r \x85\u180e\u200b\u2060\ufeff")


def tcl_is_space(text: str) -> bool:
    """Tcl 8.6 ``string is space``: ASCII white space, U+0085, U+180E,
    U+200B, U+2060, U+FEFF and categories Zs/Zl/Zp (true for ``""``)."""
    return all(c in _TCL_SPACE_EXTRA or unicodedata.category(c) in ("Zs", "Zl", "Zp")
               for c in text)


_FIELD_WORD = re.compile(r"=\?[^?]+\?.\?[^?]*\?=", re.S)


def field_decode(field: str, codec: Optional[Codec] = None) -> str:
    """``mime::field_decode``: replace every encoded-word in a header value
    by its text; white space between two encoded-words is dropped
    (RFC 2047 §6.2), as is white space before the first one (tcllib).

    Differences from tcllib (COMPATIBILITY.md), all for input tcllib
    garbles or refuses:

    - adjacent encoded-words (only white space between them) in the same
      charset are decoded together, so a character whose octets a sender
      split across two words comes out whole (tcllib decodes each word
      alone: ``Ã©`` or U+FFFD instead of ``é``);
    - a word that cannot be decoded (unknown charset or method, bad
      base64, a charset Tcl lacks) is left as it is, as RFC 2047 §6.3 asks
      (tcllib fails the whole field with the word's error);
    - an RFC 2231 §5 language suffix (``=?utf-8*en?Q?…?=``) is ignored.

    :param field: the header value.
    :param codec: charset conversion (default :class:`PythonCodec`).
    :returns: the decoded text.
    """
    codec = codec or _DEFAULT_CODEC
    out: list = []
    run: list = []   # [enc, [octets...], start, end] of adjacent words
    pos = 0
    after_word = True  # at the start, or right after a decoded word

    def flush() -> None:
        if run:
            enc, chunks, start, end = run
            try:
                out.append(codec.convertfrom(enc, "".join(chunks)))
            except WordError:
                out.append(field[start:end])
            run.clear()

    for m in _FIELD_WORD.finditer(field):
        prefix = field[pos:m.start()]
        space = tcl_is_space(prefix)
        try:
            enc, _method, octets = word_decode(m.group(0))
        except WordError:
            flush()
            out.append(prefix + m.group(0))
            after_word = False
            pos = m.end()
            continue
        if run and space and run[0] == enc:
            run[1].append(octets)
            run[3] = m.end()
        else:
            flush()
            if prefix and not (space and after_word):
                out.append(prefix)
            run[:] = [enc, [octets], m.start(), m.end()]
        after_word = True
        pos = m.end()
    flush()
    out.append(field[pos:])
    return "".join(out)
