"""Interoperability with a real Postfix (smtpd -> cleanup -> qmgr -> virtual)
and with Postfix's ``smtp-sink``: Tcl scripts run under ``pysmtp-tclsh``
send, and we read what was delivered.

Postfix is required, not optional: these tests FAIL when it is missing
(``scripts/install-test-deps`` installs it).  One private Postfix instance on
127.0.0.1 serves the whole module (tests/support/postfix.py).
"""
from __future__ import annotations

import base64
import email
import email.header
import email.policy
import hashlib
import os
import re
from pathlib import Path
from typing import List

import pytest

from conftest import run_launcher
from support.postfix import PostfixMissing, PostfixServer, SmtpSink, require_postfix

# A sender/recipients and message shape shared by the scripts below.  argv:
# port ?more...?; every script prints the sendmessage result on stdout.
PREAMBLE = r"""
package require mime
package require smtp
encoding system utf-8
fconfigure stdout -encoding utf-8
set port [lindex $argv 0]
proc send {tok args} {
    set r [smtp::sendmessage $tok -servers 127.0.0.1 -ports $::port \
        -originator sender@client.test {*}$args]
    puts "RESULT [list $r]"
    return $r
}
"""


@pytest.fixture(scope="module")
def postfix(ca):
    try:
        require_postfix()
    except PostfixMissing as exc:
        pytest.fail(str(exc))
    server = PostfixServer(ca=ca, users=("alice", "bob", "carol", "dave", "erin", "frank"))
    yield server
    server.stop()


def run_tcl(tmp_path: Path, body: str, *args: str, name: str = "s.tcl"):
    script = tmp_path / name
    script.write_text(PREAMBLE + body, encoding="utf-8")
    r = run_launcher([str(script), *args], timeout=60)
    assert r.returncode == 0, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr)
    return r


def results(stdout: str) -> List[str]:
    return [line[len("RESULT "):] for line in stdout.splitlines() if line.startswith("RESULT ")]


POSTFIX_TRACE = re.compile(rb"\A(?:Return-Path: .*\n|X-Original-To: .*\n|Delivered-To: .*\n|"
                           rb"Received: .*\n(?:[ \t].*\n)*)+")


def strip_postfix_trace(raw: bytes) -> bytes:
    """The message as the client sent it (CRLF), without the Return-Path,
    X-Original-To, Delivered-To and Received fields Postfix prepended."""
    m = POSTFIX_TRACE.match(raw)
    assert m, raw[:500]
    return raw[m.end():].replace(b"\n", b"\r\n")


def sink_message(dump: bytes) -> bytes:
    """The message in an smtp-sink dump (which stores it LF-terminated and
    already un-dot-stuffed), with CRLF line ends."""
    lines = dump.split(b"\n")
    i = 0
    while lines[i].startswith(b"X-"):
        i += 1
    assert lines[i].startswith(b"Received: ")  # smtp-sink's own
    i += 1
    while lines[i][:1] in (b" ", b"\t"):
        i += 1
    body = lines[i:]
    assert body[-1] == b"" and body[-2] == b""  # smtp-sink ends the dump with an empty line
    body = body[:-2]
    return b"".join(l + b"\r\n" for l in body)


def received_field(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return " ".join(msg["Received"].split())


# ---------------------------------------------------------------------------

SIMPLE = r"""
set tok [mime::initialize -canonical text/plain -string "Hello Postfix.\n.\n..two dots\nFrom the start\nlast line"]
send $tok -usetls %(usetls)s %(tls)s \
    -header [list From "Sender <sender@client.test>"] \
    -header [list To "Alice <alice@example.test>"] \
    -header [list Subject "%(subject)s"] \
    -header [list Date "Thu, 01 Jan 2026 10:00:00 +0000"] \
    -header [list Message-ID "<%(subject)s@client.test>"]
mime::finalize $tok
"""


def test_plain_send_is_delivered_byte_for_byte(postfix, tmp_path):
    r = run_tcl(tmp_path, SIMPLE % dict(usetls=0, tls="", subject="plain"), str(postfix.port))
    assert results(r.stdout) == ["{}"]
    raw = postfix.wait_delivered("alice", containing=b"Subject: plain\n")[-1]
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert msg["Return-Path"] == "<sender@client.test>"
    assert msg["Delivered-To"] == "alice@example.test"
    assert "using TLS" not in received_field(raw)
    assert msg["Subject"] == "plain" and msg["To"] == "Alice <alice@example.test>"
    assert msg["From"] == "Sender <sender@client.test>"
    assert msg["Message-ID"] == "<plain@client.test>"
    assert msg.get_content_type() == "text/plain"
    # Dot-stuffing undone correctly by a real MTA: lines starting with dots
    # and a lone "." line survive.
    assert msg.get_payload(decode=True) == b"Hello Postfix.\n.\n..two dots\nFrom the start\nlast line\n"

    # The same script to smtp-sink: what Postfix delivered (minus its trace
    # fields) is exactly what our client put on the wire.
    with SmtpSink(dump=True) as sink:
        r2 = run_tcl(tmp_path, SIMPLE % dict(usetls=0, tls="", subject="plain"), str(sink.port))
        assert results(r2.stdout) == ["{}"]
        dumps = sink.dumps()
    assert len(dumps) == 1
    assert b"X-Mail-Args: <sender@client.test>\n" in dumps[0]
    assert b"X-Rcpt-Args: <alice@example.test>\n" in dumps[0]
    # (Content-ID is made of the process id and time, as tcllib's)
    cid = re.compile(rb"\r\nContent-ID: <[^>]*>\r\n")
    assert cid.sub(b"\r\nContent-ID: <>\r\n", strip_postfix_trace(raw)) == \
        cid.sub(b"\r\nContent-ID: <>\r\n", sink_message(dumps[0]))


def test_starttls_verified_against_test_ca(postfix, tmp_path, ca_file):
    # Named by host name (the certificate is for localhost and 127.0.0.1);
    # Postfix listens on 127.0.0.1 only.
    tls = "-servers localhost -tlsverify 1 -tlsrequire 1 -cafile %s -debug 1" % ca_file
    r = run_tcl(tmp_path, SIMPLE % dict(usetls=1, tls=tls, subject="starttls"), str(postfix.port))
    assert results(r.stdout) == ["{}"]
    assert "STARTTLS" in r.stderr  # -debug shows the dialogue
    raw = postfix.wait_delivered("alice", containing=b"Subject: starttls\n")
    assert len(raw) == 1
    rec = received_field(raw[0])
    assert "using TLSv1.3" in rec or "using TLSv1.2" in rec, rec
    assert email.message_from_bytes(raw[0])["Message-ID"] == "<starttls@client.test>"


def test_starttls_verified_server_named_by_ip_address(postfix, tmp_path, ca_file):
    tls = "-tlsverify 1 -tlsrequire 1 -cafile %s" % ca_file
    r = run_tcl(tmp_path, SIMPLE % dict(usetls=1, tls=tls, subject="starttls-ip"), str(postfix.port))
    assert results(r.stdout) == ["{}"]
    raw = postfix.wait_delivered("alice", containing=b"Subject: starttls-ip\n")
    assert len(raw) == 1 and "using TLS" in received_field(raw[0])


def test_opportunistic_starttls_is_the_default(postfix, tmp_path):
    # tcllib's default: -usetls 1, certificate not verified.
    r = run_tcl(tmp_path, SIMPLE % dict(usetls=1, tls="", subject="opportunistic"), str(postfix.port))
    assert results(r.stdout) == ["{}"]
    raw = postfix.wait_delivered("alice", containing=b"Subject: opportunistic\n")
    assert len(raw) == 1 and "using TLS" in received_field(raw[0])


def test_unknown_recipient_refused_at_rcpt(postfix, tmp_path):
    body = r"""
set tok [mime::initialize -canonical text/plain -string "atleastone"]
send $tok -atleastone 1 -usetls 0 -header [list Subject atleastone-1] \
    -header [list To "bob@example.test, nosuch@example.test"]
send $tok -atleastone 0 -usetls 0 -header [list Subject atleastone-0] \
    -header [list To "carol@example.test, nosuch@example.test"]
# a marker after the refused one: carol must receive only this
send $tok -usetls 0 -header [list Subject marker] -header [list To carol@example.test]
"""
    r = run_tcl(tmp_path, body, str(postfix.port))
    res = results(r.stdout)
    assert len(res) == 3 and res[2] == "{}"
    for line in res[:2]:
        # a Tcl list of one {address code diagnostic} element
        assert line.startswith("{{nosuch@example.test 550 ") or line.startswith("{{<nosuch@example.test> 550 "), line
        assert "User unknown in virtual mailbox table" in line
    bob = postfix.wait_delivered("bob")
    assert len(bob) == 1 and b"Subject: atleastone-1" in bob[0]
    msg = email.message_from_bytes(bob[0])
    assert msg["To"] == "bob@example.test, nosuch@example.test"
    carol = postfix.wait_delivered("carol")
    assert [b"Subject: marker" in m for m in carol] == [True]
    assert not postfix.mailbox("nosuch").exists()


def test_large_attachment(postfix, tmp_path):
    data = os.urandom(6 * 1024 * 1024 + 123)
    att = tmp_path / "blob.bin"
    att.write_bytes(data)
    body = r"""
set text [mime::initialize -canonical text/plain -string "see attachment"]
set file [mime::initialize -canonical "application/octet-stream; name=\"blob.bin\"" \
    -header [list Content-Disposition "attachment; filename=\"blob.bin\""] \
    -encoding base64 -file [lindex $argv 1]]
set tok [mime::initialize -canonical multipart/mixed -parts [list $text $file]]
send $tok -usetls 1 -header [list Subject large] -header [list To dave@example.test]
"""
    r = run_tcl(tmp_path, body, str(postfix.port), str(att))
    assert results(r.stdout) == ["{}"]
    raw = postfix.wait_delivered("dave")[0]
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    parts = msg.get_payload()
    assert msg.get_content_type() == "multipart/mixed" and len(parts) == 2
    assert parts[0].get_payload(decode=True).rstrip(b"\r\n") == b"see attachment"
    assert parts[1].get_filename() == "blob.bin"
    assert hashlib.sha256(parts[1].get_payload(decode=True)).hexdigest() == hashlib.sha256(data).hexdigest()
    # base64 lines within RFC 2045's 76 characters
    b64 = parts[1].get_payload()
    assert max(len(l) for l in b64.splitlines()) <= 76
    # Postfix logged the declared size (SIZE= on MAIL FROM is advertised)
    assert re.search(r"from=<sender@client.test>, size=\d{7}", postfix.log())


def test_8bit_body_and_encoded_subject(postfix, tmp_path):
    text = "Grüße aus Köln – naïve café €5\nπ ≈ 3.14159\n"
    body = r"""
set s [encoding convertfrom utf-8 [binary decode base64 [lindex $argv 1]]]
set tok [mime::initialize -canonical "text/plain; charset=utf-8" -encoding 8bit -string $s]
send $tok -usetls 0 -header [list To erin@example.test] \
    -header [list Subject [mime::word_encode utf-8 quoted-printable "Grüße €"]]
"""
    r = run_tcl(tmp_path, body, str(postfix.port), base64.b64encode(text.encode()).decode())
    assert results(r.stdout) == ["{}"]
    raw = postfix.wait_delivered("erin")[0]
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert msg["Content-Transfer-Encoding"] == "8bit"
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_payload(decode=True).decode("utf-8").rstrip("\n") == text.rstrip("\n")
    assert text.encode("utf-8") in raw  # the raw 8-bit bytes, not re-encoded
    subject = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
    assert subject == "Grüße €"


def test_smtp_sink_receives_many_messages_on_separate_connections(tmp_path):
    try:
        require_postfix()
    except PostfixMissing as exc:
        pytest.fail(str(exc))
    body = r"""
for {set i 0} {$i < 20} {incr i} {
    set tok [mime::initialize -canonical text/plain -string "message $i\n.leading dot"]
    send $tok -header [list Subject "n$i"] -header [list To "r$i@sink.test"] \
        -header [list Cc "cc$i@sink.test"]
    mime::finalize $tok
}
"""
    with SmtpSink(dump=True) as sink:
        r = run_tcl(tmp_path, body, str(sink.port))
        dumps = sink.dumps()
    assert results(r.stdout) == ["{}"] * 20
    assert len(dumps) == 20
    seen = set()
    for d in dumps:
        assert b"X-Mail-Args: <sender@client.test>\n" in d
        m = re.search(rb"Subject: n(\d+)\n", d)
        assert m
        i = int(m.group(1))
        seen.add(i)
        assert re.findall(rb"X-Rcpt-Args: (.*)\n", d) == [b"<r%d@sink.test>" % i, b"<cc%d@sink.test>" % i]
        msg = sink_message(d)
        assert msg.endswith(b"\r\nmessage %d\r\n.leading dot\r\n" % i)
    assert seen == set(range(20))
