#!/usr/bin/env python3
"""Run tcllib 1.21's own test files against our implementation (or tcllib's).

On a Tcl 9 host (the Tcl this Python's tkinter links) tcllib 1.21's modules
cannot load (``package require Tcl 8.5`` excludes 9), and tcllib 2.0's
test files are not to be had here (fetch.py).  There the same 1.21 test
files run with tcllib 2.0's modules in their place (md5, snit, comm, log,
pop3d, smtpd and, for ``--impl tcllib``, mime: tcllib 2.0's ``mime`` 1.7.2
is then the baseline), and the files' ``testsNeedTcl 8.5`` gate is read as
"at least 8.5", as its message says (Tcl 9's ``package vsatisfies 9.0 8.5``
is false).

Usage::

    python compat-suite/run.py [--impl pysmtp|tcllib] [--timeout S] [FILE.test ...]

Default files: mime.test, pop3d_dbox.test, pop3d.test.  Each file runs in a
scratch copy of the cached tcllib tree (see ``fetch.py``), in a fresh
``tkinter.Tcl()`` interpreter inside its own subprocess (``child.py``).

``--impl tcllib`` is the baseline: tcllib's own mime.tcl.  ``--impl pysmtp``
(default) swaps our package in without touching tcllib's test files: in the
scratch copy, ``modules/mime/mime.tcl`` and ``smtp.tcl`` (which the suites
load with ``use``/``useLocal``) become one-line files that source our shims
from ``<repo>/tcl/``, and the interpreter gets ``pysmtp_tcl.install()``.

Exit status: 0 if every file ran and every test passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TCL_SHIM_DIR = REPO / "tcl"


def _load_sibling(name: str):
    """Import compat-suite/<name>.py under a unique module name.

    compat-suite/ is not a package (its name has a dash), and plain
    ``import fetch`` via sys.path could pick up an unrelated module.
    """
    modname = f"pysmtp_compat_{name}"
    if modname in sys.modules:
        return sys.modules[modname]
    spec = importlib.util.spec_from_file_location(modname, HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


fetch = _load_sibling("fetch")
host = _load_sibling("host")

DEFAULT_FILES = ("mime.test", "pop3d_dbox.test", "pop3d.test")
# pop3d.test alone needs ~60 s (a 1 s pause per client dialog); generous but finite.
DEFAULT_TIMEOUT = 300.0
IMPLS = ("pysmtp", "tcllib")
# Tests per file with real tcllib 1.21 (the baseline); a run that traces fewer
# lost some, e.g. a suite that aborted halfway.
EXPECTED_TOTALS = {"mime.test": 101, "pop3d_dbox.test": 46, "pop3d.test": 82}

_SUMMARY_RE = re.compile(
    r"^(?P<file>\S+):\tTotal\t(?P<total>\d+)\tPassed\t(?P<passed>\d+)"
    r"\tSkipped\t(?P<skipped>\d+)\tFailed\t(?P<failed>\d+)\s*$",
    re.M,
)
# testutilities.tcl prints these and then *returns* from the test file, which
# would otherwise look like a clean run of zero tests.
_SETUP_FAILURE_RE = re.compile(r"^(SETUP Error|\s*Aborting the tests)", re.M)


@dataclass
class TestOutcome:
    """One tcltest ``test`` call: its (unique) name, status and tcltest report."""

    name: str
    status: str  # passed | failed | skipped | error | notrun
    report: str = ""

    @property
    def ok(self) -> bool:
        """True if the test passed."""
        return self.status == "passed"


@dataclass
class SuiteResult:
    """The outcome of running one tcllib ``.test`` file."""

    file: str
    impl: str
    tests: list[TestOutcome] = field(default_factory=list)
    summary: str | None = None  # tcltest's own summary line, whitespace-normalised
    counts: dict[str, int] = field(default_factory=dict)
    log: str = ""  # everything tcltest wrote to its output channel
    stdout: str = ""
    stderr: str = ""
    errors: list[str] = field(default_factory=list)  # harness-level problems
    elapsed: float = 0.0
    nameofexecutable: str = ""
    host_tcl: str = ""  # the Tcl the suite ran in
    library: str = ""  # whose support modules (md5, snit, pop3d …): tcllib 1.21 or 2.0

    @property
    def ok(self) -> bool:
        """True if the file ran cleanly and every test passed."""
        return not self.errors and bool(self.tests) and all(t.ok for t in self.tests)

    def by_name(self) -> dict[str, TestOutcome]:
        """Map each test's unique name to its outcome."""
        return {t.name: t for t in self.tests}


def find_test_file(tree: Path, name: str) -> Path:
    """Locate ``name`` (e.g. ``mime.test``) under ``tree/modules/*/``."""
    hits = sorted((tree / "modules").glob(f"*/{name}"))
    if not hits:
        raise FileNotFoundError(f"{name} not found under {tree / 'modules'}")
    return hits[0]


def _tcl_word(s: str) -> str:
    """Quote ``s`` as one Tcl word (backslash-escaping is always safe)."""
    if "\n" in s or "\r" in s:
        raise ValueError(f"path with a line break: {s!r}")
    return "".join("\\" + c if c in ' \t\\"$[]{};' else c for c in s)


def _write_shims(modules: Path) -> None:
    """Point tcllib's mime.tcl/smtp.tcl in the scratch copy at our Tcl shims.

    The suites load these files by path (``use mime/mime.tcl mime``,
    ``useLocal mime.tcl mime``), bypassing ``package require``; replacing the
    files is the least invasive redirection.
    """
    for name in ("mime.tcl", "smtp.tcl"):
        ours = TCL_SHIM_DIR / name
        if ours.is_file():
            body = f"source {_tcl_word(str(ours))}\n"
        else:
            # Fail where the suite loads it, with a message that says why.
            body = f"error {_tcl_word(f'pysmtp-tcl shim {ours} does not exist')}\n"
        (modules / "mime" / name).write_text(
            "# Redirected by pysmtp-tcl compat-suite: load our implementation.\n" + body,
            encoding="utf-8",
        )


# Modules whose 1.21 code cannot load into Tcl 9; tcllib 2.0's replace them there.
OVERLAY_MODULES = ("md5", "snit", "comm", "log", "pop3d", "smtpd", "mime")


def _overlay(modules: Path, library: Path) -> None:
    """Put tcllib 2.0's module code (``library/<m>/*``) over the scratch
    copy's 1.21 code; the 1.21 test files and assets stay."""
    for m in OVERLAY_MODULES:
        src = library / m
        if not src.is_dir():
            raise fetch.FetchError(f"tcllib 2.0 at {library} lacks {m}/")
        for item in src.iterdir():
            dest = modules / m / item.name
            if item.is_dir():
                shutil.copytree(item, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(item, dest)


def plan() -> tuple[Path, Path | None]:
    """``(tree, overlay)``: tcllib 1.21's source tree (the test files) and,
    on a Tcl 9 host, tcllib 2.0's library to overlay (else None).  Raises
    ``FetchError`` if either cannot be had."""
    tree = fetch.fetch()
    overlay = fetch.fetch(release="2.0") / "modules" if host.tcl9() else None
    return tree, overlay


def _write_launcher_wrapper(bindir: Path) -> Path:
    """Write a tclsh-like program running this checkout's ``python -m pysmtp_tcl``."""
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / "pysmtp-tclsh"
    path.write_text(
        "#!/bin/sh\n"
        "# tclsh drop-in for helper processes (e.g. pop3d.test's coserv).\n"
        f"PYTHONPATH={shlex.quote(str(REPO))}${{PYTHONPATH:+:$PYTHONPATH}}\n"
        "export PYTHONPATH\n"
        f'exec {shlex.quote(sys.executable)} -m pysmtp_tcl "$@"\n',
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


def default_helper_exe(impl: str, scratch: Path) -> str:
    """Return the program ``info nameofexecutable`` should name for ``impl``:
    the host Tcl's tclsh for tcllib, our launcher for pysmtp."""
    if impl == "tcllib":
        return host.oracle().tclsh
    return str(_write_launcher_wrapper(scratch / "bin"))


# What pop3d.test's helper processes need from [info nameofexecutable]
# (devtools/coserv.tcl): run a script file with argv, service events in
# `vwait forever`, and let `exit`, called from an event handler, end the
# process at once with Tcl's stdout flushed.
_PREFLIGHT_TCL = r"""
if {$argv ne {alpha {b c}} || $argc != 2} {
    puts stderr "argv/argc wrong: argc=$argc argv=$argv"
    exit 3
}
after 10 {puts ok; exit 0}
vwait forever
puts stderr "vwait forever returned"
exit 4
"""


def _needs_helper(test_path: Path) -> bool:
    """True if the suite starts helper interpreters (devtools/coserv.tcl)."""
    text = test_path.read_text(encoding="utf-8", errors="replace")
    return "coserv" in text or "nameofexecutable" in text


def preflight_helper(exe: str, workdir: Path, timeout: float = 30.0) -> str | None:
    """Check that ``exe`` runs a Tcl script like tclsh; return a problem or None.

    Without this a broken helper makes pop3d.test wait forever for the
    helper's comm handshake, which only the per-file timeout would end.
    """
    script = workdir / "preflight.tcl"
    script.write_text(_PREFLIGHT_TCL, encoding="utf-8")
    try:
        proc = subprocess.run(
            [exe, str(script), "alpha", "b c"], capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL, cwd=str(workdir),
        )
    except OSError as exc:
        return f"helper program {exe} cannot run: {exc}"
    except subprocess.TimeoutExpired:
        return (
            f"helper program {exe} did not end within {timeout:g} s: `exit` called "
            "from an event handler inside `vwait forever` must end the process"
        )
    if proc.returncode != 0 or proc.stdout.strip() != "ok":
        return (
            f"helper program {exe} (what [info nameofexecutable] answers) does not "
            f"run Tcl scripts like tclsh: `{exe} preflight.tcl alpha 'b c'` exited "
            f"{proc.returncode}, stdout {proc.stdout.strip()!r}, stderr:\n"
            f"{_tail(proc.stderr)}"
        )
    return None


def _kill_group(pgid: int) -> None:
    """Kill the process group of a child we started (it and its helpers)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_file(
    name: str,
    impl: str = "pysmtp",
    timeout: float = DEFAULT_TIMEOUT,
    tree: Path | None = None,
    helper_exe: str | None = None,
    keep_locale: bool = False,
    overlay: Path | None = None,
) -> SuiteResult:
    """Run one tcllib test file (e.g. ``"mime.test"``) and return its result.

    ``tree`` and ``overlay`` default to :func:`plan` (which raises if the
    sources cannot be had).  ``helper_exe`` overrides what ``info
    nameofexecutable`` answers.
    Unless ``keep_locale``, the child runs under ``LC_ALL=C.UTF-8`` so results
    do not depend on the caller's locale.
    """
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, not {impl!r}")
    if tree is None:
        tree, overlay = plan()
    src = find_test_file(tree, name)
    result = SuiteResult(file=name, impl=impl, host_tcl=host.tcl_patchlevel(),
                         library="2.0" if overlay else "1.21")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"pysmtp-compat-{name}-") as tmp:
        scratch = Path(tmp)
        shutil.copytree(tree / "modules", scratch / "modules")
        if overlay is not None:
            _overlay(scratch / "modules", overlay)
        if impl == "pysmtp":
            _write_shims(scratch / "modules")
        exe = helper_exe or default_helper_exe(impl, scratch)
        module_dir = scratch / "modules" / src.parent.name
        if _needs_helper(src):
            problem = preflight_helper(exe, scratch)
            if problem:
                result.errors.append(f"{name}: not run: {problem}")
                result.elapsed = time.monotonic() - start
                return result
        log_path, events_path = scratch / "tcltest.log", scratch / "events.jsonl"
        out_path, err_path = scratch / "stdout.txt", scratch / "stderr.txt"
        cmd = [
            sys.executable, str(HERE / "child.py"),
            "--impl", impl, "--module-dir", str(module_dir), "--test-file", name,
            "--log", str(log_path), "--events", str(events_path), "--exe", exe,
            "--repo", str(REPO),
        ]
        if host.tcl9():
            cmd.append("--tcl-gate-at-least")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), env.get("PYTHONPATH", "")) if p
        )
        if not keep_locale:
            env["LC_ALL"] = env["LANG"] = "C.UTF-8"
        if overlay is not None:
            # tcllib 2.0 on auto_path, as Debian's tcllib is on a Tcl 8.6
            # host (tcllib's mime needs tcl::chan::memchan from it)
            env["TCLLIBPATH"] = host.oracle().tcllibpath()
        # Files, not pipes: helper processes inherit stdout and may outlive the
        # child, which would block a pipe reader.  A new session makes the
        # child and its helpers one process group we can kill on timeout.
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                cwd=str(module_dir), start_new_session=True,
            )
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                rc = None
            finally:
                _kill_group(proc.pid)  # also reaps stray helper processes
                proc.wait()
        result.elapsed = time.monotonic() - start
        result.stdout = out_path.read_text(encoding="utf-8", errors="replace")
        result.stderr = err_path.read_text(encoding="utf-8", errors="replace")
        log_bytes = log_path.read_bytes() if log_path.exists() else b""
        result.log = log_bytes.decode("utf-8", errors="replace")
        events = _read_events(events_path)
    _absorb(result, events, log_bytes)
    if rc is None:
        last = result.tests[-1].name if result.tests else "(none)"
        result.errors.insert(0,
            f"{name}: timed out after {timeout:g} s and was killed; last finished "
            f"test: {last}; stdout tail:\n{_tail(result.stdout)}"
        )
    elif rc != 0:
        result.errors.append(
            f"{name}: harness child exited with status {rc}:\n{_tail(result.stderr)}"
        )
    return result


def _read_events(path: Path) -> list[dict]:
    """Parse the child's JSON-lines events (a killed child may leave a torn last line)."""
    events = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return events


def _tail(text: str, n: int = 15) -> str:
    return "\n".join(text.splitlines()[-n:])


def _absorb(result: SuiteResult, events: list[dict], log_bytes: bytes) -> None:
    """Fill ``result`` from the child's events and the tcltest log, checking consistency."""
    name = result.file
    seen: dict[str, int] = {}
    done = None
    for ev in events:
        if ev["type"] == "start":
            result.nameofexecutable = ev.get("nameofexecutable", "")
        elif ev["type"] == "done":
            done = ev
            if ev.get("error"):
                result.errors.append(f"{name}: {ev['error']}")
        elif ev["type"] == "error":
            result.errors.append(f"{name}: harness: {ev['message']}")
        elif ev["type"] == "test":
            # tcllib reuses a few names (mime.test has two mime-5.36): keep each.
            n = seen[ev["name"]] = seen.get(ev["name"], 0) + 1
            uname = ev["name"] if n == 1 else f"{ev['name']}#{n}"
            report = log_bytes[ev["start"]:ev["end"]].decode("utf-8", errors="replace")
            if ev["status"] == "error":
                report += f"\n(test command raised: {ev['result']})"
            result.tests.append(TestOutcome(uname, ev["status"], report.strip("\n")))
    if done is None:
        result.errors.append(f"{name}: the harness child did not finish")
    elif result.impl == "pysmtp":
        _check_provenance(result, done.get("sourced", []))
    m = None
    for m in _SUMMARY_RE.finditer(result.log):
        pass  # the last summary line is the one for the whole file
    if m is None:
        result.errors.append(f"{name}: no tcltest summary line (the file did not finish)")
    else:
        result.summary = " ".join(m.group(0).split())
        result.counts = {k: int(m.group(k)) for k in ("total", "passed", "skipped", "failed")}
        if result.counts["total"] != len(result.tests):
            result.errors.append(
                f"{name}: tcltest counted {result.counts['total']} tests, "
                f"the harness traced {len(result.tests)}"
            )
    expected = EXPECTED_TOTALS.get(name)
    if expected is not None and len(result.tests) != expected:
        result.errors.append(
            f"{name}: {len(result.tests)} tests ran, real tcllib runs {expected}"
        )
    if _SETUP_FAILURE_RE.search(result.stdout):
        result.errors.append(f"{name}: suite setup failed:\n{result.stdout.strip()}")
    if not result.tests and not result.errors:
        result.errors.append(f"{name}: no tests ran")


def _check_provenance(result: SuiteResult, sourced: list[str]) -> None:
    """Under --impl pysmtp, prove our shim was tested and tcllib's mime was not."""
    shim = os.path.realpath(TCL_SHIM_DIR / "mime.tcl")
    real = [os.path.realpath(p) for p in sourced]
    if shim not in real:
        result.errors.append(f"{result.file}: our shim {shim} was never sourced")
    # The redirect stub in the scratch copy is also .../mime/mime.tcl; only a
    # file from an installed tcllib is a real one.
    leaked = [p for p in real if re.search(r"/tcllib[^/]*/mime/(mime|smtp)\.tcl$", p)]
    if leaked:
        result.errors.append(
            f"{result.file}: tcllib's own mime/smtp was loaded: {', '.join(leaked)}"
        )


def run_files(
    names: list[str] | tuple[str, ...] = DEFAULT_FILES,
    impl: str = "pysmtp",
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int | None = None,
    **kwargs,
) -> list[SuiteResult]:
    """Run several test files (concurrently, each in its own process); keep order."""
    tree, overlay = plan()  # once, before the workers race for it
    jobs = jobs or len(names) or 1
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(run_file, n, impl, timeout, tree, overlay=overlay, **kwargs)
            for n in names
        ]
        return [f.result() for f in futures]


def format_result(res: SuiteResult, verbose: bool = False) -> str:
    """Render a result as tcltest would: failure reports, then the summary line."""
    parts = []
    for t in res.tests:
        if not t.ok and t.status != "skipped":
            parts.append(t.report or f"==== {t.name} {t.status.upper()} (no report)")
        elif verbose:
            parts.append(f"++++ {t.name} {t.status}")
    if verbose and res.nameofexecutable:
        parts.append(f"---- [info nameofexecutable] answered {res.nameofexecutable}")
    for e in res.errors:
        parts.append(f"!!!! {e}")
    if res.stderr.strip() and (verbose or res.errors):
        parts.append(f"---- stderr of {res.file}:\n{res.stderr.rstrip()}")
    parts.append(
        (res.summary or f"{res.file}: NO SUMMARY (did not complete)")
        + f"   [{res.impl}, Tcl {res.host_tcl}, tcllib {res.library} modules,"
        f" {res.elapsed:.1f} s]"
    )
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", default=list(DEFAULT_FILES), metavar="FILE.test")
    p.add_argument("--impl", choices=IMPLS, default="pysmtp")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help="seconds per test file (default %(default)s)")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="files run concurrently (default: all)")
    p.add_argument("--helper-exe", default=None,
                   help="what [info nameofexecutable] answers (default: tclsh for "
                        "tcllib, a 'python -m pysmtp_tcl' wrapper for pysmtp)")
    p.add_argument("--keep-locale", action="store_true",
                   help="inherit LANG/LC_ALL instead of forcing C.UTF-8")
    p.add_argument("--verbose", "-v", action="store_true")
    args = p.parse_args(argv)
    try:
        results = run_files(
            args.files, args.impl, args.timeout, args.jobs,
            helper_exe=args.helper_exe, keep_locale=args.keep_locale,
        )
    except fetch.FetchError as exc:
        print(f"run.py: cannot obtain tcllib sources: {exc}", file=sys.stderr)
        return 1
    for res in results:
        print(format_result(res, args.verbose))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
