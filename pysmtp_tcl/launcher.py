"""``pysmtp-tclsh``: a ``tclsh`` drop-in whose ``mime`` and ``smtp``
packages are pysmtp-tcl's.

    pysmtp-tclsh [--capture DIR | --route HOST:PORT] [-encoding NAME] [script [arg ...]]

As tclsh: sets ``argv0 argv argc tcl_interactive``; runs the script with
``info script`` set; an uncaught error prints ``$errorInfo`` on stderr and
exits 1; ``exit N`` flushes Tcl's channels and exits N; with no script,
commands are read from standard input.  ``--capture DIR`` starts an SMTP
server inside the process, routes every ``smtp::sendmessage`` to it and
stores what arrives in DIR (see :mod:`pysmtp_tcl.capture`); ``--route
HOST:PORT`` sends every message to that server instead.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any, List, Optional

USAGE = ("usage: pysmtp-tclsh [--capture DIR | --route HOST:PORT] [-encoding name]"
         " ?fileName arg ...?")


class _Launcher:
    def __init__(self) -> None:
        import tkinter  # main() checks first that it can be imported

        self.tcl = tkinter.Tcl()
        self.tk = self.tcl.tk
        self.capture: Optional[Any] = None
        self._done = False

    # -- exit, tclsh-exact ----------------------------------------------------
    def finish(self, status: int) -> None:
        """Flush Tcl's channels, stop capture, run atexit, leave the process."""
        if not self._done:
            self._done = True
            try:
                self.tk.eval("foreach __c [chan names] { catch {flush $__c} }")
            except Exception:
                pass
            if self.capture is not None:
                self.capture.stop()
                for line in self.capture.summary_lines():
                    print(line, file=sys.stderr)
        try:
            atexit._run_exitfuncs()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def _exit_command(self, status: str) -> str:
        self.finish(int(status) & 0xFF)
        return ""

    # -- setup ----------------------------------------------------------------
    def setup(self, script: Optional[str], args: List[str], capture_dir: Optional[str],
              encoding: Optional[str], route: Optional[str] = None) -> None:
        from . import install
        from .bridge.context import Route

        tk = self.tk
        tk.call("encoding", "system", "utf-8")
        # tkinter deletes Tcl's exit; ours checks its argument in Tcl (so
        # the error texts are Tcl's) and then leaves as tclsh does.
        tk.createcommand("::pysmtp_tcl::_exit", self._exit_command)
        tk.eval("namespace eval ::pysmtp_tcl {}\n"
                "proc ::exit {{returnCode 0}} {\n"
                "    if {![string is integer -strict $returnCode]} {\n"
                "        return -code error \"expected integer but got \\\"$returnCode\\\"\"\n"
                "    }\n"
                "    ::pysmtp_tcl::_exit $returnCode\n"
                "}")
        target = None
        if capture_dir is not None:
            from .capture import CaptureServer

            self.capture = CaptureServer(capture_dir)
            host, port = self.capture.start()
            target = Route(host, port, plain=True)
        elif route is not None:
            host, port = route
            target = Route(host, port)
        install(self.tcl, route=target)
        exe = launcher_path()
        if exe:
            tk.call("set", "::pysmtp_tcl::executable", exe)
            tk.eval("proc ::pysmtp_tcl::nameofexecutable {} { return $::pysmtp_tcl::executable }\n"
                    "namespace ensemble configure ::info -map [dict replace "
                    "[namespace ensemble configure ::info -map] nameofexecutable "
                    "::pysmtp_tcl::nameofexecutable]")
        tk.call("set", "::argv0", script if script is not None else (exe or sys.argv[0]))
        tk.call("set", "::argv", tuple(args))
        tk.call("set", "::argc", len(args))
        interactive = script is None and sys.stdin.isatty()
        tk.call("set", "::tcl_interactive", int(interactive))
        self.encoding = encoding

    def run_script(self, script: str) -> int:
        import tkinter

        try:
            if self.encoding:
                self.tk.call("source", "-encoding", self.encoding, script)
            else:
                self.tk.evalfile(script)
        except tkinter.TclError as e:
            # A script that could not even be read leaves no errorInfo;
            # tclsh then prints just the message.
            info = self.tk.eval("if {[info exists ::errorInfo]} {set ::errorInfo}") or str(e)
            self.tk.call("puts", "stderr", info)
            return 1
        return 0

    def run_stdin(self) -> int:
        """Read commands from stdin as tclsh does: through Tcl's own stdin
        channel, a complete command at a time, so a script can ``gets
        stdin`` the lines after it; prompt and results only when
        interactive; an error's message goes to stderr and reading goes on."""
        import tkinter

        tk = self.tk
        interactive = bool(int(tk.call("set", "::tcl_interactive")))
        buf = ""
        while True:
            if interactive:
                tk.call("puts", "-nonewline", "stdout", "% " if not buf else "")
                tk.call("flush", "stdout")
            n = int(tk.call("gets", "stdin", "::pysmtp_tcl::line"))
            if n < 0:
                if int(tk.call("eof", "stdin")):
                    break
                continue
            buf += str(tk.call("set", "::pysmtp_tcl::line")) + "\n"
            if not int(tk.call("info", "complete", buf)):
                continue
            cmd, buf = buf, ""
            try:
                result = tk.eval(cmd)
                if interactive and result != "":
                    tk.call("puts", "stdout", result)
            except tkinter.TclError as e:
                tk.call("puts", "stderr", str(e))
        if buf.strip():
            try:
                tk.eval(buf)
            except tkinter.TclError as e:
                tk.call("puts", "stderr", str(e))
        return 0


def _usage_error(message: str) -> int:
    print("pysmtp-tclsh: %s\n%s" % (message, USAGE), file=sys.stderr)
    return 2


def _parse_route(value: str) -> Optional[tuple]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host.strip("[]"), int(port)


def launcher_path() -> Optional[str]:
    """An executable that runs Tcl scripts with our packages (what
    ``info nameofexecutable`` answers, so scripts can start helpers)."""
    argv0 = Path(sys.argv[0])
    if argv0.name.startswith("pysmtp-tclsh") and argv0.exists():
        return str(argv0.resolve())
    found = shutil.which("pysmtp-tclsh")
    if found:
        return str(Path(found).resolve())
    near = Path(sys.executable).parent / "pysmtp-tclsh"
    return str(near) if near.exists() else None


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    capture_dir = None
    route = None
    encoding = None
    while args:
        if args[0] in ("--capture", "--route") and len(args) < 2:
            return _usage_error("%s needs a value" % args[0])
        if args[0] == "--capture" or args[0].startswith("--capture="):
            capture_dir = args[1] if args[0] == "--capture" else args[0].split("=", 1)[1]
            del args[:2 if args[0] == "--capture" else 1]
            if not capture_dir:
                return _usage_error("--capture needs a directory")
            try:
                os.makedirs(capture_dir, exist_ok=True)
            except OSError as e:
                return _usage_error("--capture %s: %s" % (capture_dir, e.strerror or e))
        elif args[0] == "--route" or args[0].startswith("--route="):
            value = args[1] if args[0] == "--route" else args[0].split("=", 1)[1]
            del args[:2 if args[0] == "--route" else 1]
            route = _parse_route(value)
            if route is None:
                return _usage_error('--route expects HOST:PORT (port 1-65535), not "%s"' % value)
        elif args[0] == "-encoding" and len(args) > 1:
            encoding = args[1]
            del args[:2]
        elif args[0] in ("-h", "--help"):
            print(USAGE)
            return 0
        else:
            break
    try:
        import tkinter  # noqa: F401
    except ImportError:
        print("pysmtp-tclsh: this Python has no tkinter (Tcl 8.6 bindings); install python3-tk or "
              "use a Python built with Tcl/Tk", file=sys.stderr)
        return 2
    # As tclsh: Ctrl-C ends the process even while Tcl waits in its event
    # loop (Python's own handler would only run after the wait).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    script = None
    if args and not args[0].startswith("-") or (args and args[0] == "-"):
        script = args.pop(0)
    launcher = _Launcher()
    if capture_dir is not None and route is not None:
        return _usage_error("--capture and --route exclude each other")
    launcher.setup(script, args, capture_dir, encoding, route)
    status = launcher.run_script(script) if script is not None else launcher.run_stdin()
    launcher.finish(status)
    return status
