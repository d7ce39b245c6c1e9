"""``pysmtp-tclsh`` and ``pysmtp-wish``: ``tclsh`` and ``wish`` drop-ins
whose ``mime`` and ``smtp`` packages are pysmtp-tcl's.

    pysmtp-tclsh [launcher option ...] ?-encoding name? ?fileName arg ...?
    pysmtp-wish  [launcher option ...] ?-encoding name? ?fileName arg ...?

As tclsh (Tcl 8.6's ``Tcl_MainEx``): the first argument not starting with
``-`` is the script; ``argv0 argv argc tcl_interactive tcl_rcFileName`` are
set; the script runs with ``info script`` set; an uncaught error prints
``$errorInfo`` on stderr and exits 1; when the script loaded Tk, Tk's event
loop runs until the last window is gone; then ``exit`` is called (``exit
N`` flushes Tcl's channels and leaves with N).  With no script, commands
are read from standard input (:mod:`pysmtp_tcl.console`).

As wish (Tk's ``Tk_MainEx``): Tk is loaded before the script (Tk itself
takes ``-display -geometry -name -sync -use -visual -colormap --`` out of
``argv``), ``-file NAME`` also names the script, an error in the script
prints ``Error in startup script: $errorInfo``, and the program ends when
the last window is gone.

Launcher options (before the script name): ``--capture DIR`` starts an
SMTP server inside the process, routes every ``smtp::sendmessage`` to it
and stores what arrives in DIR (see :mod:`pysmtp_tcl.capture`); ``--route
HOST:PORT`` sends every message to that server instead; ``--route
sendmail[:PATH]`` hands every message to the local MTA's ``sendmail``
program; ``--config FILE`` (or ``$PYSMTP_TCL_CONFIG``) sends through the
msmtp-style account chosen by each message's envelope sender (see
:mod:`pysmtp_tcl.delivery`; a file that cannot be used ends the program
with status 78 before the script runs); ``--reuse[=SECONDS]`` keeps
connections open between sends (:mod:`pysmtp_tcl.smtp.pool`);
``--version`` and ``--help``.
"""
from __future__ import annotations

import atexit
import os
import signal
import sys

from . import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, List, Optional, Tuple

_PROGRAMS = {"tclsh": "pysmtp-tclsh", "wish": "pysmtp-wish"}
#: Exit status for a configuration file that cannot be used (sysexits EX_CONFIG).
EX_CONFIG = 78

_LAUNCHER_OPTIONS = """\
launcher options (before the script name):
  --capture DIR      run an SMTP server (aiosmtpd) on a free loopback port
                     inside the process; every smtp::sendmessage goes there
                     and each message is stored as DIR/NNNN.eml (+ .json)
  --route HOST:PORT  send every message to that SMTP server, whatever the
                     script's -servers/-ports say
  --route sendmail[:PATH]
                     hand every message to the local MTA's sendmail program
                     (PATH absolute; default /usr/sbin/sendmail)
  --config FILE      send every message through the msmtp-style account
                     (msmtprc format) its envelope sender chooses; also
                     $PYSMTP_TCL_CONFIG
  --reuse[=SECONDS]  keep each connection open after smtp::sendmessage for
                     the next send to the same server with the same client
                     name, TLS settings and credentials (default: a
                     connection per send, as tcllib); idle connections get
                     QUIT after SECONDS (default 30) and at exit
  --version          print the pysmtp-tcl, Python and Tcl versions and exit
  -h, --help         print this help and exit
"""

_HELP = {
    "tclsh": """\
usage: pysmtp-tclsh [launcher option ...] ?-encoding name? ?fileName arg ...?

A tclsh whose mime and smtp packages are pysmtp-tcl's.  With no fileName,
commands are read from standard input (a prompt only on a terminal:
$tcl_prompt1, $tcl_prompt2 for continuation lines).  A script that loads Tk
keeps running until its last window is closed.

%s
tclsh's own:
  -encoding NAME     the script file's encoding (only before fileName)
""",
    "wish": """\
usage: pysmtp-wish [launcher option ...] ?-encoding name? ?fileName arg ...?

A wish (Tcl with Tk loaded) whose mime and smtp packages are pysmtp-tcl's.
It runs fileName (or reads commands from standard input) and handles events
until the last window is closed.

%s
wish's own (handled by Tk, anywhere in the arguments; -- ends them):
  -encoding NAME     the script file's encoding (only before fileName)
  -file NAME         NAME is the script (historical form)
  -colormap new      use a new private colormap
  -display DISPLAY   the X display to use
  -geometry GEOM     initial geometry of the main window (also ::geometry)
  -name NAME         application name and class (default: the script's name)
  -sync              execute all X server commands synchronously
  -use ID            embed the main window in the window with this id
  -visual VISUAL     the visual for the main window
  --                 pass the remaining arguments to the script unread
""",
}


def version_line() -> str:
    """``pysmtp-tcl VERSION (Python X.Y.Z, Tcl PATCHLEVEL)``; the Tcl
    part names what is missing when this Python has no tkinter."""
    import platform  # only --version needs it

    py = platform.python_version()
    try:
        tk = _new_tkapp("pysmtp-tclsh")
        tcl = "Tcl " + str(tk.call("info", "patchlevel"))
    except ImportError:
        tcl = "no tkinter"
    except Exception as e:  # a broken Tcl installation: say what it said
        tcl = "Tcl unavailable: %s" % e
    return "pysmtp-tcl %s (Python %s, %s)" % (__version__, py, tcl)


def _new_tkapp(base_name: str) -> Any:
    # tkinter.Tcl() also sources ~/.Tk.tcl and ~/.<program>.tcl and runs
    # ~/.Tk.py (Tk.readprofile); tclsh does none of that, so the launcher
    # creates the interpreter directly (as tkinter itself does).
    import _tkinter
    import tkinter

    return _tkinter.create(None, base_name, "Tk", False, tkinter.wantobjects, False, False, None)


class _Shell:
    """One interpreter run as tclsh or wish would run it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.tk = _new_tkapp(_PROGRAMS[kind])
        self.capture: Optional[Any] = None
        self.encoding: Optional[str] = None
        self._leaving = False
        self._done = False

    # -- exit, tclsh-exact ----------------------------------------------------
    def finish(self, status: int) -> None:
        """Leave the process as ``Tcl_Exit`` does: Tk's windows are
        destroyed (their ``<Destroy>`` bindings run; one calling ``exit``
        again leaves with its status), Tcl's channels flushed; then capture
        stops and Python's atexit handlers run."""
        if not self._leaving:
            self._leaving = True
            try:
                if _tk_in(self.tk):
                    self.tk.eval("if {[winfo exists .]} {destroy .}")
            except Exception:
                pass
        if not self._done:
            self._done = True
            # kept connections get QUIT (their -debug lines still reach
            # Tcl's stderr, which is flushed next)
            from .bridge.install import close_pools

            close_pools()
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

    def call_exit(self, status: int) -> None:
        """``Tcl_EvalObjEx(interp, "exit N")`` at the end of tclsh's main,
        so a script's own ``exit`` runs; if it returns, leave anyway."""
        try:
            self.tk.call("exit", status)
        except Exception:
            pass
        self.finish(status)

    # -- setup ----------------------------------------------------------------
    def setup(self, script: Optional[str], args: List[str], capture_dir: Optional[str],
              encoding: Optional[str], route: Optional[Any] = None, config: Any = None,
              reuse: Optional[float] = None) -> None:
        from . import install
        from .bridge.context import Route

        tk = self.tk
        tk.call("encoding", "system", "utf-8")
        # tkinter deletes Tcl's exit; ours reads its argument as Tcl's exit
        # does (Tcl_GetIntFromObj, which `string repeat` uses too: the same
        # texts and -errorcode, 0x10 and 0o10 accepted, "integer value too
        # large" past 32 bits) and hands Python the exit status in decimal.
        tk.createcommand("::pysmtp_tcl::_exit", self._exit_command)
        tk.eval("namespace eval ::pysmtp_tcl {}\n"
                "proc ::exit {{returnCode 0}} {\n"
                "    if {[catch {string repeat {} $returnCode} msg opts]} {\n"
                "        return -code error -errorcode [dict get $opts -errorcode] $msg\n"
                "    }\n"
                "    ::pysmtp_tcl::_exit [expr {$returnCode & 0xFF}]\n"
                "}")
        target = None
        if capture_dir is not None:
            from .capture import CaptureServer

            self.capture = CaptureServer(capture_dir)
            host, port = self.capture.start()
            target = Route(host, port, plain=True)
        elif route is not None:
            target = route if not isinstance(route, tuple) else Route(*route)
        # capture and --route never fall back to $PYSMTP_TCL_CONFIG
        install(tk, route=target, config=config if target is None else False, reuse=reuse)
        exe = launcher_path(self.kind)
        if exe:
            tk.call("set", "::pysmtp_tcl::executable", exe)
            tk.eval("proc ::pysmtp_tcl::nameofexecutable {} { return $::pysmtp_tcl::executable }\n"
                    "namespace ensemble configure ::info -map [dict replace "
                    "[namespace ensemble configure ::info -map] nameofexecutable "
                    "::pysmtp_tcl::nameofexecutable]")
        tk.call("set", "::argv0", script if script is not None else (exe or sys.argv[0]))
        tk.call("set", "::argv", tuple(args))
        tk.call("set", "::argc", len(args))
        tk.call("set", "::tcl_interactive", int(script is None and _stdin_is_tty()))
        if self.kind == "tclsh":
            from .bridge.host import Host  # Tcl 9: no ~ expansion

            tk.call("set", "::tcl_rcFileName", Host(tk).rc_file_name(".tclshrc"))
        self.encoding = encoding

    def run_script(self, script: str, error_prefix: str = "") -> int:
        """Source the script; an uncaught error prints ``$errorInfo`` (after
        ``error_prefix``) on stderr and gives status 1."""
        try:
            if self.encoding:
                self.tk.call("source", "-encoding", self.encoding, script)
            else:
                self.tk.evalfile(script)
        except Exception as e:
            # A script that could not even be read leaves no errorInfo;
            # tclsh then prints just the message.
            try:
                info = self.tk.eval("if {[info exists ::errorInfo]} {set ::errorInfo}") or str(e)
            except Exception:
                info = str(e)
            if self.encoding:
                # tclsh evaluates the file from C (Tcl_FSEvalFileEx): no
                # frame for our `source -encoding` call in errorInfo
                import re  # only on this error path (start-up time)

                trimmed = re.sub(_SOURCE_FRAME, "", info)
                if trimmed != info:
                    info = trimmed
                    try:
                        self.tk.call("set", "::errorInfo", info)
                    except Exception:
                        pass
            try:
                self.tk.call("puts", "stderr", error_prefix + info)
            except Exception:
                pass
            return 1
        return 0

    def console(self, linked: bool) -> Any:
        from .console import Console

        return Console(self.tk, tty=_stdin_is_tty(), linked=linked, exit_now=self.finish)

    # -- the two programs -----------------------------------------------------
    def run_tclsh(self, script: Optional[str]) -> None:
        """``Tcl_MainEx`` after the application's initialisation."""
        from .console import run_tk_main_loop, source_rc_file

        if script is not None:
            status = self.run_script(script)
        else:
            source_rc_file(self.tk)
            self.console(linked=True).run_tclsh()
            status = 0
        if status == 0:
            run_tk_main_loop(self.tk)
        self.call_exit(status)

    def run_wish(self, script: Optional[str]) -> None:
        """``Tk_MainEx``: Tk first (it parses ``argv``), then the script or
        stdin from the event loop, until the last window is gone."""
        from .console import run_tk_main_loop, source_rc_file

        try:
            self.tk.call("package", "require", "Tk")
        except Exception as e:
            _puts_stderr(self.tk, "application-specific initialization failed: %s" % e)
        else:
            from .bridge.host import Host  # Tcl 9: no ~ expansion

            self.tk.call("set", "::tcl_rcFileName", Host(self.tk).rc_file_name(".wishrc"))
        if script is not None:
            if self.run_script(script, error_prefix="Error in startup script: "):
                self.finish(1)
        else:
            source_rc_file(self.tk)
            self.console(linked=False).run_event_loop()
        run_tk_main_loop(self.tk)
        self.finish(0)


#: The errorInfo frame Tcl adds for the launcher's own ``source -encoding``.
_SOURCE_FRAME = r'\n    (?:invoked from within|while executing)\n"source -encoding [^\n]*"\Z'


def _tk_in(tk: Any) -> bool:
    from .console import tk_loaded

    return tk_loaded(tk)


def _puts_stderr(tk: Any, text: str) -> None:
    try:
        tk.call("puts", "stderr", text)
    except Exception:
        pass


def _stdin_is_tty() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


def _usage(kind: str) -> str:
    return _HELP[kind].split("\n", 1)[0]


def _usage_error(kind: str, message: str) -> int:
    print("%s: %s\n%s" % (_PROGRAMS[kind], message, _usage(kind)), file=sys.stderr)
    return 2


def _parse_route(value: str) -> Optional[Any]:
    if value == "sendmail" or value.startswith("sendmail:/"):
        from .delivery import SendmailRoute

        return SendmailRoute(value.partition(":")[2] or None)
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host.strip("[]"), int(port)


def _parse_reuse(value: Optional[str]) -> Optional[float]:
    """``--reuse`` (``None``: the default idle limit) or ``--reuse=SECONDS``;
    ``None`` when SECONDS is no number above 0."""
    import math

    if value is None:
        from .smtp.pool import DEFAULT_IDLE

        return DEFAULT_IDLE
    try:
        secs = float(value)
    except ValueError:
        return None
    return secs if math.isfinite(secs) and secs > 0 else None


def _split_script(kind: str, args: List[str]) -> Tuple[Optional[str], Optional[str], List[str]]:
    """``(encoding, script, argv)`` as ``Tcl_MainEx``/``Tk_MainEx`` find them:
    ``-encoding NAME FILE`` (FILE not starting with ``-``), else a first
    argument not starting with ``-``; wish also takes ``-file FILE`` (any
    abbreviation down to ``-f``)."""
    if len(args) >= 3 and args[0] == "-encoding" and not args[2].startswith("-"):
        return args[1], args[2], args[3:]
    if args and not args[0].startswith("-"):
        return None, args[0], args[1:]
    if (kind == "wish" and len(args) >= 2 and len(args[0]) > 1 and "-file".startswith(args[0])
            and not args[1].startswith("-")):
        return None, args[1], args[2:]
    return None, None, args


def launcher_path(kind: str = "tclsh") -> Optional[str]:
    """An executable that runs Tcl scripts with our packages (what
    ``info nameofexecutable`` answers, so scripts can start helpers)."""
    # os.path, not pathlib/shutil: they cost start-up time
    name = _PROGRAMS[kind]
    argv0 = sys.argv[0]
    if os.path.basename(argv0).startswith(name) and os.path.exists(argv0):
        return os.path.realpath(argv0)
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        found = os.path.join(d or os.curdir, name)
        if os.path.isfile(found) and os.access(found, os.X_OK):  # shutil.which's test
            return os.path.realpath(found)
    near = os.path.join(os.path.dirname(sys.executable), name)
    return near if os.path.exists(near) else None


def _main(kind: str, argv: Optional[List[str]]) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    capture_dir = None
    route = None
    config = None
    reuse: Optional[float] = None
    while args:
        if args[0] in ("--capture", "--route", "--config") and len(args) < 2:
            return _usage_error(kind, "%s needs a value" % args[0])
        if args[0] == "--capture" or args[0].startswith("--capture="):
            capture_dir = args[1] if args[0] == "--capture" else args[0].split("=", 1)[1]
            del args[:2 if args[0] == "--capture" else 1]
            if not capture_dir:
                return _usage_error(kind, "--capture needs a directory")
            try:
                os.makedirs(capture_dir, exist_ok=True)
            except OSError as e:
                return _usage_error(kind, "--capture %s: %s" % (capture_dir, e.strerror or e))
        elif args[0] == "--route" or args[0].startswith("--route="):
            value = args[1] if args[0] == "--route" else args[0].split("=", 1)[1]
            del args[:2 if args[0] == "--route" else 1]
            route = _parse_route(value)
            if route is None:
                return _usage_error(kind, '--route expects HOST:PORT (port 1-65535) or '
                                    'sendmail[:/PATH], not "%s"' % value)
        elif args[0] == "--config" or args[0].startswith("--config="):
            config = args[1] if args[0] == "--config" else args[0].split("=", 1)[1]
            del args[:2 if args[0] == "--config" else 1]
            if not config:
                return _usage_error(kind, "--config needs a file")
        elif args[0] == "--reuse" or args[0].startswith("--reuse="):
            _, eq, value = args.pop(0).partition("=")
            reuse = _parse_reuse(value) if eq else _parse_reuse(None)
            if reuse is None:
                return _usage_error(kind, '--reuse=SECONDS expects a number of seconds above 0, not "%s"'
                                    % value)
        elif args[0] in ("-h", "--help"):
            print(_HELP[kind] % _LAUNCHER_OPTIONS, end="")
            return 0
        elif args[0] == "--version":
            print(version_line())
            return 0
        else:
            break
    if capture_dir is not None and route is not None:
        return _usage_error(kind, "--capture and --route exclude each other")
    if config is not None and (capture_dir is not None or route is not None):
        return _usage_error(kind, "--config excludes --capture and --route")
    try:
        import tkinter  # noqa: F401
    except ImportError:
        print("%s: this Python has no tkinter (Tcl/Tk bindings); install python3-tk or "
              "use a Python built with Tcl/Tk" % _PROGRAMS[kind], file=sys.stderr)
        return 2
    # As tclsh: Ctrl-C ends the process even while Tcl waits in its event
    # loop (Python's own handler would only run after the wait).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    encoding, script, rest = _split_script(kind, args)
    shell = _Shell(kind)
    try:
        shell.setup(script, rest, capture_dir, encoding, route, config, reuse)
    except ValueError as e:  # pysmtp_tcl.delivery.ConfigError: nothing ran yet
        print("%s: %s" % (_PROGRAMS[kind], e), file=sys.stderr)
        return EX_CONFIG
    if kind == "wish":
        shell.run_wish(script)
    else:
        shell.run_tclsh(script)
    return 0  # not reached: both end the process


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``pysmtp-tclsh`` (and ``python -m pysmtp_tcl``)."""
    return _main("tclsh", argv)


def main_wish(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``pysmtp-wish``."""
    return _main("wish", argv)
