"""Hand-off to the system MTA (issue 10): ``--route sendmail[:PATH]`` and the
``sendmail_path`` account key pipe each message to ``sendmail -i -f SENDER
-- RECIPIENTS``.  Against the real Postfix ``sendmail`` of a private
Postfix instance (postdrop -> pickup -> cleanup -> qmgr -> virtual), and
small failing ``sendmail`` programs for the exit-status mapping."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conftest import run_launcher
from support.postfix import PostfixMissing, PostfixServer, require_postfix

from pysmtp_tcl.delivery import sendmail

SCRIPT = r"""
package require smtp
set t [mime::initialize -canonical text/plain -string "line one\n.hidden\nlast line"]
mime::setheader $t Subject "hand-off test %(tag)s"
set code [catch {smtp::sendmessage $t -servers localhost -originator sender@client.test \
    -header {To alice@example.test} %(extra)s} r opts]
puts [list $code $r]
"""


@pytest.fixture(scope="module")
def postfix(ca):
    try:
        require_postfix()
    except PostfixMissing as exc:
        pytest.fail(str(exc))
    server = PostfixServer(users=("alice", "bob"))
    yield server
    server.stop()


def run(tmp_path: Path, args, tag, extra="", env=None):
    script = tmp_path / ("s-%s.tcl" % tag)
    script.write_text(SCRIPT % {"tag": tag, "extra": extra})
    p = run_launcher(args + [str(script)], env=env, timeout=90)
    assert p.returncode == 0, p.stderr
    return p


def test_route_sendmail_delivers_through_postfix(postfix, tmp_path):
    env = {"MAIL_CONFIG": str(postfix.config_dir)}  # Postfix's sendmail: use the private instance
    p = run(tmp_path, ["--route", "sendmail:/usr/sbin/sendmail"], "route",
            extra="-header {Bcc bob@example.test} -debug 1", env=env)
    assert p.stdout.strip() == "0 {}"
    assert "Handing over to /usr/sbin/sendmail -i -f sender@client.test -- alice@example.test" in p.stderr
    (msg,) = postfix.wait_delivered("alice", containing=b"hand-off test route")
    assert b"Return-Path: <sender@client.test>" in msg
    # local text format: LF line ends, no dot-stuffing, a final line end
    assert msg.endswith(b"\n\nline one\n.hidden\nlast line\n") and b"\r" not in msg
    assert b"bob@example.test" not in msg  # the Bcc recipient is not disclosed
    # the blind copy: a second hand-off, to bob only
    (copy,) = postfix.wait_delivered("bob", containing=b"hand-off test route")
    assert b"multipart/digest" in copy and b"Blind Carbon Copy" in copy


def test_account_with_sendmail_path_logs(postfix, tmp_path):
    log = tmp_path / "log"
    rc = tmp_path / "rc"
    rc.write_text("account default\nsendmail_path /usr/sbin/sendmail\nlogfile %s\n" % log)
    p = run(tmp_path, ["--config", str(rc)], "account", env={"MAIL_CONFIG": str(postfix.config_dir)})
    assert p.stdout.strip() == "0 {}"
    postfix.wait_delivered("alice", containing=b"hand-off test account")
    line = log.read_text()
    assert " host=/usr/sbin/sendmail tls=off auth=off from=sender@client.test " \
           "recipients=alice@example.test mailsize=" in line
    assert " exitcode=EX_OK account=default " in line


def fake(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-sendmail"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("status, code, name", [(75, "451", "EX_TEMPFAIL"), (69, "554", "EX_UNAVAILABLE"),
                                                (1, "554", "status 1")])
def test_exit_status_maps_to_code_7(status, code, name, tmp_path):
    path = fake(tmp_path, "cat >/dev/null\necho 'queue file write error' >&2\nexit %d\n" % status)
    p = run(tmp_path, ["--route", "sendmail:" + path], "fail")
    rc, result = p.stdout.strip().split(" ", 1)
    assert rc == "7"
    assert result == "{diagnostic {%s exited with status %d (%s): queue file write error} args {} code %s}" % (
        path, status, name, code)


def test_arguments_and_local_text_format(tmp_path):
    record = tmp_path / "record"
    path = fake(tmp_path, 'for a in "$@"; do printf "%%s\\n" "$a"; done > %s.args\ncat > %s.msg\n' % (record, record))
    p = run(tmp_path, ["--route", "sendmail:" + path], "args",
            extra="-recipients {-oQ/tmp/x@example.test,carol@example.test}")
    assert p.stdout.strip() == "0 {}"
    assert Path(str(record) + ".args").read_text().splitlines() == [
        "-i", "-f", "sender@client.test", "--", "-oQ/tmp/x@example.test", "carol@example.test"]
    msg = Path(str(record) + ".msg").read_bytes()
    assert b"\r" not in msg and msg.endswith(b"\n\nline one\n.hidden\nlast line\n")


def test_missing_program_is_a_tcl_error(tmp_path):
    p = run(tmp_path, ["--route", "sendmail:%s/nonexistent" % tmp_path], "missing")
    assert p.stdout.strip() == '1 {couldn\'t execute "%s/nonexistent": no such file or directory}' % tmp_path


def test_slow_sendmail_is_bounded_by_the_account_timeout(tmp_path):
    marker = tmp_path / "finished"
    path = fake(tmp_path, "cat >/dev/null\nsleep 30\ntouch %s\n" % marker)
    rc = tmp_path / "rc"
    rc.write_text("account default\nsendmail_path %s\ntimeout 1\n" % path)
    t0 = time.monotonic()
    p = run(tmp_path, ["--config", str(rc)], "slow")
    assert time.monotonic() - t0 < 20
    # an account's failure names it (as over SMTP)
    assert p.stdout.strip() == ("7 {diagnostic {account default: %s did not finish within 1 seconds} args {} "
                                "code 451}" % path)
    time.sleep(0.2)
    assert not marker.exists()


def test_control_characters_never_reach_the_command_line():
    with pytest.raises(ValueError):
        sendmail.argv("/usr/sbin/sendmail", "a@b.c", ["x\n@y.z"])
    assert sendmail.argv("/s", "", ["r@x"]) == ["/s", "-i", "-f", "", "--", "r@x"]


def test_local_text_conversion_across_chunks():
    out = []
    chunks = [b"a\r", b"\nb\r", b"c\n", b"d\r"]
    sendmail.local_text(lambda sink: [sink(c) for c in chunks])(out.append)
    assert b"".join(out) == b"a\nb\nc\nd\n"
    out = []
    sendmail.local_text(lambda sink: [sink(c) for c in [b"x\r\n", b"", b"y"]])(out.append)
    assert b"".join(out) == b"x\ny\n"


def test_usage(tmp_path):
    p = run_launcher(["--route", "sendmail:relative/path", "x.tcl"])
    assert p.returncode == 2 and "HOST:PORT" in p.stderr
    p = run_launcher(["--route", "sendmail", "--config", str(tmp_path / "rc"), "x.tcl"])
    assert p.returncode == 2 and "--config excludes" in p.stderr


def test_a_file_vanishing_mid_message_is_never_taken(tmp_path):
    # As over SMTP (COMPATIBILITY.md S8): the MTA must not see the end of
    # its input, so it cannot queue a truncated message.
    from pysmtp_tcl import Interpreter
    from pysmtp_tcl.delivery import SendmailRoute

    taken = tmp_path / "taken"
    path = fake(tmp_path, "cat > %s.part && mv %s.part %s\n" % (taken, taken, taken))
    f = tmp_path / "attachment.txt"
    f.write_text("data\n" * 1000)
    interp = Interpreter(route=SendmailRoute(path))
    try:
        interp.eval("set tok [mime::initialize -canonical text/plain -file {%s}]" % f)
        os.unlink(f)
        out = interp.eval("list [catch {smtp::sendmessage $tok -originator a@example.com "
                          "-recipients r@example.org} m] $m")
    finally:
        interp.close()
    rc, res = out.split(" ", 1)
    assert rc == "7" and res == '{code 400 diagnostic {couldn\'t open "%s": no such file or directory}}' % f
    time.sleep(0.2)
    assert not taken.exists()


def test_a_line_over_998_octets_is_never_handed_on_as_over_smtp(tmp_path, scripted):
    # Over SMTP such a line is refused (code 7, nothing sent); the hand-off
    # passed it to the MTA, whose SMTP client would fold or cut it later.
    from pysmtp_tcl import Interpreter
    from pysmtp_tcl.delivery import SendmailRoute

    taken = tmp_path / "taken"
    path = fake(tmp_path, "cat > %s.part && mv %s.part %s\n" % (taken, taken, taken))
    script = ("set tok [mime::initialize -canonical text/plain -string hi]\n"
              "mime::setheader $tok X-Long [string repeat y 3000]\n"
              "list [catch {smtp::sendmessage $tok -originator a@example.com -recipients r@example.org %s} m] $m")
    interp = Interpreter(route=SendmailRoute(path))
    try:
        handed = interp.eval(script % "")
    finally:
        interp.close()
    srv = scripted()
    smtp = Interpreter()
    try:
        sent = smtp.eval(script % ("-servers 127.0.0.1 -ports %d" % srv.port))
    finally:
        smtp.close()
    assert handed == sent
    assert handed.startswith("7 {code 400 diagnostic {message line ") and "longer than 998 octets" in handed
    time.sleep(0.2)
    assert not taken.exists() and srv.datas == []
