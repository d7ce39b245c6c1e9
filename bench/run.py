#!/usr/bin/env python3
"""pysmtp-tcl benchmark: issue 9's table, measured side by side in one run.

    python3 bench/run.py [--quick] [--reps N] [--only ROW,...] [--json FILE]

Every client sends to one Postfix ``smtp-sink`` on 127.0.0.1 (started and
stopped here); the latency rows go through a delay proxy of our own
(bench/delayproxy.py: 10 ms each way, 20 ms round trip).  Clients:

  tcllib       tclsh + Debian's tcllib 1.21
  pysmtp       the same Tcl scripts under pysmtp-tclsh (this checkout)
  smtplib      Python's smtplib + email.message.EmailMessage  (bench/peers.py)
  aiosmtplib   the asyncio peer (pip install -e '.[bench]')  (bench/peers.py)
  smtp-source  Postfix's C load generator (-d: one connection)

Each figure is the median of ``--reps`` runs with min-max; clients take turns
within each repetition.  A run that takes longer than 20 s is not repeated
(n=1 is shown).  Rows whose feature is not built yet (pysmtp ``--reuse``,
PIPELINING) print "not built yet": the probes in ``features()`` switch them
on when the launcher/package offers them.  ``--quick`` (CI's smoke test)
uses small sizes and one repetition: its numbers are not the goals'
workloads.  See bench/README.md for what each row measures.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

from delayproxy import DelayProxy  # noqa: E402
from support.postfix import SMTP_SOURCE, SmtpSink, require_postfix  # noqa: E402

# sys.executable, not its realpath: a venv's interpreter is a symlink whose
# target would lose the venv (a pyenv shim execs the real binary, so
# sys.executable is never the shim).
PYTHON = sys.executable
HEAVY = 20.0  # s: a run this long is not repeated
STATUSES = ("met", "NOT MET", "not built yet", "n/a")


def child_env(ours: bool) -> dict:
    env = dict(os.environ)
    # .pyc files are written and used, as after a pip install
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if ours:  # measure this checkout, whatever `pip install -e` points at
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def pysmtp_cmd() -> List[str]:
    script = Path(PYTHON).parent / "pysmtp-tclsh"
    if script.exists():
        with open(script, "rb") as fh:
            first = fh.readline()
        if first.startswith(b"#!") and b"python" in first:  # a real console script, not a shim
            return [str(script)]
    return [PYTHON, "-m", "pysmtp_tcl"]


def installed_cmd(tmp: Path) -> Tuple[List[str], str]:
    """``pysmtp-tclsh`` as ``pip install .`` leaves it: a fresh venv whose
    site-packages has this checkout on a plain ``.pth`` line, and pip's
    console-script wrapper.  An editable install (``pip install -e``, what
    the test venvs have) instead runs setuptools' import-hook finder in
    ``site`` at every start (it imports pathlib, fnmatch, importlib.util:
    ~10 ms a process), which no user's install pays.  Falls back to
    :func:`pysmtp_cmd` when a venv cannot be made."""
    import venv

    where = tmp / "venv"
    try:
        venv.create(str(where), with_pip=False, symlinks=True)
        site = subprocess.run([str(where / "bin" / "python"), "-c",
                               "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        Path(site, "pysmtp_tcl_checkout.pth").write_text(str(REPO) + "\n")
        script = where / "bin" / "pysmtp-tclsh"
        script.write_text("#!%s\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n"
                          "from pysmtp_tcl.launcher import main\n"
                          "if __name__ == '__main__':\n"
                          "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
                          "    sys.exit(main())\n" % (where / "bin" / "python"))
        script.chmod(0o755)
    except (OSError, subprocess.CalledProcessError) as e:
        return pysmtp_cmd(), "the running venv's (no private venv: %s)" % e
    return [str(script)], "a private venv with this checkout on a .pth line, as after `pip install .`"


def tclsh_cmd() -> List[str]:
    tclsh = shutil.which("tclsh")
    if not tclsh:
        sys.exit("tclsh not found: apt-get install tcl tcllib")
    return [os.path.realpath(tclsh)]


class Run:
    """One child process: status, output, wall/CPU seconds, peak RSS."""

    def __init__(self, cmd: Sequence[str], env: Optional[dict] = None, timeout: float = 900) -> None:
        t0 = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            cmd = [str(c) for c in cmd]
            p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
            deadline = t0 + timeout
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    p.kill()
                    pid, status, ru = os.wait4(p.pid, 0)
                    break
                time.sleep(0.002)
            self.wall = time.monotonic() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            self.status = p.returncode
            self.out = out.read().decode(errors="replace")
            self.err = err.read().decode(errors="replace")
        self.cpu = ru.ru_utime + ru.ru_stime
        self.utime, self.stime = ru.ru_utime, ru.ru_stime
        if self.status != 0:
            raise RuntimeError("%s failed (%d):\n%s\n%s" % (" ".join(cmd), self.status, self.out[-2000:],
                                                            self.err[-3000:]))
        self.fields = dict(w.split("=", 1) for w in self.out.split() if "=" in w)
        # The client's own VmHWM when it reports one: ru_maxrss of a child
        # also counts the pages of this process it was forked from.
        hwm = float(self.fields.get("hwm_kb", -1))
        self.rss_mb = (hwm if hwm > 0 else ru.ru_maxrss) / 1024.0

    @property
    def seconds(self) -> float:
        """The client's own timing of its sends (after start-up)."""
        return float(self.fields["seconds"])


class Stat:
    def __init__(self, values: Sequence[float]) -> None:
        self.values = list(values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def fmt(self, unit: str = "s", scale: float = 1.0, digits: int = 2) -> str:
        f = "%%.%df" % digits
        m = f % (self.median * scale)
        if len(self.values) == 1:
            return "%s %s (n=1)" % (m, unit)
        return "%s %s (%s-%s)" % (m, unit, f % (min(self.values) * scale), f % (max(self.values) * scale))


class Row:
    """One row of the table: figures per client and goals."""

    def __init__(self, key: str, title: str, note: str = "") -> None:
        self.key, self.title, self.note = key, title, note
        self.lines: List[str] = []
        self.goals: List[Tuple[str, str, str]] = []
        self.data: Dict[str, Dict[str, List[float]]] = {}

    def figure(self, client: str, text: str) -> None:
        self.lines.append("    %-22s %s" % (client, text))

    def goal(self, text: str, value: str, status: str) -> None:
        assert status in STATUSES
        self.goals.append((text, value, status))

    def check(self, text: str, ratio: Optional[float], limit: float, at_most: bool = True,
              unit: str = "x") -> None:
        if ratio is None or math.isnan(ratio):
            self.goal(text, "-", "n/a")
            return
        ok = ratio <= limit if at_most else ratio >= limit
        value = ("%.2f%s" % (ratio, unit)) if unit == "x" else ("%.2f %s" % (ratio, unit))
        self.goal(text, value, "met" if ok else "NOT MET")

    def print(self, quick: bool) -> None:
        print()
        print("[%s] %s" % (self.key, self.title))
        if self.note:
            print("    (%s)" % self.note)
        for line in self.lines:
            print(line)
        for text, value, status in self.goals:
            print("  goal | %s | %s | %s%s" % (text, value, status,
                                              " (quick: reduced workload)" if quick and status in
                                              ("met", "NOT MET") else ""))


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.reps = args.reps or (1 if self.quick else 3)
        self.tcl = tclsh_cmd()
        self.tmp = Path(tempfile.mkdtemp(prefix="pysmtp-bench-"))
        self.ours, self.ours_how = installed_cmd(self.tmp)
        self.rows: List[Row] = []
        self.features: Dict[str, bool] = {}
        self.sink: Optional[SmtpSink] = None
        self.proxy: Optional[DelayProxy] = None

    # -- running clients ---------------------------------------------------------
    def tcl_client(self, impl: str, script: str, *args: object, extra: Sequence[str] = ()) -> List[str]:
        base = self.tcl if impl == "tcllib" else self.ours + list(extra)
        return base + [str(HERE / script)] + [str(a) for a in args]

    def run(self, impl: str, cmd: Sequence[str]) -> Run:
        return Run(cmd, env=child_env(impl == "pysmtp"))

    def repeat(self, clients: Dict[str, Callable[[], Run]]) -> Dict[str, List[Run]]:
        """Run each client ``reps`` times, taking turns; a run over HEAVY
        seconds is not repeated."""
        runs: Dict[str, List[Run]] = {name: [] for name in clients}
        heavy: set = set()
        for _ in range(self.reps):
            for name, fn in clients.items():
                if name in heavy:
                    continue
                r = fn()
                runs[name].append(r)
                if r.wall > HEAVY:
                    heavy.add(name)
        return runs

    # -- set-up ------------------------------------------------------------------
    def probe_features(self) -> None:
        """What the launcher/package offers: rows of features not built yet
        print "not built yet" until these probes find them."""
        r = subprocess.run(self.ours + ["--help"], capture_output=True, text=True, env=child_env(True))
        self.features["reuse"] = "--reuse" in (r.stdout + r.stderr)
        probe = self.tmp / "probe.tcl"
        probe.write_text("package require smtp\npackage require mime\n"
                         "set t [mime::initialize -canonical text/plain -string x]\n"
                         "catch {smtp::sendmessage $t -pipelining 0 -servers {}} msg\n"
                         "puts [string match {*unknown option*} $msg]\n")
        r = subprocess.run(self.ours + [str(probe)], capture_output=True, text=True, env=child_env(True))
        self.features["pipelining"] = r.stdout.strip() == "0"

    def warm_up(self) -> None:
        load = HERE / "send_one.tcl"
        for _ in range(2):  # page cache; our .pyc files written once
            self.run("tcllib", self.tcl + [str(load)])
            self.run("pysmtp", self.ours + [str(load)])
        # and those of the send path (loaded when a script first sends)
        for impl, base in (("tcllib", self.tcl), ("pysmtp", self.ours)):
            self.run(impl, base + [str(load), str(self.sink.port)])

    # -- rows --------------------------------------------------------------------
    def row_big_file(self, key: str, mb: int, full_mb: int, rss_goal: bool, source: bool) -> None:
        path = self.tmp / ("file%d.bin" % mb)
        if not path.exists():
            with open(path, "wb") as fh:
                for _ in range(mb):
                    fh.write(os.urandom(1 << 20))
        port = self.sink.port
        wire = _base64_wire_size(mb << 20) + 400
        clients = {
            "tcllib": lambda: self.run("tcllib", self.tcl_client("tcllib", "send_big.tcl", port, "file", path, mb, 1)),
            "pysmtp": lambda: self.run("pysmtp", self.tcl_client("pysmtp", "send_big.tcl", port, "file", path, mb, 1)),
        }
        if source:
            clients["smtp-source"] = lambda: self.run("c", [SMTP_SOURCE, "-s", "1", "-m", "1", "-l", str(wire),
                                                            "-M", "client.test", "-f", "bench@client.test",
                                                            "-t", "sink@sink.test", "127.0.0.1:%d" % port])
        runs = self.repeat(clients)
        row = Row(key, "%d MB attachment, -file%s" % (mb, "" if mb == full_mb else " (full run: %d MB)" % full_mb),
                  "wall and CPU of the whole process: start, package require, build, send; peak RSS"
                  + ("; smtp-source sends the same wire size, %.1f MB" % (wire / 1e6) if source else ""))
        wall = {k: Stat([r.wall for r in v]) for k, v in runs.items()}
        for k, v in runs.items():
            row.figure(k, "wall %s   CPU %s   peak RSS %s" % (
                wall[k].fmt(), Stat([r.cpu for r in v]).fmt(), Stat([r.rss_mb for r in v]).fmt("MB", digits=0)))
            row.data[k] = {"wall": [r.wall for r in v], "cpu": [r.cpu for r in v], "rss_mb": [r.rss_mb for r in v]}
        row.check("wall <= 0.5x tcllib", wall["pysmtp"].median / wall["tcllib"].median, 0.5)
        if source:
            row.check("wall <= 2x smtp-source", wall["pysmtp"].median / wall["smtp-source"].median, 2.0)
        if rss_goal:
            row.check("peak RSS <= 64 MB", Stat([r.rss_mb for r in runs["pysmtp"]]).median, 64, unit="MB")
        self.rows.append(row)

    def row_big_string(self, key: str, mb: int, full_mb: int) -> None:
        port = self.sink.port
        clients = {impl: (lambda impl=impl: self.run(impl, self.tcl_client(impl, "send_big.tcl", port, "string",
                                                                           "-", mb, 1)))
                   for impl in ("tcllib", "pysmtp")}
        runs = self.repeat(clients)
        data_mb = mb * 1048576 // 76 * 76 / 1048576.0
        row = Row(key, "%d MB -string%s" % (mb, "" if mb == full_mb else " (full run: %d MB)" % full_mb),
                  "text/plain of 75-char lines; wall and CPU of the whole process; peak RSS")
        wall = {k: Stat([r.wall for r in v]) for k, v in runs.items()}
        rss = {k: Stat([r.rss_mb for r in v]) for k, v in runs.items()}
        for k, v in runs.items():
            row.figure(k, "wall %s   CPU %s   peak RSS %s" % (wall[k].fmt(), Stat([r.cpu for r in v]).fmt(),
                                                            rss[k].fmt("MB", digits=0)))
            row.data[k] = {"wall": [r.wall for r in v], "cpu": [r.cpu for r in v], "rss_mb": [r.rss_mb for r in v]}
        row.check("wall <= 0.4x tcllib", wall["pysmtp"].median / wall["tcllib"].median, 0.4)
        row.check("peak RSS <= 2.5x the data (%.0f MB)" % data_mb, rss["pysmtp"].median / data_mb, 2.5)
        self.rows.append(row)

    def row_small(self, key: str, n: int, reuse: bool) -> None:
        port = self.sink.port
        clients: Dict[str, Callable[[], Run]] = {}
        if not reuse:
            clients["tcllib"] = lambda: self.run("tcllib", self.tcl_client("tcllib", "send_loop.tcl", port, n, 3600))
            clients["pysmtp"] = lambda: self.run("pysmtp", self.tcl_client("pysmtp", "send_loop.tcl", port, n, 3600))
        elif self.features["reuse"]:
            clients["pysmtp --reuse"] = lambda: self.run("pysmtp", self.tcl_client(
                "pysmtp", "send_loop.tcl", port, n, 3600, extra=["--reuse"]))
        peer = "smtplib-reuse" if reuse else "smtplib"
        clients["smtplib" + (" (reuse)" if reuse else "")] = lambda: self.run("py", [PYTHON, str(HERE / "peers.py"),
                                                                                   peer, port, n])
        if _has_aiosmtplib():
            apeer = "aiosmtplib-reuse" if reuse else "aiosmtplib"
            clients["aiosmtplib" + (" (reuse)" if reuse else "")] = lambda: self.run(
                "py", [PYTHON, str(HERE / "peers.py"), apeer, port, n])
        clients["smtp-source" + (" -d" if reuse else "")] = lambda: self.run("c", [
            SMTP_SOURCE, "-s", "1", "-m", str(n), "-M", "client.test", "-f", "bench@client.test",
            "-t", "sink@sink.test"] + (["-d"] if reuse else []) + ["127.0.0.1:%d" % port])
        if not reuse:
            # the same script sending one message: start-up, first-use imports and one send, for the
            # CPU per further message
            clients["pysmtp (1 message)"] = lambda: self.run("pysmtp", self.tcl_client(
                "pysmtp", "send_loop.tcl", port, 1, 3600))
        runs = self.repeat(clients)
        one = runs.pop("pysmtp (1 message)", None)
        row = Row(key, "%d small messages, %s" % (n, "one connection (opt-in reuse)" if reuse else "a connection each"),
                  "seconds to send them, timed inside each client after its start-up (start-up has its own "
                  "row); smtp-source: its whole process")
        secs: Dict[str, Stat] = {}
        for k, v in runs.items():
            secs[k] = Stat([r.wall if k.startswith("smtp-source") else r.seconds for r in v])
            row.figure(k, "%s   %.0f msg/s" % (secs[k].fmt(), n / secs[k].median))
            row.data[k] = {"seconds": secs[k].values, "cpu": [r.cpu for r in v]}
        if not _has_aiosmtplib():
            row.figure("aiosmtplib", "not installed (pip install -e '.[bench]')")
        if not reuse:
            ours = secs["pysmtp"].median
            row.check("pysmtp >= 2x smtplib (speed)", secs["smtplib"].median / ours, 2.0, at_most=False)
            row.check("pysmtp >= 0.6x smtp-source (speed)", secs["smtp-source"].median / ours, 0.6, at_most=False)
            cpu_n = Stat([r.cpu for r in runs["pysmtp"]]).median
            cpu_1 = Stat([r.cpu for r in one]).median

            def per_message(attr: str, runs_n: List[Run], runs_1: List[Run]) -> float:
                return 1000.0 * (Stat([getattr(r, attr) for r in runs_n]).median
                                 - Stat([getattr(r, attr) for r in runs_1]).median) / (n - 1)

            row.figure("pysmtp CPU", "%.2f ms per message after the first (process CPU of %d messages minus "
                       "that of 1; user %.2f, system %.2f)" % (
                           1000.0 * (cpu_n - cpu_1) / (n - 1), n, per_message("utime", runs["pysmtp"], one),
                           per_message("stime", runs["pysmtp"], one)))
            # context, not a goal: the kernel's share of a connection per
            # message on this machine, which no client avoids
            src = runs["smtp-source"]
            row.figure("smtp-source CPU", "%.2f ms per message (its whole process: user %.2f, system %.2f)" % (
                1000.0 * Stat([r.cpu for r in src]).median / n, 1000.0 * Stat([r.utime for r in src]).median / n,
                1000.0 * Stat([r.stime for r in src]).median / n))
            row.check("pysmtp CPU per message <= 0.5 ms after start-up", 1000.0 * (cpu_n - cpu_1) / (n - 1),
                      0.5, unit="ms")
        elif self.features["reuse"]:
            ours = secs["pysmtp --reuse"].median
            row.check("pysmtp --reuse >= 3x smtplib reuse (speed)", secs["smtplib (reuse)"].median / ours, 3.0,
                      at_most=False)
            row.check("pysmtp --reuse >= 0.5x smtp-source -d (speed)", secs["smtp-source -d"].median / ours, 0.5,
                      at_most=False)
        else:
            row.figure("pysmtp --reuse", "not built yet")
            row.goal("pysmtp --reuse >= 3x smtplib reuse (speed)", "-", "not built yet")
            row.goal("pysmtp --reuse >= 0.5x smtp-source -d (speed)", "-", "not built yet")
        self.rows.append(row)

    def row_recipients(self, key: str, n: int) -> None:
        port = self.proxy.port
        clients = {impl: (lambda impl=impl: self.run(impl, self.tcl_client(impl, "send_rcpts.tcl", port, n)))
                   for impl in ("tcllib", "pysmtp")}
        clients["smtplib"] = lambda: self.run("py", [PYTHON, str(HERE / "peers.py"), "smtplib", port, 1, n])
        runs = self.repeat(clients)
        row = Row(key, "one message, %d recipients, 20 ms RTT" % n,
                  "through the delay proxy; seconds of the send, timed inside the client; PIPELINING in "
                  "pysmtp: %s" % ("on (default)" if self.features["pipelining"] else "not built yet"))
        secs = {k: Stat([r.seconds for r in v]) for k, v in runs.items()}
        for k in runs:
            row.figure(k, secs[k].fmt())
            row.data[k] = {"seconds": secs[k].values}
        row.check("pysmtp <= 0.1x tcllib", secs["pysmtp"].median / secs["tcllib"].median, 0.1)
        self.rows.append(row)

    def row_latency_loop(self, key: str, n: int) -> None:
        port = self.proxy.port
        clients = {impl: (lambda impl=impl: self.run(impl, self.tcl_client(impl, "send_loop.tcl", port, n, 3600)))
                   for impl in ("tcllib", "pysmtp")}
        if self.features["reuse"]:
            clients["pysmtp --reuse"] = lambda: self.run("pysmtp", self.tcl_client(
                "pysmtp", "send_loop.tcl", port, n, 3600, extra=["--reuse"]))
        clients["smtplib (reuse)"] = lambda: self.run("py", [PYTHON, str(HERE / "peers.py"), "smtplib-reuse", port, n])
        runs = self.repeat(clients)
        row = Row(key, "%d messages in one process, 20 ms RTT" % n,
                  "through the delay proxy; seconds of the sends, timed inside the client")
        secs = {k: Stat([r.seconds for r in v]) for k, v in runs.items()}
        for k in runs:
            row.figure(k, secs[k].fmt())
            row.data[k] = {"seconds": secs[k].values}
        if self.features["reuse"]:
            row.check("pysmtp --reuse <= 0.3x tcllib", secs["pysmtp --reuse"].median / secs["tcllib"].median, 0.3)
        else:
            row.figure("pysmtp --reuse", "not built yet")
            row.goal("pysmtp --reuse <= 0.3x tcllib", "-", "not built yet")
        row.check("pysmtp (no reuse) <= 0.6x tcllib", secs["pysmtp"].median / secs["tcllib"].median, 0.6)
        self.rows.append(row)

    def row_startup(self, key: str, runs_n: int) -> None:
        load = HERE / "send_one.tcl"
        clients = {
            "tclsh + tcllib": lambda: self.run("tcllib", self.tcl + [str(load)]),
            "pysmtp-tclsh": lambda: self.run("pysmtp", self.ours + [str(load)]),
            "python3 -c pass": lambda: self.run("py", [PYTHON, "-c", "pass"]),
        }
        saved, self.reps = self.reps, runs_n
        try:
            runs = self.repeat(clients)
        finally:
            self.reps = saved
        row = Row(key, "cold start + package require smtp mime",
                  "wall of the whole process, %d runs each; pysmtp imports its MIME/SMTP code when a "
                  "command first needs it" % runs_n)
        wall = {k: Stat([r.wall for r in v]) for k, v in runs.items()}
        for k, v in runs.items():
            row.figure(k, "wall %s   CPU %s" % (wall[k].fmt("ms", 1000, 0), Stat([r.cpu for r in v]).fmt("ms", 1000, 0)))
            row.data[k] = {"wall": wall[k].values, "cpu": [r.cpu for r in v]}
        row.check("pysmtp <= 0.8x tclsh", wall["pysmtp-tclsh"].median / wall["tclsh + tcllib"].median, 0.8)
        self.rows.append(row)

    def row_processes(self, key: str, n: int) -> None:
        one = HERE / "send_one.tcl"
        port = self.sink.port

        def batch(impl: str, base: List[str]) -> Callable[[], Run]:
            def go() -> Run:
                t0 = time.monotonic()
                cpu = 0.0
                last = None
                for _ in range(n):
                    last = self.run(impl, base + [str(one), str(port)])
                    cpu += last.cpu
                last.wall, last.cpu = time.monotonic() - t0, cpu
                return last
            return go

        runs = self.repeat({"tclsh + tcllib": batch("tcllib", self.tcl), "pysmtp-tclsh": batch("pysmtp", self.ours)})
        row = Row(key, "%d processes x 1 message" % n, "one after another; total wall and CPU")
        wall = {k: Stat([r.wall for r in v]) for k, v in runs.items()}
        for k, v in runs.items():
            row.figure(k, "wall %s   CPU %s" % (wall[k].fmt(), Stat([r.cpu for r in v]).fmt()))
            row.data[k] = {"wall": wall[k].values, "cpu": [r.cpu for r in v]}
        row.check("pysmtp <= 0.5x tclsh", wall["pysmtp-tclsh"].median / wall["tclsh + tcllib"].median, 0.5)
        self.rows.append(row)

    # -- main --------------------------------------------------------------------
    def main(self) -> int:
        q = self.quick
        plan = [
            ("startup", lambda: self.row_startup("startup", 3 if q else 15)),
            ("file50", lambda: self.row_big_file("file50", 4 if q else 50, 50, True, True)),
            ("file5", lambda: self.row_big_file("file5", 1 if q else 5, 5, False, False)),
            ("string50", lambda: self.row_big_string("string50", 1 if q else 50, 50)),
            ("small", lambda: self.row_small("small", 20 if q else 500, reuse=False)),
            ("small-reuse", lambda: self.row_small("small-reuse", 20 if q else 500, reuse=True)),
            ("rcpt100", lambda: self.row_recipients("rcpt100", 10 if q else 100)),
            ("loop10", lambda: self.row_latency_loop("loop10", 3 if q else 10)),
            ("procs100", lambda: self.row_processes("procs100", 5 if q else 100)),
        ]
        only = set(self.args.only.split(",")) if self.args.only else None
        started = time.monotonic()
        print("pysmtp-tcl bench%s: smtp-sink on 127.0.0.1, %d CPUs, load average %s" % (
            " --quick" if q else "", os.cpu_count() or 0, " ".join("%.2f" % x for x in os.getloadavg())))
        interp = Path(self.ours[0]).parent / "python" if len(self.ours) == 1 else Path(PYTHON)
        where = subprocess.run([str(interp), "-c", "import pysmtp_tcl; print(pysmtp_tcl.__file__)"],
                               env=child_env(True), capture_output=True, text=True).stdout.strip()
        print("  tcllib: %s   pysmtp: %s (imports %s)   python: %s" % (
            " ".join(self.tcl), " ".join(self.ours), where, interp))
        print("  pysmtp-tclsh runs from %s" % self.ours_how)
        print("  median (min-max) of %d run(s) per figure; runs over %.0f s are not repeated" % (self.reps, HEAVY))
        require_postfix()
        self.sink = SmtpSink(backlog=1024, options=["-t", "3600"])
        try:
            self.proxy = DelayProxy(("127.0.0.1", self.sink.port), 0.010).start()
            self.probe_features()
            print("  features: %s" % ", ".join("%s %s" % (k, "built" if v else "not built yet")
                                               for k, v in self.features.items()))
            self.warm_up()
            for key, fn in plan:
                if only is None or key in only:
                    print("  running %s ..." % key, flush=True)
                    fn()
        finally:
            if self.proxy is not None:
                self.proxy.stop()
            self.sink.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)
        for row in self.rows:
            row.print(q)
        counts = {s: sum(1 for r in self.rows for g in r.goals if g[2] == s) for s in STATUSES}
        print()
        print("goals: %d met, %d NOT MET, %d not built yet, %d n/a" % (
            counts["met"], counts["NOT MET"], counts["not built yet"], counts["n/a"]))
        print("total bench time %.0f s; load average now %s" % (
            time.monotonic() - started, " ".join("%.2f" % x for x in os.getloadavg())))
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(
                {"quick": q, "reps": self.reps, "features": self.features,
                 "rows": [{"key": r.key, "title": r.title, "data": r.data,
                           "goals": [{"goal": g[0], "value": g[1], "status": g[2]} for g in r.goals]}
                          for r in self.rows]}, indent=2))
        return 0


def _base64_wire_size(octets: int) -> int:
    chars = (octets + 2) // 3 * 4
    return chars + 2 * ((chars + 75) // 76)


def _has_aiosmtplib() -> bool:
    import importlib.util

    return importlib.util.find_spec("aiosmtplib") is not None


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one run each (smoke test)")
    ap.add_argument("--reps", type=int, default=None, help="runs per figure (default 3; --quick 1)")
    ap.add_argument("--only", help="comma-separated row keys: startup,file50,file5,string50,small,"
                                   "small-reuse,rcpt100,loop10,procs100")
    ap.add_argument("--json", help="also write the raw figures as JSON to this file")
    return Bench(ap.parse_args(argv)).main()


if __name__ == "__main__":
    sys.exit(main())
