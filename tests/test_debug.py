"""-debug: the same stderr lines as tcllib, except credentials."""
from __future__ import annotations

import re
import subprocess

from conftest import run_launcher

SCRIPT = """package require mime; package require smtp
set tok [mime::initialize -canonical text/plain -string hello]
set r [catch {smtp::sendmessage $tok -debug 1 -servers {127.0.0.1} -ports {%d} \\
    -originator a@example.com -header {To r@example.org} -header {Subject dbg} %s} m]
puts "$r $m"
"""


def mask(text: str) -> str:
    return re.sub(r"sock[0-9a-f]+", "sockN", text)


def test_debug_lines_match_tcllib(tmp_path, scripted, tcllib_tclsh):
    cfg = dict(ehlo=["250-test.example", "250-SIZE 100000", "250 HELP"],
               rcpt_map={"r@": ["250 2.1.5 Ok"]})
    theirs_srv, ours_srv = scripted(**cfg), scripted(**cfg)
    t = tmp_path / "t.tcl"
    t.write_text(SCRIPT % (theirs_srv.port, ""))
    theirs = subprocess.run([tcllib_tclsh, str(t)], capture_output=True, text=True, timeout=60)
    o = tmp_path / "o.tcl"
    o.write_text(SCRIPT % (ours_srv.port, ""))
    ours = run_launcher([str(o)])
    assert ours.stdout == theirs.stdout == "0 \n"
    # The messages are the same; "hello" has no final line break, and the
    # CRLF both add before the dot is counted by us, not by tcllib (RFC 1870
    # §5, COMPATIBILITY.md S20).
    size = [int(re.search(r"SIZE=(\d+)", x).group(1)) for x in (ours.stderr, theirs.stderr)]
    assert size[0] == size[1] + 2
    masked = [re.sub(r"SIZE=\d+", "SIZE=N", mask(x)) for x in (ours.stderr, theirs.stderr)]
    assert masked[0] == masked[1]
    assert ours.stderr.splitlines()[:2] == ["Trying 127.0.0.1...", "<-- 220 test.example ESMTP scripted"]
    assert ours.stderr.splitlines()[2].startswith("--> EHLO ")


def test_debug_never_prints_credentials(tmp_path, scripted):
    srv = scripted(ehlo=["250-test.example", "250 AUTH PLAIN LOGIN"], auth_users={"joe": "s3cret-pw"})
    o = tmp_path / "o.tcl"
    o.write_text(SCRIPT % (srv.port, "-username joe -password s3cret-pw"))
    ours = run_launcher([str(o)])
    assert ours.stdout == "0 \n", ours.stderr
    assert "--> AUTH LOGIN (wait upto 300 seconds)" in ours.stderr
    assert "[credentials redacted]" in ours.stderr
    import base64
    for secret in ("s3cret-pw", base64.b64encode(b"s3cret-pw").decode(), base64.b64encode(b"joe").decode()):
        assert secret not in ours.stderr
