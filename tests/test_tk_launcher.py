"""Tk scripts under pysmtp-tclsh and pysmtp-wish, for real: a private Xvfb,
xdotool clicking the buttons, mail to aiosmtpd on 127.0.0.1, and the same
script under tclsh/wish with tcllib as the oracle of what the user sees
(output lines, exit status)."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Dict, List

import pytest

from conftest import REPO
from support import oracle
from support.terminal import run_on_pty
from support.xserver import LineProcess, Xvfb, close_window, unavailable

# The GUI: Send mails through smtp::sendmessage; Quit destroys "."; Exit
# calls `exit 3`; closing the window (WM_DELETE_WINDOW) destroys "." as Tk
# does by default.  It reports where its buttons are and its frame's X id.
GUI = r"""
package require smtp
package require mime
lassign $argv port
wm title . "pysmtp tk test"
button .send -text Send -command {
    set t [mime::initialize -canonical text/plain -string "sent from a Tk button"]
    set r [smtp::sendmessage $t -servers 127.0.0.1 -ports $port \
        -originator a@example.com -header {From a@example.com} \
        -header {To b@example.com} -header {Subject {Tk button}}]
    mime::finalize $t
    puts "sent {$r}"
    flush stdout
}
button .quit -text Quit -command {destroy .}
button .exit -text Exit -command {exit 3}
pack .send .quit .exit -fill x
bind . <Destroy> {if {"%W" eq "."} {puts "destroyed ."; flush stdout}}
tkwait visibility .exit
foreach b {send quit exit} {
    puts "at $b [winfo rootx .$b] [winfo rooty .$b] [winfo width .$b] [winfo height .$b]"
}
puts "frame [wm frame .]"
flush stdout
"""

PROGRAMS = {
    # program: whether the script must `package require Tk` itself
    "pysmtp-tclsh": True, "tclsh": True, "pysmtp-wish": False, "wish": False,
}


@pytest.fixture(scope="module")
def xdisplay():
    server = Xvfb()
    if shutil.which("xdotool") is None:
        server.stop()
        unavailable("xdotool not installed")
    yield server.display
    server.stop()


def _exe(name: str) -> str:
    if name in ("tclsh", "wish"):  # the host Tcl's: wish9.0 beside Tcl 9
        try:
            return oracle.program(name)
        except RuntimeError as e:
            unavailable(str(e))
    exe = shutil.which(name)
    if exe is None:
        if name.startswith("pysmtp-"):
            pytest.fail("%s is not installed on PATH (pip install -e .)" % name)
        unavailable("%s not installed (Debian packages tcl, tk)" % name)
    return exe


def _env(display: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["DISPLAY"] = display
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _xdotool(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], env=_env(display), check=True, timeout=60,
                   capture_output=True)


def _start_gui(name: str, display: str, port: int, tmp_path) -> LineProcess:
    script = tmp_path / "gui.tcl"
    script.write_text(("package require Tk\n" if PROGRAMS[name] else "") + GUI)
    return LineProcess([_exe(name), str(script), str(port)], _env(display))


def _click(display: str, proc: LineProcess, button: str) -> None:
    # "at NAME X Y W H" was printed once the buttons were visible
    x, y, w, h = (int(v) for v in proc.wait_line("at " + button).split()[2:])
    _xdotool(display, "mousemove", str(x + w // 2), str(y + h // 2), "click", "1")


def _gui_session(name: str, display: str, aio, tmp_path, close: str) -> List:
    srv = aio()
    proc = _start_gui(name, display, srv.port, tmp_path)
    try:
        frame = proc.wait_line("frame ").split()[1]
        _click(display, proc, "send")
        sent = proc.wait_line("sent ")
        assert proc.proc.poll() is None  # still running: Tk's loop keeps it
        if close == "quit":
            _click(display, proc, "quit")
        elif close == "wm-close":  # the user closes the window (its close box)
            close_window(display, frame)
        else:
            _click(display, proc, "exit")
        gone = proc.wait_line("destroyed .")
        status = proc.wait_exit(60)
    finally:
        proc.kill()
    assert len(srv.messages) == 1, srv.messages
    msg = srv.messages[0]
    assert msg["rcpt_tos"] == ["b@example.com"]
    assert b"sent from a Tk button" in msg["data"] and b"Subject: Tk button" in msg["data"]
    return [sent, gone, status]


@pytest.mark.parametrize("close", ["quit", "wm-close", "exit"])
@pytest.mark.parametrize("ours,theirs", [("pysmtp-tclsh", "tclsh"), ("pysmtp-wish", "wish")])
def test_tk_gui_sends_on_click_and_ends_with_its_window(xdisplay, aio, tmp_path, ours, theirs,
                                                        close):
    got = _gui_session(ours, xdisplay, aio, tmp_path, close)
    expected = [["sent {}", "destroyed .", 3 if close == "exit" else 0]]
    assert [got] == expected
    # tclsh/wish with tcllib: the same lines, the same exit status
    assert _gui_session(theirs, xdisplay, aio, tmp_path, close) == got


def test_a_script_without_windows_left_ends_at_once(xdisplay, tmp_path):
    script = tmp_path / "w.tcl"
    script.write_text("package require Tk\nwm withdraw .\nafter 200 {puts bye; destroy .}\n")
    for name in ("pysmtp-tclsh", "tclsh"):
        r = subprocess.run([_exe(name), str(script)], env=_env(xdisplay), capture_output=True,
                           text=True, timeout=60)
        assert (r.returncode, r.stdout, r.stderr) == (0, "bye\n", ""), name


@pytest.mark.parametrize("ours,theirs", [("pysmtp-tclsh", "tclsh"), ("pysmtp-wish", "wish")])
def test_piped_commands_with_tk_run_until_the_window_is_gone(xdisplay, ours, theirs):
    text = ("package require Tk\nputs a\nafter 300 {puts timer; destroy .}\nputs b\n"
            "error oops\nputs {unfinished\n")
    runs = [subprocess.run([_exe(n)], input=text, env=_env(xdisplay), capture_output=True,
                           text=True, timeout=60) for n in (ours, theirs)]
    assert [(r.returncode, r.stdout, r.stderr) for r in runs] == [(0, "a\nb\ntimer\n", "oops\n")] * 2


TK_SESSION = r"""package require Tk
set tcl_prompt2 {puts -nonewline "P2> "}
if {1} {
puts yes
}
error x
break
info level
destroy .
puts after
set tcl_prompt1 {puts -nonewline "P1> "}
package require Tk
^D"""


@pytest.mark.parametrize("ours,theirs", [("pysmtp-tclsh", "tclsh"), ("pysmtp-wish", "wish")])
def test_terminal_session_with_tk_as_tclsh_and_wish(xdisplay, ours, theirs):
    # tclsh switches to reading stdin from Tk's event loop; after `destroy .`
    # tclsh goes back to its plain loop, wish ends.
    got = [run_on_pty([_exe(n)], TK_SESSION, env=_env(xdisplay)) for n in (ours, theirs)]
    assert got[0] == got[1]
    assert "% P2> P2> yes" in got[0][0] and 'invoked "break" outside of a loop' in got[0][0]


WISH_ARGS = r"""
puts "argv0=[file tail $argv0] argc=$argc argv=$argv int=$tcl_interactive app=[tk appname]\
 class=[winfo class .] geometry=[info exists geometry] rc=$tcl_rcFileName script=[file tail [info script]]"
after 100 {destroy .}
"""


@pytest.mark.parametrize("args", [
    ["S", "a", "-name", "xx", "b"], ["S", "--", "-name", "a"],
    ["-encoding", "utf-8", "S", "-geometry", "100x100+5+5", "a"], ["-f", "S", "x"],
    ["-file", "S"], ["S", "-sync"],
])
def test_wish_arguments_as_wish(xdisplay, tmp_path, args):
    script = tmp_path / "args.tcl"
    script.write_text(WISH_ARGS)
    argv = [str(script) if a == "S" else a for a in args]
    if oracle.tcl9() and args[0] in ("-f", "-file"):
        # COMPATIBILITY.md N12: wish 9.0 dropped -f/-file (it runs no script
        # and waits); pysmtp-wish runs the script as wish 8.6 does.
        ours = subprocess.run([_exe("pysmtp-wish")] + argv, env=_env(xdisplay), capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert ours.returncode == 0 and ours.stdout.startswith("argv0=args.tcl"), ours.stderr
        with pytest.raises(subprocess.TimeoutExpired):
            subprocess.run([_exe("wish")] + argv, env=_env(xdisplay), capture_output=True,
                           timeout=5, stdin=subprocess.DEVNULL)
        return
    runs = [subprocess.run([_exe(n)] + argv, env=_env(xdisplay), capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL) for n in ("pysmtp-wish", "wish")]
    assert (runs[0].returncode, runs[0].stdout, runs[0].stderr) == \
        (runs[1].returncode, runs[1].stdout, runs[1].stderr)
    assert runs[0].stdout.startswith("argv0=args.tcl")


def test_wish_reads_stdin_when_no_script_is_named(xdisplay):
    text = 'puts "argv=$argv app=[tk appname] int=$tcl_interactive"; destroy .\n'
    runs = [subprocess.run([_exe(n), "-name", "foo", "a", "b"], input=text, env=_env(xdisplay),
                           capture_output=True, text=True, timeout=60)
            for n in ("pysmtp-wish", "wish")]
    assert [(r.returncode, r.stdout, r.stderr) for r in runs] == [(0, "argv=a b app=foo int=0\n", "")] * 2


def test_wish_error_in_startup_script(xdisplay, tmp_path):
    script = tmp_path / "err.tcl"
    script.write_text("proc f {} {error boom}\nf\n")
    runs = [subprocess.run([_exe(n), str(script)], env=_env(xdisplay), capture_output=True,
                           text=True, timeout=60) for n in ("pysmtp-wish", "wish")]
    assert (runs[0].returncode, runs[0].stdout, runs[0].stderr) == \
        (runs[1].returncode, runs[1].stdout, runs[1].stderr)
    assert runs[0].returncode == 1 and runs[0].stderr.startswith("Error in startup script: boom\n")


@pytest.mark.parametrize("stdin,args", [(None, ["S"]), ("puts hi\n", [])])
def test_wish_without_a_display_as_wish(tmp_path, stdin, args):
    # no X server needed: wish says why Tk failed and runs the script as tclsh
    script = tmp_path / "hi.tcl"
    script.write_text("puts hi; puts [info commands button]\n")
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    argv = [str(script) if a == "S" else a for a in args]
    runs = [subprocess.run([_exe(n)] + argv, input=stdin, env=env, capture_output=True,
                           text=True, timeout=60) for n in ("pysmtp-wish", "wish")]
    assert (runs[0].returncode, runs[0].stdout, runs[0].stderr) == \
        (runs[1].returncode, runs[1].stdout, runs[1].stderr)
    assert runs[0].stderr.startswith("application-specific initialization failed: ")
