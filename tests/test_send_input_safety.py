"""What a script's values can put into SMTP commands (issue 7 items 1, 6, 7):
every command line is made by the renderer (pysmtp_tcl/smtp/commands.py)
and checked before connecting, so bad input is a Tcl error naming the
option and value, and nothing reaches the server.  Real sends to a scripted
server on 127.0.0.1; real tcllib where behaviour stays tcllib's."""
from __future__ import annotations

import re
import subprocess

import pytest

from pysmtp_tcl.smtp.connection import SelectorReactor
from pysmtp_tcl.smtp.session import SessionOptions, open_session


def send(interp, port, opts: str, setup: str = ""):
    """``(rc, message, errorcode, errorinfo)`` of one send."""
    out = interp.eval(r"""set tok [mime::initialize -canonical text/plain -string body]
        %s
        set rc [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d %s} m o]
        list $rc $m [expr {[dict exists $o -errorcode] ? [dict get $o -errorcode] : ""}] \
            [expr {[dict exists $o -errorinfo] ? [dict get $o -errorinfo] : ""}]""" % (setup, port, opts))
    rc, msg, ec, info = interp.tcl.tk.splitlist(out)
    return int(rc), msg, ec, info


def command_lines(srv):
    return [l for c in srv.conns for l in c.lines]


def assert_clean_commands(srv):
    for line in command_lines(srv):
        assert line.endswith(b"\r\n") and line.count(b"\r") == 1 and line.count(b"\n") == 1, line
        assert len(line) <= 512
        assert not re.search(rb"[\x00-\x1f\x7f]", line[:-2]), line


# -- item 1: CR/LF through a folded -header address ------------------------------

def test_issue_payload_folded_quoted_local_part_sends_one_rcpt(interp, scripted):
    srv = scripted()
    rc, msg, _, _ = send(interp, srv.port, r'''-originator o@x.y \
        -header [list To "\"t\r\n RCPT TO:<injected@evil>\r\n x\"@x.y"]''')
    assert rc == 0, msg
    srv.settle()
    assert_clean_commands(srv)
    # unfolded (RFC 5322 §2.2.3) before parsing: a quoted local part with
    # spaces, one RCPT line (tcllib sent the CR LF, and smtp-sink took the
    # injected line as a second RCPT)
    rcpts = [l for l in command_lines(srv) if l.startswith(b"RCPT")]
    assert rcpts == [b'RCPT TO:<"t RCPT TO:<injected@evil> x"@x.y>\r\n']
    # the header itself goes out folded, as given
    assert b'To: "t\r\n RCPT TO:<injected@evil>\r\n x"@x.y\r\n' in srv.datas[0]


def test_issue_payload_folded_angle_address(interp, scripted):
    srv = scripted()
    rc, msg, _, _ = send(interp, srv.port, r'''-originator o@x.y -header [list To "<t\r\n @x.y>"]''')
    assert rc == 0, msg
    srv.settle()
    assert_clean_commands(srv)
    assert [l for l in command_lines(srv) if l.startswith(b"RCPT")] == [b"RCPT TO:<t@x.y>\r\n"]


@pytest.mark.parametrize("option,value,source,verb", [
    ("-header", 'To "\\"a\\x01b\\"@x.y"', "-header To", "RCPT TO"),
    ("-header", 'To "ok@x.y, \\"a\\u0085b\\"@x.y"', "-header To", "RCPT TO"),
    ("-header", 'To ok@x.y] -header [list cc "\\"a\\u2028b\\"@x.y"', "-header cc", "RCPT TO"),
    ("-header", 'To ok@x.y] -header [list Dcc "\\"a\\tb\\"@x.y"', "-header Dcc", "RCPT TO"),
    ("-header", 'To ok@x.y] -header [list Bcc "\\"a\\x7fb\\"@x.y"', "-header Bcc", "RCPT TO"),
    ("-header", 'From "\\"a\\u2029\\"@x.y"', "-header From", "MAIL FROM"),
    ("-header", 'Resent-To "\\"a\\x1b\\"@x.y"] -header [list Resent-From r@x.y', "-header Resent-To",
     "RCPT TO"),
    ("-header", 'Resent-From "\\"a\\x9f\\"@x.y"] -header [list Resent-To r@x.y', "-header Resent-From",
     "MAIL FROM"),
])
def test_control_characters_in_header_addresses_are_refused_before_connecting(interp, scripted, option,
                                                                             value, source, verb):
    srv = scripted()
    extra = "" if "To" in value.split(" ", 1)[0] or "To ok" in value else " -recipients r@x.y"
    rc, msg, ec, _ = send(interp, srv.port, "-originator o@x.y%s %s [list %s]" % (extra, option, value)
                          if "From" not in value.split(" ", 1)[0] else "%s %s [list %s]" % (extra, option, value))
    assert rc == 1
    assert msg.startswith("%s address " % source) and ("cannot be used in %s: it contains" % verb) in msg
    assert interp.tcl.tk.splitlist(ec)[:2] == ("SMTP", "BADINPUT")
    assert "\r" not in msg and "\n" not in msg
    assert srv.conns == []  # nothing was sent: not even a connection


@pytest.mark.parametrize("opts,option", [
    ('-originator "a@b\\u2028c" -recipients r@x.y', "-originator"),
    ('-originator o@x.y -recipients "r@x.y\\u0085"', "-recipients"),
    ('-originator o@x.y -recipients "r@x.y\\x00"', "-recipients"),
    ('-originator o@x.y -recipients r@x.y -client "cl\\u2028ient.example"', "-client"),
    ('-originator o@x.y -recipients r@x.y -client "cl\\u0085ient.example"', "-client"),
    ('-originator o@x.y -recipients r@x.y -client "cl\\x9bient.example"', "-client"),
])
def test_raw_option_values_with_line_separators_are_refused(interp, scripted, opts, option):
    srv = scripted()
    rc, msg, ec, _ = send(interp, srv.port, opts)
    assert rc == 1 and msg.startswith(option + " value ") and "cannot be used in SMTP commands" in msg
    assert srv.conns == []


def test_postfix_smtp_sink_sees_one_rcpt_for_the_issue_payloads(interp, tcllib_tclsh):
    # Postfix's smtp-sink as the server, for tcllib and for us.
    from support.postfix import SmtpSink

    script = r"""package require mime; package require smtp
set ::rcs {}
foreach v [list "\"t\r\n RCPT TO:<injected@evil>\r\n x\"@x.y" "<t\r\n @x.y>"] {
    set t [mime::initialize -canonical text/plain -string body]
    lappend ::rcs [catch {smtp::sendmessage $t -servers 127.0.0.1 -ports $::port -originator o@x.y \
        -header [list To $v]} m] $m
}
puts $::rcs
"""
    results = {}
    for who in ("tcllib", "ours"):
        with SmtpSink(dump=True) as sink:
            if who == "tcllib":
                p = subprocess.run([tcllib_tclsh], input="set ::port %d\n%s" % (sink.port, script),
                                   capture_output=True, text=True, timeout=60)
                rcs = interp.tcl.tk.splitlist(p.stdout.strip())
            else:
                interp.tcl.tk.call("set", "::port", sink.port)
                interp.eval(script.split("\n", 1)[1].replace("puts $::rcs", ""))
                rcs = interp.tcl.tk.splitlist(interp.eval("set ::rcs"))
            results[who] = (rcs, [re.findall(rb"X-Rcpt-Args: (.*)\n", d) for d in sink.dumps()])
    rcs, rcpts = results["ours"]
    assert rcs == ("0", "", "0", "")
    # smtp-sink names its dump files at random and mtime ties are common:
    # compare the transactions as a set, not in order
    assert sorted(rcpts) == sorted([[b'<"t RCPT TO:<injected@evil> x"@x.y>'], [b"<t@x.y>"]])
    # tcllib: smtp-sink answered the injected RCPT too, so tcllib read every
    # later reply one late (DATA got a 250: code 7); the second payload went
    # out with a bare CR in the address (smtp-sink shows it as "?")
    rcs, rcpts = results["tcllib"]
    assert rcs[0] == "7" and "2.1.5" in rcs[1]
    assert rcpts == [[b"<t?@x.y>"]]


# -- item 6: command lines of any length -------------------------------------------

@pytest.mark.parametrize("opts,option,verb", [
    ("-originator o@x.y -recipients [string repeat a 1000000]@x.y", "-recipients", "RCPT TO"),
    ("-originator [string repeat a 1000000]@x.y -recipients r@x.y", "-originator", "MAIL FROM"),
    ("-originator o@x.y -recipients r@x.y -client [string repeat a 1000000]", "-client", "EHLO"),
    ("-originator o@x.y -header [list To r@[string repeat a 300].y]", "-header To", "RCPT TO"),
    ("-originator o@x.y -recipients [string repeat a 65]@x.y", "-recipients", "RCPT TO"),
    ("-originator o@x.y -recipients r@x.y -username [string repeat a 1000000] -password pw", "-username",
     "AUTH"),
    ("-originator o@x.y -recipients r@x.y -username u -password [string repeat a 1000000]", "-username",
     "AUTH"),
])
def test_overlong_values_are_refused_before_connecting(interp, scripted, opts, option, verb):
    srv = scripted(ehlo=["250-test.example", "250 AUTH PLAIN LOGIN"], auth_users={"u": "pw"})
    rc, msg, ec, _ = send(interp, srv.port, opts)
    assert rc == 1 and msg.startswith(option + " ") and ("cannot be used in " + verb) in msg, msg
    assert "over the limit" in msg and len(msg) < 400  # a huge value is shown cut
    assert "aaaaaaaaaa" * 20 not in msg
    assert srv.conns == []


def test_limits_are_the_rfc_ones_not_lower(interp, scripted):
    # 64-octet local part, 253-octet domain: fits a 256-octet path
    srv = scripted()
    local, domain = "a" * 64, ".".join(["b" * 61, "c" * 61, "d" * 61, "e" * 61])
    rc, msg, _, _ = send(interp, srv.port, "-originator o@x.y -recipients %s@%s" % (local, domain[:185]))
    assert rc == 0, msg
    srv.settle()
    assert_clean_commands(srv)


def test_auth_response_lines_are_exempt_from_512_but_bounded(interp, scripted):
    # An XOAUTH2 bearer token is often 2-3 KB: allowed (RFC 4954 §4).
    token = "t" * 3000
    srv = scripted(ehlo=["250-test.example", "250 AUTH XOAUTH2"], auth_users={"joe": token})
    rc, msg, _, _ = send(interp, srv.port, "-originator o@x.y -recipients r@x.y -username joe "
                         "-password %s -authmechanism XOAUTH2" % token)
    assert rc == 0, msg
    assert srv.conns[0].auth == "joe"


def test_nul_in_credentials_is_refused(interp, scripted):
    # PLAIN is authzid NUL authcid NUL passwd: a NUL would move the fields
    srv = scripted(ehlo=["250-test.example", "250 AUTH PLAIN"], auth_users={"u": "pw"})
    rc, msg, _, _ = send(interp, srv.port, '-originator o@x.y -recipients r@x.y -username "u\\0admin" '
                         "-password pw")
    assert rc == 1 and msg.startswith("-username value") and "PLAIN" in msg and srv.conns == []
    rc, msg, _, _ = send(interp, srv.port, '-originator o@x.y -recipients r@x.y -username u '
                         '-password "pw\\0x"')
    assert rc == 1 and msg.startswith("-password value of 4 characters") and "pw" not in msg[9:]


# -- item 7: EHLO argument -------------------------------------------------------------

def test_internationalised_client_name_is_sent_as_a_labels(interp, scripted):
    srv = scripted()
    rc, msg, _, _ = send(interp, srv.port, "-originator o@x.y -recipients r@x.y -client b\u00fccher.example")
    assert rc == 0, msg
    assert srv.commands[0] == "EHLO xn--bcher-kva.example"


@pytest.mark.parametrize("client", ["my_host", "a b", "[1.2.3]", "x" * 64 + ".example"])
def test_client_that_is_no_domain_is_refused(interp, scripted, client):
    srv = scripted()
    rc, msg, _, _ = send(interp, srv.port, "-originator o@x.y -recipients r@x.y -client {%s}" % client)
    assert rc == 1 and msg.startswith("-client value ") and "cannot be used in EHLO" in msg
    assert srv.conns == []


def test_default_client_name_that_is_no_domain_becomes_an_address_literal(scripted):
    # tcllib's default -client is [info hostname]; a host named "my_host"
    # cannot be an EHLO domain: RFC 5321 §4.1.4 says send an address literal.
    srv = scripted()
    opts = SessionOptions(servers=["127.0.0.1"], ports=[str(srv.port)], client="my_host",
                          client_is_default=True)
    session = open_session(opts, SelectorReactor())
    session.close("orderly")
    srv.settle()
    assert srv.commands[:2] == ["EHLO [127.0.0.1]", "QUIT"]


# -- what stays tcllib's -------------------------------------------------------------

ADDRESS_VALUES = [
    "plain@example.org", "Joe Q. Public <john.q.public@example.com>", "\"john doe\"@example.org",
    "a@b.c (a comment)", "<a+tag@example.org>", "first.last@sub.example.org, second@example.org",
    "Group: a@b.c, d@e.f;", "user", "a@[192.0.2.1]", "\"a..b\"@docomo.example",
    "x@example.org,\n y@example.org",
]


def test_ordinary_addresses_give_the_same_commands_as_tcllib(interp, scripted, tcllib_tclsh):
    script = "package require mime; package require smtp\nset t [mime::initialize -canonical text/plain -string b]\n"
    for i, v in enumerate(ADDRESS_VALUES):
        script += ("catch {smtp::sendmessage $t -servers 127.0.0.1 -ports $::port -client c.example "
                   "-header [list From {%s}] -header [list To {%s}]}\n" % (v, v))
    theirs, ours = scripted(), scripted()
    p = subprocess.run([tcllib_tclsh], input="set ::port %d\n%s" % (theirs.port, script),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    interp.tcl.tk.call("set", "::port", ours.port)
    interp.eval(script.split("\n", 1)[1])
    theirs.settle()
    ours.settle()

    def envelope(srv):
        return [[c for c in conn.commands if c.startswith(("MAIL", "RCPT"))] for conn in srv.conns]

    assert envelope(ours) == envelope(theirs)
    assert len(ours.datas) == len(theirs.datas) >= 8


# -- lone surrogates (a script's "\ud800"; Tcl hands them to Python) -------------------

@pytest.mark.parametrize("opts,option", [
    ('-originator "a\\ud800@x.y" -recipients r@x.y', "-originator"),
    ('-originator o@x.y -recipients "r\\udfff@x.y"', "-recipients"),
    ('-originator o@x.y -header [list To "\\"t\\udc80\\"@x.y"]', "-header To"),
    ('-originator o@x.y -recipients r@x.y -header [list Bcc "b\\ud83d@x.y"]', "-header Bcc"),
    ('-originator o@x.y -recipients r@x.y -client "h\\ud800.example"', "-client"),
])
def test_lone_surrogates_in_addresses_are_bad_input_not_an_internal_error(interp, scripted, opts, option):
    # a lone surrogate has no UTF-8 form (RFC 3629 §3): it was a Python
    # UnicodeEncodeError in the renderer (SMTP INTERNAL, a traceback logged)
    srv = scripted(ehlo=["250-test.example", "250 SMTPUTF8"])
    rc, msg, ec, info = send(interp, srv.port, opts)
    assert rc == 1 and msg.startswith(option + " "), msg
    assert "cannot be used in" in msg and "LONE SURROGATE (U+D" in msg
    assert interp.tcl.tk.splitlist(ec) == ("SMTP", "BADINPUT", option)
    assert "Error" not in info and "Traceback" not in info
    assert srv.conns == []


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_lone_surrogates_in_credentials_are_bad_input(interp, scripted, mech):
    srv = scripted(ehlo=["250-test.example", "250 AUTH PLAIN LOGIN CRAM-MD5"], auth_users={"u": "pw"})
    rc, msg, ec, _ = send(interp, srv.port, '-originator o@x.y -recipients r@x.y -authmechanism %s '
                          '-username "u\\ud800" -password pw' % mech)
    assert rc == 1 and msg.startswith("-username value") and "lone surrogate" in msg, msg
    assert interp.tcl.tk.splitlist(ec) == ("SMTP", "BADINPUT", "-username")
    rc, msg, ec, _ = send(interp, srv.port, '-originator o@x.y -recipients r@x.y -authmechanism %s '
                          '-username u -password "pw\\udfff"' % mech)
    # the length only, never the password (the count is Python's: on Tcl
    # 8.6 the surrogate arrives as its three CESU-8 octets)
    assert rc == 1 and re.match(r"-password value of \d+ characters cannot", msg), msg
    assert "lone surrogate" in msg and "pw" not in msg[9:]
    assert srv.conns == []


def test_lone_surrogate_in_a_header_address_that_is_no_recipient_goes_as_buildmessage_writes_it(
        interp, scripted):
    # -recipients given: the To field is only text of the message; the
    # message's octets are what mime::buildmessage gives (the generator
    # writes a lone surrogate's code units as UTF-8 does other chars), not
    # an internal error mid-message
    # (a non-ASCII local part in a header needs SMTPUTF8: COMPATIBILITY S4)
    srv = scripted(ehlo=["250-test.example", "250-8BITMIME", "250 SMTPUTF8"])
    rc, msg, ec, info = send(interp, srv.port, '-originator o@x.y -recipients r@x.y '
                             '-header [list To "t\\ud800@x.y"]')
    assert (rc, msg) == (0, ""), (msg, info)
    srv.settle()
    built = interp.eval('set t [mime::initialize -canonical text/plain -string body]\n'
                        'mime::setheader $t To "t\\ud800@x.y"\n'
                        'set m [mime::buildmessage $t]\n'
                        'regexp -line {^To: .*$} $m line\nset line')
    sent = [l for l in srv.datas[0].split(b"\r\n") if l.startswith(b"To: ")]
    # buildmessage's result holds octets (one char each)
    assert sent == [built.rstrip("\r").encode("latin-1")]
    assert sent[0].startswith(b"To: t") and sent[0].endswith(b"@x.y")
