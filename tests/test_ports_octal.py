"""``-ports`` is read as the host Tcl's ``socket`` reads a port, as tcllib
passes it there: a leading 0 is octal on Tcl 8.6 (``031`` is port 25) and
decimal on Tcl 9 (TIP 114: ``031`` is port 31).  Compared with real tcllib
through the host's oracle (tcllib 1.21 on 8.6, 2.0 on Tcl 9), over real
sockets: the same port is octal-spelt for both sides.
"""
from __future__ import annotations

import subprocess

import pytest

from support import oracle
from support.scripted import ScriptedServer

SCRIPT = """package require smtp
set t [mime::initialize -canonical text/plain -string hi]
set code [catch {smtp::sendmessage $t -servers 127.0.0.1 -ports %s -originator a@example.com \\
    -recipients r@example.org} r]
puts [list $code $r]
"""


def server_above_0o77777():
    """A server on a port of 6 octal digits: read as decimal (Tcl 9) they
    exceed 65535, so the Tcl 9 reading reaches no port, whatever listens
    on this machine."""
    made = []
    try:
        for _ in range(50):
            s = ScriptedServer()
            if s.port >= 0o100000:
                return s
            made.append(s)
        pytest.fail("no free port above 32767 in 50 tries (ip_local_port_range?)")
    finally:
        for s in made:
            s.stop()


def run(cmd, port_text):
    p = subprocess.run(cmd, input=SCRIPT % port_text, capture_output=True, text=True, timeout=120,
                       env=oracle.oracle().environ())
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_leading_zero_port_is_read_as_the_host_tcl_reads_it(tcllib_tclsh):
    results = {}
    for side, cmd in (("tcllib", [tcllib_tclsh]), ("ours", ["pysmtp-tclsh"])):
        srv = server_above_0o77777()
        try:
            results[side] = run(cmd, "0%o" % srv.port)
            assert srv.settle(30)
            results[side + " connections"] = len(srv.conns)
            results[side + " data"] = len(srv.datas)
        finally:
            srv.stop()
    if oracle.tcl9():
        # decimal: the digits name a port above 65535; nothing is sent
        assert results["ours"] == results["tcllib"] == "1 {couldn't open socket: port number too high}"
        assert results["ours connections"] == results["tcllib connections"] == 0
    else:
        # octal: the server's own port; the message goes
        assert results["ours"] == results["tcllib"] == "0 {}"
        assert results["ours data"] == results["tcllib data"] == 1
