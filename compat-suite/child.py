#!/usr/bin/env python3
"""Run ONE tcllib ``.test`` file inside an embedded ``tkinter.Tcl()`` interpreter.

This is the per-file worker that ``run.py`` starts as a subprocess (one
process per test file: a hang can then be killed with its whole process
group, and a crash or leaked state cannot affect the next file).  It writes
one JSON line per finished test as it goes (so a run killed on timeout still
tells what completed) and a final ``done`` line.

Not meant to be run by hand; see ``run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

# Tcl side of the harness.  Per-test outcomes come from an execution trace on
# ::tcltest::test: tcltest bumps numTests(Passed|Failed|Skipped) once per
# top-level test, so the delta across one call tells its outcome.  The byte
# offsets of the tcltest log around each call give that test's own report
# (the "==== name FAILED ... Result was / should have been" block).
_DRIVER_TCL = r"""
namespace eval ::compat {
    variable depth 0
    variable before {}
    variable start 0
    variable sourced {}
}
proc ::compat::counts {} {
    set r {}
    foreach k {Passed Failed Skipped} {
        if {[info exists ::tcltest::numTests($k)]} {
            lappend r $::tcltest::numTests($k)
        } else {
            lappend r 0
        }
    }
    return $r
}
proc ::compat::enter {cmd op} {
    variable depth
    # Nested 'test' calls (a test inside a test body) belong to the outer one.
    if {[incr depth] > 1} return
    variable before [counts]
    variable start
    flush $::compat::log
    set start [tell $::compat::log]
}
proc ::compat::leave {cmd code result op} {
    variable depth
    if {[incr depth -1] > 0} return
    variable before
    variable start
    flush $::compat::log
    set end [tell $::compat::log]
    lassign $before p0 f0 s0
    lassign [counts] p1 f1 s1
    if {$f1 > $f0} {
        set status failed
    } elseif {$s1 > $s0} {
        set status skipped
    } elseif {$p1 > $p0} {
        set status passed
    } elseif {$code != 0} {
        # 'test' itself raised (e.g. bad arguments): count it as failed.
        set status error
    } else {
        # Filtered out by -match/-skip: tcltest did not count it at all.
        set status notrun
    }
    ::compat::record [lindex $cmd 1] $status $start $end $code $result
}
# Provenance: every file sourced, so run.py can prove which mime was tested.
proc ::compat::sourced {cmd op} {
    lappend ::compat::sourced [file normalize [lindex $cmd end]]
}
proc ::compat::nameofexecutable {} {
    return $::compat::exe
}
# Tcl 9: testutilities' `testsNeedTcl 8.5` means "at least 8.5" (its message
# says so), but `package vsatisfies 9.0 8.5` is false there.  Redefined
# right after testutilities.tcl is sourced; nothing else is changed.
proc ::compat::gate_at_least {cmd code result op} {
    if {[string match */devtools/testutilities.tcl [lindex $cmd end]]} {
        proc ::testsNeedTcl {version} {
            if {[package vsatisfies [package provide Tcl] ${version}-]} return
            puts "    Aborting the tests found in \"[file tail [info script]]\""
            puts "    Requiring at least Tcl $version, have [package present Tcl]."
            return -code return
        }
    }
}
"""


def _install_exe(tk, exe: str) -> None:
    """Make ``info nameofexecutable`` answer ``exe`` (``info`` is an ensemble in 8.6)."""
    tk.call("set", "::compat::exe", exe)
    tk.eval(
        "namespace ensemble configure ::info -map [dict replace "
        "[namespace ensemble configure ::info -map] "
        "nameofexecutable ::compat::nameofexecutable]"
    )


class Recorder:
    """Append JSON lines to the events file, flushed at once (survives a kill)."""

    def __init__(self, path: str) -> None:
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives for the run

    def emit(self, **event) -> None:
        """Write one event."""
        self._fh.write(json.dumps(event) + "\n")
        self._fh.flush()

    def record_test(self, name, status, start, end, code, result) -> str:
        """Tcl command ::compat::record: one finished test.  Never raises
        (an exception escaping a Tcl callback would lose its message)."""
        try:
            self.emit(type="test", name=name, status=status, start=int(start),
                      end=int(end), code=int(code), result=str(result))
        except Exception:  # noqa: BLE001
            self.emit(type="error", message=traceback.format_exc())
        return ""


def run(args: argparse.Namespace, rec: Recorder) -> None:
    """Run the test file described by ``args``, reporting through ``rec``."""
    import tkinter

    tk = tkinter.Tcl()
    if args.impl == "pysmtp":
        # Our package: registers its Python commands (outside ::mime, which
        # useLocal deletes) and puts tcl/ first on auto_path.
        sys.path.insert(0, args.repo)
        import pysmtp_tcl  # noqa: PLC0415 - only wanted for this impl

        pysmtp_tcl.install(tk)
    native_exe = tk.eval("info nameofexecutable")
    tk.createcommand("::compat::record", rec.record_test)
    tk.eval(_DRIVER_TCL)
    # pop3d.test's coserv starts helper processes with
    # `exec [info nameofexecutable] script args &`; under tkinter that is the
    # Python binary, which cannot run a Tcl script.  Keep an answer the
    # package already fixed; otherwise use the tclsh-like program we were given.
    if args.exe and (not native_exe or _same_file(native_exe, sys.executable)):
        _install_exe(tk, args.exe)
    rec.emit(
        type="start",
        encoding_system=tk.eval("encoding system"),
        native_nameofexecutable=native_exe,
        nameofexecutable=tk.eval("info nameofexecutable"),
        tcl_patchlevel=tk.eval("info patchlevel"),
    )

    module_dir = Path(args.module_dir)
    # tcltest resolves the test file, its assets and its temporary directory
    # from [pwd] and [info script]: cd first, exactly as tclsh would be run.
    tk.call("cd", str(module_dir))
    tk.call("set", "::argv", "")
    tk.call("set", "::argc", 0)
    tk.call("set", "::argv0", args.test_file)
    tk.eval("package require tcltest")
    tk.call("set", "::compat::log", tk.call("open", args.log, "w+"))
    tk.eval("fconfigure $::compat::log -encoding utf-8 -translation lf")
    # Assign the variables: the outputChannel/errorChannel commands would
    # open a *file* by that name.
    tk.eval("set ::tcltest::outputChannel $::compat::log")
    tk.eval("set ::tcltest::errorChannel $::compat::log")
    tk.eval(
        "trace add execution ::tcltest::test enter ::compat::enter; "
        "trace add execution ::tcltest::test leave ::compat::leave; "
        "trace add execution ::source enter ::compat::sourced"
    )
    if args.tcl_gate_at_least:
        tk.eval("trace add execution ::source leave ::compat::gate_at_least")
    error = None
    try:
        # tk.call runs at level #0, as tclsh sources a script.
        tk.call("source", args.test_file)
    except tkinter.TclError as exc:
        error = f"{args.test_file} raised: {exc}\n" + tk.eval("set ::errorInfo")
    tk.eval("close $::compat::log")
    sourced = [str(p) for p in tk.splitlist(tk.eval("set ::compat::sourced"))]
    rec.emit(type="done", error=error, sourced=sourced)


def _same_file(a: str, b: str) -> bool:
    """True if paths ``a`` and ``b`` name the same file."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run one test file, streaming JSON events to --events."""
    p = argparse.ArgumentParser()
    p.add_argument("--impl", choices=("pysmtp", "tcllib"), required=True)
    p.add_argument("--module-dir", required=True)
    p.add_argument("--test-file", required=True)
    p.add_argument("--log", required=True, help="tcltest output channel file")
    p.add_argument("--events", required=True, help="JSON-lines result file")
    p.add_argument("--exe", default="", help="answer for [info nameofexecutable]")
    p.add_argument("--repo", required=True)
    p.add_argument("--tcl-gate-at-least", action="store_true",
                   help="read testsNeedTcl VERSION as VERSION- (Tcl 9 hosts)")
    args = p.parse_args(argv)
    rec = Recorder(args.events)
    try:
        run(args, rec)
    except BaseException:  # report anything, including import errors, as data
        rec.emit(type="done", error="harness child failed:\n" + traceback.format_exc())
    return 0


if __name__ == "__main__":
    sys.exit(main())
