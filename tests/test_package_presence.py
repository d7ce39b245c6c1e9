"""``package present/provide/require`` for mime and smtp answer as in tclsh
(nothing present before ``package require``), and no ``package unknown``
scan, auto_path order or newer tcllib can put tcllib's packages in place of
ours (DESIGN.md §2)."""
from __future__ import annotations

import subprocess
import tkinter

import pytest

from conftest import run_launcher
from support import oracle

# The versions we provide are the host's tcllib's (1.21 on Tcl 8.6, 2.0 on 9).
MIME, SMTP = oracle.oracle().mime, oracle.oracle().smtp

PRESENCE = r"""
puts [list [catch {package present smtp} m] $m]
puts [list [catch {package present mime} m] $m]
puts [list provide [package provide mime] [package provide smtp] [package versions mime]]
puts [list commands [info commands ::mime::initialize] [info commands ::smtp::sendmessage]]
puts [list base64 [package require base64]]
puts [list [catch {package present mime} m] $m]
puts [list require [package require smtp]]
puts [list present [package present mime] [package present smtp] [package provide smtp]]
puts [list commands [info commands ::mime::initialize] [info commands ::smtp::sendmessage]]
"""


def test_presence_as_in_tclsh(tmp_path, tcllib_tclsh):
    p = tmp_path / "p.tcl"
    p.write_text(PRESENCE)
    ours = run_launcher([str(p)])
    theirs = subprocess.run([tcllib_tclsh, str(p)], capture_output=True, text=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr)
    assert ours.stdout.splitlines()[0] == "1 {package smtp is not present}"


def _fake_newer_tcllib(tmp_path) -> str:
    # What a tcllib 2.0 beside ours would register: newer versions.
    d = tmp_path / "newer"
    d.mkdir()
    (d / "pkgIndex.tcl").write_text(
        "package ifneeded mime 1.7.5 {error {the other mime was loaded}}\n"
        "package ifneeded smtp 1.5.9 {error {the other smtp was loaded}}\n")
    return str(d)


@pytest.mark.parametrize("before", [
    "",  # plain
    "set auto_path [linsert $auto_path 0 /usr/share/tcltk/tcllib1.21 {NEWER}]\n"
    "catch {package require nosuchpackage}\n",  # tcllib scanned first, newer versions known
    "lappend auto_path {NEWER}\npackage require base64\npackage forget mime\n",
])
def test_tcllib_is_never_swapped_in(tmp_path, tcllib_tclsh, before):
    script = before.replace("NEWER", _fake_newer_tcllib(tmp_path)) + (
        "puts [package require smtp]/[package present mime]\n"
        "catch {package require nosuchpackage}\n"
        "puts [list [package ifneeded mime %s] [package ifneeded smtp %s]]\n"
        "puts [string trim [info body ::smtp::sendmessage]]\n" % (MIME, SMTP))
    p = tmp_path / "s.tcl"
    p.write_text(script)
    r = run_launcher([str(p)])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "%s/%s" % (SMTP, MIME)
    assert "tcllib" not in lines[1] and "smtp.tcl" in lines[1]
    assert "::pysmtp_tcl::invoke" in lines[2]
    # the same script under tclsh loads what the scan found (the check is real)
    theirs = subprocess.run([tcllib_tclsh, str(p)], capture_output=True, text=True)
    if before:
        assert theirs.returncode == 1 or "tcllib" in theirs.stdout


def test_install_registers_without_loading():
    import pysmtp_tcl

    t = tkinter.Tcl()
    pysmtp_tcl.install(t)
    with pytest.raises(tkinter.TclError, match="package mime is not present"):
        t.eval("package present mime")
    assert t.eval("info commands ::mime::initialize") == ""
    assert t.eval("package require smtp") == SMTP
    assert t.eval("package present mime") == MIME
    assert t.eval("mime::initialize -canonical text/plain -string x").startswith("::mime::")
    pysmtp_tcl.uninstall(t)
    assert t.eval("package unknown") == "::tcl::tm::UnknownHandler ::tclPkgUnknown"


def test_install_replaces_tcllib_already_loaded(tcllib_tclsh):
    import pysmtp_tcl

    t = tkinter.Tcl()
    assert t.eval("package require mime") == MIME
    assert "tcllib" in t.eval("package ifneeded mime %s" % MIME)  # tcllib's
    pysmtp_tcl.install(t)
    assert t.eval("package present mime") == MIME
    assert "::pysmtp_tcl::invoke" in t.eval("info body ::mime::initialize")
    with pytest.raises(tkinter.TclError, match="package smtp is not present"):
        t.eval("package present smtp")
    t.eval("package require smtp")
    assert "::pysmtp_tcl::invoke" in t.eval("info body ::smtp::sendmessage")


def test_interpreter_convenience_has_both_loaded():
    from pysmtp_tcl import Interpreter

    i = Interpreter()
    assert i.eval("list [package present mime] [package present smtp]") == "%s %s" % (MIME, SMTP)
