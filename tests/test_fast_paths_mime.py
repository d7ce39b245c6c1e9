"""The per-message shortcuts on the MIME and bridge side (issue 9, item 2)
give exactly what the code they stand in for gives: the header table kept
as one dict, the outgoing copy's headers appended in one pass, the line
meter's short-chunk path, token numbers taken without registering, the
``has_header`` question the envelope memo asks.

The references are the previous implementations, kept as executable
definitions; hypothesis is derandomized (the ``gate`` profile's way).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysmtp_tcl.bridge.tokens import TokenRegistry
from pysmtp_tcl.mime import Entity
from pysmtp_tcl.mime.headers import Headers, ScriptValue
from pysmtp_tcl.mime.lines import LineMeter
from pysmtp_tcl.mime.model import MimeError
from pysmtp_tcl.smtp import commands as cmds

from support.mime_refs import ref_derived

GATE = settings(derandomize=True, deadline=None, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow])


class _ReferenceHeaders:
    """mime/headers.Headers before it kept one dict (order list, spelling
    map, value lists)."""

    def __init__(self) -> None:
        self._order: List[str] = []
        self._mixed: Dict[str, str] = {}
        self._values: Dict[str, List[str]] = {}

    def names(self) -> List[str]:
        return [self._mixed[k] for k in self._order]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._values

    def get(self, name: str) -> List[str]:
        return list(self._values[name.lower()])

    def pairs(self) -> List[Tuple[str, str]]:
        return [(self._mixed[k], v) for k in self._order for v in self._values.get(k, ())]

    def append(self, name: str, value: str) -> None:
        lower = name.lower()
        if lower not in self._values:
            self._order.append(lower)
            self._mixed[lower] = name
            self._values[lower] = []
        self._values[lower].append(value)

    def write(self, name: str, value: str) -> None:
        lower = name.lower()
        if lower not in self._values:
            self.append(name, value)
        else:
            self._values[lower] = [value]

    def delete(self, name: str) -> None:
        lower = name.lower()
        del self._values[lower]
        self._order.remove(lower)
        del self._mixed[lower]


names = st.sampled_from(["To", "to", "TO", "Subject", "X-A", "x-a", "Date", "From", "Cc", "\u00e9t\u00e9"])
values = st.one_of(st.text(max_size=8), st.sampled_from(["a", "b\u00e9", "\u4e2d", ""]))
op = st.tuples(st.sampled_from(["append", "append", "write", "delete", "extend", "discard", "copy"]),
               st.lists(st.tuples(names, values), min_size=1, max_size=4))


@GATE
@given(ops=st.lists(op, max_size=12))
def test_the_header_table_answers_as_before(ops):
    h, ref = Headers(), _ReferenceHeaders()
    for kind, pairs in ops:
        name, value = pairs[0]
        if kind == "append":
            h.append(name, value)
            ref.append(name, value)
        elif kind == "write":
            h.write(name, value)
            ref.write(name, value)
        elif kind == "delete":
            if name in ref:
                h.delete(name)
                ref.delete(name)
        elif kind == "extend":
            h.extend(pairs)
            for n, v in pairs:
                ref.append(n, v)
        elif kind == "discard":
            gone = [n for n, _ in pairs]
            h.discard(n.lower() for n in gone)
            for n in gone:
                if n in ref:
                    ref.delete(n)
        else:
            copy = h.copy()
            copy.append(name, value)  # the copy's lists are its own
            copy.write("X-A", "changed")
        assert h.names() == ref.names()
        assert h.pairs() == ref.pairs() == list(h.items())
        for n in ("to", "X-A", "Date", "nosuch", "\u00c9T\u00c9"):
            assert (n in h) == (n in ref)
            if n in ref:
                assert h.get(n) == ref.get(n)
        every = ref.pairs()
        if all(n.isascii() for n, _ in every):
            assert h.all_ascii() == all(v.isascii() for _, v in every)
        else:  # a non-ASCII name only sends eai.utf8_field to its walk
            assert not h.all_ascii()


@GATE
@given(has=st.lists(st.tuples(st.sampled_from(["Date", "X-A", "message-ID"]), st.just("v")), max_size=3),
       name=st.sampled_from(["date", "Date", "message-id", "x-a", "content-type", "Content-Transfer-Encoding",
                             "MIME-Version", "content-md5", "resent-date", "nosuch"]))
def test_has_header_is_get_header_not_failing(has, name):
    e = Entity.create("text/plain", headers=has, string="x")
    try:
        e.get_header(name)
        found = True
    except KeyError:
        found = False
    assert e.has_header(name) is found


def _outcome(fn, *args):
    try:
        c = fn(*args)
    except (MimeError, ValueError) as e:
        return ("error", type(e).__name__, str(e))
    return ("ok", [(n, v, type(v)) for n, v in c.headers.items()])


@GATE
@given(pairs=st.lists(st.tuples(st.sampled_from(["To", "to", "X-A", "Date", "Content-Type", "Bad Name",
                                                 "Message-ID", "Bcc"]),
                                st.sampled_from(["v", "", "w\u00e9", "a\n b", "a\nb", "a\x00", "text/plain"])),
                      max_size=5),
       without=st.lists(st.sampled_from(["Bcc", "TO", "Resent-Dcc"]), max_size=3),
       has=st.lists(st.tuples(st.sampled_from(["Bcc", "X-A", "To", "Date"]), st.just("w")), max_size=3))
def test_derived_twice_is_set_header_each_time(pairs, without, has):
    # the second call meets names the first let through: the one-pass path
    e = Entity.create("text/plain", headers=has, string="x")
    before = e.headers.pairs()
    expect = _outcome(ref_derived, e, pairs, without)
    assert _outcome(e.derived, pairs, without) == expect
    assert _outcome(e.derived, iter(pairs), tuple(without)) == expect
    assert e.headers.pairs() == before  # the caller's part is untouched


def test_derived_values_are_script_values():
    e = Entity.create("text/plain", string="x")
    for _ in range(2):
        c = e.derived([("To", "a@b.test"), ("Subject", "caf\u00e9")])
        assert [type(v) for _, v in c.headers.items()] == [str, ScriptValue, ScriptValue]


pieces = st.lists(st.sampled_from([b"a", b"xy", b"\r\n", b"\r\n\r\n", b"." * 40, b"z" * 300]), max_size=12)


@GATE
@given(chunks=st.lists(pieces.map(b"".join), max_size=6), limit=st.sampled_from([5, 40, 998]))
def test_the_short_chunk_path_measures_as_the_split(chunks, limit):
    fast, ref = LineMeter(limit), LineMeter(limit)
    for chunk in chunks:
        got = fast.feed_crlf(chunk)
        want = ref.feed(chunk)  # the general rule (CR, LF and CRLF)
        assert got == want
        assert (fast.line, fast._len) == (ref.line, ref._len)


def test_taking_a_token_number_is_new_then_drop():
    a, b = TokenRegistry(), TokenRegistry()
    for ns in ("mime", "mime", "smtp", "mime"):
        token = b.new(None, ns)
        b.drop(token)
        assert a.take(ns) == token
        assert a._counters == b._counters and len(a) == len(b) == 0
    assert a.new("x") == b.new("x") == "::mime::4" and len(a) == len(b) == 1


def test_single_field_values_compare_and_hash_by_the_field():
    assert cmds.Verb("DATA") == cmds.Verb("DATA") and hash(cmds.Verb("DATA")) == hash(cmds.DATA)
    assert cmds.Verb("DATA") != cmds.Verb("QUIT") and cmds.Ehlo("a.test") != cmds.Helo("a.test")
    nan = float("nan")
    assert cmds.Verb(nan) == cmds.Verb(nan)  # the same object, as (nan,) == (nan,)
    assert cmds.Verb(nan) != cmds.Verb(float("nan"))
