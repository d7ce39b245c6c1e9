"""DATA transparency (RFC 5321 §2.3.8, §4.5.2) as properties."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

import pytest

from pysmtp_tcl.smtp.datawriter import DataEncoder, LineTooLong, encode_all

# Bytes rich in the interesting octets.
octets = st.lists(st.sampled_from([b"\r", b"\n", b".", b"a", b" ", b"\r\n", b"\x00", b"\xff",
                                   b"x" * 300]),
                  max_size=60).map(b"".join)


def too_long(msg: bytes) -> bool:
    return any(len(l) > 998 for l in re.split(rb"\r\n|\r|\n", msg))


def normalise(msg: bytes) -> bytes:
    return re.sub(rb"\r\n|\r|\n", b"\r\n", msg)


def unstuff(wire: bytes) -> bytes:
    assert wire.endswith(b".\r\n")
    body = wire[:-3]
    lines = body.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


def split(msg: bytes, cuts):
    cuts = sorted(set(c % (len(msg) + 1) for c in cuts))
    out, last = [], 0
    for c in cuts:
        out.append(msg[last:c])
        last = c
    out.append(msg[last:])
    return out


@settings(max_examples=400)
@given(octets, st.lists(st.integers(0, 1000), max_size=8))
def test_wire_form_is_clean_and_reassembles_exactly(msg, cuts):
    if too_long(msg):
        with pytest.raises(LineTooLong):
            b"".join(encode_all(split(msg, cuts)))
        return
    wire = b"".join(encode_all(split(msg, cuts)))
    assert not re.search(rb"\r(?!\n)", wire), "bare CR"
    assert not re.search(rb"(?<!\r)\n", wire), "bare LF"
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n"
    for line in wire[:-3].split(b"\r\n"):
        assert not (line.startswith(b".") and not line.startswith(b"..")), "unstuffed dot line"
    expected = normalise(msg)
    if expected and not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert unstuff(wire) == expected


@given(octets, st.lists(st.integers(0, 1000), max_size=8))
def test_chunk_boundaries_do_not_matter(msg, cuts):
    if too_long(msg):
        return
    assert b"".join(encode_all(split(msg, cuts))) == b"".join(encode_all([msg]))


@given(octets, st.lists(st.integers(0, 1000), max_size=8))
def test_size_counts_the_octets_sent(msg, cuts):
    # RFC 1870 §5: SIZE counts every octet sent after the 354 but the
    # terminating "." line and the stuffed dots, so also the closing CRLF
    # the encoder adds to a message that lacks one (issue 7 item 8).
    if too_long(msg):
        return
    enc = DataEncoder()
    wire = b"".join(enc.feed(c) for c in split(msg, cuts)) + enc.finish()
    assert enc.size == len(unstuff(wire + b".\r\n"))
    expected = normalise(msg)
    if expected and not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert enc.size == len(expected)


def test_examples():
    assert b"".join(encode_all([b".a\r", b"\nb\r.\r\nc"])) == b"..a\r\nb\r\n..\r\nc\r\n.\r\n"
    assert b"".join(encode_all([b"x\r"])) == b"x\r\n.\r\n"
    assert b"".join(encode_all([b"line\n", b".\n"])) == b"line\r\n..\r\n.\r\n"


def test_line_of_998_passes_999_is_refused_across_chunks():
    ok = b"a" * 998
    assert b"".join(encode_all([ok[:500], ok[500:], b"\r\nnext"])).startswith(ok + b"\r\n")
    with pytest.raises(LineTooLong, match="line 2 is longer than 998"):
        b"".join(encode_all([b"first\n", b"b" * 600, b"b" * 399, b"\n"]))
    with pytest.raises(LineTooLong):
        b"".join(encode_all([b"x\r\n" + b"c" * 999 + b"\r\n"]))
