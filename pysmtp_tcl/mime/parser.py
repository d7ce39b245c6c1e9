"""Parsing messages into :class:`~.model.Entity` trees, as tcllib's
``mime::initialize -string`` / ``-file`` (without ``-canonical``) do.

Header section (RFC 5322 §2.2): lines up to the first empty line; a line
starting with SP/TAB continues the previous field (the break is kept as
``"\\n"`` in the value); a line ending in CR has the CR removed (tcllib
1.7.0 appends a stray ``]`` there -- fixed, shared case 09).  Without a
Content-Type the part is ``text/plain; charset=us-ascii``; an unparsable
Content-Type is ignored.  multipart/* is split at ``--boundary`` lines
(RFC 2046 §5.1.1), message/* has one subordinate.

Strings are parsed as lists of lines (tcllib: every line of a subordinate
loses one trailing CR).  Files are parsed as octet windows (``offset``,
``count``) that bodies are read from later, so a large file is never held
in memory; header values from files are octets as chars, as tcllib reads
them from a binary channel.
"""
from __future__ import annotations

import os
from typing import Callable, BinaryIO, List, Optional

from .contenttype import ContentTypeError, boundary_of, parse_content_type
from .generator import open_body_file
from .headers import TCL_SPACE, tcl_trim
from .model import Entity, MimeError
from .transfer import TransferError, base64_decode, qp_decode

__all__ = ["parse_string", "parse_file"]


class _HeaderState:
    """Collects one part's header fields into an entity."""

    def __init__(self, entity: Entity) -> None:
        self.e = entity
        self.has_type = False

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


def _boundary(e: Entity) -> str:
    b = boundary_of(e.params)
    if b == "":
        raise MimeError("boundary parameter is missing in %s" % e.content)
    if tcl_trim(b) == "":
        raise MimeError("boundary parameter is empty in %s" % e.content)
    return b


# --- strings ----------------------------------------------------------------

def parse_string(text: str) -> Entity:
    """``mime::initialize -string text``.

    :param text: the message (LF or CRLF line ends; str, octets as
        U+0000-U+00FF chars).
    :raises MimeError: tcllib's messages (``improper line in header: ...``,
        ``end-of-string encountered while parsing multipart/x``,
        ``boundary parameter is missing in ...``, ...).
    """
    return _parse_lines(text.split("\n"))


def _read_header(next_line: Callable[[], str], hs: "_HeaderState") -> None:
    """Read header lines until the first blank one (``next_line`` returns
    ``""`` for a blank line and at the end), unfolding continuation lines
    (RFC 5322 §2.2.3; a final CR is dropped, so CRLF input works) and
    handing each field to ``hs``."""
    vline = ""
    while True:
        line = next_line()
        if line.endswith("\r"):
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


def _parse_lines(lines: List[str]) -> Entity:
    e = Entity()
    cur = 0

    def next_line() -> str:
        nonlocal cur
        if cur >= len(lines):
            return ""
        cur += 1
        return lines[cur - 1]

    _read_header(next_line, _HeaderState(e))

    if not e.content.startswith("multipart/"):
        e.string = "\n".join(lines[cur:])
        if e.content.startswith("message/"):
            body = e.string
            try:
                if e.encoding == "base64":
                    body = base64_decode(body).decode("latin-1")
                elif e.encoding == "quoted-printable":
                    body = qp_decode(body)
            except TransferError as err:
                raise MimeError(str(err))
            e.value, e.parts, e.dynamic = "parts", [_parse_lines(body.split("\n"))], True
        return e

    e.value, e.dynamic = "parts", True
    boundary = _boundary(e)
    opener, closer = "--" + boundary, "--" + boundary + "--"
    trace: List[str] = []
    part: List[str] = []
    in_part = force_octet = False
    more = True
    while more:
        if cur >= len(lines):
            raise MimeError("end-of-string encountered while parsing %s" % e.content)
        line = lines[cur]
        cur += 1
        if line.endswith("\r"):
            line = line[:-1]
        if not line.startswith(opener):
            if in_part:
                part.append(line)
            continue
        trace.append(line)
        if not in_part:
            if line == opener:
                in_part, part = True, []
                continue
            if line != closer:
                continue
            # a closing delimiter before any opening one (mime-3.7): try
            # the lines seen so far as a part of unknown type
            in_part, part, force_octet = True, list(trace), True
        more = line != closer
        if more and line != opener:
            part.append(line)
            continue
        _add_child(e, lambda lines=part: _parse_lines(lines), force_octet)
        part, force_octet = [], False
    return e


def _add_child(e: Entity, make, force_octet: bool) -> None:
    e.parts_listed = True  # tcllib: state(parts) exists even if the child is dropped
    if force_octet:
        try:
            child = make()
        except MimeError:
            return
        child.content = "application/octet-stream"
    else:
        child = make()
    e.parts.append(child)


# --- files ------------------------------------------------------------------

def parse_file(path: str) -> Entity:
    """``mime::initialize -file path``: parse without loading bodies.

    :raises MimeError: as :func:`parse_string` (``end-of-file`` instead of
        ``end-of-string``), or ``couldn't open "path": ...``.
    """
    with open_body_file(path) as f:
        size = os.fstat(f.fileno()).st_size
        return _parse_window(f, path, 0, size)


def _gets(f: BinaryIO) -> Optional[str]:
    raw = f.readline()
    if not raw:
        return None
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    return raw.decode("latin-1")


def _parse_window(f: BinaryIO, path: str, offset: int, count: int) -> Entity:
    e = Entity()
    e.value, e.file, e.offset, e.count = "file", path, offset, count
    f.seek(offset)
    pos, last = offset, offset + count - 1

    def next_line() -> str:
        nonlocal pos
        if pos > last:
            return ""
        got = _gets(f) or ""
        if got:
            pos += len(got) + 1
        return got

    _read_header(next_line, _HeaderState(e))

    if not e.content.startswith("multipart/"):
        x = f.tell()
        e.count += e.offset - x
        e.offset = x
        if e.content.startswith("message/"):
            e.value, e.dynamic = "parts", True
            e.parts = [_parse_window(f, path, e.offset, e.count)]
        return e

    e.value, e.dynamic = "parts", True
    boundary = _boundary(e)
    opener, closer = "--" + boundary, "--" + boundary + "--"
    pos = initial = f.tell()
    start = initial
    in_part = force_octet = False
    more = True
    while more:
        if pos > last:
            # ran past the part without a closing delimiter: fake one and
            # take the rest as a part of unknown type (tcllib)
            line, force_octet = closer, True
        else:
            got = _gets(f)
            if got is None:
                raise MimeError("end-of-file encountered while parsing %s" % e.content)
            line = got
        x = len(line)
        pos += x + 1
        if line.endswith("\r") or line == "":
            line, crlf = line[:-1], 2
        else:
            crlf = 1
        if not line.startswith(opener):
            continue
        if not in_part:
            if line == opener:
                in_part, start = True, pos
                continue
            if line != closer:
                continue
            in_part, start, force_octet = True, initial, True
        more = line != closer
        if more and line != opener:
            continue
        cnt = max(0, pos - (start + x + crlf + 1))
        _add_child(e, lambda s=start, c=cnt: _parse_window(f, path, s, c), force_octet)
        f.seek(pos)
        start, force_octet = pos, False
    return e
