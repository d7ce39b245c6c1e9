#!/usr/bin/env python3
"""pysmtp-tcl benchmark: speed and memory against tcllib, smtplib, smtp-source.

Everything sends to Postfix's ``smtp-sink`` on 127.0.0.1 (started here,
stopped at the end).  See bench/README.md.  Usage::

    python3 bench/run.py [--quick] [--seconds S] [--mb N] [--json FILE]

Speed: small messages per second, one process per client, counted inside
the process after its packages are loaded (startup is reported apart):
  tcllib      tclsh + Debian's tcllib 1.21, script bench/send_loop.tcl
  pysmtp      the same script under pysmtp-tclsh (real interpreter path)
  smtplib     Python's smtplib: new connection per message / one reused
  smtp-source Postfix's C load generator: per message / one reused (-d)

Memory: peak RSS (ru_maxrss of that child, via os.wait4) of sending an N MB
(default 50) ``-file`` attachment and an N MB ``-string`` body, tcllib vs
pysmtp, each with a baseline run that builds the same message but does not
send it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from support.postfix import SMTP_SOURCE, SmtpSink, require_postfix  # noqa: E402

PYTHON = os.path.realpath(sys.executable)  # not a pyenv shim (+65 ms a start)
# Measure this checkout, whatever `pip install -e` points at.
OURS_ENV = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
SEND_LOOP = HERE / "send_loop.tcl"
SEND_BIG = HERE / "send_big.tcl"

SMALL_MESSAGE = (b"From: bench@client.test\r\nTo: sink@sink.test\r\nSubject: bench\r\n"
                 b"Date: Thu, 01 Jan 2026 10:00:00 +0000\r\nMessage-ID: <b@client.test>\r\n"
                 b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
                 b"A small benchmark message.\r\nSecond line.\r\n")


def pysmtp_cmd() -> List[str]:
    script = Path(PYTHON).parent / "pysmtp-tclsh"
    if script.exists():
        with open(script, "rb") as fh:
            first = fh.readline()
        if first.startswith(b"#!") and b"python" in first:  # a real console script, not a shim
            return [str(script)]
    return [PYTHON, "-m", "pysmtp_tcl"]


def tclsh_cmd() -> List[str]:
    tclsh = shutil.which("tclsh")
    if not tclsh:
        sys.exit("tclsh not found: apt-get install tcl tcllib")
    return [os.path.realpath(tclsh)]


def run_child(cmd: List[str], timeout: float = 300, env: Optional[dict] = None) -> Tuple[int, str, str, float, float, int]:
    """Run cmd; return (status, stdout, stderr, wall s, cpu s, max RSS KiB)."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
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
            time.sleep(0.01)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return (p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)


# -- speed ---------------------------------------------------------------------

def env_for(cmd: List[str]) -> Optional[dict]:
    return OURS_ENV if cmd == pysmtp_cmd() else None


def tcl_loop(cmd: List[str], port: int, count: int, seconds: float) -> Dict[str, float]:
    rc, out, err, wall, cpu, rss = run_child(cmd + [str(SEND_LOOP), str(port), str(count), str(seconds)],
                                             timeout=seconds * 3 + 60, env=env_for(cmd))
    if rc != 0:
        raise RuntimeError("%s failed (%d):\n%s\n%s" % (" ".join(cmd), rc, out, err[-3000:]))
    fields = dict(line.split("=", 1) for line in out.split() if "=" in line)
    n, secs, load = int(fields["sent"]), float(fields["seconds"]), float(fields["load"])
    return {"rate": n / secs, "n": n, "seconds": secs, "startup": load, "cpu_total": cpu, "wall_total": wall}


def smtplib_rate(port: int, count: int, seconds: float, reuse: bool) -> Dict[str, float]:
    n = 0
    c0 = time.process_time()
    t0 = time.monotonic()
    deadline = t0 + seconds
    conn = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test") if reuse else None
    while n < count and time.monotonic() < deadline:
        if reuse:
            conn.sendmail("bench@client.test", ["sink@sink.test"], SMALL_MESSAGE)
        else:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test") as c:
                c.sendmail("bench@client.test", ["sink@sink.test"], SMALL_MESSAGE)
        n += 1
    if conn is not None:
        conn.quit()
    secs = time.monotonic() - t0
    return {"rate": n / secs, "n": n, "seconds": secs, "cpu_total": time.process_time() - c0}


def smtp_source_rate(port: int, count: int, reuse: bool) -> Dict[str, float]:
    cmd = [SMTP_SOURCE, "-s", "1", "-m", str(count), "-M", "client.test", "-f", "bench@client.test",
           "-t", "sink@sink.test"] + (["-d"] if reuse else []) + ["127.0.0.1:%d" % port]
    rc, out, err, wall, cpu, rss = run_child(cmd, timeout=120)
    if rc != 0:
        raise RuntimeError("smtp-source failed (%d): %s %s" % (rc, out, err))
    return {"rate": count / wall, "n": count, "seconds": wall, "cpu_total": cpu}


def startup(cmd: List[str], runs: int = 3) -> float:
    best = None
    for _ in range(runs):
        rc, out, err, wall, cpu, rss = run_child(cmd, timeout=60, env=env_for(cmd[:-1]))
        if rc != 0:
            raise RuntimeError("%s: %s" % (cmd, err))
        best = wall if best is None else min(best, wall)
    return best or 0.0


# -- memory --------------------------------------------------------------------

def big_send(cmd: List[str], port: int, mode: str, path: Path, mb: int, send: bool) -> Dict[str, float]:
    rc, out, err, wall, cpu, rss = run_child(
        cmd + [str(SEND_BIG), str(port), mode, str(path), str(mb), "1" if send else "0"], timeout=600,
        env=env_for(cmd))
    if rc != 0:
        raise RuntimeError("%s %s failed (%d):\n%s\n%s" % (" ".join(cmd), mode, rc, out, err[-3000:]))
    fields = dict(line.split("=", 1) for line in out.split() if "=" in line)
    return {"rss_mb": rss / 1024.0, "wall": wall, "cpu": cpu, "send_seconds": float(fields.get("seconds", "nan"))}


# -- report --------------------------------------------------------------------

def fmt_ratio(x: float, base: float) -> str:
    return "%.1fx" % (x / base) if base else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test, ~30 s)")
    ap.add_argument("--seconds", type=float, default=None, help="time budget per speed run")
    ap.add_argument("--mb", type=int, default=None, help="size of the big message in MB (default 50)")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    seconds = args.seconds or (1.5 if args.quick else 4.0)
    mb = args.mb or (10 if args.quick else 50)
    require_postfix()

    started = time.monotonic()
    results: Dict[str, Dict[str, float]] = {}
    tcl, ours = tclsh_cmd(), pysmtp_cmd()
    print("pysmtp-tcl bench: smtp-sink on 127.0.0.1, %d CPUs, python %s" % (os.cpu_count() or 0, PYTHON))
    where = subprocess.run([PYTHON, "-c", "import pysmtp_tcl; print(pysmtp_tcl.__file__)"], env=OURS_ENV,
                           capture_output=True, text=True).stdout.strip()
    print("  tcllib: %s    pysmtp: %s (imports %s)" % (" ".join(tcl), " ".join(ours), where))

    with SmtpSink(backlog=1024) as sink:
        port = sink.port
        print("  speed runs: up to %.1f s each ..." % seconds, flush=True)
        results["tcllib"] = tcl_loop(tcl, port, 1000, seconds)
        results["pysmtp"] = tcl_loop(ours, port, 50000, seconds)
        results["smtplib (conn/msg)"] = smtplib_rate(port, 200000, seconds, reuse=False)
        results["smtplib (reuse)"] = smtplib_rate(port, 200000, seconds, reuse=True)
        n = max(200, int(results["smtplib (conn/msg)"]["rate"] * seconds * 2))
        results["smtp-source (conn/msg)"] = smtp_source_rate(port, n, reuse=False)
        results["smtp-source (reuse)"] = smtp_source_rate(port, n, reuse=True)
        empty = Path(tempfile.mkdtemp(prefix="pysmtp-bench-")) / "load.tcl"
        empty.write_text("package require smtp\npackage require mime\n")
        starts = {"tcllib": startup(tcl + [str(empty)]), "pysmtp": startup(ours + [str(empty)])}
        shutil.rmtree(empty.parent, ignore_errors=True)

        mem: Dict[str, Dict[str, float]] = {}
        if not args.skip_memory:
            tmp = Path(tempfile.mkdtemp(prefix="pysmtp-bench-"))
            try:
                big = tmp / "big.bin"
                with open(big, "wb") as fh:
                    for _ in range(mb):
                        fh.write(os.urandom(1 << 20))
                print("  memory runs: %d MB -file and -string ..." % mb, flush=True)
                for impl, cmd in (("tcllib", tcl), ("pysmtp", ours)):
                    for mode in ("file", "string"):
                        base = big_send(cmd, port, mode, big, mb, send=False)
                        sent = big_send(cmd, port, mode, big, mb, send=True)
                        mem["%s %s" % (impl, mode)] = {"baseline_mb": base["rss_mb"], "peak_mb": sent["rss_mb"],
                                                       "send_seconds": sent["send_seconds"], "cpu": sent["cpu"] - base["cpu"]}
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

    base = results["tcllib"]["rate"]
    print()
    print("Small messages (one process per client, after package load; smtp-sink on loopback)")
    print("%-24s %9s %8s %10s %9s" % ("client", "msg/s", "vs tcllib", "CPU ms/msg", "messages"))
    for name, r in results.items():
        cpu_ms = 1000.0 * r["cpu_total"] / r["n"] if r["n"] else float("nan")
        print("%-24s %9.0f %8s %10.2f %9d" % (name, r["rate"], fmt_ratio(r["rate"], base), cpu_ms, r["n"]))
    print("  (tcl CPU ms/msg includes interpreter start and package load; tcllib/pysmtp: %.0f / %.0f ms "
          "to start a process and package require smtp mime)" % (1000 * starts["tcllib"], 1000 * starts["pysmtp"]))
    if mem:
        print()
        print("Memory: peak RSS of one process sending a %d MB message (baseline: same script, no send)" % mb)
        print("%-16s %10s %10s %10s %9s %8s" % ("run", "peak MB", "base MB", "+send MB", "vs tcllib", "send s"))
        for name, m in mem.items():
            tl = mem["tcllib " + name.split()[1]]
            print("%-16s %10.0f %10.0f %10.0f %9s %8.2f" % (
                name, m["peak_mb"], m["baseline_mb"], m["peak_mb"] - m["baseline_mb"],
                fmt_ratio(m["peak_mb"], tl["peak_mb"]), m["send_seconds"]))
    print()
    print("total bench time %.0f s" % (time.monotonic() - started))
    if args.json:
        Path(args.json).write_text(json.dumps({"speed": results, "startup": starts, "memory": mem}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
