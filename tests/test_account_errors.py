"""Bad account configuration: a clear error naming the file, the line, the
account and the command, and (when a send log is configured where the
problem was found) a log line, as for any failed send.

A file that cannot be used stops ``pysmtp-tclsh --config`` before the script
runs (status 78) and makes ``install(config=…)`` raise ``ConfigError``; a
problem found at send time (no account for the envelope sender, an account
that cannot be used, a header only SMTPUTF8 can carry) is a Tcl error in
the script.  Real files, real launcher processes, real servers on
127.0.0.1, a real Unix datagram socket standing in for syslog.
"""
from __future__ import annotations

import gc
import os
import re
import socket

import pytest

from conftest import run_launcher

from pysmtp_tcl.delivery import ConfigError, sendlog

LOG_LINE = re.compile(r"^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d host= tls=off auth=off from= recipients= "
                      r"errormsg='(?P<msg>[^']*)' exitcode=EX_CONFIG(?: account=(?P<account>\S+))? "
                      r"tls_verified=off$")


@pytest.fixture(autouse=True)
def _collect_in_this_thread():
    # a Tcl interpreter must be freed by the thread that made it
    yield
    gc.collect()


def write_rc(tmp_path, text, name="rc", mode=0o600):
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


def load_error(path):
    from pysmtp_tcl import Interpreter

    with pytest.raises(ConfigError) as info:
        Interpreter(config=str(path))
    return info.value


def log_lines(log):
    return log.read_text().splitlines() if log.exists() else []


# (file text after "defaults\nlogfile LOG\n", the error after "FILE: ", the
# account the log line names)
BAD = [
    pytest.param("account relay\nhost 127.0.0.1\nport 99999\naccount default : relay\n",
                 "line 5: account relay: invalid argument 99999 for command port", "relay", id="bad-port"),
    pytest.param("account relay\nhost 127.0.0.1\nport 0x\n",
                 "line 5: account relay: invalid argument 0x for command port", "relay", id="port-not-a-number"),
    pytest.param("account default\nhots smtp.example.org\n",
                 "line 4: account default: unknown command hots", "default", id="unknown-command"),
    pytest.param("account default\nhost h\ntls maybe\n",
                 "line 5: account default: invalid argument maybe for command tls", "default", id="bad-value"),
    pytest.param("account default\nhost h\nauth gssapi\n",
                 "line 5: account default: command auth authentication method gssapi is not supported by "
                 "pysmtp-tcl (supported: on, off, plain, login, cram-md5, xoauth2, oauthbearer)", "default",
                 id="unsupported-value"),
    pytest.param("account default : nosuch\nhost h\n",
                 "line 3: account nosuch not (yet) defined", None, id="unknown-parent-account"),
    pytest.param("account default\nport 587\n",
                 "line 3: account default: host not set", "default", id="account-unusable"),
    pytest.param("account a\nhost h\n",
                 "no account can be used: define an account named default (account default : NAME) or "
                 "give accounts a from address", None, id="no-usable-account"),
]


@pytest.mark.parametrize("text, error, account", BAD)
def test_bad_configuration_names_file_line_account_and_command_and_is_logged(tmp_path, text, error, account):
    log = tmp_path / "send.log"
    path = write_rc(tmp_path, "defaults\nlogfile %s\n%s" % (log, text))
    e = load_error(path)
    assert str(e) == "%s: %s" % (path, error)
    assert e.account == account
    (line,) = log_lines(log)
    m = LOG_LINE.match(line)
    assert m, line
    assert m.group("msg") == str(e).replace("'", "?") and m.group("account") == account


def test_launcher_refuses_the_file_before_the_script_runs_and_logs_it(tmp_path):
    log = tmp_path / "send.log"
    path = write_rc(tmp_path, "account relay\nhost 127.0.0.1\nlogfile %s\nport 70000\n" % log)
    script = tmp_path / "s.tcl"
    script.write_text("puts ran\n")
    p = run_launcher(["--config", str(path), str(script)])
    assert p.returncode == 78 and "ran" not in p.stdout
    text = "%s: line 4: account relay: invalid argument 70000 for command port" % path
    assert p.stderr.strip() == "pysmtp-tclsh: " + text
    (line,) = log_lines(log)
    assert LOG_LINE.match(line).group("msg") == text


def test_only_the_log_configured_before_the_faulty_line_is_used(tmp_path):
    log = tmp_path / "send.log"
    # the logfile comes after the error: it was never read
    path = write_rc(tmp_path, "account default\nhost h\nport -1\nlogfile %s\n" % log)
    assert str(load_error(path)) == "%s: line 3: account default: invalid argument -1 for command port" % path
    assert not log.exists()
    # another account's log is not this account's
    path = write_rc(tmp_path, "account a\nhost h\nlogfile %s\naccount default\nhost h\nport 1x\n" % log)
    assert "line 6: account default: invalid argument 1x" in str(load_error(path))
    assert not log.exists()


def test_a_file_others_could_change_is_never_used_for_logging(tmp_path):
    log = tmp_path / "send.log"
    path = write_rc(tmp_path, "defaults\nlogfile %s\naccount default\nport 99999\n" % log, mode=0o666)
    assert "must not be writable by others" in str(load_error(path))
    assert not log.exists()


def test_unreadable_file_is_named(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    e = load_error(d)
    assert str(e) == "%s: is a directory" % d and e.line is None and e.log == ()
    missing = tmp_path / "missing"
    assert str(load_error(missing)) == "%s: no such file or directory" % missing


def test_configuration_error_goes_to_syslog(tmp_path, monkeypatch):
    sock_path = str(tmp_path / "syslog.sock")
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(sock_path)
    sink.settimeout(10)
    monkeypatch.setattr(sendlog, "SYSLOG_SOCKET", sock_path)
    try:
        path = write_rc(tmp_path, "defaults\nsyslog LOG_MAIL\naccount default\nhost h\ntls_starttls perhaps\n")
        e = load_error(path)
        datagram = sink.recv(65536).decode()
    finally:
        sink.close()
    # <PRI> = LOG_MAIL (2) * 8 + LOG_ERR (3)
    assert re.match(r"^<19>[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d pysmtp-tcl\[\d+\]: host= tls=off auth=off from= "
                    r"recipients= errormsg='(?P<m>[^']*)' exitcode=EX_CONFIG account=default ", datagram), datagram
    assert "line 5: account default: invalid argument perhaps for command tls_starttls" in str(e) in datagram


SEND = r"""
package require smtp
set t [mime::initialize -canonical text/plain -string hello]
set code [catch {smtp::sendmessage $t -servers localhost -ports 25 -originator %s -recipients r@example.org %s} r]
list $code $r [expr {$code == 1 ? $::errorCode : ""}]
"""


def configured_interp(path):
    from pysmtp_tcl import Interpreter

    return Interpreter(config=str(path))


def test_no_account_for_the_sender_is_a_tcl_error_and_is_logged(tmp_path, scripted):
    srv = scripted()
    log = tmp_path / "send.log"
    path = write_rc(tmp_path, "defaults\nlogfile %s\naccount a\nfrom a@example.com\nhost 127.0.0.1\nport %d\n"
                    % (log, srv.port))
    interp = configured_interp(path)
    try:
        code, result, errorcode = interp.tcl.tk.splitlist(interp.eval(SEND % ("eve@example.net", "")))
    finally:
        interp.close()
    assert code == "1"
    assert result == ("%s: no account matches the envelope sender <eve@example.net> and there is no account "
                      "default" % path)
    assert interp_list(errorcode) == ["SMTP", "NOACCOUNT"]
    assert srv.conns == []
    (line,) = log_lines(log)
    assert re.match(r"^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d host= tls=off auth=off from=eve@example.net "
                    r"recipients=r@example.org errormsg='%s' exitcode=EX_CONFIG " % re.escape(result), line), line


def interp_list(text):
    return str(text).split()


def test_header_needing_smtputf8_through_an_account(tmp_path, scripted):
    # the account route decides as the plain one (tests/test_smtputf8_headers.py)
    plain = scripted()
    utf8 = scripted(ehlo=["250-test.example", "250 SMTPUTF8"])
    log = tmp_path / "send.log"
    header = '-header [list To "Jos\u00e9 <jos\u00e9@example.org>"]'
    for srv in (plain, utf8):
        path = write_rc(tmp_path, "account default\nhost 127.0.0.1\nport %d\nlogfile %s\n" % (srv.port, log),
                        name="rc%d" % srv.port)
        interp = configured_interp(path)
        try:
            out = interp.tcl.tk.splitlist(interp.eval(SEND % ("a@example.com", header)))
        finally:
            interp.close()
        srv.settle(30)
        if srv is plain:
            assert out[:2] == ("1", 'account default: header To address "jos\u00e9@example.org" is not ASCII (no '
                                    'encoded-word can carry it) and the server does not offer SMTPUTF8 (RFC 6531, '
                                    'RFC 6532)')
            assert interp_list(out[2]) == ["SMTP", "SMTPUTF8"]
            assert [c.split()[0] for c in srv.commands] == ["EHLO", "RSET", "QUIT"]
        else:
            assert out[:2] == ("0", "")
            assert [c for c in srv.commands if c.startswith("MAIL")] == ["MAIL FROM:<a@example.com> SMTPUTF8"]
            assert "To: =?UTF-8?Q?Jos=C3=A9?= <jos\u00e9@example.org>".encode("utf-8") in srv.datas[0]
    failed, sent = log_lines(log)
    assert "errormsg='account default: header To address" in failed and "exitcode=EX_DATAERR" in failed
    assert "exitcode=EX_OK" in sent


def test_the_sender_steers_the_account_unless_it_is_pinned():
    # README's warning: a sender the script took from untrusted input picks
    # any account whose from matches it; a file without from lines pins
    # every message to its default account.
    from pysmtp_tcl.delivery.msmtprc import parse

    steerable = parse("account ops\nhost ops.example\nfrom *@example.org\n"
                      "account relay\nhost relay.example\naccount default : relay\n", "rc")
    for hostile in ("ceo@example.org", "CEO@EXAMPLE.ORG"):
        assert steerable.choose(hostile).name == "ops"
    assert steerable.choose("web-form@example.net").name == "default"
    pinned = parse("account ops\nhost ops.example\naccount relay\nhost relay.example\n"
                   "account default : relay\n", "rc")
    for sender in ("ceo@example.org", "ops@ops.example", "joe+x@example.org"):
        chosen = pinned.choose(sender)
        assert (chosen.name, chosen.host) == ("default", "relay.example")
