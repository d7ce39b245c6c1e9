"""pysmtp-tclsh behaves as tclsh where a script can tell."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import run_launcher
from support import oracle


def write(tmp_path, text, name="s.tcl"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_argv_argc_argv0_and_info_script(tmp_path):
    p = write(tmp_path, 'puts "$argv0|$argc|$argv|[info script]|$tcl_interactive"')
    r = run_launcher([str(p), "a", "b c"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "%s|2|a {b c}|%s|0\n" % (p, p)


def test_exit_status_and_channels_flushed(tmp_path):
    p = write(tmp_path, 'fconfigure stdout -buffering full\nputs -nonewline partial\nexit 7')
    r = run_launcher([str(p)])
    assert (r.returncode, r.stdout) == (7, "partial")


def test_end_of_script_flushes_and_exits_0(tmp_path):
    p = write(tmp_path, 'fconfigure stdout -buffering full\nputs done')
    r = run_launcher([str(p)])
    assert (r.returncode, r.stdout) == (0, "done\n")


def test_exit_argument_errors_are_tcls(tmp_path):
    p = write(tmp_path, 'puts [catch {exit foo} m]; puts $m; puts [catch {exit 1 2} m]; puts $m')
    r = run_launcher([str(p)])
    assert r.stdout.splitlines() == ["1", 'expected integer but got "foo"', "1",
                                     'wrong # args: should be "exit ?returnCode?"']


def test_uncaught_error_prints_errorinfo_and_exits_1(tmp_path):
    p = write(tmp_path, 'proc f {} { error "boom here" }\nf\n')
    r = run_launcher([str(p)])
    assert r.returncode == 1
    assert r.stderr.startswith('boom here\n    while executing\n"error "boom here" "')
    assert '(procedure "f" line 1)' in r.stderr and 'file "%s" line 2' % p in r.stderr


def test_script_from_stdin():
    r = run_launcher([], stdin='set x [expr {6*7}]\nputs "x=$x"\nputs [package require smtp]\n')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "x=42\n%s\n" % oracle.oracle().smtp


def test_same_output_as_tclsh_for_a_plain_script(tmp_path):
    text = ('puts [lsort {b a c}]; puts [format %05.1f 3.14159]; puts [string map {a b} aaa]\n'
            'puts stderr warn; exit 4\n')
    p = write(tmp_path, text)
    ours = run_launcher([str(p)])
    theirs = subprocess.run([oracle.tclsh(), str(p)], capture_output=True, text=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)


def test_shebang_line(tmp_path):
    exe = subprocess.run(["sh", "-c", "command -v pysmtp-tclsh"], capture_output=True, text=True).stdout.strip()
    if not exe:
        pytest.fail("pysmtp-tclsh is not installed on PATH (pip install -e .)")
    p = write(tmp_path, "#!%s\nputs [package require mime]\n" % exe)
    os.chmod(p, 0o755)
    r = subprocess.run([str(p)], capture_output=True, text=True)
    assert r.stdout == oracle.oracle().mime + "\n", r.stderr


def test_packages_are_ours_even_with_tcllib_installed(tmp_path, tcllib_tclsh):
    # An unrelated `package require` triggers a package-unknown scan of
    # auto_path, which must not swap Debian's tcllib mime/smtp back in.
    p = write(tmp_path, "package require mime\npackage require smtp\npackage require base64\n"
                        "catch {package require nosuchpackage}\n"
                        "puts [package ifneeded mime [package provide mime]]\n"
                        "puts [package ifneeded smtp [package provide smtp]]\n"
                        "puts [info commands ::pysmtp_tcl::invoke]\n")
    r = run_launcher([str(p)])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "tcllib" not in lines[0] and "tcllib" not in lines[1], lines
    assert lines[2] == "::pysmtp_tcl::invoke"


def test_info_nameofexecutable_runs_scripts_with_our_packages(tmp_path):
    p = write(tmp_path, 'puts [exec [info nameofexecutable] << {package require smtp; puts [package ifneeded smtp %s]}]' % oracle.oracle().smtp)
    r = run_launcher([str(p)])
    assert r.returncode == 0, r.stderr
    assert "tcllib" not in r.stdout and "smtp.tcl" in r.stdout


def test_missing_script_file_as_tclsh(tmp_path):
    ours = run_launcher([str(tmp_path / "nonexist.tcl")])
    theirs = subprocess.run([oracle.tclsh(), str(tmp_path / "nonexist.tcl")], capture_output=True, text=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)
    assert "Traceback" not in ours.stderr


def test_stdin_script_can_read_following_lines():
    text = 'puts [gets stdin]\nhello there\nset a [expr {1+\n2}]\nputs $a\nerror oops\nputs after\n'
    ours = run_launcher([], stdin=text)
    theirs = subprocess.run([oracle.tclsh()], input=text, capture_output=True, text=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)


@pytest.mark.parametrize("args,needle", [
    (["--route", "nonsense", "x.tcl"], "--route expects HOST:PORT"),
    (["--route", "127.0.0.1:99999", "x.tcl"], "--route expects HOST:PORT"),
    (["--capture"], "--capture needs a value"),
    (["--capture", "/proc/no/such/dir", "x.tcl"], "--capture /proc/no/such/dir"),
    (["--capture", "d", "--route", "127.0.0.1:25", "x.tcl"], "exclude each other"),
])
def test_launcher_usage_errors(tmp_path, args, needle):
    r = run_launcher(args, cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr and "usage:" in r.stderr
    assert "Traceback" not in r.stderr


# -- --version, --help ---------------------------------------------------------

def _program(name):
    exe = shutil.which(name)
    if not exe:
        pytest.fail("%s is not installed on PATH (pip install -e .)" % name)
    return exe


@pytest.mark.parametrize("name", ["pysmtp-tclsh", "pysmtp-wish"])
def test_version_names_package_python_and_tcl(name):
    import platform
    import tkinter

    import pysmtp_tcl

    r = subprocess.run([_program(name), "--version"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    patchlevel = tkinter.Tcl().eval("info patchlevel")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "pysmtp-tcl %s (Python %s, Tcl %s)\n" % (
        pysmtp_tcl.__version__, platform.python_version(), patchlevel)


@pytest.mark.parametrize("name,options", [
    ("pysmtp-tclsh", ["--capture DIR", "--route HOST:PORT", "--version", "-h, --help",
                      "-encoding NAME"]),
    ("pysmtp-wish", ["--capture DIR", "--route HOST:PORT", "--version", "-h, --help",
                     "-encoding NAME", "-file NAME", "-colormap new", "-display DISPLAY",
                     "-geometry GEOM", "-name NAME", "-sync", "-use ID", "-visual VISUAL", "--"]),
])
def test_help_lists_every_option_a_line_each(name, options):
    r = subprocess.run([_program(name), "--help"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("usage: %s " % name)
    for opt in options:
        described = [ln for ln in lines if ln.startswith("  " + opt + " ")]
        assert len(described) == 1, (opt, r.stdout)
        assert described[0][len(opt) + 2:].strip(), opt  # with its explanation


# -- tclsh's main program, compared with tclsh itself ----------------------------

def _both(args, stdin=None, env=None, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    ours = run_launcher(args, stdin=stdin, env=env, cwd=cwd)
    theirs = subprocess.run([oracle.tclsh()] + args, input=stdin, capture_output=True, text=True,
                            env=e, cwd=cwd, timeout=60)
    return ours, theirs


def _same(ours, theirs):
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr)


def test_script_exit_redefined_runs_at_the_end(tmp_path):
    # tclsh ends by evaluating `exit 0`, so a script's own exit runs.
    p = write(tmp_path, 'rename exit _exit\nproc exit args {puts "exit called: $args"; _exit 3}\n')
    ours, theirs = _both([str(p)])
    _same(ours, theirs)
    assert ours.returncode == 3 and ours.stdout == "exit called: 0\n"


def test_unfinished_command_at_end_of_input_is_dropped():
    ours, theirs = _both([], stdin='puts a\nputs {b\n')
    _same(ours, theirs)
    assert ours.stdout == "a\n"


@pytest.mark.parametrize("args", [["-encoding", "utf-8"], ["-", "a"], ["-x", "y"]])
def test_arguments_without_a_script_go_to_argv(args):
    ours, theirs = _both(args, stdin='puts "$argc|$argv|$tcl_interactive"\n')
    _same(ours, theirs)


def test_tclshrc_sourced_for_stdin_only(tmp_path):
    (tmp_path / ".tclshrc").write_text('puts "rc int=$tcl_interactive"\nerror rcerr\n')
    env = {"HOME": str(tmp_path)}
    ours, theirs = _both([], stdin='puts body\nputs [file tail $tcl_rcFileName]\n', env=env)
    _same(ours, theirs)
    assert ours.stdout == "rc int=0\nbody\n.tclshrc\n" and ours.stderr == "rcerr\n"
    p = write(tmp_path, "puts script")
    ours, theirs = _both([str(p)], env=env)
    _same(ours, theirs)


def test_no_tkinter_profile_files_are_sourced(tmp_path):
    # tkinter.Tcl() sources ~/.Tk.tcl and ~/.<program>.tcl and runs ~/.Tk.py;
    # tclsh does none of that.
    for name in (".Tk.tcl", ".pysmtp-tclsh.tcl", ".tclsh.tcl"):
        (tmp_path / name).write_text('puts "profile %s"\n' % name)
    (tmp_path / ".Tk.py").write_text('print("python profile")\n')
    p = write(tmp_path, "puts script")
    ours, theirs = _both([str(p)], env={"HOME": str(tmp_path)})
    _same(ours, theirs)
    assert ours.stdout == "script\n"


# -- the interactive prompt on a terminal, compared with tclsh -----------------------

REPL_SESSION = r"""set x 1
set y [list a\
b]
proc p {} {
return 1
}
p
error boom
set tcl_prompt1 {puts -nonewline "P1> "}
set tcl_prompt2 {puts -nonewline "P2> "}
if {1} {
puts yes
}
set tcl_prompt1 {error badprompt}
set z 3
unset tcl_prompt1
set tcl_interactive 0
set x 5
set tcl_interactive 1
set tcl_interactive foo
history
break
info level
^D"""


def test_terminal_prompts_results_and_errors_as_tclsh():
    from support.terminal import run_on_pty

    env = dict(os.environ)
    env.pop("DISPLAY", None)
    ours, ours_rc = run_on_pty([_program("pysmtp-tclsh")], REPL_SESSION, env=env)
    theirs, theirs_rc = run_on_pty([oracle.tclsh()], REPL_SESSION, env=env)
    assert (ours, ours_rc) == (theirs, theirs_rc)
    # what the session shows: prompts, continuation prompts, a failing
    # prompt script, the linked tcl_interactive, history
    assert "P1> P2> P2> yes" in ours and "badprompt" in ours
    assert 'can\'t set "tcl_interactive": variable must have boolean value' in ours
    assert "    16  history" in ours and 'invoked "break" outside of a loop' in ours


@pytest.mark.parametrize("value", ["0x10", "0o10", "010", " 5 ", "-3", "256", "99999999999", "1e1", "abc"])
def test_exit_reads_its_status_as_tclsh(value, tmp_path):
    # exit 0x10 gave a Python "TclError" text and status 0, exit 010 status 10
    # (compared with the host Tcl's tclsh: Tcl 9 reads 010 and 99999999999
    # differently from 8.6, and its -errorcode says NUMBER)
    tclsh = oracle.tclsh()
    p = write(tmp_path, 'puts [catch {exit {%s}} m o]; puts $m; puts [dict get $o -errorcode]' % value)
    theirs = subprocess.run([tclsh, str(p)], capture_output=True, text=True, timeout=60)
    ours = run_launcher([str(p)])
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)


@pytest.mark.parametrize("encoding", ["utf-8", "bogus"])
def test_encoding_option_adds_no_errorinfo_frame(encoding, tmp_path):
    tclsh = oracle.tclsh()  # the host Tcl's (tclsh9.0 on Tcl 9)
    p = write(tmp_path, 'proc f {} {error boom}\nf\n', name="a b.tcl")
    theirs = subprocess.run([tclsh, "-encoding", encoding, str(p)], capture_output=True, text=True, timeout=60)
    ours = run_launcher(["-encoding", encoding, str(p)])
    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr) == (1, ours.stderr)
    assert "source" not in ours.stderr
