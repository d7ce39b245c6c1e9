"""Reading commands from standard input the way ``tclsh`` and ``wish`` do.

Follows Tcl 8.6's ``Tcl_MainEx`` (tclMain.c) and Tk's ``Tk_MainEx``
(tkMain.c), the behaviour scripts and users can observe:

- a prompt only while ``is.tty`` (tclsh links it to ``::tcl_interactive``,
  so a script can switch prompting on and off; wish fixes it at start):
  ``$tcl_prompt1`` is evaluated before a command, ``$tcl_prompt2`` before a
  continuation line (``info complete`` says the command is unfinished), the
  default being ``"% "`` and nothing; a failing prompt script prints its
  error on stderr and the default prompt; a prompt is printed once per
  state, then stdout is flushed;
- each complete command goes through ``history add`` and is evaluated at
  level #0; on a terminal a non-empty result is printed on stdout, an
  error's message (not ``errorInfo``) always goes to stderr;
- an unfinished command at end of input is dropped;
- once Tk is loaded (tclsh: ``package require Tk`` sets Tk's main loop),
  stdin is read from the event loop, which runs until the last main
  window is gone; end of input on a terminal then exits at once
  (``Tcl_Exit(0)``), from a pipe it only stops reading.

One difference, by design: a line that arrives while a script waits in a
nested event loop (``vwait``/``update`` inside a Tk callback) is read when
that wait ends, so every command is evaluated at top level as tclsh would
evaluate it (``break`` there is an error, ``info level`` is 0).
"""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Callable

__all__ = ["Console", "run_tk_main_loop", "source_rc_file", "tk_loaded"]

# Prompt states (tclMain.c's PROMPT_START / PROMPT_CONTINUE / PROMPT_NONE).
_START, _CONTINUE, _NONE = "start", "continue", "none"
# What reading a line may give besides a line.
_EOF, _BLOCKED = object(), object()

# tclsh links ::tcl_interactive to a C boolean: writing a non-boolean
# fails with Tcl's "can't set ..." message and leaves the old value.
_LINK_INTERACTIVE = r"""
namespace eval ::pysmtp_tcl {}
set ::pysmtp_tcl::interactive [expr {$::tcl_interactive ? 1 : 0}]
proc ::pysmtp_tcl::interactive_written args {
    if {[catch {expr {$::tcl_interactive ? 1 : 0}} v]} {
        set ::tcl_interactive $::pysmtp_tcl::interactive
        return -code error "variable must have boolean value"
    }
    set ::pysmtp_tcl::interactive $v
    return
}
trace add variable ::tcl_interactive write ::pysmtp_tcl::interactive_written
"""


def tk_loaded(tk: Any) -> bool:
    """Whether Tk has been initialised in this interpreter (what makes
    tclsh run Tk's main loop: ``Tk_Init`` calls ``Tcl_SetMainLoop``)."""
    try:
        return str(tk.call("package", "provide", "Tk")) != ""
    except Exception:
        return False


def run_tk_main_loop(tk: Any) -> None:
    """``Tk_MainLoop``: handle events until no Tk main window is left
    (returns at once when Tk was never loaded or ``.`` is gone)."""
    try:
        loaded = "Tk" in str(tk.call("info", "loaded"))
    except Exception:
        loaded = False
    while loaded:
        try:
            tk.mainloop(0)
            return
        except Exception:
            # tkinter re-raises here what a Python callback once raised;
            # nothing of it may reach the script: keep the loop going.
            continue


def source_rc_file(tk: Any) -> None:
    """``Tcl_SourceRCFile``: source ``$tcl_rcFileName`` (``~`` expanded)
    when it names a readable file; an error's message goes to stderr."""
    try:
        if not int(tk.call("info", "exists", "::tcl_rcFileName")):
            return
        name = str(tk.call("set", "::tcl_rcFileName"))
    except Exception:
        return
    path = os.path.expanduser(name)
    try:
        with open(path, "rb"):
            pass
    except OSError:
        return
    try:
        tk.evalfile(path)
    except Exception as e:  # a TclError: its message, as tclsh prints it
        _write(tk, "stderr", str(e))


def _write(tk: Any, chan: str, text: str, newline: bool = True) -> None:
    try:
        if newline:
            tk.call("puts", chan, text)
        else:
            tk.call("puts", "-nonewline", chan, text)
    except Exception:
        pass  # the channel was closed by the script: tclsh stays quiet too


class Console:
    """The interactive command loop of one interpreter.

    :param tk: the tkapp object.
    :param tty: whether stdin is a terminal (``isatty(0)``).
    :param linked: tclsh's behaviour: ``is.tty`` follows
        ``::tcl_interactive`` (wish: fixed at start).
    :param exit_now: called with 0 for end of input on a terminal while
        Tk's loop runs (tclsh/wish then call ``Tcl_Exit(0)``); must not return.
    """

    def __init__(self, tk: Any, tty: bool, linked: bool,
                 exit_now: Callable[[int], None]) -> None:
        self.tk = tk
        self._tty = tty
        self.linked = linked
        self.exit_now = exit_now
        self.prompt_state = _START
        self.command = ""
        self._tk_seen = False
        self._stdin_ready = False
        if linked:
            tk.eval(_LINK_INTERACTIVE)
        tk.createcommand("::pysmtp_tcl::_stdin_ready", self._on_stdin_ready)

    # -- tclsh --------------------------------------------------------------
    def run_tclsh(self) -> None:
        """``Tcl_MainEx``'s loop: returns at end of input (or when the
        script closed stdin)."""
        while True:
            if self._tk_main_loop_pending():
                if not self.run_event_loop():
                    return
                continue
            if self.tty():
                self.prompt()
            line = self._read_line()
            if line is _BLOCKED:
                continue  # a non-blocking stdin: tclsh polls too
            if line is _EOF:
                return
            self._take(str(line))

    # -- wish, and tclsh once Tk is loaded ----------------------------------
    def run_event_loop(self) -> bool:
        """Read stdin from Tk's event loop until no main window is left.

        :returns: whether stdin is still there to be read.
        """
        open_ = True
        if self.tty():
            self.prompt()
        self._listen(True)
        while True:
            self._stdin_ready = False
            run_tk_main_loop(self.tk)
            if not self._stdin_ready:
                break
            open_ = self._stdin_event()
            if open_:
                self._listen(True)
        self._listen(False)
        return open_

    def _stdin_event(self) -> bool:
        """tclMain.c's ``StdinProc``; returns whether to keep listening."""
        line = self._read_line()
        if line is _BLOCKED:
            return True
        if line is _EOF:
            if self.tty():
                self.exit_now(0)
            return False
        self._take(str(line))
        if self.tty():
            self.prompt()
        return True

    def _on_stdin_ready(self) -> str:
        # Called by the stdin fileevent inside Tk's loop: stop listening
        # (a readable stdin would fire again in any nested wait) and leave
        # the loop, so that the line is evaluated at top level.
        self._stdin_ready = True
        self._listen(False)
        try:
            self.tk.quit()
        except Exception:
            pass
        return ""

    def _listen(self, on: bool) -> None:
        try:
            self.tk.call("fileevent", "stdin", "readable",
                         "::pysmtp_tcl::_stdin_ready" if on else "")
        except Exception:
            pass  # stdin was closed by the script

    def _tk_main_loop_pending(self) -> bool:
        if self._tk_seen or not tk_loaded(self.tk):
            return False
        self._tk_seen = True  # tclsh resets the main loop after running it
        return True

    # -- the shared parts ---------------------------------------------------
    def tty(self) -> bool:
        """``is.tty``: for tclsh the current ``::tcl_interactive``."""
        if self.linked:
            try:
                self._tty = bool(int(self.tk.call("set", "::pysmtp_tcl::interactive")))
            except Exception:
                pass
        return self._tty

    def prompt(self) -> None:
        """tclMain.c's ``Prompt``."""
        if self.prompt_state == _NONE:
            return
        var = "::tcl_prompt2" if self.prompt_state == _CONTINUE else "::tcl_prompt1"
        default = True
        try:
            script = self.tk.call("set", var) if int(self.tk.call("info", "exists", var)) else None
        except Exception:
            script = None  # an array: no prompt script
        if script is not None:
            try:
                self.tk.eval(str(script))
                default = False
            except Exception as e:
                try:
                    self.tk.call("append", "::errorInfo", "\n    (script that generates prompt)")
                except Exception:
                    pass
                _write(self.tk, "stderr", str(e))
        if default and self.prompt_state == _START:
            _write(self.tk, "stdout", "% ", newline=False)
        try:
            self.tk.call("flush", "stdout")
        except Exception:
            pass
        self.prompt_state = _NONE

    def _read_line(self) -> Any:
        try:
            line = self.tk.call("gets", "stdin")
            if line == "" or line is None:
                if int(self.tk.call("eof", "stdin")):
                    return _EOF
                if int(self.tk.call("fblocked", "stdin")):
                    return _BLOCKED
                return ""
        except Exception:
            return _EOF  # stdin closed by the script: tclsh stops reading
        return line

    def _take(self, line: str) -> None:
        self.command += line + "\n"
        try:
            complete = bool(int(self.tk.call("info", "complete", self.command)))
        except Exception:
            complete = True
        if not complete:
            self.prompt_state = _CONTINUE
            return
        self.prompt_state = _START
        command, self.command = self.command[:-1], ""
        self.evaluate(command)

    def evaluate(self, command: str) -> None:
        """``Tcl_RecordAndEvalObj`` at level #0, then report as tclsh."""
        try:
            self.tk.call("history", "add", command)
        except Exception:
            pass
        try:
            result = self.tk.eval(command)
        except Exception as e:
            _write(self.tk, "stderr", _message(e))
            return
        if result != "" and self.tty():
            _write(self.tk, "stdout", str(result))


def _message(e: Exception) -> str:
    # A TclError's text is the Tcl result; anything else (tkinter refusing a
    # command with a NUL character) is reported by its message alone.
    return str(e) if str(e) else type(e).__name__
