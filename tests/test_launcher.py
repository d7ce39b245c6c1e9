"""pysmtp-tclsh behaves as tclsh where a script can tell."""
from __future__ import annotations

import os
import subprocess

import pytest

from conftest import run_launcher


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
    assert r.stdout == "x=42\n1.5.1\n"


def test_same_output_as_tclsh_for_a_plain_script(tmp_path):
    text = ('puts [lsort {b a c}]; puts [format %05.1f 3.14159]; puts [string map {a b} aaa]\n'
            'puts stderr warn; exit 4\n')
    p = write(tmp_path, text)
    ours = run_launcher([str(p)])
    theirs = subprocess.run(["tclsh", str(p)], capture_output=True, text=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)


def test_shebang_line(tmp_path):
    exe = subprocess.run(["sh", "-c", "command -v pysmtp-tclsh"], capture_output=True, text=True).stdout.strip()
    if not exe:
        pytest.fail("pysmtp-tclsh is not installed on PATH (pip install -e .)")
    p = write(tmp_path, "#!%s\nputs [package require mime]\n" % exe)
    os.chmod(p, 0o755)
    r = subprocess.run([str(p)], capture_output=True, text=True)
    assert r.stdout == "1.7.0\n", r.stderr


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
    p = write(tmp_path, 'puts [exec [info nameofexecutable] << {puts [package ifneeded smtp 1.5.1]}]')
    r = run_launcher([str(p)])
    assert r.returncode == 0, r.stderr
    assert "tcllib" not in r.stdout and "smtp.tcl" in r.stdout


def test_missing_script_file_as_tclsh(tmp_path):
    ours = run_launcher([str(tmp_path / "nonexist.tcl")])
    theirs = subprocess.run(["tclsh", str(tmp_path / "nonexist.tcl")], capture_output=True, text=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)
    assert "Traceback" not in ours.stderr


def test_stdin_script_can_read_following_lines():
    text = 'puts [gets stdin]\nhello there\nset a [expr {1+\n2}]\nputs $a\nerror oops\nputs after\n'
    ours = run_launcher([], stdin=text)
    theirs = subprocess.run(["tclsh"], input=text, capture_output=True, text=True)
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
