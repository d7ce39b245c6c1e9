"""The C-speed bulk path gives exactly the octets of the straightforward
definitions it replaced (issue 9).

References below are the previous implementations, kept as executable
definitions: a regex-based DATA encoder, base64 lines from
``base64.encodebytes``, and tcllib's transfer-encoding choice judged line by
line.  The fast code (WireChunk pass-through, WireSpan measuring, block-wise
base64 and encoding choice, bytes.replace line ends) must agree with them
on every input, DATA wire octets, SIZE, 8-bit flag and errors included.
Deterministic: hypothesis runs derandomized.
"""
from __future__ import annotations

import base64
import re
from typing import Iterable, Iterator, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysmtp_tcl.mime import Entity, build_message, generate
from pysmtp_tcl.mime import model as mime_model
from pysmtp_tcl.mime.qp import QPEncoder
from pysmtp_tcl.mime.transfer import Base64Encoder, _ascii_line, _short_line, choose_encoding
from pysmtp_tcl.mime.wire import WireChunk, WireSpan
from pysmtp_tcl.smtp.datawriter import DataEncoder, LineTooLong
from pysmtp_tcl.smtp.sendmessage import message_source

GATE = settings(derandomize=True, deadline=None, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- references ----------------------------------------------------------------

class RefDataEncoder:
    """The DATA encoder as it was: two regex passes over every chunk."""

    _EOL = re.compile(rb"\r\n|\r|\n")
    _DOT = re.compile(rb"\r\n\.")

    def __init__(self) -> None:
        self.pending_cr = False
        self.at_bol = True
        self.line_len = 0
        self.lines = 1
        self.size = 0
        self.eight_bit = False

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        if self.pending_cr:
            chunk = b"\r" + chunk
            self.pending_cr = False
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
            self.pending_cr = True
            if not chunk:
                return b""
        text = self._EOL.sub(b"\r\n", chunk)
        for i, line in enumerate(text.split(b"\r\n")):
            if i:
                self.lines += 1
                self.line_len = 0
            self.line_len += len(line)
            if self.line_len > 998:
                raise LineTooLong("message line %d is longer than 998 octets (RFC 5322 §2.1.1): "
                                  "refusing to send it" % self.lines)
        self.eight_bit = self.eight_bit or not text.isascii()
        self.size += len(text)
        lead = b"\r\n" if self.at_bol else b""
        stuffed = self._DOT.sub(b"\r\n..", lead + text)[len(lead):]
        self.at_bol = text.endswith(b"\r\n")
        return stuffed

    def finish(self) -> bytes:
        out = b""
        if self.pending_cr or not self.at_bol:
            # SIZE counts this closing CRLF too (RFC 1870 §5)
            self.pending_cr = False
            out += b"\r\n"
            self.size += 2
            self.at_bol = True
        return out


def ref_base64(data: bytes) -> str:
    """76-char lines joined by LF, no final line break (tcllib's
    ``base64 -maxlen 76``)."""
    return base64.encodebytes(data).decode("ascii").rstrip("\n")


def ref_lines(text: str) -> Iterator[str]:
    start = 0
    while True:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def ref_choose(content: str, params, lines: Iterable[str]) -> str:
    """tcllib's ::mime::encoding, one line at a time."""
    major = content.split("/", 1)[0]
    if major in ("audio", "image", "video"):
        return "base64"
    ascii_ok = all(_ascii_line(line) for line in lines)
    line_ok = all(_short_line(line) for line in lines)
    if major == "text":
        if not ascii_ok:
            for k, v in params:
                if k == "charset":
                    v = v.lower()
                    if v != "us-ascii" and not re.match(r"iso-8859-[1-8]\Z", v):
                        return "base64"
                    break
        return "" if line_ok else "quoted-printable"
    return "" if ascii_ok and line_ok else "base64"


def text_chunks(entity: Entity) -> List[bytes]:
    """What the generator writes without the wire form, as UTF-8 octets
    (the path every chunk took before)."""
    out: List[bytes] = []
    generate(entity, lambda c: out.append(c.encode("utf-8") if isinstance(c, str) else bytes(c)))
    return out


def ref_wire(chunks: Iterable[bytes]):
    enc = RefDataEncoder()
    try:
        wire = b"".join([enc.feed(c) for c in chunks]) + enc.finish()
    except LineTooLong as e:
        return ("refused", str(e))
    return wire, enc.size, enc.eight_bit


def new_wire(entity: Entity):
    """The DATA octets the client sends now, and what its measuring pass
    (spans for base64 bodies) found."""
    source = message_source(entity)
    measure = DataEncoder(measure_only=True)

    def measuring_sink(chunk) -> None:
        measure.feed(chunk)

    measuring_sink.measures_only = True  # as session._measure's sink
    enc = DataEncoder()
    out: List[bytes] = []
    try:
        source(measuring_sink)
        measure.finish()
        source(lambda c: out.append(enc.feed(c)))
        out.append(enc.finish())
    except LineTooLong as e:
        return ("refused", str(e)), None
    return (b"".join(out), enc.size, enc.eight_bit), (measure.size, measure.eight_bit)


# --- base64 --------------------------------------------------------------------

sizes = st.sampled_from([0, 1, 2, 3, 56, 57, 58, 113, 114, 115, 57 * 768, 57 * 768 + 1, 100000])


@GATE
@given(size=sizes, cuts=st.lists(st.integers(0, 200000), max_size=6), seed=st.binary(min_size=1, max_size=64))
def test_base64_encoder_matches_encodebytes(size, cuts, seed):
    data = (seed * (size // len(seed) + 1))[:size]
    cuts = sorted({c % (size + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [size])]
    want = ref_base64(data)
    text = Base64Encoder()
    assert "".join([text.feed(p) for p in pieces]) + text.finish() == want
    wire = Base64Encoder(wire=True)
    outs = [wire.feed(p) for p in pieces] + [wire.finish()]
    assert all(type(o) is WireChunk for o in outs)
    assert b"".join(outs) == want.replace("\n", "\r\n").encode("ascii")
    if size:
        span = WireSpan(size)
        assert span.size == len(b"".join(outs))
        assert span.breaks == want.count("\n")
        lines = want.split("\n")
        assert (span.first, span.last) == (len(lines[0]), len(lines[-1]))


# --- the DATA encoder ------------------------------------------------------------

raw_pieces = st.sampled_from([b"\r", b"\n", b".", b"a", b" ", b"\r\n", b"\x00", b"\xff", b"x" * 300,
                              b"\r\n.", b"\n.", b"y" * 997])
b64_text = st.binary(max_size=120).map(lambda d: base64.encodebytes(d).replace(b"\n", b"\r\n"))
chunk = st.one_of(st.lists(raw_pieces, max_size=8).map(b"".join),
                  st.tuples(b64_text, st.booleans(), st.booleans()).map(
                      lambda t: WireChunk((b"\r\n" if t[1] else b"") + (t[0] if t[2] else t[0].rstrip(b"\r\n")))))


@GATE
@given(st.lists(chunk, max_size=10))
def test_data_encoder_matches_the_regex_definition(chunks):
    ref = RefDataEncoder()
    new = DataEncoder()
    try:
        want = b"".join([ref.feed(c) for c in chunks]) + ref.finish()
    except LineTooLong as e:
        with pytest.raises(LineTooLong) as got:
            for c in chunks:
                new.feed(c)
            new.finish()
        assert str(got.value) == str(e)
        return
    got = b"".join([new.feed(c) for c in chunks]) + new.finish()
    assert got == want
    assert (new.size, new.eight_bit, new._meter.line) == (ref.size, ref.eight_bit, ref.lines)


@GATE
@given(st.lists(raw_pieces, max_size=6).map(b"".join), st.sampled_from([1, 57, 58, 5000, 57 * 800]),
       st.lists(raw_pieces, max_size=6).map(b"".join))
def test_a_span_measures_what_its_octets_would(before, octets, after):
    def run(body):
        enc = DataEncoder(measure_only=True)
        try:
            for c in (before, body, after):
                enc.feed(c)
            enc.finish()
        except LineTooLong as e:
            return str(e)
        return enc.size, enc.eight_bit, enc._meter.line

    b64 = Base64Encoder(wire=True)
    real = WireChunk(b64.feed(bytes(octets)) + b64.finish())
    assert run(WireSpan(octets)) == run(real)


def test_a_span_cannot_be_sent():
    with pytest.raises(TypeError):
        DataEncoder().feed(WireSpan(10))


# --- quoted-printable in blocks -------------------------------------------------------

qp_pieces = st.sampled_from(["a", "b c", ".", "\n", "\n.", "\n.\n", "\nFrom ", "From ", " ", "\t", " \n",
                             "\t\n", "=", "!", "@", "~", "\x00", "\r", "\xe9", "\xff", "\u20ac", "x" * 70,
                             "y" * 71, "z" * 72, "w" * 73, "=41" * 30, "_", "?"])


@GATE
@given(st.lists(qp_pieces, max_size=60).map("".join), st.lists(st.integers(0, 3000), max_size=4),
       st.booleans(), st.booleans())
def test_qp_blocks_match_the_line_by_line_encoder(text, cuts, encoded_word, no_softbreak):
    # Fed one char at a time, every line goes through the line-by-line path
    # (the block path needs two line breaks in one feed): the reference.
    ref = QPEncoder(encoded_word, no_softbreak)
    want = "".join(ref.feed(c) for c in text) + ref.finish()
    cuts = sorted({c % (len(text) + 1) for c in cuts})
    enc = QPEncoder(encoded_word, no_softbreak)
    got = "".join(enc.feed(text[a:b]) for a, b in zip([0] + cuts, cuts + [len(text)])) + enc.finish()
    assert got == want


# --- choosing the transfer encoding -------------------------------------------------

text_pieces = st.sampled_from(["a", "b c", ".", "\n", "\n.", "\nFrom ", "From ", " ", "\t", "\r", "\x00",
                               "\x7f", "\x85", "\xa0", "\xe9", "\u0141", "\u010a", "\u0109", "\u0120",
                               "\u3000", "\u2028", "x" * 40, "y" * 80])


@GATE
@given(st.lists(text_pieces, max_size=40).map("".join), st.sampled_from([77, 100, 1 << 20]),
       st.sampled_from(["text/plain", "application/x-y", "image/png"]),
       st.sampled_from([(), (("charset", "utf-8"),), (("charset", "ISO-8859-2"),)]))
def test_block_wise_encoding_choice_matches_line_by_line(text, block, content, params):
    lines = list(ref_lines(text))
    want = ref_choose(content, params, lines)
    assert choose_encoding(content, params, mime_model._string_line_blocks(text, block)) == want


@GATE
@given(st.lists(text_pieces, max_size=40).map("".join), st.integers(0, 50), st.none() | st.integers(0, 200),
       st.sampled_from([77, 90, 1 << 20]))
def test_file_line_blocks_cover_the_file_window(tmp_path_factory, text, offset, count, block):
    data = text.encode("utf-8", "surrogatepass")
    path = tmp_path_factory.mktemp("blocks") / "body"
    path.write_bytes(data)
    window = data[offset:] if count is None else data[offset:offset + count]
    lines = window.decode("latin-1").split("\n")
    if lines and lines[-1] == "" and window.endswith(b"\n"):
        lines.pop()  # a file's last line end ends the last line
    want = ref_choose("text/plain", (("charset", "utf-8"),), lines)
    got = choose_encoding("text/plain", (("charset", "utf-8"),),
                          mime_model._file_line_blocks(str(path), offset, count, block))
    assert got == want


# --- whole messages ----------------------------------------------------------------

bodies = st.lists(st.sampled_from(["a", "b c", ".", "..", "\r", "\n", "\r\n", " ", "\t", "=", "From ",
                                   "\u00e9", "\u20ac", "x" * 90, ".\n", "y" * 400, "z" * 1200]),
                  max_size=30).map("".join)
encodings = st.sampled_from(["", "7bit", "8bit", "binary", "quoted-printable", "base64"])


def leaf(draw_body, encoding, as_file, tmp_dir, n):
    if as_file:
        path = tmp_dir / ("body%d" % n)
        path.write_bytes(draw_body.encode("utf-8", "surrogatepass"))
        return Entity.create("application/octet-stream", encoding=encoding, file=str(path))
    return Entity.create("text/plain", params=[("charset", "utf-8")], encoding=encoding, string=draw_body)


@GATE
@given(st.lists(st.tuples(bodies, encodings, st.booleans(), st.integers(0, 3)), min_size=1, max_size=3),
       st.booleans())
def test_messages_go_out_exactly_as_before(tmp_path_factory, parts, nested):
    tmp = tmp_path_factory.mktemp("msg")
    leaves = []
    for n, (body, enc, as_file, repeat) in enumerate(parts):
        leaves.append(leaf(body * (1 + repeat * 40), enc, as_file, tmp, n))
    if len(leaves) == 1 and not nested:
        entity = leaves[0]
    else:
        entity = Entity.create("multipart/mixed", params=[("boundary", "b-1")], parts=leaves)
        if nested:
            entity = Entity.create("multipart/mixed", params=[("boundary", "b-0")],
                                   parts=[entity, leaf("tail\n", "base64", False, tmp, 99)])
    want = ref_wire(text_chunks(entity))
    got, measured = new_wire(entity)
    assert got == want
    if measured is not None:
        assert measured == got[1:]  # the measuring pass found the size of what is sent
        # buildmessage: the same octets before dot-stuffing (CRLF, CR kept as tcllib's -translation crlf)
        ref = re.sub(rb"(?<!\r)\n", b"\r\n", b"".join(text_chunks(entity)))
        assert build_message(entity) == ref


def test_a_big_base64_file_is_sent_exactly(tmp_path):
    """A few MB through the real blocks (57 * 768 octets), chunk edges included."""
    data = bytes(range(256)) * (3 * 57 * 768 // 256 + 7)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    entity = Entity.create("application/octet-stream", encoding="base64", file=str(path))
    want = ref_wire(text_chunks(entity))
    got, measured = new_wire(entity)
    assert got == want and measured == want[1:]
    body = got[0].split(b"\r\n\r\n", 1)[1]
    assert base64.b64decode(body.replace(b"\r\n", b"")) == data
