"""Writing header text that needs RFC 2047 encoded-words, folded.

:class:`Folder` lays a field out line by line (RFC 5322 §2.2.3: a fold is
a line break inserted before existing white space); :func:`add_encoded`
adds text as UTF-8 encoded-words sized to the room left on the line, so
no encoded-word is longer than 75 characters and no line holding one
longer than 76 (RFC 2047 §2), and no character is split across two words
(§5).  The Q form uses only the characters RFC 2047 §5 (3) allows in a
``phrase`` (letters, digits, ``! * + - /``), so the same words are safe in
unstructured text, comments and display names; B is used instead when it
is shorter.

Only fields that hold non-ASCII text are written this way (see
:mod:`.headerwriter`); every other field keeps tcllib's layout.
"""
from __future__ import annotations

import base64

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import List

__all__ = ["Folder", "add_encoded", "encoded_size", "q_piece", "LINE", "WORD"]

#: Longest line holding an encoded-word, and longest encoded-word (RFC 2047 §2).
LINE = 76
WORD = 75

_PREFIX = "=?UTF-8?%s?"
_OVERHEAD = len("=?UTF-8?Q?") + len("?=")  # 12
_MIN_ROOM = 12  # encoded characters worth starting a word for at a line end
_PHRASE_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


def _utf8(ch: str) -> bytes:
    return ch.encode("utf-8", "surrogatepass")


def q_piece(ch: str) -> str:
    """One character in RFC 2047 Q form, phrase-safe (§4.2, §5 (3))."""
    if ch in _PHRASE_SAFE:
        return ch
    if ch == " ":
        return "_"
    return "".join("=%02X" % b for b in _utf8(ch))


class Folder:
    """Builds ``Name: value`` as lines of at most :data:`LINE` characters
    where white space allows.  Text is added as unbreakable chunks, each
    preceded by the white space it follows (``""``: glued to the previous
    chunk); a line is folded only at such white space.

    A line is kept as a list of pieces (appending to one growing string
    copied it each time: quadratic for a long unbreakable line, e.g. an
    address of thousands of labels)."""

    def __init__(self, name: str) -> None:
        self._done: List[str] = []          # finished lines
        self._cur: List[str] = [name + ":"]  # pieces of the current line
        self._used = self._head = len(name) + 1
        self._first = True
        self._blank = True  # the current line holds only its white space

    @property
    def used(self) -> int:
        """Characters on the current line."""
        return self._used

    def room(self, ws: str) -> int:
        """Characters left on the current line after ``ws``."""
        return LINE - self._used - len(ws)

    def fresh(self) -> bool:
        """Nothing but ``Name:`` or folding white space on the line yet
        (folding there would only make an empty line, RFC 5322 §3.2.2)."""
        if self._first:
            return self._used == self._head
        return self._blank

    def fold(self, ws: str) -> None:
        """Start a new line with ``ws`` (a single space if empty)."""
        self._done.append("".join(self._cur))
        ws = ws or " "
        self._cur, self._used, self._first, self._blank = [ws], len(ws), False, True

    def append(self, text: str) -> None:
        """Glue ``text`` to the current line (no fold)."""
        if text:
            self._cur.append(text)
            self._used += len(text)
            if self._blank and text.strip(" \t"):
                self._blank = False

    def add(self, ws: str, chunk: str, reserve: int = 0) -> None:
        """Append ``ws + chunk``, folding before ``ws`` when the line would
        grow beyond :data:`LINE` (less ``reserve`` characters the caller
        will glue after the chunk, e.g. a list's ``,``) and ``ws`` is a
        place to fold."""
        if ws and self._used + len(ws) + len(chunk) + reserve > LINE and not self.fresh():
            self.fold(ws)
        else:
            self.append(ws)
        self.append(chunk)

    def text(self) -> str:
        """The field, folds as ``"\\n"`` + white space (tcllib's line ends)."""
        return "\n".join(self._done + ["".join(self._cur)])


def _b_len(n: int) -> int:
    return (n + 2) // 3 * 4


def add_encoded(folder: Folder, ws: str, text: str, reserve: int = 0) -> None:
    """Add ``text`` as encoded-words after ``ws``: consecutive words are
    separated by a space (a fold point, ignored by decoders between two
    encoded-words, RFC 2047 §6.2).

    :param reserve: characters the caller will glue to the last word (a
        comment's ``)`` and a following ``,``): kept free on its line.
    """
    if not text:
        return
    pieces = [q_piece(c) for c in text]
    octets = [_utf8(c) for c in text]
    # B only when clearly shorter: Q keeps ASCII letters readable
    use_b = _b_len(sum(map(len, octets))) * 6 < sum(map(len, pieces)) * 5
    i, n = 0, len(text)
    while i < n:
        room = min(folder.room(ws), WORD) - _OVERHEAD
        first = _fits(pieces, octets, i, room, use_b)
        if first == n and reserve:
            # the last word: what follows it must fit on its line too
            room = min(folder.room(ws) - reserve, WORD) - _OVERHEAD
            first = _fits(pieces, octets, i, room, use_b)
        if first < n and not folder.fresh() and (
                room < _MIN_ROOM
                or _fits(pieces, octets, i, WORD - _OVERHEAD - reserve, use_b) == n):
            # a line end too close for a useful word, or the rest would fit
            # whole on the next line: fold first rather than split it
            first = i
        if first == i:
            # not even one character fits: continue on a new line
            if not folder.fresh():
                folder.fold(ws)
                ws = ""
                continue
            first = _fits(pieces, octets, i, WORD - _OVERHEAD, use_b) or i + 1
        if use_b:
            body = base64.b64encode(b"".join(octets[i:first])).decode("ascii")
        else:
            body = "".join(pieces[i:first])
        word = _PREFIX % ("B" if use_b else "Q") + body + "?="
        folder.append(ws + word)
        ws = " "
        i = first


def encoded_size(text: str) -> int:
    """Characters :func:`add_encoded` needs for ``text`` on one line (more
    than :data:`WORD` means it will take several words)."""
    q = sum(len(q_piece(c)) for c in text)
    b = _b_len(len(_utf8(text)))
    return _OVERHEAD + (b if b * 6 < q * 5 else q)


def _fits(pieces: List[str], octets: List[bytes], i: int, room: int, use_b: bool) -> int:
    """The end of the longest run of characters from ``i`` whose encoding
    fits in ``room`` characters."""
    size = 0
    j = i
    while j < len(pieces):
        if use_b:
            size += len(octets[j])
            if _b_len(size) > room:
                break
        else:
            size += len(pieces[j])
            if size > room:
                break
        j += 1
    return j
