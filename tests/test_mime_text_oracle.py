"""Differential-test harness: the same Tcl commands run in real tcllib (the
host Tcl's oracle, support/oracle.py: 1.21 on Tcl 8.6, 2.0 on Tcl 9; one
``tclsh`` subprocess for the whole session, fed many commands) and in
pysmtp-tcl (a ``tkinter.Tcl()`` interpreter with the package installed).

Both sides use the same Tcl driver proc, so a result is compared as Tcl sees
it: return code and the UTF-8 of the result string.  Words travel as hex of
UTF-8, so any BMP text, control chars and NUL included, survives.

Used by the other ``test_mime_text_*`` modules (``from test_mime_text_oracle
import ...``).
"""
from __future__ import annotations

import subprocess
import tkinter
from typing import Tuple

import pytest

from support import oracle

DRIVER = r'''
namespace eval ::difftest {}
proc ::difftest::run {line} {
    set cmd {}
    foreach h $line {
        lappend cmd [encoding convertfrom utf-8 [binary decode hex $h]]
    }
    set code [catch {uplevel #0 $cmd} res]
    return "$code [binary encode hex [encoding convertto utf-8 $res]]"
}
'''

TCLSH_LOOP = r'''
encoding system utf-8
package require mime
fconfigure stdout -translation lf -encoding ascii
fconfigure stdin -translation lf -encoding ascii
while {[gets stdin line] >= 0} {
    puts [::difftest::run $line]
    flush stdout
}
'''

Result = Tuple[int, str]


def _encode(words) -> str:
    return " ".join(w.encode("utf-8").hex() or "{}" for w in words)


def _decode(reply: str) -> Result:
    code, _, hexres = reply.strip().partition(" ")
    return int(code), bytes.fromhex(hexres).decode("utf-8")


class Tcllib:
    """Real tcllib in one long-running ``tclsh``."""

    def __init__(self) -> None:
        o = oracle.oracle()
        problem = oracle.host.check(o)
        if problem:
            pytest.fail(problem)
        self.proc = subprocess.Popen(
            o.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            encoding="ascii", env=o.environ())
        assert self.proc.stdin is not None
        self.proc.stdin.write(DRIVER + TCLSH_LOOP)
        self.proc.stdin.flush()

    def __call__(self, *words: str) -> Result:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(_encode(words) + "\n")
        self.proc.stdin.flush()
        return _decode(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


class Ours:
    """pysmtp-tcl in a ``tkinter.Tcl()`` interpreter."""

    def __init__(self) -> None:
        import pysmtp_tcl

        self.tcl = tkinter.Tcl()
        self.tcl.tk.call("encoding", "system", "utf-8")
        self.context = pysmtp_tcl.install(self.tcl)
        self.tcl.tk.call("package", "require", "mime")
        self.tcl.eval(DRIVER)

    def __call__(self, *words: str) -> Result:
        return _decode(str(self.tcl.tk.call("::difftest::run", _encode(words))))


def strict_decoding_row(mine: Result, theirs: Result) -> bool:
    """COMPATIBILITY.md N3: on Tcl 9, tcllib 2.0 fails on received octets
    the charset does not define (strict profile); we read them as Tcl 8.6
    and tcllib 1.21 do (and go on: a later word may still fail otherwise)."""
    strict = "unexpected byte sequence starting at index"
    return (oracle.tcl9() and theirs[0] == 1 and theirs[1].startswith(strict)
            and strict not in mine[1])


# Marks the tests that need the oracle; the ``tcllib`` fixture fails (never
# skips) when it is missing.
needs_tclsh = pytest.mark.tcllib


@pytest.fixture(scope="session")
def tcllib():
    t = Tcllib()
    yield t
    t.close()


@pytest.fixture(scope="session")
def ours():
    return Ours()


@needs_tclsh
def test_harness_agrees_on_a_plain_call(tcllib, ours):
    assert tcllib("mime::qp_encode", "a=b") == ours("mime::qp_encode", "a=b") == (0, "a=3Db")
    # errors come back as code 1 with the message
    assert tcllib("mime::qp_encode") == ours("mime::qp_encode")
    assert tcllib("mime::qp_encode")[0] == 1


def test_pure_modules_never_import_tkinter():
    import subprocess
    import sys

    code = ("import sys; import pysmtp_tcl.mime.qp, pysmtp_tcl.mime.encoded_words, "
            "pysmtp_tcl.mime.address, pysmtp_tcl.mime.dates; "
            "sys.exit(1 if any(m == 'tkinter' or m.startswith(('tkinter.', '_tkinter')) "
            "for m in sys.modules) else 0)")
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=repo).returncode == 0
