"""tcllib's ``smtpd`` and our ``smtp::sendmessage`` in ONE interpreter.

The server only runs when the Tcl event loop is serviced, so every delivery
here proves that our client waits through Tcl's event loop (``vwait`` with
file handlers, pysmtp_tcl/bridge/reactor.py) instead of blocking in Python.
tcllib's smtpd does ``package require mime`` and gets ours: it parses what
it received with our ``mime::parseaddress`` and (``-deliverMIME``) our
``mime::initialize -string``.

Not tested: STARTTLS against smtpd in the same interpreter.  smtpd
``tls::import``s its *blocking* channel and the handshake then blocks the
interpreter inside smtpd's fileevent handler, so no client on the same thread
can finish it; real tclsh with tcllib's own smtp client deadlocks the same way.

Sends use ``-maxsecs 20`` so that a client which does not service the event
loop fails in seconds instead of hanging for tcllib's 120 s default.
"""
from __future__ import annotations

import hashlib
import os
import socket
import time

import pytest

from pysmtp_tcl import Interpreter

from support import oracle


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtpd(tcllib_tclsh):
    """An Interpreter running tcllib's smtpd (callbacks are fully qualified:
    smtpd calls them from inside ::smtpd, where ``deliver`` is its own).
    smtpd records envelope addresses with their angle brackets. on 127.0.0.1:<port>, with
    ``::delivered`` (a list of {from to data}) and ``::mimes`` (what the
    -deliverMIME callback saw).  Yields (interp, port)."""
    interp = Interpreter()
    port = free_port()
    interp.eval(r"""
        set ::delivered {}
        set ::mimes {}
        proc ::rec_deliver {from to data} { lappend ::delivered [list $from $to $data] }
        proc ::rec_deliverMIME {tok} {
            set parts {}
            if {[mime::getproperty $tok content] eq "multipart/mixed"} {
                foreach p [mime::getproperty $tok parts] {
                    lappend parts [mime::getproperty $p content]
                    set ::partbody([llength $::mimes],[expr {[llength $parts] - 1}]) \
                        [mime::getbody $p -decode]
                }
            }
            lappend ::mimes [list [mime::getheader $tok Subject] [mime::getheader $tok To] \
                [mime::getproperty $tok content] $parts]
        }
        proc ::rec_validate_recipient {address} {
            if {[string match nosuch@* $address]} { error "no such user" }
        }
        package require smtpd
        smtpd::configure -deliver ::rec_deliver -validate_recipient ::rec_validate_recipient \
            -loglevel emergency
        smtpd::start 127.0.0.1 %d
    """ % port)
    yield interp, port
    interp.eval("smtpd::stop")


def send(interp, port, setup: str, options: str = "") -> str:
    return interp.eval(r"""
        %s
        set rc [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -maxsecs 20 %s} res]
        list $rc $res
    """ % (setup, port, options))


def split(interp, value):
    return [str(x) for x in interp.tcl.tk.splitlist(value)]


def test_tcllib_smtpd_loads_and_uses_our_mime(smtpd):
    interp, _ = smtpd
    o = oracle.oracle()  # tcllib's smtpd: 1.21's on Tcl 8.6, 2.0's on Tcl 9
    assert interp.eval("package present smtpd") == o.smtpd
    assert interp.eval("package ifneeded smtpd %s" % o.smtpd) == "source %s/smtpd/smtpd.tcl" % o.library
    assert interp.eval("package present mime") == o.mime
    assert "::pysmtp_tcl::invoke" in interp.eval("info body ::mime::parseaddress")
    assert "::pysmtp_tcl::invoke" in interp.eval("info body ::smtp::sendmessage")


def test_send_to_smtpd_in_same_interpreter(smtpd):
    interp, port = smtpd
    out = send(interp, port, r"""
        set tok [mime::initialize -canonical text/plain -string "Hello smtpd.\n.single dot\nbye"]
    """, r"""-originator "Sender <sender@example.com>" \
        -header {To "Ann <ann@example.org>, bob@example.org"} -header {Cc carl@example.org} \
        -header {Subject "same interpreter"}""")
    assert split(interp, out) == ["0", ""]
    delivered = split(interp, interp.eval("set ::delivered"))
    assert len(delivered) == 1
    sender, rcpts, data = split(interp, delivered[0])
    assert sender == "<sender@example.com>"
    assert split(interp, rcpts) == ["<ann@example.org>", "<bob@example.org>", "<carl@example.org>"]
    lines = split(interp, data)
    # smtpd's own trace fields first, then the message as sent
    assert lines[0] == "Return-Path: <sender@example.com>"
    assert lines[1].startswith("Received: from ")
    header_end = lines.index("")
    headers = lines[:header_end]
    assert "Subject: same interpreter" in headers
    assert "To: Ann <ann@example.org>, bob@example.org" in headers
    assert "Cc: carl@example.org" in headers
    assert "From: Sender <sender@example.com>" in headers
    assert any(h.startswith("Message-ID: <") for h in headers)
    assert any(h.startswith("Date: ") for h in headers)
    # smtpd removed the dot-stuffing our client added
    assert lines[header_end + 1:] == ["Hello smtpd.", ".single dot", "bye"]


def test_deliver_mime_multipart_with_attachment(smtpd):
    interp, port = smtpd
    blob = os.urandom(300 * 1024)  # several socket buffers: the send must interleave with smtpd's reads
    interp.eval("smtpd::configure -deliverMIME ::rec_deliverMIME")
    interp.call("set", "::blob", blob)
    out = send(interp, port, r"""
        set text [mime::initialize -canonical text/plain -string "see attachment"]
        set bin [mime::initialize -canonical application/octet-stream -encoding base64 -string $::blob]
        set tok [mime::initialize -canonical multipart/mixed -parts [list $text $bin]]
    """, "-originator a@example.com -header {To r@example.org} -header {Subject attached}")
    assert split(interp, out) == ["0", ""]
    mimes = split(interp, interp.eval("set ::mimes"))
    assert len(mimes) == 1
    subject, to, content, parts = split(interp, mimes[0])
    assert [subject, to, content] == ["attached", "r@example.org", "multipart/mixed"]
    assert split(interp, parts) == ["text/plain", "application/octet-stream"]
    assert interp.eval("set ::partbody(0,0)") == "see attachment"
    body1 = interp.call("set", "::partbody(0,1)")
    got = body1 if isinstance(body1, bytes) else str(body1).encode("latin-1")
    assert hashlib.sha256(got).digest() == hashlib.sha256(blob).digest()


@pytest.mark.parametrize("atleastone", [0, 1])
def test_recipient_refused_by_smtpd(smtpd, atleastone):
    interp, port = smtpd
    out = send(interp, port, 'set tok [mime::initialize -canonical text/plain -string x]',
               "-atleastone %d -originator a@example.com "
               "-header {To \"ok@example.org, nosuch@example.org\"}" % atleastone)
    rc, res = split(interp, out)
    assert rc == "0"
    refused = split(interp, res)
    assert len(refused) == 1
    addr, code, diag = split(interp, refused[0])
    assert (addr, code) == ("nosuch@example.org", "553")
    assert diag.startswith("Requested action not taken")
    delivered = split(interp, interp.eval("set ::delivered"))
    if atleastone:
        assert len(delivered) == 1
        assert split(interp, split(interp, delivered[0])[1]) == ["<ok@example.org>"]
    else:
        assert delivered == []


def test_timers_run_and_cpu_idle_while_waiting(interp):
    """A server in the same interpreter that answers only after an ``after``
    delay: our client's wait runs the timer, ticks keep coming, and the wait
    costs (almost) no CPU."""
    port = free_port()
    interp.eval(r"""
        set ::ticks 0
        proc tick {} { incr ::ticks; set ::tick_id [after 10 tick] }
        proc slow_accept {chan addr p} {
            fconfigure $chan -buffering line -translation crlf
            after 400 [list slow_greet $chan]
        }
        proc slow_greet {chan} {
            puts $chan "220 slow.example ESMTP"
            fileevent $chan readable [list slow_reply $chan]
        }
        proc slow_reply {chan} {
            if {[gets $chan line] < 0} { if {[eof $chan]} { close $chan }; return }
            switch -glob -- [string toupper $line] {
                EHLO* { puts $chan "250 slow.example" }
                QUIT  { puts $chan "221 bye"; close $chan }
                DATA  { puts $chan "354 go"; set ::indata($chan) 1 }
                default {
                    if {[info exists ::indata($chan)] && $::indata($chan)} {
                        if {$line eq "."} { set ::indata($chan) 0; puts $chan "250 ok" }
                    } else { puts $chan "250 ok" }
                }
            }
        }
        set ::srv [socket -server slow_accept -myaddr 127.0.0.1 %d]
        tick
    """ % port)
    t0, c0 = time.monotonic(), time.process_time()
    out = send(interp, port, 'set tok [mime::initialize -canonical text/plain -string x]',
               "-originator a@example.com -header {To r@example.org}")
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    interp.eval("after cancel $::tick_id; close $::srv")
    assert split(interp, out) == ["0", ""]
    assert wall >= 0.4
    ticks = int(interp.eval("set ::ticks"))
    assert ticks >= 15, ticks  # ~40 expected in 400 ms at 10 ms
    assert cpu < 0.25, cpu  # idle wait, no busy loop
