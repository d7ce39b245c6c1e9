"""Parsing messages into :class:`~.model.Entity` trees, as tcllib's
``mime::initialize -string`` / ``-file`` (without ``-canonical``) do.

One code path for both: the message is a ``str`` (``-string``) or an
``mmap`` of the file (``-file``), and every part is a window of it, so the
same octets give the same tree.  File parts keep their window (``offset``,
``count``) and bodies are read from the file later: a large file is never
held in memory.  Header values from files are octets as chars, as tcllib
reads them from a binary channel.

Header section (RFC 5322 §2.2): lines up to the first empty line; a line
starting with SP/TAB continues the previous field (the break is kept as
``"\\n"`` in the value, so the field regenerates folded); a line ending in
CR has the CR removed (tcllib 1.7.0 appends a stray ``]`` there -- fixed,
shared case 09).  A line that is not a field is tcllib's error
(``improper line in header: ...``; mime.test 3.3 and 3.5 pin it).  Without
a Content-Type the part is ``text/plain; charset=us-ascii``; an unparsable
Content-Type is ignored (RFC 2045 §5.2).

Bodies: multipart/* is split by :mod:`.multipart` (RFC 2046 §5.1.1; every
octet of a part is kept, only the line break before a delimiter is the
delimiter's).  A multipart part whose parts cannot be delimited (no usable
``boundary``, no opening delimiter, no close delimiter) gets its text as a
part of type application/octet-stream, as tcllib's ``-file`` parser does,
instead of an error.  message/* has one subordinate, parsed from the body
decoded first if it carries a base64/quoted-printable label.
"""
from __future__ import annotations

import mmap
import os

from .contenttype import ContentTypeError, boundary_of, parse_content_type
from .generator import open_body_file
from .headers import TCL_SPACE, tcl_trim
from .model import Entity, MimeError
from .multipart import split_parts
from .transfer import TransferError, base64_decode, qp_decode

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Callable, List, Optional, Tuple, Union
    Buffer = Union[str, bytes, mmap.mmap]

__all__ = ["parse_string", "parse_file", "parse_lines"]


class _HeaderState:
    """Collects one part's header fields into an entity."""

    def __init__(self, entity: Entity, read_type: bool = True) -> None:
        self.e = entity
        self.has_type = False
        self.read_type = read_type  # False beyond MAX_NESTING (tcllib)

    def field(self, vline: str) -> None:
        x = vline.find(":")
        mixed = vline[:x].rstrip(TCL_SPACE) if x > 0 else ""
        if x <= 0 or mixed == "":
            raise MimeError("improper line in header: " + vline)
        value = tcl_trim(vline[x + 1:])
        lower = mixed.lower()
        e = self.e
        if lower == "content-type":
            if self.has_type:
                raise MimeError("multiple Content-Type fields starting with " + vline)
            if self.read_type:
                try:
                    e.content, e.params = parse_content_type(value)
                    self.has_type = True
                except ContentTypeError:
                    pass  # tcllib ignores a Content-Type it cannot parse
        elif lower == "content-md5":
            pass
        elif lower == "content-transfer-encoding":
            if e.encoding and e.encoding != value.lower():
                raise MimeError("multiple Content-Transfer-Encoding fields starting with " + vline)
            e.encoding = value.lower()
        elif lower == "mime-version":
            e.version = value
        else:
            e.headers.append(mixed, value)

    def done(self) -> None:
        if not self.has_type:
            self.e.content = "text/plain"
            self.e.params = [("charset", "us-ascii")]


def _read_header(next_line: Callable[[], Optional[str]], hs: _HeaderState) -> None:
    """Read header lines until the first blank one (``next_line`` returns
    ``None`` at the end of the window), unfolding continuation lines
    (RFC 5322 §2.2.3; a final CR is dropped, so CRLF input works) and
    handing each field to ``hs``."""
    vline = ""
    while True:
        line = next_line()
        if line is None:
            line = ""
        elif line.endswith("\r"):
            line = line[:-1]
        blank = line == ""
        if not blank and line[:1] in (" ", "\t"):
            vline += "\n" + line
            continue
        if vline == "":
            if blank:
                break
            vline = line
            continue
        hs.field(vline)
        if blank:
            break
        vline = line
    hs.done()


#: The deepest nesting level (the message itself is level 0) whose
#: Content-Type is read.  tcllib's Content-Type parser meets Tcl's nesting
#: limit (``interp recursionlimit``, 1000) there: a part deeper than this is
#: ``text/plain; charset=us-ascii`` with its other fields and its whole body
#: as text (its subordinates unparsed), with ``-string`` and ``-file``
#: alike.  We do the same, at the same level, so a hostile message nested
#: thousands deep gives tcllib's tree and nothing is lost.
MAX_NESTING = 495


class _Work:
    """One part still to parse: ``parser.data[start:end]``, to be stored in
    ``slot[index]``; ``guard`` is the nearest enclosing part that may be
    incomplete (see :meth:`_Parser.parse`)."""

    __slots__ = ("parser", "slot", "index", "start", "end", "level", "guard", "forced", "mark")

    def __init__(self, parser: "_Parser", slot: list, index: int, start: int, end: int,
                 level: int, guard: Optional["_Work"], forced: bool) -> None:
        self.parser, self.slot, self.index = parser, slot, index
        self.start, self.end, self.level = start, end, level
        self.guard, self.forced = guard, forced
        self.mark = 0  # stack height when this (forced) part was taken up


class _Parser:
    """Makes entities from windows of one message buffer."""

    def __init__(self, data: Buffer, path: Optional[str], octets: bool = False) -> None:
        self.data = data
        self.path = path  # None: a str message (-string)
        # header text is octets as chars (a file, or a decoded body)
        self.octets = octets or path is not None
        self.nl = "\n" if isinstance(data, str) else b"\n"

    def _text(self, a: int, b: int) -> str:
        s = self.data[a:b]
        return s if isinstance(s, str) else s.decode("latin-1")

    def parse(self, start: int, end: int) -> Entity:
        """The part in ``data[start:end]`` and its subordinates.

        Iterative (depth first, in order), so the Python stack does not
        limit the nesting a message may have.  A part that may be
        incomplete (the last part of a multipart without a close
        delimiter) is parsed with everything in it; if its header, or a
        header anywhere in it, does not parse, it becomes one part holding
        its text (:meth:`_raw_part`) -- the nearest such part takes the
        error, as a ``try`` around a recursive call would.

        :raises MimeError: for a header line that is not a field, two
            different Content-Type or Content-Transfer-Encoding fields, or
            a subordinate with such a header (tcllib's texts), outside any
            part that may be incomplete.
        """
        root: List[Optional[Entity]] = [None]
        stack = [_Work(self, root, 0, start, end, 0, None, False)]
        while stack:
            w = stack.pop()
            if w.forced:
                w.mark = len(stack)
            try:
                w.parser._part(w, stack)
            except MimeError:
                g = w if w.forced else w.guard
                if g is None:
                    raise
                del stack[g.mark:]
                g.slot[g.index] = g.parser._raw_part(g.start, g.end)
        return root[0]

    def _part(self, w: _Work, stack: List[_Work]) -> None:
        """Parse one part's header, store the entity, queue its
        subordinates."""
        e = Entity()
        e.header_octets = self.octets
        pos, end = w.start, w.end

        def next_line() -> Optional[str]:
            nonlocal pos
            if pos >= end:
                return None
            k = self.data.find(self.nl, pos, end)
            stop = end if k < 0 else k
            line = self._text(pos, stop)
            pos = end if k < 0 else k + 1
            return line

        _read_header(next_line, _HeaderState(e, read_type=w.level <= MAX_NESTING))
        multipart = e.content.startswith("multipart/")
        if self.path is not None:
            e.value, e.file, e.offset, e.count = "file", self.path, pos, end - pos
        elif not multipart:  # (a multipart's body lives in its parts)
            e.value, e.string = "string", self._text(pos, end)
        guard = w if w.forced else w.guard
        children: List[_Work] = []
        if multipart:
            children = self._multipart(e, pos, end, w.level + 1, guard)
        elif e.content.startswith("message/"):
            children = [self._message(e, pos, end, w.level + 1, guard)]
        if w.forced:
            # tcllib's -file parser labels a part that may be cut so (after
            # its own type decided how to parse it)
            e.content = "application/octet-stream"
        w.slot[w.index] = e
        stack.extend(reversed(children))

    def _message(self, e: Entity, start: int, end: int, level: int,
                 guard: Optional[_Work]) -> _Work:
        e.value, e.parts, e.dynamic = "parts", [None], True
        if e.encoding in ("base64", "quoted-printable"):
            # RFC 2045 §6.4 forbids encoding message/*; when a sender did,
            # the message is what the decoded octets say
            body = self._text(start, end)
            try:
                if e.encoding == "base64":
                    body = base64_decode(body).decode("latin-1")
                else:
                    body = qp_decode(body)
            except TransferError as err:
                raise MimeError(str(err))
            e.parts_label = "7bit" if body.isascii() else "8bit"
            return _Work(_Parser(body, None, octets=True), e.parts, 0, 0, len(body), level, guard,
                         False)
        return _Work(self, e.parts, 0, start, end, level, guard, False)

    def _multipart(self, e: Entity, start: int, end: int, level: int,
                   guard: Optional[_Work]) -> List[_Work]:
        e.value, e.dynamic, e.parts_listed = "parts", True, True
        if e.encoding in ("base64", "quoted-printable"):
            e.parts_label = "7bit" if self.data[start:end].isascii() else "8bit"
        boundary = boundary_of(e.params)
        if tcl_trim(boundary) == "":
            # no usable boundary (tcllib: "boundary parameter is missing /
            # empty in ..."): the body is one part of unknown type
            windows: List[Tuple[int, int]] = [(start, end)]
            truncated = True
            e.defects.append("NoBoundaryInMultipartDefect")
        else:
            windows, truncated, opened = split_parts(self.data, start, end, boundary)
            if truncated:
                e.defects.append("CloseBoundaryNotFoundDefect" if opened
                                 else "StartBoundaryNotFoundDefect")
        e.parts = [None] * len(windows)
        last = len(windows) - 1
        return [_Work(self, e.parts, i, a, b, level, guard, truncated and i == last)
                for i, (a, b) in enumerate(windows)]

    def _raw_part(self, a: int, b: int) -> Entity:
        """A part that may be incomplete whose header (or a header inside
        it) does not parse: tcllib's ``-file`` parser drops it; we keep its
        text as the body of an application/octet-stream part without
        fields."""
        child = Entity()
        child.params = [("charset", "us-ascii")]
        child.defects.append("UnparsableHeaderDefect")
        if self.path is None:
            child.value, child.string = "string", self._text(a, b)
        else:
            child.value, child.file, child.offset, child.count = "file", self.path, a, b - a
        child.content = "application/octet-stream"
        return child


def parse_string(text: str) -> Entity:
    """``mime::initialize -string text``.

    :param text: the message (LF or CRLF line ends; str, octets as
        U+0000-U+00FF chars).
    :raises MimeError: tcllib's messages (``improper line in header: ...``,
        ``multiple Content-Type fields starting with ...``, ...).
    """
    return _Parser(text, None).parse(0, len(text))


def parse_lines(lines: List[str]) -> Entity:
    """tcllib's internal ``initialize -lineslist``: the lines joined by LF."""
    return parse_string("\n".join(lines))


def parse_file(path: str) -> Entity:
    """``mime::initialize -file path``: parse without loading bodies (the
    file is mapped while it is parsed; parts keep octet windows).

    :raises MimeError: as :func:`parse_string`, or ``couldn't open "path":
        ...`` (Tcl's text).
    """
    with open_body_file(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return _Parser(b"", path).parse(0, 0)
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _Parser(mm, path).parse(0, size)
