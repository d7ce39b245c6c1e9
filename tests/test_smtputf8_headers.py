"""A message whose header needs UTF-8 needs an SMTPUTF8 transaction, also
when its envelope is all ASCII (RFC 6531 §3.4, RFC 6532 §3.2; issue 8
item 4; COMPATIBILITY.md S4).

An address with a non-ASCII local part has no encoded-word form (RFC 2047
§5) and IDNA only covers domains: the header writer has to write it as
UTF-8.  Each transaction decides: SMTPUTF8 when the server offers it,
otherwise a clear Tcl error naming the header and the address, with no MAIL
sent.  Real servers on 127.0.0.1 (scripted, aiosmtpd) and a real
``sendmail`` program for the hand-off."""
from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from conftest import run_launcher

SEND = r"""
    set code [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com \
        -recipients r@example.org %s} res]
    list $code $res [expr {$code == 1 ? $::errorCode : ""}]
"""

# (what the script does to the token, the extra sendmessage options, the
# field and the text the error must name)
NEEDS_UTF8 = [
    pytest.param("", '-header [list To "Jos\u00e9 <jos\u00e9@example.org>, bob@ex\u00e4mple.org"]',
                 "To", 'address "jos\u00e9@example.org"', id="-header-To"),
    pytest.param('mime::setheader $tok Reply-To "jos\u00e9@example.org (Jos\u00e9)"', "",
                 "Reply-To", 'address "jos\u00e9@example.org"', id="token-Reply-To"),
    pytest.param("", '-header [list From "J\u00f6rg <j\u00f6rg@example.com>"]',
                 "From", 'address "j\u00f6rg@example.com"', id="-header-From-with-ascii-originator"),
    pytest.param("", '-header [list Message-ID "<\u00e9t\u00e9@example.com>"]',
                 "Message-ID", 'value "<\u00e9t\u00e9@example.com>"', id="Message-ID"),
    pytest.param('set tok [mime::initialize -canonical multipart/mixed -parts [list '
                 '[mime::initialize -canonical text/plain -string hi '
                 '-header [list Reply-To "\\"j \u00f6\\"@example.org"]]]]', "",
                 "Reply-To", 'address "\\"j \u00f6\\"@example.org"', id="part-header-quoted-local-part"),
]


def send(interp, port, setup, opts):
    interp.eval("set tok [mime::initialize -canonical text/plain -string hello]\n" + setup)
    return interp.tcl.tk.splitlist(interp.eval(SEND % (port, opts)))


@pytest.mark.parametrize("setup, opts, field, named", NEEDS_UTF8)
def test_header_that_needs_utf8_without_smtputf8_is_a_clear_error(interp, scripted, setup, opts, field, named):
    srv = scripted(ehlo=["250-test.example", "250-8BITMIME", "250-PIPELINING", "250 SIZE 100000"])
    code, res, errorcode = send(interp, srv.port, setup, opts)
    assert code == "1"
    assert res == ("header %s %s is not ASCII (no encoded-word can carry it) and the server does not "
                   "offer SMTPUTF8 (RFC 6531, RFC 6532)" % (field, named))
    assert interp.tcl.tk.splitlist(errorcode) == ("SMTP", "SMTPUTF8")
    srv.settle()
    # refused before MAIL: nothing of the transaction was sent
    assert [c.split()[0] for c in srv.commands] == ["EHLO", "RSET", "QUIT"]
    assert srv.datas == []


@pytest.mark.parametrize("setup, opts, field, named", NEEDS_UTF8)
def test_header_that_needs_utf8_goes_smtputf8_when_offered(interp, aio, setup, opts, field, named):
    srv = aio(enable_SMTPUTF8=True)
    code, res, _ = send(interp, srv.port, setup, opts)
    assert (code, res) == ("0", "")
    assert "SMTPUTF8" in srv.messages[0]["mail_options"]
    data = srv.messages[0]["data"]
    msg = email.message_from_bytes(data, policy=email.policy.SMTPUTF8)
    assert not msg.defects
    text = named.split(" ", 1)[1][1:-1].replace('\\"', '"')
    assert text.encode("utf-8") in data  # written as UTF-8 (RFC 6532), as given


def test_mail_from_declares_smtputf8_for_a_header_address(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 SMTPUTF8"])
    code, res, _ = send(interp, srv.port, "", '-header [list To "Jos\u00e9 <jos\u00e9@example.org>, '
                                              'bob@ex\u00e4mple.org"]')
    assert (code, res) == ("0", "")
    assert [c for c in srv.commands if c.startswith(("MAIL", "RCPT"))] == [
        "MAIL FROM:<a@example.com> SMTPUTF8", "RCPT TO:<r@example.org>"]
    # an SMTPUTF8 message: every address as UTF-8, the IDNA domain too
    to = [l for l in srv.datas[0].split(b"\r\n") if l.startswith(b"To: ")][0].decode("utf-8")
    assert to == "To: =?UTF-8?Q?Jos=C3=A9?= <jos\u00e9@example.org>, bob@ex\u00e4mple.org"


def test_text_that_encodes_to_ascii_needs_no_smtputf8(interp, scripted):
    # encoded-words and IDNA carry these: the transaction stays ASCII even
    # when the server offers SMTPUTF8 (no needless SMTPUTF8 message)
    srv = scripted(ehlo=["250-test.example", "250 SMTPUTF8"])
    code, res, _ = send(interp, srv.port, "mime::setheader $tok Comments \"\u00e0 propos\"",
                        '-header [list To "J\u00f6rg <joerg@ex\u00e4mple.org>"] -header {Subject caf\u00e9}')
    assert (code, res) == ("0", "")
    assert [c for c in srv.commands if c.startswith("MAIL")] == ["MAIL FROM:<a@example.com>"]
    assert srv.datas[0].isascii()
    assert b"To: =?UTF-8?Q?J=C3=B6rg?= <joerg@xn--exmple-cua.org>\r\n" in srv.datas[0]


def test_each_transaction_decides_bcc_copy_too(interp, scripted):
    # the blind copy (a multipart/digest holding the message) is a second
    # transaction on the connection: it carries the same header
    srv = scripted(ehlo=["250-test.example", "250 SMTPUTF8"])
    code, res, _ = send(interp, srv.port, "", '-header [list Reply-To "jos\u00e9@example.org"] '
                                              '-header {Bcc hidden@example.net}')
    assert (code, res) == ("0", "")
    assert [c for c in srv.commands if c.startswith("MAIL")] == [
        "MAIL FROM:<a@example.com> SMTPUTF8", "MAIL FROM:<a@example.com> SMTPUTF8"]
    srv2 = scripted()
    code, res, _ = send(interp, srv2.port, "", '-header [list Reply-To "jos\u00e9@example.org"] '
                                               '-header {Bcc hidden@example.net}')
    assert code == "1" and res.startswith('header Reply-To address "jos\u00e9@example.org" is not ASCII')
    srv2.settle()
    assert not [c for c in srv2.commands if c.startswith("MAIL")]


def test_sendmail_handoff_gets_the_smtputf8_form(tmp_path: Path):
    # The local MTA decides for itself (Postfix's smtputf8_autodetect_classes
    # covers sendmail); the message it gets is the one an SMTPUTF8
    # transaction carries: every address as UTF-8, not half IDNA.
    record = tmp_path / "msg"
    prog = tmp_path / "fake-sendmail"
    prog.write_text("#!/bin/sh\ncat > %s\n" % record)
    prog.chmod(0o755)
    script = tmp_path / "s.tcl"
    script.write_text(
        "package require smtp\n"
        "set t [mime::initialize -canonical text/plain -string hi]\n"
        "puts [smtp::sendmessage $t -servers localhost -originator a@example.com -recipients r@example.org"
        " -header [list To \"Jos\u00e9 <jos\u00e9@example.org>, bob@ex\u00e4mple.org\"]]\n", encoding="utf-8")
    p = run_launcher(["--route", "sendmail:%s" % prog, str(script)], timeout=90)
    assert p.returncode == 0, p.stderr
    msg = record.read_bytes()
    assert "\nTo: =?UTF-8?Q?Jos=C3=A9?= <jos\u00e9@example.org>, bob@ex\u00e4mple.org\n".encode("utf-8") in msg
