"""Quoted-printable transfer encoding (RFC 2045 §6.7), byte-exact with
tcllib 1.21's ``mime::qp_encode`` / ``mime::qp_decode``.

Public functions and classes:

- :func:`qp_encode` ``(text, encoded_word=False, no_softbreak=False) -> str``
- :func:`qp_decode` ``(text, encoded_word=False) -> str``
- :class:`QPEncoder` incremental encoder: ``feed(text) -> str``,
  ``finish() -> str``; the concatenated output equals :func:`qp_encode` of
  the concatenated input, whatever the chunking (tcllib encodes each 32 KiB
  file chunk separately, which breaks lines at chunk edges; we do not).

Text is a ``str``; binary data is a ``str`` of U+0000-U+00FF (one char per
octet, as a Tcl byte array arrives through tkinter).  Chars above U+00FF pass
through unencoded, as in tcllib.

Deliberate differences from tcllib (COMPATIBILITY.md, "encoders, addresses,
dates"), all where tcllib's own decoder cannot give the input back:

- a line holding only "." after a line break is written ``=2E`` on its own
  line; tcllib's map ``"\\n.\\n" -> "=2E\\n"`` drops the line break before it
  (shared case 01);
- a line that starts with ``From`` + space and has nothing after the space
  gets ``=46rom=20`` (tcllib leaves a bare trailing space, which decoders
  strip); in encoded-word mode that space is ``_`` (``=46rom_``), as an
  encoded-word cannot contain a space;
- ``qp_decode(..., encoded_word=True)`` turns ``_`` into a space *after*
  stripping trailing white space, so a word-final ``_`` survives
  (RFC 2047 §4.2 rule 2; shared case 13);
- ``qp_decode`` removes soft breaks written with CRLF (``=\\r\\n``) and the
  white space before a CRLF, as tcllib does for LF (issue 8, W1), and an
  ``=`` ending the text (a soft break whose line break a multipart
  delimiter took).
"""
from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import List

__all__ = ["qp_encode", "qp_decode", "QPEncoder"]


def _table(codes: List[int], encoded_word: bool) -> dict:
    table = {c: "=%02X" % c for c in codes}
    if encoded_word:
        table[0x20] = "_"
    return table


# The octets tcllib writes as =XX: controls except TAB, LF and 0x1F, the
# specials !"#$=@[\]^`{|}~ (EBCDIC gateways, Tcl metacharacters) and 8-bit.
_BODY_CODES = (
    list(range(0x00, 0x09)) + list(range(0x0B, 0x1F)) + list(range(0x21, 0x25))
    + [0x3D, 0x40] + list(range(0x5B, 0x5F)) + [0x60] + list(range(0x7B, 0x100))
)
# Encoded words (RFC 2047 §4.2) also quote TAB, "_" and "?", and write " " as "_".
_WORD_CODES = _BODY_CODES + [0x09, 0x5F, 0x3F]
_BODY_TABLE = _table(_BODY_CODES, False)
_WORD_TABLE = _table(_WORD_CODES, True)

_MAXLINE = 72  # tcllib cuts when a line exceeds 72 chars, at 73 (+ "=")


def _soft_break(line: str, out: List[str]) -> str:
    """Append full soft-broken pieces of ``line`` (each ending ``=\\n``) to
    ``out``; return the unbroken remainder.  Never splits an ``=XX``."""
    pos, n = 0, len(line)
    while n - pos > _MAXLINE:
        if line[pos + 71] == "=":      # "=X" at the cut: cut before it
            cut = pos + 71
        elif line[pos + 72] == "=":    # "=" at the cut
            cut = pos + 72
        else:
            cut = pos + 73
        out.append(line[pos:cut])
        out.append("=\n")
        pos = cut
    return line[pos:]


class QPEncoder:
    """Incremental quoted-printable encoder.

    :param encoded_word: RFC 2047 mode (tcllib's ``encoded_word`` argument):
        also quote TAB, ``_`` and ``?``; write space as ``_``.
    :param no_softbreak: never insert ``=``-newline soft breaks (tcllib
        FR #503336).

    ``feed`` accepts any chunking; lines are separated by ``"\\n"`` (a CR
    is data and comes out as ``=0D``, as in tcllib).  Memory stays bounded
    for long lines: a line longer than a few hundred chars is emitted as it
    grows.
    """

    def __init__(self, encoded_word: bool = False, no_softbreak: bool = False) -> None:
        self._ew = bool(encoded_word)
        self._nosoft = bool(no_softbreak)
        self._table = _WORD_TABLE if self._ew else _BODY_TABLE
        self._prev_nl = False   # was the line break before this line left intact?
        self._raw = ""          # current line while its start is undecided
        self._mapped = None     # encoded, not yet emitted part of the line (str)
        self._done = False

    # A line's start decides the "From " and lone-dot rules (tcllib applies
    # them only right after a line break it did not consume).
    def _start(self, raw: str) -> str:
        if self._prev_nl and raw.startswith("From "):
            return ("=46rom_" if self._ew else "=46rom ") + raw[5:].translate(self._table)
        return raw.translate(self._table)

    def _finish_line(self, last: bool) -> str:
        """Encode the current line; ``last`` = no line break follows."""
        if self._mapped is None:
            raw = self._raw
            if self._prev_nl and raw == "." and not last:
                # tcllib: "\n.\n" -> "=2E\n" loses the line break; keep it.
                self._raw, self._prev_nl = "", False
                return "=2E\n"
            mapped = self._start(raw)
        else:
            mapped = self._mapped
        consumed = False
        if not last and mapped[-1:] in (" ", "\t"):
            # " \n" -> "=20\n", "\t\n" -> "=09\n" (trailing white space is
            # stripped by decoders, RFC 2045 §6.7 rule 3)
            mapped = mapped[:-1] + ("=20" if mapped[-1] == " " else "=09")
            consumed = True
        out: List[str] = []
        if self._nosoft:
            out.append(mapped)
        else:
            out.append(_soft_break(mapped, out))
        if not last:
            out.append("\n")
        self._raw, self._mapped, self._prev_nl = "", None, not consumed
        return "".join(out)

    def _flush_long(self) -> str:
        # Emit the head of a long unfinished line; keep enough of its tail
        # that a later trailing-space fix cannot change what was emitted.
        mapped = self._mapped
        if len(mapped) < 512:
            return ""
        out: List[str] = []
        if self._nosoft:
            out.append(mapped[:-4])
            self._mapped = mapped[-4:]
        else:
            pos = 0
            while len(mapped) - pos > 160:
                piece = mapped[pos:pos + 73]
                if piece[71] == "=":
                    cut = 71
                elif piece[72] == "=":
                    cut = 72
                else:
                    cut = 73
                out.append(piece[:cut])
                out.append("=\n")
                pos += cut
            self._mapped = mapped[pos:]
        return "".join(out)

    def feed(self, text: str) -> str:
        """Encode more input; returns the output that is final so far.

        :param text: str (U+0000-U+00FF for binary data).
        :raises ValueError: after :meth:`finish`.
        """
        if self._done:
            raise ValueError("QPEncoder.feed() after finish()")
        first, last = text.find("\n"), text.rfind("\n")
        if last - first > 1 and not self._ew and _plain_lines(text, first + 1, last):
            # The whole lines between the first and the last LF at C speed;
            # the line they end and the one they begin the usual way.
            return "".join((self._feed_lines(text[:first + 1]), self._block(text[first + 1:last]),
                            self._feed_lines(text[last + 1:])))
        return self._feed_lines(text)

    def _block(self, block: str) -> str:
        """Encode whole lines none of which starts with "From " or is a lone
        "." (:func:`_plain_lines`), plus the LF after the last one: escapes
        by one ``bytes.replace`` per distinct octet to escape, trailing
        white space by ``str.replace``, soft breaks only where a line is
        long.  Same output as the line-by-line path."""
        try:
            data = block.encode("latin-1")
        except UnicodeEncodeError:  # chars above U+00FF pass through: the general path
            return self._feed_lines(block + "\n")
        escape = data.translate(None, _BODY_SAFE)
        if escape:
            if b"=" in escape:  # first: the "=" of the other escapes must stay
                data = data.replace(b"=", b"=3D")
            for octet in set(escape) - {0x3D}:
                data = data.replace(bytes((octet,)), b"=%02X" % octet)
        mapped = data.decode("ascii")
        # A space or TAB ending a line is written =20 / =09 and "consumes"
        # the line break, which matters only to the next line's start rules
        # (none here but for the line after the block).
        self._prev_nl = not mapped.endswith((" ", "\t"))
        mapped += "\n"
        if " \n" in mapped or "\t\n" in mapped:
            mapped = mapped.replace(" \n", "=20\n").replace("\t\n", "=09\n")
        lines = mapped.split("\n")
        if self._nosoft or max(map(len, lines)) <= _MAXLINE:
            return mapped
        out: List[str] = []
        for line in lines[:-1]:
            out.append(_soft_break(line, out) if len(line) > _MAXLINE else line)
            out.append("\n")
        return "".join(out)

    def _feed_lines(self, text: str) -> str:
        # line by line, every rule applied
        out: List[str] = []
        lines = text.split("\n")
        for i, piece in enumerate(lines):
            if self._mapped is None:
                self._raw += piece
                if len(self._raw) >= 5:  # the start rules are decided now
                    self._mapped = self._start(self._raw)
                    self._raw = ""
            else:
                self._mapped += piece.translate(self._table)
            if i < len(lines) - 1:
                out.append(self._finish_line(last=False))
        if self._mapped is not None:
            out.append(self._flush_long())
        return "".join(out)

    def finish(self) -> str:
        """Encode the last (unterminated) line and apply tcllib's final rule:
        a space or tab ending the whole output becomes ``=20`` / ``=09``."""
        if self._done:
            return ""
        self._done = True
        if self._mapped is None and self._raw == "":
            return ""  # input was empty or ended with a line break
        tail = self._finish_line(last=True)
        if tail.endswith(" "):
            tail = tail[:-1] + "=20"
        elif tail.endswith("\t"):
            tail = tail[:-1] + "=09"
        return tail


_BODY_SAFE = bytes(c for c in range(256) if c not in _BODY_TABLE)


def _plain_lines(text: str, start: int, end: int) -> bool:
    """Whether no line of ``text[start:end]`` (whole lines; ``text[end]``
    is their final LF) needs a rule that depends on the line before: a
    lone "." or a start with "From "."""
    return not (text.startswith("From ", start) or text.find("\nFrom ", start, end) >= 0
                or text.startswith(".\n", start, end + 1) or text.find("\n.\n", start, end + 1) >= 0)


def qp_encode(text: str, encoded_word: bool = False, no_softbreak: bool = False) -> str:
    """Quoted-printable encode ``text`` exactly as tcllib's
    ``mime::qp_encode string ?encoded_word? ?no_softbreak?`` (with the
    data-loss fixes listed in the module docstring).

    Lines are split at ``"\\n"`` and kept as ``"\\n"`` (the caller turns
    them into CRLF for the wire); a line longer than 72 chars is cut after
    73 with an ``=`` soft break, never inside an ``=XX``.

    :param text: str; U+0000-U+00FF are octets, higher chars pass through.
    :param encoded_word: RFC 2047 "Q" mode (space as ``_``; TAB, ``_``,
        ``?`` quoted).
    :param no_softbreak: do not break long lines.
    :returns: the encoded str.
    """
    enc = QPEncoder(encoded_word, no_softbreak)
    return enc.feed(text) + enc.finish()


# (only from the start of a run of white space: tried at every position of
# a long run not followed by a line break, the match took quadratic time)
_WS_EOL = re.compile(r"(?<![ \t])[ \t]+(?=\r?\n)")
_SOFT_BREAK = re.compile(r"=\r?\n")
_HEX = re.compile(r"=([0-9A-Fa-f]{2})")


def qp_decode(text: str, encoded_word: bool = False, *, at_end: bool = True) -> str:
    """Decode quoted-printable ``text`` as tcllib's ``mime::qp_decode``,
    with RFC 2045 §6.7's rules for CRLF text.

    White space before a line break and at the very end is dropped (added in
    transit, rule 3), ``=`` + line break (LF or CRLF) is a soft break
    (rule 5; tcllib knows only ``=`` + LF, so CRLF text kept its ``=`` and
    breaks), and ``=XX`` (either case) is an octet; anything else, including
    a malformed ``=``, is kept as is (§6.7 note (2)).  In body mode an ``=``
    ending the text is a soft break too: the encoded line it ends is the
    last one, and in a multipart body its line break belongs to the next
    delimiter (RFC 2046 §5.1.1); tcllib keeps the ``=``.  Hard line breaks
    are kept as they are (LF or CRLF).  With ``encoded_word``, ``_`` is a
    space (RFC 2047 §4.2) -- mapped after the white-space strip so a final
    ``_`` is kept (tcllib maps it before and loses it).

    :param text: str.
    :param at_end: ``False`` when more text follows (streamed decoding):
        then the text is whole lines and a final ``=`` is not special.
    :returns: str; decoded octets are U+0000-U+00FF chars.
    """
    text = _WS_EOL.sub("", text)
    if at_end:
        text = text.rstrip(" \t")
    if encoded_word:
        text = text.replace("_", " ")
    elif at_end and text.endswith("="):
        text = text[:-1]
    if "=" not in text:
        return text
    text = _SOFT_BREAK.sub("", text)
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), text)
