"""The pure-Python MIME API the smtp layer builds on (no Tcl involved,
except where tcllib is the oracle)."""
from __future__ import annotations

import base64
import email
import email.policy
import os
import subprocess
import sys
import tkinter

import pytest

from pysmtp_tcl.mime import (CRLFCollector, Entity, HeaderValueError, MimeError, build_message,
                             generate, parse_file, parse_string, unique_id)
from pysmtp_tcl.mime.tclarray import array_order

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_core_imports_without_tkinter():
    code = ("import sys; sys.modules['tkinter'] = None; sys.modules['_tkinter'] = None\n"
            "import pysmtp_tcl.mime as m\n"
            "e = m.Entity.create('text/plain', string='x'); m.build_message(e)\n"
            "assert 'tkinter' not in [k for k, v in sys.modules.items() if v is not None]\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_with_headers_appended_leaves_original_alone():
    e = Entity.create("text/plain", headers=[("Subject", "s")], string="hi")
    c = e.with_headers_appended([("To", "a@b"), ("subject", "t")])
    assert e.header_names() == ["Content-ID", "Subject"] or e.header_names() == ["Subject", "Content-ID"]
    assert e.get_header("SUBJECT") == ["s"]
    with pytest.raises(KeyError):
        e.get_header("To")
    assert c.get_header("subject") == ["s", "t"] and c.get_header("to") == ["a@b"]
    assert c.string is e.string
    with pytest.raises(MimeError, match="key Content-Type may not be set"):
        e.with_headers_appended([("Content-Type", "text/html")])
    with pytest.raises(HeaderValueError):
        e.with_headers_appended([("Subject", "x\nBcc: evil@example.org")])
    e.with_headers_appended([("Subject", "folded\n\tfine")])


def test_bcc_digest_shape():
    """What smtp::sendmessage builds for Bcc: multipart/digest around a
    message/rfc822 around the original part; one boundary, parsable."""
    part = Entity.create("text/plain", headers=[("Subject", "hi")], string="body\n")
    inner = Entity.create("message/rfc822", headers=[("Content-Description", "Original Message")],
                          parts=[part])
    outer = Entity.create("multipart/digest", headers=[("From", "a@example.org")], parts=[inner])
    data = build_message(outer)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/digest"
    assert data.count(b"boundary=") == 1
    (sub,) = list(msg.iter_parts())
    assert sub.get_content_type() == "message/rfc822"
    assert all(not p.defects for p in msg.walk())
    reparsed = parse_string(data.decode().replace("\r\n", "\n"))
    assert reparsed.parts[0].parts[0].string.startswith("body")


def test_generate_streams_big_file_in_bounded_chunks(tmp_path):
    blob = os.urandom(3 * 1024 * 1024 + 17)
    f = tmp_path / "big.bin"
    f.write_bytes(blob)
    e = Entity.create("application/octet-stream", file=str(f))
    sizes = []
    out = CRLFCollector()

    def write(chunk):
        sizes.append(len(chunk))
        out(chunk)

    generate(e, write)
    assert max(sizes) <= 64 * 1024
    data = out.getvalue()
    head, body = data.split(b"\r\n\r\n", 1)
    assert b"Content-Transfer-Encoding: base64" in head
    lines = body.split(b"\r\n")
    assert all(len(x) == 76 for x in lines[:-1]) and 0 < len(lines[-1]) <= 76
    assert base64.b64decode(b"".join(lines)) == blob


def test_raw_file_octets_pass_unchanged(tmp_path):
    """A text file sent without transfer encoding goes out as its octets
    (tcllib re-encodes them through the channel's UTF-8: mojibake)."""
    f = tmp_path / "t.txt"
    f.write_bytes("Grüße\n".encode("utf-8"))
    e = Entity.create("text/plain", file=str(f))
    assert build_message(e).endswith(b"\r\n\r\n" + "Grüße\r\n".encode("utf-8"))


def test_crlf_not_doubled():
    e = Entity.create("application/x-thing", encoding="binary", string="a\r\nb\nc\r")
    assert build_message(e).endswith(b"\r\n\r\na\r\nb\r\nc\r")
    out = CRLFCollector()
    for chunk in ("x\r", "\ny", b"\r", b"\n"):
        out(chunk)
    assert out.getvalue() == b"x\r\ny\r\n"


def test_non_latin1_text_is_utf8_encoded():
    e = Entity.create("text/plain", params=[("charset", "utf-8")], string="€ 5")
    body = build_message(e).split(b"\r\n\r\n", 1)[1]
    assert base64.b64decode(body) == "€ 5".encode("utf-8")
    q = Entity.create("text/plain", encoding="quoted-printable", string="€")
    assert build_message(q).endswith(b"=E2=82=AC")


def test_unique_id_shape():
    a, b = unique_id(), unique_id()
    assert a != b and a.startswith("<%d." % os.getpid()) and a.endswith(">")


def test_parse_file_matches_parse_string(tmp_path):
    text = ("Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
            "Content-Type: text/plain\n\none\n--b\nContent-Transfer-Encoding: base64\n\naGk=\n--b--\n")
    f = tmp_path / "m"
    f.write_text(text)
    a, b = parse_string(text), parse_file(str(f))
    assert [p.content for p in a.parts] == [p.content for p in b.parts]
    assert build_message(a) == build_message(b)


def test_tcl_array_order_matches_tclsh():
    import random
    rnd = random.Random(7)
    t = tkinter.Tcl()
    for _ in range(40):
        keys = ["".join(rnd.choice("abcxyz-_*0é") for _ in range(rnd.randint(1, 7)))
                for _ in range(rnd.randint(1, 50))]
        t.eval("array unset a; array set a {}")
        for k in keys:
            t.call("set", "a(%s)" % k, 1)
        assert list(t.tk.splitlist(t.eval("array names a"))) == array_order(keys)


def test_getbody_command_small_blocks_decode_across_blocks(tmp_path, interp):
    """COMPATIBILITY.md M9: tcllib decodes each -blocksize block of a -file
    part separately (garbage for 3-octet blocks of base64); we do not."""
    f = tmp_path / "m.txt"
    f.write_text("Content-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n")
    got = interp.eval(r"""
        set ::got {}
        set t [mime::initialize -file {%s}]
        mime::getbody $t -command {apply {{a {b {}}} {if {$a eq "data"} {lappend ::got $b}}}} -blocksize 3
        set ::got""" % f)
    assert interp.call("join", got, "") == "hello world"
    assert interp.tcl.tk.splitlist(got)[0] == "hel"
