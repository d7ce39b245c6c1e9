"""SMTP replies as tcllib's ``smtp::hear`` reports them (RFC 5321 §4.2).

tcllib folds a (possibly multi-line) reply into a response array with keys
``code`` (from the first line), ``diagnostic`` (text of the first line) and
``args`` (text of every continuation line, e.g. the EHLO keywords).  Scripts
see that array as a list in Tcl's ``array get`` order, which for these keys is
``diagnostic … args … code …``; :meth:`Reply.as_tcl_list` reproduces it.
"""
from __future__ import annotations

import re

from ..records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import List, Optional, Tuple, Union

#: Longest reply line accepted, in octets (RFC 5321 §4.5.3.1.5 allows 512;
#: generous, but bounded so a hostile server cannot exhaust memory).
MAX_LINE = 8192
#: Most lines one reply may have (continuations included).
MAX_LINES = 1000


class Reply(Record):
    """One server reply.

    :ivar code: reply code (int; 400 for local failures, as tcllib uses).
    :ivar diagnostic: text of the first line, trimmed (str).
    :ivar args: text of each further line, trimmed (list of str).
    :ivar lines: the raw lines (without CRLF) for ``-debug`` and tests.
    :ivar local: True when no server reply was read (timeout, EOF, I/O
        error); ``diagnostic`` then holds tcllib's text for the condition.
    """

    __slots__ = ("code", "diagnostic", "args", "lines", "local", "keys")

    def __init__(self, code: int, diagnostic: str = "", args: Optional[List[str]] = None,
                 lines: Optional[List[str]] = None, local: bool = False,
                 keys: Tuple[str, ...] = ("diagnostic", "args", "code")) -> None:
        self.code = code
        self.diagnostic = diagnostic
        self.args = [] if args is None else args
        self.lines = [] if lines is None else lines
        self.local = local
        self.keys = keys

    def as_tcl_list(self) -> Tuple[str, ...]:
        """Flat key/value tuple in tcllib's order (``array get response``)."""
        out: List[object] = []
        for k in self.keys:
            if k == "args":
                out += ["args", tuple(self.args)]
            elif k == "code":
                out += ["code", str(self.code)]
            else:
                out += ["diagnostic", self.diagnostic]
        return tuple(out)  # type: ignore[return-value]

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 300

    @property
    def well_formed(self) -> bool:
        """A reply a server really sent, with a three-digit code 2xx-5xx
        (RFC 5321 §4.2): not a local failure, not a line tcllib's ``scan``
        merely read a number from."""
        return (not self.local and bool(self.lines) and len(self.lines[0]) >= 3
                and self.lines[0][0] in "2345" and self.lines[0][1:3].isdigit()
                and self.lines[0][3:4] in ("", " ", "-") and self.code == int(self.lines[0][:3]))

    @classmethod
    def failure(cls, diagnostic: str, code: int = 400, keys: Tuple[str, ...] = ("diagnostic", "args", "code")) -> "Reply":
        """A locally generated reply (timeout, EOF, write error)."""
        return cls(code=code, diagnostic=diagnostic, local=True, keys=keys)


class ReplyAssembler:
    """Folds lines into a :class:`Reply` the way ``smtp::hear`` does.

    Feed lines (str, CR/LF already stripped) with :meth:`add`; it returns the
    finished reply or ``None`` while continuation lines are expected.
    """

    def __init__(self) -> None:
        self.reply: Optional[Reply] = None

    def add(self, line: str) -> Optional[Reply]:
        if len(line) < 3:
            # tcllib ends the reply at once, whatever came before.
            return Reply(500, "response too short: " + line, lines=[line])
        if self.reply is None:
            code = _scan_int(line[:3])
            if code is None:
                return Reply(500, "unrecognizable code: " + line, lines=[line])
            self.reply = Reply(code, line[4:].strip(), lines=[line])
        else:
            self.reply.args.append(line[4:].strip())
            self.reply.lines.append(line)
            if len(self.reply.lines) > MAX_LINES:
                return Reply.failure("reply has more than %d lines" % MAX_LINES, code=500)
        if line[3:4] == "-":
            return None
        done, self.reply = self.reply, None
        return done


def _scan_int(s: str) -> Optional[int]:
    """Tcl's ``scan $s %d``: optional sign and leading digits; None if none."""
    if len(s) == 3 and s.isdigit() and s.isascii():  # "250": the usual case
        return int(s)
    s = s.lstrip()
    i = 1 if s[:1] in "+-" else 0
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    if j == i:
        return None
    return int(s[:j])


# A whole reply of the usual shape: continuation lines "DDD-text", then a
# last line "DDD" followed by anything but "-" (RFC 5321 §4.2.1).
_WHOLE_REPLY = re.compile(rb"(?:[0-9]{3}-[^\n]*\n)*[0-9]{3}(?:[^\n-][^\n]*)?\n")


#: parse_reply's results by the reply's octets: a server says the same
#: greeting, EHLO reply and "250 2.1.0 Ok" to every connection.  Bounded:
#: emptied when full (replies carrying queue ids never repeat), and only
#: replies of at most _SEEN_OCTETS are kept (a hostile server's long ones
#: would otherwise stay in memory after the send).
_SEEN: dict = {}
_SEEN_MAX = 128
_SEEN_OCTETS = 2048


def parse_reply(buf: Union[bytes, bytearray]) -> Optional[Tuple[Reply, int]]:
    """The reply at the start of ``buf`` when it is whole and of the usual
    shape (every line a three-digit code, ``-`` after it on each line but
    the last), with the octets it takes: ``(reply, n)``; else ``None``.

    The result is exactly what :class:`ReplyAssembler` makes of the same
    lines (a line ends at LF, a CR before it is dropped, each octet is one
    char), in one pass at C speed; anything else (an incomplete reply, a
    line without a code, more than :data:`MAX_LINES` lines, a line over
    :data:`MAX_LINE` octets) is left to the line-by-line reader.

    The same octets give the same :class:`Reply` object (it is remembered):
    callers must not modify it.
    """
    i = buf.find(b"\n")
    if i < 0 or i > MAX_LINE:
        return None  # a line over the cap: the line-by-line reader refuses it
    raw = bytes(buf[:i + 1])
    reply = _SEEN.get(raw)  # (a whole reply of one line: never the start of a longer one)
    if reply is not None:
        return reply, i + 1
    return _parse_new(buf, i, raw)


def take_reply(buf: bytearray) -> Optional[Reply]:
    """:func:`parse_reply` for a receive buffer: the reply at its start,
    taken off it, or ``None`` (``buf`` left as it is).  A reply seen before
    costs no second call and no result tuple (the reader's usual case)."""
    # Most replies come alone: the buffer is then all of one reply seen
    # before, a memo key.  (A key is the whole of a reply, at most
    # _SEEN_OCTETS long; octets that are exactly a key parse as that reply
    # and nothing more, so this is what the steps below would find.)
    reply = _SEEN.get(bytes(buf))
    if reply is not None:
        buf.clear()
        return reply
    i = buf.find(b"\n")
    raw = bytes(buf[:i + 1])  # (no LF, i == -1: b"", never a key)
    reply = _SEEN.get(raw)
    if reply is None:
        if i < 0 or i > MAX_LINE:
            return None  # a line over the cap: the line-by-line reader refuses it
        got = _parse_new(buf, i, raw)
        if got is None:
            return None
        reply, i = got[0], got[1] - 1
    del buf[:i + 1]
    return reply


def _parse_new(buf: Union[bytes, bytearray], i: int, raw: bytes) -> Optional[Tuple[Reply, int]]:
    # parse_reply after its memo missed the first line (``raw``, up to and
    # including the LF at ``i``)
    if i >= 3 and raw[3:4] != b"-" and raw[:3].isdigit():
        # one line (the usual reply): what the pattern below finds for it
        line = raw[:-2 if raw.endswith(b"\r\n") else -1].decode("latin-1")
        return _remember(raw, Reply(int(line[:3]), line[4:].strip(), [], [line])), i + 1
    m = _WHOLE_REPLY.match(buf)
    if m is None:
        return None
    raw = m.group()
    reply = _SEEN.get(raw)
    if reply is not None:
        return reply, m.end()
    lines = raw.decode("latin-1").split("\n")
    del lines[-1]
    if len(lines) > MAX_LINES or (m.end() > MAX_LINE and max(map(len, lines)) > MAX_LINE):
        return None
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    first = lines[0]
    return _remember(raw, Reply(int(first[:3]), first[4:].strip(), [line[4:].strip() for line in lines[1:]],
                                lines)), m.end()


def _remember(raw: bytes, reply: Reply) -> Reply:
    if len(raw) <= _SEEN_OCTETS:
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.clear()
        _SEEN[raw] = reply
    return reply
