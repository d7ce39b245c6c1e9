"""Finding the body parts of a multipart entity (RFC 2046 §5.1.1).

Works on a window ``[start, end)`` of a ``str`` (``initialize -string``) or
of a bytes-like object (an ``mmap`` of an ``initialize -file`` message), so
both give the same parts for the same octets.

The rules (RFC 2046 §5.1.1, with tcllib's and Python ``email``'s recovery):

- A delimiter line starts a line, is ``--`` + boundary, optionally ``--``
  (the close delimiter), then transport padding (SP/TAB, added by gateways)
  and the line end (CRLF, LF, or the end of the window).  A line that only
  *starts* with ``--boundary`` (a nested boundary that has this one as a
  prefix) is content.
- The line break before a delimiter belongs to the delimiter: a part ends
  before it, every other octet (CRs included) is the part's.
- Text before the first delimiter (preamble) and after the close delimiter
  (epilogue) is not a part.
- No close delimiter: the last part runs to the end of the window, less a
  final line break; it is *truncated* (the caller labels it, as tcllib's
  ``-file`` parser does: application/octet-stream, mime.test 3.8).
- A close delimiter before any opening one, or no delimiter at all: the
  text before it (the whole body) is one truncated part (tcllib's ``-file``
  parser, mime.test 3.7).
"""
from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import List, Tuple, Union
    Buffer = Union[str, bytes, bytearray, memoryview]

__all__ = ["split_parts", "Parts"]


Parts = namedtuple("Parts", "windows truncated opened")
Parts.__doc__ = """Where the parts are.

:ivar windows: (list of ``(int, int)``) ``(start, end)`` of each part
    (header and body), in order.
:ivar truncated: (bool) the last window has no close delimiter after it (or
    there was no opening delimiter): it may be incomplete.
:ivar opened: (bool) an opening delimiter was found.
"""


def _consts(data: Buffer):
    if isinstance(data, str):
        return "\n", "\r", "-", " \t"
    return b"\n", b"\r", b"-", b" \t"


def _delimiters(data: Buffer, start: int, end: int, dash_boundary):
    """Yield ``(line_start, next_line_start, is_close)`` for each delimiter
    line in ``[start, end)``."""
    nl, cr, dash, pad = _consts(data)
    n = len(dash_boundary)
    pos = start
    while True:
        i = data.find(dash_boundary, pos, end)
        if i < 0:
            return
        pos = i + 1
        if i > start and data[i - 1:i] != nl:
            continue  # not at the start of a line
        j = i + n
        close = data[j:j + 2] == dash + dash
        if close:
            j += 2
        k = data.find(nl, j, end)
        stop = end if k < 0 else k
        rest = data[j:stop]
        if rest[-1:] == cr:
            rest = rest[:-1]
        if rest.strip(pad):
            continue  # "--boundaryX...": a longer boundary, or content
        yield i, (end if k < 0 else k + 1), close
        pos = end if k < 0 else k + 1


def _before_break(data: Buffer, floor: int, i: int) -> int:
    """The end of a part whose delimiter line starts at ``i``: before the
    CRLF (or LF) that ends the previous line, never below ``floor``."""
    nl, cr, _, _ = _consts(data)
    if i > floor and data[i - 1:i] == nl:
        i -= 1
        if i > floor and data[i - 1:i] == cr:
            i -= 1
    return max(i, floor)


def _less_final_break(data: Buffer, floor: int, end: int) -> int:
    nl, cr, _, _ = _consts(data)
    if end > floor and data[end - 1:end] == nl:
        end -= 1
        if end > floor and data[end - 1:end] == cr:
            end -= 1
    return end


def split_parts(data: Buffer, start: int, end: int, boundary: str) -> Parts:
    """The parts of the multipart body ``data[start:end]``.

    :param data: ``str`` or bytes-like (then ``boundary`` is taken as
        Latin-1 octets, as tcllib reads a header from a binary channel).
    :param boundary: the ``boundary`` parameter (non-empty).
    :returns: :class:`Parts`; there is always at least one window.
    """
    db = "--" + boundary
    if not isinstance(data, str):
        db = db.encode("latin-1", "replace")
    windows: List[Tuple[int, int]] = []
    part_start = None
    for line_start, line_next, close in _delimiters(data, start, end, db):
        if part_start is None:
            if close:  # a close delimiter before any opening one
                return Parts([(start, _before_break(data, start, line_start))], True, False)
            part_start = line_next
            continue
        windows.append((part_start, _before_break(data, part_start, line_start)))
        if close:
            return Parts(windows, False, True)
        part_start = line_next
    if part_start is None:  # no delimiter at all: the whole body
        return Parts([(start, _less_final_break(data, start, end))], True, False)
    windows.append((part_start, _less_final_break(data, part_start, end)))
    return Parts(windows, True, True)
