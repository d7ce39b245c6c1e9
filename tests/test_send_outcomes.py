"""What a send reports (issue 7 items 2, 4, 5, 8, 9): the same outcome for a
message that cannot be produced whatever the server advertises, never a
Python exception text, never a success read from replies out of step,
service names in -ports, SIZE counting every octet sent, and EHLO failures
and the greeting wait.  Real sends to servers on 127.0.0.1; real tcllib
where behaviour stays tcllib's."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import time

import pytest

from faults.server import Fault, FaultServer
from support.modules import owner_of
from support.scripted import CLOSE, STALL

SERVERS = {  # what the server advertises
    "plain": ["250-test.example", "250 HELP"],
    "size": ["250-test.example", "250 SIZE 10000000"],
    "8bitmime": ["250-test.example", "250 8BITMIME"],
    "both": ["250-test.example", "250-SIZE 10000000", "250 8BITMIME"],
}


def result(interp, script: str):
    """``(rc, result, errorcode, errorinfo)`` of ``script`` run in ``catch``."""
    interp.tcl.tk.call("set", "::script", script)
    out = interp.eval("""set rc [catch $::script m o]
        list $rc $m [expr {[dict exists $o -errorcode] ? [dict get $o -errorcode] : ""}] \
            [expr {[dict exists $o -errorinfo] ? [dict get $o -errorinfo] : ""}]""")
    rc, m, ec, info = interp.tcl.tk.splitlist(out)
    return int(rc), m, ec, info


PYTHON_TEXT = re.compile(r"Traceback|File \"|Error:|Exception|\.py\b|pysmtp_tcl\.")


def assert_no_python_text(*texts: str) -> None:
    for t in texts:
        assert not PYTHON_TEXT.search(t), t


# -- item 2: failures to produce the message ------------------------------------------

@pytest.mark.parametrize("ehlo", list(SERVERS))
def test_missing_file_is_the_same_code_7_whatever_the_server_advertises(interp, scripted, tmp_path, ehlo,
                                                                        tcllib_tclsh):
    srv = scripted(ehlo=SERVERS[ehlo])
    f = tmp_path / "gone.txt"
    f.write_text("data\n")
    interp.eval("set tok [mime::initialize -canonical text/plain -file {%s}]" % f)
    os.unlink(f)
    send = ("smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com "
            "-recipients r@example.org" % srv.port)
    rc, m, ec, info = result(interp, send)
    want = (7, ("code", "400", "diagnostic", 'couldn\'t open "%s": no such file or directory' % f))
    assert (rc, interp.tcl.tk.splitlist(m)) == want
    assert_no_python_text(m, info)
    srv.settle()
    assert srv.datas == [] and not [c for c in srv.conns for c in c.aborted if c]
    # tcllib: the same outcome whatever is advertised (its SIZE pass fails
    # silently; it then sends an empty message: S8)
    f.write_text("data\n")
    p = subprocess.run([tcllib_tclsh], input="""package require mime; package require smtp
        set tok [mime::initialize -canonical text/plain -file {%s}]
        file delete {%s}
        puts [list [catch {%s} m] $m]""" % (f, f, send), capture_output=True, text=True, timeout=60)
    rc, m = interp.tcl.tk.splitlist(p.stdout.strip())
    assert (int(rc), interp.tcl.tk.splitlist(m)) == want


@pytest.mark.parametrize("ehlo", list(SERVERS))
@pytest.mark.parametrize("setup,text", [
    # a header line no folding can shorten (M18) and a parsed field with a
    # bare CR (M19): the message cannot be produced
    ("mime::setheader $tok X-Long [string repeat x 2000]", r"line \d+ is longer than 998 octets"),
    ('set tok [mime::initialize -string "Subject: a\\rBcc: evil@x.y\\n\\nbody\\n"]',
     r"^value of header Subject contains a bare CR$"),
])
def test_unproducible_message_is_the_same_code_7_whatever_the_server_advertises(interp, scripted, ehlo,
                                                                               setup, text):
    srv = scripted(ehlo=SERVERS[ehlo])
    interp.eval("set tok [mime::initialize -canonical text/plain -string hi]\n" + setup)
    rc, m, ec, info = result(interp, "smtp::sendmessage $tok -servers 127.0.0.1 -ports %d "
                                     "-originator a@example.com -recipients r@example.org" % srv.port)
    parts = interp.tcl.tk.splitlist(m)
    assert rc == 7 and parts[:2] == ("code", "400") and parts[2] == "diagnostic", m
    assert re.search(text, parts[3])
    assert_no_python_text(m, info)
    srv.settle()
    assert srv.datas == []


@pytest.mark.parametrize("target,ehlo", [
    ("pysmtp_tcl.bridge.smtp_commands.parse_options", "plain"),
    ("pysmtp_tcl.smtp.envelope.derive", "plain"),
    ("pysmtp_tcl.smtp.sendmessage.check_envelope", "plain"),
    ("pysmtp_tcl.smtp.sendmessage.check_session", "plain"),
    ("pysmtp_tcl.smtp.session.Session.send_transaction", "plain"),
    ("pysmtp_tcl.smtp.connection.Connection.fill", "plain"),         # reading replies
    ("pysmtp_tcl.smtp.session.take_reply", "plain"),              # a whole reply at once
    ("pysmtp_tcl.smtp.datawriter.DataEncoder.feed", "plain"),   # while sending DATA
    ("pysmtp_tcl.smtp.datawriter.DataEncoder.feed", "size"),    # in the measuring pass
    ("pysmtp_tcl.smtp.session._measure", "size"),
    ("pysmtp_tcl.smtp.session.Session.close", "plain"),
])
def test_unexpected_failures_never_show_python_to_the_script(interp, scripted, monkeypatch, caplog,
                                                            target, ehlo):
    # Force a bug of ours at each stage: the script gets tcllib's shape (a
    # Tcl error before connecting, code 7 {code 400 ...} after) with a fixed
    # text; the traceback goes to the Python logger only.
    owner, attr = owner_of(target)

    def boom(*a, **k):
        raise KeyError("secret-python-text")

    monkeypatch.setattr(owner, attr, boom)
    srv = scripted(ehlo=SERVERS[ehlo])
    with caplog.at_level("ERROR", logger="pysmtp_tcl"):
        rc, m, ec, info = result(interp, "smtp::sendmessage [mime::initialize -canonical text/plain "
                                         "-string hi] -servers 127.0.0.1 -ports %d -originator a@example.com "
                                         "-recipients r@example.org" % srv.port)
    assert rc in (1, 7)
    assert "secret-python-text" not in m + info and "KeyError" not in m + info
    assert_no_python_text(m, info)
    assert "internal error in pysmtp-tcl" in m
    if rc == 1:
        assert ec == "SMTP INTERNAL"
    else:
        assert interp.tcl.tk.splitlist(m)[:2] == ("code", "400")
    assert any("secret-python-text" in r.getMessage() + str(r.exc_info) for r in caplog.records)
    srv.settle()
    if not target.endswith("close"):  # (a failing QUIT comes after the message)
        assert srv.datas == []


# -- item 4: replies out of step --------------------------------------------------------

def test_a_250_before_the_dot_then_554_is_never_a_success(interp):
    # The server: "250" as soon as it has read the body's last line
    # (before the final dot), then "554" to the dot.  tcllib: rc 0 in 200
    # of 200 sends.
    with FaultServer(Fault("body", "early_reply_at", b"last line\r\n")) as srv:
        interp.eval('set ::tok [mime::initialize -canonical text/plain -string "first\nlast line\n"]')
        rcs = []
        for _ in range(200):
            rc, m, _, _ = result(interp, "smtp::sendmessage $::tok -servers 127.0.0.1 -ports %d "
                                         "-originator a@example.com -recipients r@example.org" % srv.port)
            rcs.append(rc)
            assert rc == 7 and ("5.6.0 message refused after all" in m
                                or "server replied before the end of the message: 250" in m), m
        assert not srv.final_2xx


@pytest.mark.parametrize("late", [0.0, 0.3])
def test_a_reply_after_the_final_reply_reveals_the_real_one(interp, late):
    # a stray 2xx, then the real reply: at once (seen before QUIT) or late
    # (read as QUIT's reply)
    with FaultServer(Fault("final", "stray_then", b"554 5.6.0 refused\r\n", late_after=late)) as srv:
        rc, m, _, _ = result(interp, "smtp::sendmessage [mime::initialize -canonical text/plain -string hi] "
                                     "-servers 127.0.0.1 -ports %d -originator a@example.com "
                                     "-recipients r@example.org" % srv.port)
    assert rc == 7 and interp.tcl.tk.splitlist(m) == ("diagnostic", "5.6.0 refused", "args", "", "code", "554")


def test_quit_answered_by_something_else_than_221_after_a_message(interp, scripted):
    # a 250 where QUIT's 221 is due, then the server hangs up: that 250 may
    # be the final dot's late reply (then the one read for the dot was a
    # stray one) -- not a success (tcllib: success)
    srv = scripted(quit=["250 2.0.0 Ok"])
    rc, m, _, _ = result(interp, "smtp::sendmessage [mime::initialize -canonical text/plain -string hi] "
                                 "-servers 127.0.0.1 -ports %d -originator a@example.com "
                                 "-recipients r@example.org" % srv.port)
    assert rc == 7 and interp.tcl.tk.splitlist(m) == (
        "code", "400", "diagnostic", 'QUIT was answered "250 2.0.0 Ok", not 221: the replies may be out of '
        "step, so whether the message was delivered is unknown")
    # followed by QUIT's own 221, it is the dot's real reply, by count
    srv = scripted(quit=["554 5.6.0 late", "221 2.0.0 Bye"])
    rc, m, _, _ = result(interp, "smtp::sendmessage [mime::initialize -canonical text/plain -string hi] "
                                 "-servers 127.0.0.1 -ports %d -originator a@example.com "
                                 "-recipients r@example.org" % srv.port)
    assert rc == 7 and interp.tcl.tk.splitlist(m) == ("diagnostic", "5.6.0 late", "args", "", "code", "554")
    for quit, want in ((["221 2.0.0 Bye"], 0), (["421 4.3.2 going down"], 0), ([CLOSE], 0),
                       (["garbage"], 0)):
        srv = scripted(quit=quit)
        rc, m, _, _ = result(interp, "smtp::sendmessage [mime::initialize -canonical text/plain "
                                     "-string hi] -servers 127.0.0.1 -ports %d -originator a@example.com "
                                     "-recipients r@example.org" % srv.port)
        assert (rc, m) == (want, ""), quit


def test_refused_recipients_only_rset_not_judged_by_quit(interp, scripted):
    # no message sent: QUIT's reply is not looked at (tcllib)
    srv = scripted(rcpt=["550 5.1.1 no"], quit=["250 odd"])
    rc, m, _, _ = result(interp, "smtp::sendmessage [mime::initialize -canonical text/plain -string hi] "
                                 "-servers 127.0.0.1 -ports %d -originator a@example.com "
                                 "-recipients r@example.org" % srv.port)
    assert rc == 0 and interp.tcl.tk.splitlist(m) == ("r@example.org 550 {5.1.1 no}",)


# -- item 5: service names in -ports -----------------------------------------------------

def _free_named_port():
    """A (service name, port) from the services database whose port is free
    on 127.0.0.1 now (no fixed port: whichever is free)."""
    with open("/etc/services") as f:
        for line in f:
            m = re.match(r"([A-Za-z][\w-]*)\s+(\d+)/tcp\b", line)
            if not m or int(m.group(2)) <= 1024:
                continue
            name, port = m.group(1), int(m.group(2))
            if socket.getservbyname(name, "tcp") != port:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return name, port
    pytest.fail("no free named port in /etc/services")


def test_ports_may_name_a_service_as_tcl_socket_allows(interp, scripted, tcllib_tclsh):
    name, port = _free_named_port()
    srv = scripted(port=port)
    rc, m, _, _ = result(interp, "smtp::sendmessage [mime::initialize -canonical text/plain -string hi] "
                                 "-servers 127.0.0.1 -ports %s -originator a@example.com "
                                 "-recipients r@example.org" % name)
    assert (rc, m) == (0, "")
    assert len(srv.datas) == 1
    # tcllib (Tcl's socket resolves the name) sends there too
    p = subprocess.run([tcllib_tclsh], input="""package require mime; package require smtp
        puts [catch {smtp::sendmessage [mime::initialize -canonical text/plain -string hi] \
            -servers 127.0.0.1 -ports %s -originator a@example.com -recipients r@example.org} m]$m""" % name,
                       capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "0"
    srv.settle()
    assert len(srv.datas) == 2


# -- item 8: SIZE counts every octet sent ---------------------------------------------------

@pytest.mark.parametrize("body", ["hi", "h\u00e9llo w\u00f6rld\n", "line\r\nother\rthird", "\u20ac" * 10])
def test_size_is_at_least_the_octets_sent(interp, scripted, tcllib_tclsh, body):
    srv = scripted(ehlo=SERVERS["size"])
    interp.tcl.tk.call("set", "::body", body)
    rc, m, _, _ = result(interp, """smtp::sendmessage [mime::initialize -canonical text/plain -encoding 8bit \
        -string $::body] -servers 127.0.0.1 -ports %d -originator a@example.com -recipients r@example.org \
        -header [list Subject "gr\u00fc\u00dfe \u20ac"]""" % srv.port)
    assert (rc, m) == (0, "")
    srv.settle()
    size = int(re.search(r"SIZE=(\d+)", [c for c in srv.commands if c.startswith("MAIL")][0]).group(1))
    # RFC 1870 §5: the octets sent after 354, but the dot line and stuffing
    assert size == len(srv.datas[0])


def test_tcllib_declares_two_octets_too_few_without_a_final_line_break(scripted, tcllib_tclsh):
    # the documented difference (COMPATIBILITY.md S20)
    srv = scripted(ehlo=SERVERS["size"])
    subprocess.run([tcllib_tclsh], input="""package require mime; package require smtp
        smtp::sendmessage [mime::initialize -canonical text/plain -string hi] -servers 127.0.0.1 \
            -ports %d -originator a@example.com -recipients r@example.org""" % srv.port,
                   capture_output=True, text=True, timeout=60)
    srv.settle()
    size = int(re.search(r"SIZE=(\d+)", [c for c in srv.commands if c.startswith("MAIL")][0]).group(1))
    assert size == len(srv.datas[0]) - 2


# -- item 9: EHLO failures and the greeting wait ---------------------------------------------

@pytest.mark.parametrize("cfg,text", [
    (dict(ehlo=["554 5.7.1 go away"], helo=["554 5.7.1 no HELO either"]),
     "HELO to 127.0.0.1 failed: 554 5.7.1 no HELO either"),
    (dict(ehlo=["421 4.3.2 too busy"]), "EHLO to 127.0.0.1 failed: 421 4.3.2 too busy"),
    (dict(ehlo=[CLOSE]), "EHLO to 127.0.0.1 failed: premature end-of-file from server"),
])
def test_a_failed_ehlo_says_so_not_the_greeting(interp, scripted, cfg, text):
    srv = scripted(**cfg)
    rc, m, _, _ = result(interp, "smtp::sendmessage [mime::initialize -canonical text/plain -string hi] "
                                 "-servers 127.0.0.1 -ports %d -originator a@example.com "
                                 "-recipients r@example.org" % srv.port)
    assert (rc, m) == (1, text)
    assert "test.example ESMTP scripted" not in m  # tcllib's text: the greeting


def test_maxsecs_shortens_the_greeting_wait(interp, scripted):
    srv = scripted(greeting=[STALL])
    t0 = time.monotonic()
    rc, m, _, _ = result(interp, "smtp::sendmessage [mime::initialize -canonical text/plain -string hi] "
                                 "-servers 127.0.0.1 -ports %d -maxsecs 1 -originator a@example.com "
                                 "-recipients r@example.org" % srv.port)
    took = time.monotonic() - t0
    assert (rc, m) == (1, "read from server timed out")
    assert 0.9 <= took < 10  # tcllib: 600 s
