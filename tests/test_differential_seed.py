"""The manual's example under real tcllib (tclsh + Debian tcllib) and under
pysmtp-tclsh, against the same scripted server: same SMTP command sequence,
same message bytes (Date, Message-ID and Content-ID values masked)."""
from __future__ import annotations

import re
import subprocess

from conftest import REPO, run_launcher
from support import oracle

EXAMPLE = REPO / "examples" / "send_simple_message.tcl"

# Send tcllib's socket to the test server: the example hard-codes port 25.
REDIRECT = r"""
rename socket ::__real_socket
proc socket {args} {
    if {[lindex $args end] == 25} {
        set args [lreplace $args end-1 end 127.0.0.1 $::env(TEST_SMTP_PORT)]
    }
    ::__real_socket {*}$args
}
"""


def mask(data: bytes) -> bytes:
    data = re.sub(rb"(?im)^(Date|Message-ID|Content-ID): .*$", rb"\1: <masked>", data)
    return data


def run_both(scripted, tmp_path, tclsh):
    theirs_srv = scripted()
    ours_srv = scripted()
    wrapper = tmp_path / "tcllib_run.tcl"
    wrapper.write_text(REDIRECT + "set argv {}; set argc 0\nsource {%s}\n" % EXAMPLE)
    theirs = subprocess.run([tclsh, str(wrapper)], capture_output=True, text=True, timeout=60,
                            env=oracle.oracle().environ({"TEST_SMTP_PORT": str(theirs_srv.port),
                                                         "PATH": "/usr/bin:/bin"}))
    ours = run_launcher(["--route", "127.0.0.1:%d" % ours_srv.port, str(EXAMPLE)])
    return theirs, theirs_srv, ours, ours_srv


def test_manual_example_same_dialogue_and_bytes_as_tcllib(scripted, tmp_path, tcllib_tclsh):
    theirs, tsrv, ours, osrv = run_both(scripted, tmp_path, tcllib_tclsh)
    assert theirs.returncode == 0, theirs.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
    assert osrv.commands == tsrv.commands
    assert len(osrv.datas) == len(tsrv.datas) == 1
    assert mask(osrv.datas[0]) == mask(tsrv.datas[0])
