"""The command renderer (pysmtp_tcl/smtp/commands.py): every SMTP command
line is made there, and nothing it renders is more than one well-formed
command (RFC 5321 §2.3.8, §4.1.2, §4.5.3.1)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pysmtp_tcl.smtp import commands as c
from pysmtp_tcl.smtp.commands import CommandError, render

FORBIDDEN = ["\r", "\n", "\r\n", "\x00", "\x01", "\t", "\x1b", "\x7f", "\x80", "\x85", "\x9f",
             "\u2028", "\u2029"]


def test_commands_render_as_tcllib_writes_them():
    assert render(c.Ehlo("vm")) == b"EHLO vm\r\n"
    assert render(c.Helo("[127.0.0.1]")) == b"HELO [127.0.0.1]\r\n"
    assert render(c.Mail("")) == b"MAIL FROM:<>\r\n"
    assert render(c.Mail("a@b.c", (("SIZE", "123"), ("BODY", "8BITMIME")))) == \
        b"MAIL FROM:<a@b.c> SIZE=123 BODY=8BITMIME\r\n"
    assert render(c.Rcpt("Postmaster")) == b"RCPT TO:<Postmaster>\r\n"
    assert render(c.Rcpt('"john doe"@example.org')) == b'RCPT TO:<"john doe"@example.org>\r\n'
    assert render(c.Rcpt("a@[IPv6:::1]")) == b"RCPT TO:<a@[IPv6:::1]>\r\n"
    assert render(c.Auth("CRAM-MD5")) == b"AUTH CRAM-MD5\r\n"
    assert render(c.AuthResponse("AGpvZQBwdw==")) == b"AGpvZQBwdw==\r\n"
    assert render(c.AUTH_CANCEL) == b"*\r\n"
    assert [render(v) for v in (c.DATA, c.RSET, c.QUIT, c.STARTTLS, c.QUED, c.ONEX, c.DataEnd())] == [
        b"DATA\r\n", b"RSET\r\n", b"QUIT\r\n", b"STARTTLS\r\n", b"QUED\r\n", b"ONEX\r\n", b".\r\n"]


def test_utf8_paths_only_with_smtputf8():
    assert render(c.Rcpt("j\u00f6rg@b\u00fccher.example"), utf8=True) == \
        "RCPT TO:<j\u00f6rg@b\u00fccher.example>\r\n".encode("utf-8")
    with pytest.raises(CommandError):
        render(c.Rcpt("j\u00f6rg@example.org"))


@pytest.mark.parametrize("bad", FORBIDDEN)
@pytest.mark.parametrize("make", [
    lambda b: c.Mail("a%s@x.y" % b), lambda b: c.Rcpt('"a%sb"@x.y' % b), lambda b: c.Rcpt("a@x%s.y" % b),
    lambda b: c.Rcpt("a@[1.2.3.4%s]" % b), lambda b: c.Ehlo("cl%sient.example" % b),
    lambda b: c.Helo("x%s" % b), lambda b: c.Verb("NOOP%s" % b), lambda b: c.Auth("PLAIN%s" % b),
    lambda b: c.Mail("a@x.y", (("SIZE", "1%s" % b),)),
])
def test_no_line_break_or_control_character_gets_through(make, bad):
    with pytest.raises(CommandError) as e:
        render(make(bad), utf8=True)
    assert "\r" not in str(e.value) and "\n" not in str(e.value)  # shown escaped


def test_the_issue_7_payloads():
    # after unfolding, the folded To value is a (weird) valid quoted local
    # part: one RCPT line, nothing injected
    assert render(c.Rcpt('"t RCPT TO:<injected@evil> x"@x.y')) == \
        b'RCPT TO:<"t RCPT TO:<injected@evil> x"@x.y>\r\n'
    # what tcllib derived without unfolding
    for raw in ('"t\r\n RCPT TO:<injected@evil>\r\n x"@x.y', "t\r@x.y"):
        with pytest.raises(CommandError, match=r"it contains (CR|LF)"):
            render(c.Rcpt(raw))


@pytest.mark.parametrize("address,why", [
    ("a" * 64 + "@x.y", None),
    ("a" * 65 + "@x.y", r"its local part is 65 octets, over the limit of 64 \(RFC 5321 §4\.5\.3\.1\.1\)"),
    ("a@" + ".".join(["b" * 60] * 4), None),                        # 243 octets: fits
    ("a@" + ".".join(["b" * 63] * 4), r"its path would be 259 octets, over the limit of 256"),
    ("a@" + "b" * 64 + ".c", r"label over 63 octets"),
    ("a..b@x.y", r"Dot-string"), (".a@x.y", r"Dot-string"), ("a.@x.y", r"Dot-string"),
    ('"a..b"@x.y', None), ('"a\\"b"@x.y', None), ('"a"b@x.y', r"local-part@domain"),
    ("a@b", None), ("a", r"local-part@domain"), ("a@", r"local-part@domain"), ("@x.y", r"Dot-string"),
    ("a@b_c.d", r"letters, digits and hyphens"), ("a@-b.c", r"letters"), ("a@b.c.", r"letters"),
    ("a@[1.2.3.4]", None), ("a@[1.2.3]", r"address literal"), ("a@[IPv6:1::2]", None),
    ("a@[IPv6:zz]", r"address literal"), ("a@[x-tag:any thing]", r"address literal"),
    ("a@[x-tag:anything]", None),
])
def test_mailbox_rules(address, why):
    if why is None:
        c.check_mailbox(address, utf8=False)
        assert render(c.Rcpt(address)) == b"RCPT TO:<" + address.encode() + b">\r\n"
    else:
        with pytest.raises(CommandError, match=why):
            render(c.Rcpt(address))


def test_ehlo_domain_is_ascii_idna_or_refused():
    assert render(c.Ehlo("b\u00fccher.example")) == b"EHLO xn--bcher-kva.example\r\n"
    assert render(c.Ehlo("[IPv6:::1]")) == b"EHLO [IPv6:::1]\r\n"
    for bad, why in (("my_host", "letters, digits"), ("x" * 256, "over the limit of 255"),
                     ("a" * 64 + ".b", "label over 63"), ("[1.2.3]", "address literal"),
                     ("", "letters"), ("a b", "letters"), ("\u2028", "LINE SEPARATOR")):
        with pytest.raises(CommandError, match=why):
            render(c.Ehlo(bad))


def test_line_length_limits():
    # RFC 5321 §4.5.3.1.4: 512 with CRLF; MAIL gets the SIZE/BODY/SMTPUTF8
    # allowances; an AUTH continuation line is exempt but bounded.
    assert len(render(c.Verb("A" * 510))) == 512
    with pytest.raises(CommandError, match="513 octets, over the limit of 512"):
        render(c.Verb("A" * 511))
    ok = "A" * (c.MAX_AUTH_LINE - 2 - (c.MAX_AUTH_LINE - 2) % 4)
    assert render(c.AuthResponse(ok)).endswith(b"\r\n")
    with pytest.raises(CommandError, match="over the limit of 12288 \\(RFC 4954 §4\\)"):
        render(c.AuthResponse("A" * 12288))
    with pytest.raises(CommandError, match="not base64"):
        render(c.AuthResponse("AB CD"))


def test_errors_never_echo_credentials():
    with pytest.raises(CommandError) as e:
        render(c.AuthResponse("c2VjcmV0" * 2000))
    assert "c2VjcmV0" not in str(e.value) and "[credentials]" in str(e.value)


def test_huge_values_are_shown_cut():
    with pytest.raises(CommandError) as e:
        render(c.Rcpt("a" * 1000000 + "@x.y"))
    assert len(str(e.value)) < 300 and "(1000004 characters)" in str(e.value)


# Any text in any argument: what comes out is one line, within its limit,
# with no forbidden character -- or a CommandError.
anything = st.text(st.sampled_from(list("aZ9.@-_\"\\[]:<> ") + [f for f in FORBIDDEN if len(f) == 1]
                                   + ["\u00e9", "\u20ac"]),
                   max_size=80) | st.text(max_size=40)
makers = st.sampled_from([c.Ehlo, c.Helo, c.Mail, c.Rcpt, c.Auth, c.AuthResponse, c.Verb])


@settings(max_examples=600, deadline=None)
@given(makers, anything, st.booleans())
def test_rendered_lines_are_single_clean_commands(make, value, utf8):
    try:
        wire = render(make(value), utf8=utf8)
    except CommandError:
        return
    assert wire.endswith(b"\r\n") and wire.count(b"\r") == 1 and wire.count(b"\n") == 1
    line = wire[:-2].decode("utf-8")
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", line)
    assert len(wire) <= (c.MAX_AUTH_LINE if make is c.AuthResponse else c.MAX_LINE)
    if not utf8:
        assert wire.isascii()
