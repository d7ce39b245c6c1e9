"""Python API lifecycle and safety details found by QA."""
from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from conftest import REPO, launcher_cmd, run_launcher


def test_password_never_reaches_errorinfo(interp):
    out = interp.eval("""
        proc send {t} { set pw [string cat SECRET PW]
            smtp::sendmessage $t -servers 127.0.0.1 -ports 9 -recipients x@y.z -username u -password $pw }
        set t [mime::initialize -canonical text/plain -string hi]
        catch {send $t} m o
        list $m [dict get $o -errorinfo]""")
    msg, info = interp.tcl.tk.splitlist(out)
    assert "SECRETPW" not in info and "SECRETPW" not in msg
    assert "-password $pw" in info  # the script's own text, as with tcllib


def test_install_twice_keeps_tokens_and_uninstall_releases():
    import tkinter
    import pysmtp_tcl

    t = tkinter.Tcl()
    pysmtp_tcl.install(t)
    t.eval("package require mime")
    tok = t.eval("mime::initialize -canonical text/plain -string hi")
    pysmtp_tcl.install(t)
    assert t.eval("mime::getbody %s" % tok) == "hi"
    assert t.eval("mime::initialize -canonical text/plain -string x") == "::mime::2"
    pysmtp_tcl.uninstall(t)
    with pytest.raises(tkinter.TclError):
        t.eval("mime::getbody %s" % tok)


@pytest.mark.parametrize("path,needle", [("/nonexistent/ca.pem", "no such file or directory"),
                                         ("/etc/hostname", "no usable CA certificate")])
def test_bad_cafile_is_an_option_error_before_connecting(interp, scripted, path, needle):
    srv = scripted()
    out = interp.eval("""set t [mime::initialize -canonical text/plain -string hi]
        list [catch {smtp::sendmessage $t -servers 127.0.0.1 -ports %d -recipients r@s -cafile %s} m] $m"""
                      % (srv.port, path))
    rc, msg = interp.tcl.tk.splitlist(out)
    assert rc == "1" and msg.startswith('-cafile "%s"' % path) and needle in msg
    assert srv.conns == []


def test_authmechanism_with_a_server_offering_no_auth_is_code_7(interp, scripted):
    srv = scripted()
    out = interp.eval("""set t [mime::initialize -canonical text/plain -string hi]
        list [catch {smtp::sendmessage $t -servers 127.0.0.1 -ports %d -originator a@b.c -recipients r@s \
            -username u -password p -authmechanism PLAIN} m] $m""" % srv.port)
    rc, msg = interp.tcl.tk.splitlist(out)
    assert rc == "7" and "-authmechanism PLAIN" in msg
    srv.settle()
    assert not any(c.startswith("MAIL") for c in srv.commands)


def test_capture_ignores_tlsrequire(tmp_path):
    script = tmp_path / "s.tcl"
    script.write_text("""package require mime; package require smtp
        set t [mime::initialize -canonical text/plain -string hi]
        puts [smtp::sendmessage $t -servers mx.example.org -tlsrequire 1 -originator a@b.c -recipients r@s.t]""")
    r = run_launcher(["--capture", str(tmp_path / "cap"), str(script)])
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "cap" / "0001.json").read_text())["rcpt_tos"] == ["r@s.t"]


def test_capture_never_overwrites_an_existing_file(tmp_path):
    cap = tmp_path / "cap"
    cap.mkdir()
    (cap / "0001.eml").write_bytes(b"older")
    (cap / "10000.eml").write_bytes(b"much older")
    from pysmtp_tcl.capture import CaptureServer

    server = CaptureServer(cap)
    assert server.handler.next == 10001
    server.handler.next = 1  # as if another process had taken 0001 meanwhile

    class Env:
        original_content = b"Subject: x\r\n\r\nbody\r\n"
        mail_from = "a@b.c"
        rcpt_tos = ["r@s.t"]

    import asyncio
    asyncio.run(server.handler.handle_DATA(None, None, Env()))
    assert (cap / "0001.eml").read_bytes() == b"older"
    assert (cap / "0002.eml").read_bytes() == Env.original_content


def test_ctrl_c_ends_the_launcher_while_tcl_waits(tmp_path):
    script = tmp_path / "wait.tcl"
    script.write_text("puts ready; flush stdout; vwait forever\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.Popen(launcher_cmd() + [str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=10) == -signal.SIGINT  # as tclsh
    finally:
        if p.poll() is None:
            p.kill()
