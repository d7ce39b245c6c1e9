"""Run one fault scenario against pysmtp-tcl (in this process) or against
real tcllib (``tclsh`` subprocess), and judge the outcome.

Every send runs under two watchdogs, so a hang is detected and reported,
never suffered:

* a Tcl ``after`` (in the client's own event loop) releases the server at
  ``release_at`` for stalls whose right wait is minutes long; it also proves
  the event loop keeps running during the wait;
* a Python thread releases the server with a reset ``BACKSTOP`` seconds
  after the scenario's bound (the client is then counted as hung).

Descriptors: ``/proc/self/fd`` (and how many are sockets) are counted before
the server starts and after it has stopped; any difference is the client's.
"""
from __future__ import annotations

import os
import re
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .scenarios import MAXSECS, Expect, Scenario
from .server import FaultServer

BACKSTOP = 2.0
BIG_BODY_MB = 12     # enough to fill loopback buffers (client send + small server window)
RCVBUF = 16384
RSS_LIMIT_MB = 64    # an endless line/continuation must not grow the client by more


@dataclass
class Outcome:
    scenario: str
    rc: Optional[int] = None
    result: object = None           # str (rc 1), dict (rc 7), list of triples or "" (rc 0)
    raw: str = ""
    elapsed: float = 0.0
    hang: bool = False
    false_success: bool = False
    fd_delta: int = 0
    sock_delta: int = 0
    rss_growth_mb: float = 0.0
    problems: List[str] = field(default_factory=list)
    server_events: List[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        shown = self.raw if len(self.raw) < 160 else self.raw[:157] + "..."
        return "rc=%s %.2fs %r" % (self.rc, self.elapsed, shown)


def fd_counts() -> Tuple[int, int]:
    """(open descriptors, of which sockets) of this process."""
    n = s = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + name)
        except OSError:
            continue  # the listdir's own descriptor, already closed
        n += 1
        s += target.startswith("socket:")
    return n, s


def _rss_kb(field_name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def judge(sc: Scenario, out: Outcome, server: FaultServer) -> None:
    """Fill ``out.problems`` (empty = handled correctly): the outcome must
    be ``sc.expect``, or ``sc.also`` where the scenario allows two."""
    _judge(sc, sc.expect, out, server)
    if out.problems and sc.also is not None:
        first, out.problems, out.false_success = out.problems, [], False
        _judge(sc, sc.also, out, server)
        if out.problems:
            out.problems = first + ["nor the alternative outcome (%s): %s"
                                    % (sc.also.describe(), "; ".join(out.problems))]


def _judge(sc: Scenario, e: Expect, out: Outcome, server: FaultServer) -> None:
    if out.hang:
        out.problems.append("hang: not finished within %.1fs (took %.1fs)" % (sc.bound, out.elapsed))
    if out.rc == 0 and out.result in ("", [], ()) and (not server.final_2xx or e.rc != 0):
        # a success the server never gave, or one read from replies out of
        # step (a 2xx was sent, but not as the reply the client took it for)
        out.false_success = True
        out.problems.append("false success: " + ("the server never answered the final dot with 2xx"
                                                 if not server.final_2xx else
                                                 "the right outcome is a failure (%s)" % e.describe()))
    if out.fd_delta or out.sock_delta:
        out.problems.append("leaked %d descriptors (%d sockets)" % (out.fd_delta, out.sock_delta))
    if sc.min_elapsed and out.elapsed < sc.min_elapsed and not out.hang:
        out.problems.append("gave up after %.2fs, before %.1fs (the stage's wait is minutes)"
                            % (out.elapsed, sc.min_elapsed))
    if out.rss_growth_mb > RSS_LIMIT_MB:
        out.problems.append("memory grew by %.0f MB" % out.rss_growth_mb)
    if out.rc != e.rc:
        out.problems.append("return code %s, want %s (%s)" % (out.rc, e.rc, e.describe()))
    elif e.rc == 7:
        r = out.result
        if not isinstance(r, dict) or not {"code", "diagnostic"} <= set(r):
            out.problems.append("code-7 result is not a code/diagnostic list: %r" % (out.raw,))
        else:
            if set(r) - {"code", "diagnostic", "args"}:
                out.problems.append("unexpected keys in %r" % (out.raw,))
            if e.code is not None and r["code"] != e.code:
                out.problems.append("code %s, want %s" % (r["code"], e.code))
            _text(out, e, r["diagnostic"])
    elif e.rc == 1:
        _text(out, e, out.result)
    elif e.rc == 0:
        if e.refused:
            r = out.result
            if not (isinstance(r, list) and len(r) == 1 and len(r[0]) == 3):
                out.problems.append("want one refused recipient, got %r" % (out.raw,))
            else:
                if e.code is not None and r[0][1] != e.code:
                    out.problems.append("recipient code %s, want %s" % (r[0][1], e.code))
                _text(out, e, r[0][2])
        elif out.result not in ("", [], ()):
            out.problems.append("want success, got %r" % (out.raw,))
        elif not server.final_2xx and not out.false_success:
            out.problems.append("success without a 2xx to the final dot")
    if sc.check is not None and not out.hang:
        p = sc.check(server, out)
        if p:
            out.problems.append(p)


def _text(out: Outcome, e: Expect, got: object) -> None:
    if e.text is None:
        return
    got = str(got)
    if e.exact:
        if got != e.text:
            out.problems.append("text %r, want %r" % (got, e.text))
    elif not re.search(e.text, got, re.S):
        out.problems.append("text %r does not match /%s/" % (got, e.text))


class OurClient:
    """pysmtp-tcl in this process: one interpreter for every scenario (so
    per-send leaks add up and are seen)."""

    def __init__(self) -> None:
        from pysmtp_tcl import Interpreter

        self.interp = Interpreter()
        self.tk = self.interp.tcl.tk
        self.server: Optional[FaultServer] = None
        self.tk.createcommand("::faults_release", self._release)
        self.interp.eval('set ::faults_small [mime::initialize -canonical text/plain -string "Hello.\n"]')
        self._big = False

    def _release(self) -> str:
        if self.server is not None:
            self.server.release()
        return ""

    def big_token(self) -> str:
        if not self._big:
            line = "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\n"
            n = BIG_BODY_MB * (1 << 20) // len(line)
            self.tk.call("set", "::faults_bigbody", (line * n).encode("ascii"))
            self.interp.eval("set ::faults_big [mime::initialize -canonical text/plain -string $::faults_bigbody]"
                             "; unset ::faults_bigbody")
            self._big = True
        return "$::faults_big"

    def command(self, sc: Scenario, port: int) -> str:
        tok = self.big_token() if sc.big else "$::faults_small"
        extra = " -username fault -password secret" if sc.fault.auth else ""
        return ("smtp::sendmessage %s -servers 127.0.0.1 -ports %d -originator a@example.com "
                "-recipients r@example.org -maxsecs %g%s" % (tok, port, MAXSECS, extra))

    def run(self, sc: Scenario, tls_context: Optional[ssl.SSLContext]) -> Outcome:
        out = Outcome(sc.name)
        if sc.big:
            self.big_token()  # built before counting
        fds0, socks0 = fd_counts()
        peak_ok = _reset_peak()
        rss0 = _rss_kb("VmRSS")
        server = FaultServer(sc.fault, tls_context, rcvbuf=RCVBUF if sc.big else None)
        self.server = server
        hung = threading.Event()

        def backstop() -> None:
            hung.set()
            server.release(reset=True)

        timer = threading.Timer(sc.bound + BACKSTOP, backstop)
        timer.daemon = True
        after_id = None
        try:
            script = "set ::faults_rc [catch {%s} ::faults_res]" % self.command(sc, server.port)
            if sc.release_at is not None:
                after_id = self.tk.call("after", int(sc.release_at * 1000), "::faults_release")
            timer.start()
            t0 = time.monotonic()
            self.tk.eval(script)
            out.elapsed = time.monotonic() - t0
        finally:
            timer.cancel()
            if after_id is not None:
                self.tk.call("after", "cancel", after_id)
            self.server = None
            server.stop()
        rss1 = _rss_kb("VmHWM" if peak_ok else "VmRSS")
        out.rss_growth_mb = max(0, rss1 - rss0) / 1024.0
        fds1, socks1 = fd_counts()
        out.fd_delta, out.sock_delta = fds1 - fds0, socks1 - socks0
        out.hang = hung.is_set() or out.elapsed > sc.bound
        out.rc = int(self.tk.eval("set ::faults_rc"))
        out.raw = self.tk.eval("set ::faults_res")
        out.result = self._parse(out.rc)
        out.server_events = list(server.events)
        judge(sc, out, server)
        return out

    def _parse(self, rc: int) -> object:
        """The result, read element by element inside Tcl (it may hold
        NUL, which tkinter's splitlist refuses)."""
        ev = self.tk.eval
        if rc == 7:
            if ev("expr {[llength $::faults_res] % 2}") != "0":
                return ev("set ::faults_res")
            n = int(ev("llength $::faults_res"))
            return {ev("lindex $::faults_res %d" % i): ev("lindex $::faults_res %d" % (i + 1))
                    for i in range(0, n, 2)}
        if rc == 0:
            if ev("set ::faults_res") == "":
                return ""
            n = int(ev("llength $::faults_res"))
            return [tuple(ev("lindex $::faults_res %d %d" % (i, j))
                          for j in range(int(ev("llength [lindex $::faults_res %d]" % i))))
                    for i in range(n)]
        return ev("set ::faults_res")

    def warm_up(self, tls_context: Optional[ssl.SSLContext]) -> None:
        """One good send with STARTTLS and AUTH first, so lazily opened
        descriptors (random devices, CA stores) are not counted as leaks."""
        from .server import Fault

        with FaultServer(Fault("quit", "bare_lf", tls=True, auth=True), tls_context) as srv:
            self.interp.eval(
                "smtp::sendmessage $::faults_small -servers 127.0.0.1 -ports %d -originator a@example.com"
                " -recipients r@example.org -maxsecs 2 -username u -password p" % srv.port)


# -- real tcllib, for comparison ------------------------------------------------

TCLLIB_SCRIPT = r"""
package require smtp
package require mime
fconfigure stdout -translation lf -encoding iso8859-1
set body [expr {$big ? [string repeat "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\n" [expr {%d*1048576/77}]] : "Hello.\n"}]
set tok [mime::initialize -canonical text/plain -string $body]
set opts [list -servers 127.0.0.1 -ports $port -originator a@example.com -recipients r@example.org -maxsecs %g]
if {$auth} { lappend opts -username fault -password secret }
set t0 [clock milliseconds]
set rc [catch {smtp::sendmessage $tok {*}$opts} res]
puts [list $rc [string map [list \0 <NUL>] $res] [expr {[clock milliseconds]-$t0}]]
exit 0
""" % (BIG_BODY_MB, MAXSECS)


def run_tcllib(sc: Scenario, tls_context: Optional[ssl.SSLContext], tclsh: Optional[str] = None,
               limit: Optional[float] = None) -> Outcome:
    """Real tcllib in a ``tclsh`` subprocess (killed after ``limit``); by
    default the host's oracle that has tcl-tls (support/oracle.py)."""
    import dataclasses

    from support import oracle as host

    o = host.tls_oracle()
    cmd, env = ([tclsh], None) if tclsh else (o.command(), o.environ())

    out = Outcome(sc.name)
    fault = dataclasses.replace(sc.fault, release_after=sc.release_at)
    limit = limit if limit is not None else sc.bound + BACKSTOP
    with FaultServer(fault, tls_context, rcvbuf=RCVBUF if sc.big else None) as server:
        script = "set port %d; set big %d; set auth %d\n%s" % (server.port, sc.big, sc.fault.auth, TCLLIB_SCRIPT)
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, input=script.encode(), capture_output=True, timeout=limit, env=env)
            out.elapsed = time.monotonic() - t0
            text = p.stdout.decode("latin-1")
        except subprocess.TimeoutExpired:
            out.elapsed = time.monotonic() - t0
            out.hang = True
            out.raw = "(killed after %.0fs)" % limit
            out.problems.append("hang: killed after %.1fs" % limit)
            server.release(reset=True)
            return out
    import tkinter

    tk = tkinter.Tcl().tk
    try:
        rc, res, _ms = tk.splitlist(text.strip())
    except (ValueError, tkinter.TclError):
        out.raw = text + p.stderr.decode("latin-1")[-300:]
        out.problems.append("tclsh failed: %s" % out.raw)
        return out
    out.rc = int(rc)
    out.raw = str(res)
    if out.rc == 7:
        items = [str(x) for x in tk.splitlist(res)]
        out.result = dict(zip(items[::2], items[1::2])) if len(items) % 2 == 0 else str(res)
    elif out.rc == 0:
        out.result = "" if str(res) == "" else [tuple(str(y) for y in tk.splitlist(x)) for x in tk.splitlist(res)]
    else:
        out.result = str(res)
    out.hang = out.elapsed > sc.bound
    judge(sc, out, server)
    return out


def server_tls_context() -> ssl.SSLContext:
    """A server certificate for 127.0.0.1 (trustme)."""
    import trustme

    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx
