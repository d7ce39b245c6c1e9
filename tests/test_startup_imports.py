"""Start-up imports only what the run needs (issue 9 item 5).

The launcher runs a script in a fresh process; an ``atexit`` hook (the
launcher's ``exit`` runs them) prints which watched modules it imported.
Capture mode's server (aiosmtpd, asyncio), TLS (ssl), AUTH (hashlib), date
parsing (email.utils) and the SMTP core load only when used; the last test
shows the check sees them when they are used.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

WATCHED = ("aiosmtpd", "asyncio", "ssl", "hashlib", "email", "dataclasses", "inspect", "pathlib",
           "shutil", "urllib", "pysmtp_tcl.smtp.session", "pysmtp_tcl.mime", "logging",
           "encodings.idna", "threading", "ipaddress", "pysmtp_tcl.smtp.pool", "typing")

# Modules the interpreter had before the launcher ran (site's, e.g. an
# editable install's finder imports pathlib) are not the launcher's doing.
RUNNER = r"""
import atexit, json, sys
before = set(sys.modules)
def report():
    watched = %r
    print("IMPORTED " + json.dumps(sorted(m for m in sys.modules if m not in before
          and any(m == w or m.startswith(w + ".") for w in watched))))
atexit.register(report)
from pysmtp_tcl.launcher import main
sys.exit(main(sys.argv[1:]))
""" % (WATCHED,)


def imported(tmp_path, script: str, *launcher_args: str):
    path = tmp_path / "script.tcl"
    path.write_text(script)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", RUNNER, *launcher_args, str(path)], capture_output=True,
                       text=True, env=env, timeout=120, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    line = [x for x in p.stdout.splitlines() if x.startswith("IMPORTED ")]
    assert len(line) == 1, p.stdout
    return set(json.loads(line[0][len("IMPORTED "):]))


def test_package_require_loads_neither_core_nor_tls_nor_capture(tmp_path):
    got = imported(tmp_path, "package require smtp\npackage require mime\nputs ok\n")
    assert got == set(), "imported at start-up: %s" % sorted(got)


def test_a_plain_send_needs_no_tls_auth_or_capture_server(tmp_path, scripted):
    server = scripted()
    got = imported(tmp_path, """package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "hello\\n"]
smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -usetls 0 -originator a@example.com \\
    -header {To b@example.org}
""" % server.port)
    assert len(server.datas) == 1  # it did send
    # nor the logger (only an internal error logs), the idna codec (an
    # ASCII host name), threading, dataclasses (with inspect: the send
    # path's records are plain classes, pysmtp_tcl/records.py), typing (for
    # type checkers only), ipaddress (no
    # address literal) or the connection pool (no --reuse): each costs
    # every cron-job process time
    for name in ("aiosmtpd", "asyncio", "ssl", "hashlib", "logging", "encodings.idna", "threading",
                 "dataclasses", "inspect", "typing", "ipaddress", "pysmtp_tcl.smtp.pool"):
        assert name not in got, "a plain send imported %s" % name
    assert not any(m == "email" or m.startswith("email.") for m in got), sorted(got)
    assert "pysmtp_tcl.smtp.session" in got  # the core did load, when the script sent


@pytest.mark.parametrize("mode", ["capture", "starttls"])
def test_the_check_sees_what_is_used(tmp_path, scripted, server_tls, mode):
    if mode == "capture":
        got = imported(tmp_path, "package require smtp\n", "--capture", str(tmp_path / "out"))
        assert {"aiosmtpd", "asyncio"} <= got
    else:
        server = scripted(tls_context=server_tls, ehlo=["250-test.example", "250 STARTTLS"])
        got = imported(tmp_path, """package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "hello\\n"]
smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com -header {To b@example.org}
""" % server.port)
        assert "ssl" in got
