"""The user header table of one MIME part, kept as tcllib keeps it.

tcllib stores per part an ordered list of lower-case names (first-seen
spelling kept for output) and, per name, a list of values; ``getheader``,
``copymessage`` and ``setheader`` all follow that order.  Content-Type,
Content-Transfer-Encoding and MIME-Version are not in this table: they are
properties of the part (see :mod:`.model`).
"""
from __future__ import annotations

import re
from itertools import chain
from operator import itemgetter

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Dict, Iterable, Iterator, List, Tuple

__all__ = ["Headers", "HeaderValueError", "ScriptValue", "check_header_value", "check_header_name",
           "valid_field_name", "one_line_values", "fold_long_lines", "visible", "MAX_LINE", "TCL_SPACE", "tcl_trim"]

#: Longest line RFC 5322 §2.1.1 / RFC 5321 §4.5.3.1.6 allow, in octets,
#: without its CRLF.
MAX_LINE = 998

#: Characters Tcl 8.6's ``string trim`` removes by default.
TCL_SPACE = ("\t\n\v\f\r \x00\x85\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004"
             "\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f"
             "\u3000\ufeff")


def tcl_trim(s: str) -> str:
    """``string trim $s`` (Tcl 8.6 default character set)."""
    return s.strip(TCL_SPACE)


class ScriptValue(str):
    """A header value the script gave as text (``-header``, ``setheader``,
    ``sendmessage -header``): the header writer encodes its non-ASCII text
    on output (:mod:`.headerwriter`).  Values read from a parsed message are
    plain ``str`` and are written back as they were (their charset is not
    known, and a re-encoded field would break e.g. a DKIM signature)."""

    __slots__ = ()


class HeaderValueError(ValueError):
    """A header name or value that would break the header section
    (injection of a new field, bare CR, NUL)."""


def visible(s: str) -> str:
    """``s`` with backslash, CR, LF and NUL shown as ``\\ \\r \\n \\0``
    (the smtp layer's option errors write values the same way)."""
    return (s.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
            .replace("\x00", "\\0"))


def valid_field_name(name: str) -> bool:
    """RFC 5322 §3.6.8: ``field-name = 1*ftext``, ftext = printable US-ASCII
    (33-126) except colon.  The same rule as ``smtp::sendmessage -header``."""
    return _FIELD_NAME.fullmatch(name) is not None


# ftext (RFC 5322 §3.6.8): 33-57 and 59-126
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# what check_header_value looks at: line breaks and NUL
_BREAK_OR_NUL = re.compile(r"[\r\n\x00]")


def check_header_name(name: str, option: str = "header") -> None:
    """Refuse a header field name that is not RFC 5322 §3.6.8 ``ftext``
    (tcllib writes ``X: y: v`` for ``setheader $t "X: y" v``, and a name with
    a line break forges fields).

    :param option: how the caller names the name in the message
        (``-header`` for ``initialize -header``, ``header`` for ``setheader``).
    :raises HeaderValueError: ``OPTION name "..." is not a valid header
        field name (RFC 5322 §3.6.8)``.
    """
    if not valid_field_name(name):
        raise HeaderValueError('%s name "%s" is not a valid header field name (RFC 5322 §3.6.8)'
                               % (option, visible(name)))


def check_header_value(name: str, value: str) -> None:
    """Refuse what would let a value start a new header field.

    RFC 5322 §2.2 / §2.2.3: CR and LF may only occur as part of a fold
    (line break followed by SP or HTAB); NUL never.  tcllib writes such
    values verbatim (header injection, bare CR on the wire); we refuse them.

    :raises HeaderValueError: with a message naming the field.
    """
    if _BREAK_OR_NUL.search(value) is None and _BREAK_OR_NUL.search(name) is None:
        return  # the usual case: a one-line value (C speed)
    if _BREAK_OR_NUL.search(name) is not None:
        raise HeaderValueError('header name "%s" contains a line break or NUL (header injection)'
                               % visible(name))
    if "\x00" in value:
        raise HeaderValueError("value of header %s contains NUL" % name)
    n = len(value)
    # (one pass: looking for the next CR and the next LF from each break
    # scanned the rest of a value once per fold -- quadratic for a parsed
    # field of many thousand continuation lines)
    for m in _BREAK.finditer(value):
        j = m.end()
        if m.group() == "\r":
            raise HeaderValueError("value of header %s contains a bare CR" % name)
        if j >= n or value[j] not in " \t":
            raise HeaderValueError(
                "value of header %s contains a line break not followed by"
                " white space (header injection)" % name)


_BREAK = re.compile(r"\r\n|\r|\n")
_name_of = itemgetter(0)


def one_line_values(values: Iterable[str]) -> bool:
    """Whether no value holds a line break or NUL: then
    :func:`check_header_value` passes each of them with any valid field
    name (one search at C speed for them all)."""
    return _BREAK_OR_NUL.search(" ".join(values)) is None


def _octet_offsets(line: str) -> List[int]:
    # o[i] = UTF-8 length of line[:i] (lone surrogates count 3, as
    # "surrogatepass" writes them)
    o = [0]
    n = 0
    for c in line:
        k = ord(c)
        n += 1 if k < 0x80 else 2 if k < 0x800 else 3 if k < 0x10000 else 4
        o.append(n)
    return o


def _fold_line(line: str, limit: int, first: int = 1) -> str:
    if len(line) * 4 <= limit:
        return line  # short whatever its chars (UTF-8: at most 4 octets each)
    o = _octet_offsets(line)
    end = len(line)
    if o[end] <= limit:
        return line
    # break before a white space char that follows a non-white one (so every
    # piece keeps some text and a continuation starts with the WSP), at
    # ``first`` or later
    cands = [i for i in range(max(first, 1), end)
             if line[i] in " \t" and line[i - 1] not in " \t"]
    pieces: List[str] = []
    start = k = 0
    while o[end] - o[start] > limit:
        best = None
        while k < len(cands) and o[cands[k]] - o[start] <= limit:
            if cands[k] > start:
                best = cands[k]
            k += 1
        if best is None:
            while k < len(cands) and cands[k] <= start:
                k += 1
            if k >= len(cands):
                break  # no white space left: the rest stays one long line
            best = cands[k]
            k += 1
        pieces.append(line[start:best])
        start = best
    pieces.append(line[start:])
    return "\n".join(pieces)


def fold_long_lines(field: str, limit: int = MAX_LINE) -> str:
    """Fold every physical line of a header field (``Name: value``, with
    ``"\\n"`` + WSP folds) longer than ``limit`` octets (UTF-8) at white
    space (RFC 5322 §2.2.3, §2.1.1).  Lines are cut as late as possible
    before ``limit``; a line without usable white space is left as is
    (COMPATIBILITY.md: the smtp layer refuses to send it)."""
    if len(field) * 4 <= limit:
        return field
    lines = field.split("\n")
    # never right after "Name:": that only moves the value to the next line
    lines[0] = _fold_line(lines[0], limit, lines[0].find(":") + 2)
    return "\n".join(lines[:1] + [_fold_line(line, limit) for line in lines[1:]])




class Headers:
    """Ordered, case-insensitive multi-map ``name -> [values]``.

    Kept as one dict ``lower-case name -> [(spelling, value), ...]``: the
    dict's insertion order is tcllib's first-seen order of names (a write
    keeps a name's place, a delete forgets it), and every pair of a name
    carries the name's first spelling.  So the output walk, the copy and
    the ASCII test run at C speed (``chain``/``map``), with no Python frame
    per header: a message's headers are walked several times per send.
    A name's list is never empty.
    """

    __slots__ = ("_fields",)

    def __init__(self) -> None:
        self._fields: Dict[str, List[Tuple[str, str]]] = {}

    def copy(self) -> "Headers":
        h = Headers.__new__(Headers)  # (its dict is set here: no __init__ call)
        fields = self._fields
        h._fields = dict(zip(fields, map(list, fields.values())))
        return h

    def names(self) -> List[str]:
        """Names as first spelled, in first-seen order (``getheader -names``)."""
        return [pairs[0][0] for pairs in self._fields.values()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._fields

    def get(self, name: str) -> List[str]:
        """All values of ``name`` (any case). :raises KeyError: if absent."""
        return [v for _, v in self._fields[name.lower()]]

    def items(self) -> Iterator[Tuple[str, str]]:
        """``(spelling, value)`` for every value, in output order."""
        return iter(self.pairs())

    def pairs(self) -> List[Tuple[str, str]]:
        """``list(self.items())`` (a new list: the caller's to change)."""
        return list(chain.from_iterable(self._fields.values()))

    def all_ascii(self) -> bool:
        """Whether every value is ASCII text.  (Names are tested too: a
        parsed message's non-ASCII name makes the answer False, which only
        sends a caller to the per-value walk.)"""
        return all(map(str.isascii, chain.from_iterable(chain.from_iterable(self._fields.values()))))

    def append(self, name: str, value: str) -> None:
        """Add one value (a new name goes last, keeping this spelling)."""
        lower = name.lower()
        pairs = self._fields.get(lower)
        if pairs is None:
            self._fields[lower] = [(name, value)]
        else:
            pairs.append((pairs[0][0], value))

    def extend(self, pairs: Iterable[Tuple[str, str]]) -> None:
        """:meth:`append` each ``(name, value)`` in turn."""
        fields = self._fields
        pairs = list(pairs)
        # (the usual call) every name new and given once: each gets its
        # one-pair list, in the given order, at C speed
        new = dict(zip(map(str.lower, map(_name_of, pairs)), map(list, zip(pairs))))
        if len(new) == len(pairs) and fields.keys().isdisjoint(new):
            fields.update(new)
            return
        for pair, lower in zip(pairs, map(str.lower, map(_name_of, pairs))):
            had = fields.get(lower)
            if had is None:
                fields[lower] = [pair]
            else:
                had.append((had[0][0], pair[1]))

    def write(self, name: str, value: str) -> None:
        """Replace all values of ``name`` by ``value`` (position kept)."""
        lower = name.lower()
        pairs = self._fields.get(lower)
        self._fields[lower] = [(name if pairs is None else pairs[0][0], value)]

    def delete(self, name: str) -> None:
        """Remove ``name`` and its values. :raises KeyError: if absent."""
        del self._fields[name.lower()]

    def discard(self, lower_names: Iterable[str]) -> None:
        """Remove each of ``lower_names`` (lower-case) that is present."""
        fields = self._fields
        for lower in fields.keys() & lower_names:  # (usually none: one set operation)
            del fields[lower]
