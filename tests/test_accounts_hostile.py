"""msmtp-style accounts against hostile servers, helpers and files: what a
break-it pass found (secrets echoed back, log injection, log failures after
a send, endless AUTH exchanges, helpers that keep their output open, a
sendmail that reads nothing, an encrypted client key).  Real sockets and
processes on 127.0.0.1."""
from __future__ import annotations

import base64
import gc
import os
import re

import pytest

from conftest import run_launcher
from support.hostile import HostileServer
from support.scripted import ScriptedServer

PASSWORD = "S3cr3t-pw"
TOKEN = "tok-SECRET-123"

SEND = r"""
package require smtp
set t [mime::initialize -canonical text/plain -string "hello"]
set code [catch {smtp::sendmessage $t -servers localhost -ports 25 -originator joe@example.com \
    -recipients %(rcpt)s %(extra)s} r opts]
list $code $r [expr {[dict exists $opts -errorcode] ? [dict get $opts -errorcode] : ""}] [expr {[info exists ::errorInfo] ? $::errorInfo : ""}]
"""


@pytest.fixture(autouse=True)
def _collect_in_this_thread():
    yield
    gc.collect()


@pytest.fixture
def configured(tmp_path):
    from pysmtp_tcl import Interpreter

    made = []

    def make(text):
        path = tmp_path / ("msmtprc%d" % len(made))
        path.write_text(text)
        os.chmod(path, 0o600)
        interp = Interpreter(config=str(path))
        made.append(interp)
        return interp

    yield make
    for i in made:
        i.close()


@pytest.fixture
def servers():
    made = []

    def make(server):
        made.append(server)
        return server

    yield make
    for s in made:
        s.stop()


def send(interp, rcpt="rcpt@example.net", extra=""):
    out = interp.eval(SEND % {"rcpt": "{%s}" % rcpt, "extra": extra})
    code, result, errorcode, info = interp.tcl.tk.splitlist(out)
    return int(code), str(result), str(errorcode), str(info)


def tls_account(port, ca_file, log, auth="plain", secret="password " + PASSWORD):
    return ("account default\nhost localhost\nport %d\ntls on\ntls_trust_file %s\nauth %s\n"
            "user joe\n%s\ntimeout 10\nlogfile %s\n" % (port, ca_file, auth, secret, log))


def _until_auth(conn, server_tls, offer="AUTH PLAIN LOGIN XOAUTH2"):
    conn.send("220 hostile.example ESMTP")
    conn.line()
    conn.send("250-hostile.example", "250 STARTTLS")
    conn.line()
    conn.send("220 go ahead")
    conn.tls(server_tls)
    conn.line()
    conn.send("250-hostile.example", "250 " + offer)
    return conn.line()


# -- secrets a server echoes back -------------------------------------------------

@pytest.mark.parametrize("auth, secret, plain", [
    ("plain", "password " + PASSWORD, PASSWORD),
    ("login", "password " + PASSWORD, PASSWORD),
    ("xoauth2", "passwordeval \"echo %s\"" % TOKEN, TOKEN),
])
def test_credentials_a_server_echoes_are_redacted_everywhere(auth, secret, plain, servers, configured,
                                                             server_tls, ca_file, tmp_path, capfd):
    sent = []

    def echo(conn):
        _until_auth(conn, server_tls)
        while True:
            conn.send("334 " + base64.b64encode(b"more?").decode())
            got = conn.line()
            sent.append(got)
            if auth != "login" or len(sent) == 2:
                break
        # echoes what it got, encoded and decoded
        decoded = " ".join(base64.b64decode(s).decode("latin-1") for s in sent)
        conn.send("535-5.7.8 bad credentials %s" % " ".join(sent), "535 5.7.8 (%s)" % decoded.replace("\0", " "))
        conn.line()

    srv = servers(HostileServer(echo))
    log = tmp_path / "log"
    interp = configured(tls_account(srv.port, ca_file, log, auth, secret))
    code, result, _, info = send(interp, extra="-debug 1")
    assert code == 7 and "code 535" in result and "[credentials redacted]" in result
    assert any(plain in base64.b64decode(s).decode("latin-1") for s in sent)  # the server got it...
    everything = capfd.readouterr().err + log.read_text() + result + info
    assert plain not in everything  # ...and nothing that leaves shows it back
    for s in sent:
        if plain in base64.b64decode(s).decode("latin-1"):
            assert s not in everything  # nor the encoded responses (LOGIN's user name may show)
    assert re.search(r"^<-- 535 5\.7\.8 \(.*\[credentials redacted\]", everything, re.M)


# -- the send log ------------------------------------------------------------------

def test_addresses_with_blanks_cannot_forge_log_fields(servers, configured, tmp_path):
    srv = servers(ScriptedServer(data_end=["250 2.0.0 queued \x85 exitcode=EX_TEMPFAIL"],
                                 rcpt_map={"bad@": ["550 5.1.1 no\x85such user"]}))
    log = tmp_path / "log"
    interp = configured("account default\nhost 127.0.0.1\nport %d\nlogfile %s\n" % (srv.port, log))
    rcpt = '"x exitcode=EX_TEMPFAIL account=root"@example.net, bad@example.net'
    code, result, _, _ = send(interp, rcpt, extra="-atleastone 1")
    assert code == 0 and "bad@example.net 550" in result
    (line,) = log.read_text(encoding="utf-8").splitlines()  # no U+0085: still one line
    assert "\x85" not in line
    assert "recipients='\"x exitcode=EX_TEMPFAIL account=root\"@example.net,bad@example.net'" in line
    unquoted = re.sub(r"'[^']*'", "''", line)
    assert unquoted.count("exitcode=") == 1 and "exitcode=EX_OK" in unquoted
    assert "account=root" not in unquoted and "account=default" in unquoted


def test_a_log_that_cannot_be_written_never_fails_a_sent_message(servers, tmp_path):
    # logfile - with the script's stdout closed: the message went, so the
    # script must see success (a retry would send it twice), not a traceback
    srv = servers(ScriptedServer())
    rc = tmp_path / "msmtprc"
    rc.write_text("account default\nhost 127.0.0.1\nport %d\nlogfile -\n" % srv.port)
    script = tmp_path / "s.tcl"
    send_it = SEND % {"rcpt": "{rcpt@example.net}", "extra": ""}
    script.write_text("close stdout\n" + send_it.replace("list $code", "puts stderr [list $code") + "]\n")
    p = run_launcher(["--config", str(rc), str(script)])
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith("pysmtp-tcl: cannot log to -: can not find channel named \"stdout\"\n"
                               "pysmtp-tcl: log info was: host=127.0.0.1 ")
    assert p.stderr.splitlines()[-1].startswith("0 {} {} ") and len(srv.datas) == 1


# -- AUTH exchanges end --------------------------------------------------------------

@pytest.mark.parametrize("path", ["account", "tcllib options"])
def test_a_server_that_challenges_for_ever_is_given_up(path, servers, configured, server_tls, ca_file,
                                                       tmp_path, interp):
    # after "*" (RFC 4954 §4) the exchange is over: a server answering 334
    # to everything held the client in a fast endless loop
    rounds = []

    def endless(conn):
        if path == "account":
            _until_auth(conn, server_tls, "AUTH PLAIN")
        else:
            conn.send("220 hostile.example ESMTP")
            conn.line()
            conn.send("250-hostile.example", "250 AUTH PLAIN")
            conn.line()
        for _ in range(10000):
            conn.send("334 ")
            rounds.append(conn.line())

    srv = servers(HostileServer(endless))
    if path == "account":
        code, result, _, _ = send(configured(tls_account(srv.port, ca_file, tmp_path / "log")))
    else:
        interp.eval("package require smtp")
        code, result, _, _ = send(interp, extra="-servers 127.0.0.1 -ports %d -username joe -password %s"
                                  % (srv.port, PASSWORD))
    assert code == 7 and "challenged on after the exchange was cancelled" in result
    assert len(rounds) <= 3 and rounds[-1] == "*"


# -- passwordeval helpers ------------------------------------------------------------

def test_passwordeval_does_not_wait_for_a_process_it_left_behind(servers, configured, tmp_path):
    # token helpers may start an agent that inherits stdout; msmtp reads the
    # line and waits for the shell only.  We waited for end-of-file, i.e.
    # until the account's timeout, and failed every send.
    srv = servers(ScriptedServer(auth_users={"joe": PASSWORD}, ehlo=["250-x", "250 AUTH PLAIN"]))
    pidfile = tmp_path / "agent.pid"
    interp = configured("account default\nhost 127.0.0.1\nport %d\nauth plain\nuser joe\ntimeout 20\n"
                        "passwordeval \"echo %s; sleep 120 & echo $! > %s\"\n" % (srv.port, PASSWORD, pidfile))
    try:
        code, result, _, _ = send(interp)
        assert (code, result) == (0, "") and srv.conns[0].auth == "joe"
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), 9)


def test_passwordeval_printing_without_end_is_refused_at_once(servers, configured):
    srv = servers(ScriptedServer(auth_users={"joe": PASSWORD}, ehlo=["250-x", "250 AUTH PLAIN"]))
    interp = configured("account default\nhost 127.0.0.1\nport %d\nauth plain\nuser joe\ntimeout 20\n"
                        "passwordeval \"yes %s\"\n" % (srv.port, PASSWORD))
    code, result, errorcode, _ = send(interp)
    assert (code, result, errorcode) == (
        1, "account default: passwordeval printed more than 1048576 octets", "SMTP PASSWORDEVAL")
    assert srv.conns == []  # nothing was sent, nor a truncated secret


# -- the sendmail hand-off -----------------------------------------------------------

@pytest.mark.parametrize("body", ["sleep 0.5; exit 0", "head -c 10 >/dev/null; sleep 0.5; exit 0",
                                  "exec 0<&-; sleep 0.5; exit 0"])
def test_a_sendmail_that_does_not_read_the_message_has_not_taken_it(body, configured, tmp_path):
    program = tmp_path / "sendmail"
    program.write_text("#!/bin/sh\n%s\n" % body)
    program.chmod(0o755)
    log = tmp_path / "log"
    interp = configured("account default\nsendmail_path %s\ntimeout 20\nlogfile %s\n" % (program, log))
    code, result, _, _ = send(interp)
    assert code == 7 and result == ("diagnostic {account default: %s exited before reading the whole message} "
                                    "args {} code 554" % program)
    assert "exitcode=EX_SOFTWARE" in log.read_text()


# -- TLS settings ---------------------------------------------------------------------

def test_an_encrypted_client_key_is_an_error_not_a_prompt(servers, ca, ca_file, server_tls, tmp_path):
    # OpenSSL's default is to ask for the pass phrase on the terminal:
    # the script hung there (msmtp cannot use such a key either)
    from cryptography.hazmat.primitives import serialization

    from support.terminal import run_on_pty

    client = ca.issue_cert("batch@client.test")
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass phrase")))
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    srv = servers(ScriptedServer(tls_context=server_tls))
    rc = tmp_path / "msmtprc"
    rc.write_text("account default\nhost localhost\nport %d\ntls on\ntls_trust_file %s\ntls_cert_file %s\n"
                  "tls_key_file %s\n" % (srv.port, ca_file, tmp_path / "cert.pem", tmp_path / "key.pem"))
    script = tmp_path / "s.tcl"
    script.write_text(SEND % {"rcpt": "{rcpt@example.net}", "extra": ""} + "puts [lrange $_ 0 2]\n"
                      .replace("$_", "[list $code $r]"))
    from conftest import launcher_cmd

    out, status = run_on_pty(launcher_cmd() + ["--config", str(rc), str(script)], "", timeout=30)
    assert "pass phrase:" not in out
    assert status == 0 and ("1 {account default (%s line 1): tls_key_file %s: the private key is encrypted"
                            % (rc, tmp_path / "key.pem")) in out.replace("\r\n", "\n")
    assert srv.commands == []  # refused before connecting


def test_ctrl_c_mid_hand_off_interrupts_sendmail_instead_of_ending_its_input(tmp_path):
    # sendmail ran in a session of its own: Ctrl-C ended the script, the
    # terminal's SIGINT never reached sendmail, which then saw the end of
    # its input and queued the truncated message (with -i, end of input is
    # the end of the message).  As with popen, it must get the interrupt.
    import pty
    import select
    import signal
    import time

    from conftest import launcher_cmd

    out = tmp_path / "sendmail.out"
    program = tmp_path / "sendmail"
    program.write_text("#!/bin/bash\n"
                       # INT from the terminal; HUP when the terminal's controlling
                       # process (the launcher) is gone: Postfix's postdrop discards
                       # the message on either
                       "trap 'echo interrupted >> %(out)s; exit 1' INT HUP\n"
                       "read -r first; echo started > %(out)s\n"
                       "while kill -0 $PPID 2>/dev/null; do sleep 0.05; done\n"  # not reading
                       "cat > /dev/null; echo queued >> %(out)s\n" % {"out": out})
    program.chmod(0o755)
    rc = tmp_path / "msmtprc"
    rc.write_text("account default\nsendmail_path %s\n" % program)
    script = tmp_path / "big.tcl"
    script.write_text("package require smtp\n"
                      "set t [mime::initialize -canonical text/plain -string [string repeat \"text\\n\" 500000]]\n"
                      "smtp::sendmessage $t -originator a@example.org -recipients b@example.org\n")
    pid, fd = pty.fork()
    if pid == 0:  # the launcher, with the terminal as its controlling terminal
        try:
            os.execv(launcher_cmd()[0], launcher_cmd() + ["--config", str(rc), str(script)])
        finally:
            os._exit(127)

    def pump(seconds, until):
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    os.read(fd, 65536)
                except OSError:
                    pass

    status = [None]
    try:
        pump(60, lambda: out.exists())
        assert out.exists(), "sendmail never started"
        os.write(fd, b"\x03")  # Ctrl-C, as typed

        def ended():
            if status[0] is None:
                done, st = os.waitpid(pid, os.WNOHANG)
                status[0] = st if done else None
            return status[0] is not None and len(out.read_text().split()) > 1

        pump(60, ended)
        assert status[0] is not None and os.WIFSIGNALED(status[0]) and os.WTERMSIG(status[0]) == signal.SIGINT
        assert out.read_text().split() == ["started", "interrupted"]
    finally:
        if status[0] is None:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(fd)


def test_passwordeval_says_why_on_the_scripts_stderr(servers, configured, capfd):
    # as under msmtp's popen: the helper's own message reaches the user
    srv = servers(ScriptedServer(auth_users={"joe": PASSWORD}, ehlo=["250-x", "250 AUTH PLAIN"]))
    interp = configured("account default\nhost 127.0.0.1\nport %d\nauth plain\nuser joe\n"
                        "passwordeval \"echo 'token expired: run oama authorize' >&2; exit 1\"\n" % srv.port)
    code, result, _, _ = send(interp)
    assert (code, result) == (1, "account default: passwordeval exited with status 1")
    assert "token expired: run oama authorize" in capfd.readouterr().err


def test_sendmail_hand_off_with_only_blind_recipients_sends_the_blind_copy(tmp_path):
    # over SMTP the main transaction (no recipients) ends in RSET and the
    # Bcc copy goes; the hand-off ran sendmail without recipients (refused)
    # and never handed over the copy
    calls = tmp_path / "calls"
    program = tmp_path / "sendmail"
    program.write_text("#!/bin/sh\n[ $# -le 4 ] && { echo 'no recipients' >&2; exit 64; }\n"
                       "echo \"$@\" >> %s\ncat > /dev/null\n" % calls)
    program.chmod(0o755)
    script = tmp_path / "bcc.tcl"
    script.write_text("package require smtp\nset t [mime::initialize -canonical text/plain -string hi]\n"
                      "puts [catch {smtp::sendmessage $t -originator a@example.org -header {To {}} "
                      "-header {Bcc hidden@example.net}} r]$r\n")
    p = run_launcher(["--route", "sendmail:%s" % program, str(script)])
    assert p.stdout == "0\n" and calls.read_text() == "-i -f a@example.org -- hidden@example.net\n"


def test_an_address_the_accounts_server_cannot_take_names_the_account(servers, configured, tmp_path):
    srv = servers(ScriptedServer())  # no SMTPUTF8
    log = tmp_path / "log"
    interp = configured("account default\nhost 127.0.0.1\nport %d\nlogfile %s\n" % (srv.port, log))
    code, result, errorcode, _ = send(interp, rcpt="j\u00f6rg@example.net")
    assert (code, errorcode) == (1, "SMTP SMTPUTF8")
    assert result.startswith('account default: address "j\u00f6rg@example.net" is not ASCII')
    assert "exitcode=EX_DATAERR" in log.read_text()


def test_passwordeval_may_ask_on_the_terminal_as_under_msmtp(servers, tmp_path):
    # msmtp runs it with popen: same session, so /dev/tty is the user's
    # terminal.  In a session of its own it had no terminal (ENXIO).
    import pty
    import select
    import time

    from conftest import launcher_cmd

    srv = servers(ScriptedServer(auth_users={"joe": "typed-pw"}, ehlo=["250-x", "250 AUTH PLAIN"]))
    rc = tmp_path / "msmtprc"
    rc.write_text("account default\nhost 127.0.0.1\nport %d\nauth plain\nuser joe\ntimeout 30\n"
                  "passwordeval \"printf 'SMTP password: ' >/dev/tty; read -r pw </dev/tty; echo $pw\"\n"
                  % srv.port)
    script = tmp_path / "s.tcl"
    script.write_text("package require smtp\nset t [mime::initialize -canonical text/plain -string hi]\n"
                      "puts [catch {smtp::sendmessage $t -originator a@example.org -recipients b@example.org} r]"
                      "=$r\n")
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(launcher_cmd()[0], launcher_cmd() + ["--config", str(rc), str(script)])
        finally:
            os._exit(127)
    out = b""
    try:
        end = time.monotonic() + 60
        typed = False
        while time.monotonic() < end and b"=" not in out:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
            if b"SMTP password: " in out and not typed:
                os.write(fd, b"typed-pw\n")
                typed = True
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    assert b"0=" in out, out
    assert srv.conns[0].auth == "joe"


# -- secrets no AUTH line can carry --------------------------------------------------

@pytest.mark.parametrize("auth, helper, why", [
    # a token with ^A would add XOAUTH2 fields; a NUL would move PLAIN's
    ("xoauth2", r"printf 'tok\001en\n'", "contains U+0001, which separates XOAUTH2 fields"),
    ("oauthbearer", r"printf 'tok\001en\n'", "contains U+0001, which separates OAUTHBEARER"),
    ("plain", r"printf 'p\000w\n'", "contains U+0000, which would change the PLAIN fields"),
    ("plain", "yes x | head -c 40000 | tr -d ' \\n'; echo", "over the limit of 12288 (RFC 4954 §4)"),
])
def test_a_secret_no_auth_line_can_carry_is_an_account_error_and_logged(auth, helper, why, servers,
                                                                        configured, tmp_path):
    # was: the redactor's own run of the mechanism raised (SMTP INTERNAL, a
    # traceback on stderr), or the error named the script's -username and
    # -password, which the script never gave; and no log line was written
    srv = servers(ScriptedServer(auth_users={"joe": PASSWORD},
                                 ehlo=["250-x", "250 AUTH PLAIN XOAUTH2 OAUTHBEARER"]))
    log = tmp_path / "send.log"
    interp = configured("account default\nhost 127.0.0.1\nport %d\nauth %s\nuser joe\n"
                        "passwordeval \"%s\"\nlogfile %s\n" % (srv.port, auth, helper.replace('"', '\\"'), log))
    code, result, errorcode, info = send(interp)
    assert code == 1 and result.startswith("account default: "), result
    assert why in result and "-username" not in result and "-password" not in result
    assert "tok" not in result and "p\0w" not in result
    assert interp.tcl.tk.splitlist(errorcode)[:2] == ("SMTP", "BADINPUT")
    assert "Traceback" not in info and "Error:" not in info
    assert srv.conns == []  # nothing was sent
    line = log.read_text()
    assert line.count("\n") == 1 and "exitcode=EX_CONFIG" in line and "account=default" in line
    assert why.split(" (")[0] in line and "tok" not in line


def test_bidi_controls_in_addresses_cannot_reorder_a_log_line(servers, configured, tmp_path):
    # U+202E (RIGHT-TO-LEFT OVERRIDE) is valid in an SMTPUTF8 address; in the
    # log it made the rest of the line display reversed ("Trojan Source")
    srv = servers(ScriptedServer(ehlo=["250-x", "250 SMTPUTF8"]))
    log = tmp_path / "log"
    interp = configured("account default\nhost 127.0.0.1\nport %d\nlogfile %s\n" % (srv.port, log))
    code, result, _, _ = send(interp, "\u202eten.elpmaxe.lave\u2066x@example.net")
    assert (code, result) == (0, "")
    assert srv.commands[2] == "RCPT TO:<\xe2\x80\xaeten.elpmaxe.lave\xe2\x81\xa6x@example.net>"
    (line,) = log.read_text(encoding="utf-8").splitlines()
    assert "recipients=?ten.elpmaxe.lave?x@example.net " in line
    assert not any(c in line for c in "\u202e\u2066")


@pytest.mark.parametrize("output, error", [
    # a JSON integer beyond float range: float() raised OverflowError
    ('{"access_token": "tok", "expires_in": 1%s}' % ("0" * 400), "printed an unreadable expires_in"),
    # would keep the secret for ever
    ("tok\nexpires_in=inf\n", "printed an unreadable expires_in"),
    ('{"access_token": "tok", "expires_in": Infinity}', "printed an unreadable expires_in"),
    ("tok\nexpires_at=nan\n", "printed an unreadable expires_at"),
    # nested past Python's recursion limit: json raised RecursionError; it is
    # no token response, so its first line is the secret (as msmtp reads it)
    ('{"a":' + "[" * 100000 + "\n", "password of 100005 characters cannot be used in AUTH PLAIN"),
])
def test_passwordeval_output_that_broke_the_reader_is_an_account_error(output, error, servers, configured,
                                                                      tmp_path):
    # all three were SMTP INTERNAL (a Python exception) before
    srv = servers(ScriptedServer(auth_users={"joe": PASSWORD}, ehlo=["250-x", "250 AUTH PLAIN"]))
    out = tmp_path / "out"
    out.write_text(output)
    interp = configured("account default\nhost 127.0.0.1\nport %d\nauth plain\nuser joe\n"
                        "passwordeval \"cat %s\"\n" % (srv.port, out))
    code, result, errorcode, _ = send(interp)
    assert code == 1 and result.startswith("account default: ") and error in result, result
    assert interp.tcl.tk.splitlist(errorcode)[0] == "SMTP" and "INTERNAL" not in errorcode
    assert srv.conns == []


def test_the_account_timeout_bounds_a_server_that_stops_reading_the_message(servers, configured):
    # msmtp's timeout caps every network wait; writing the message waited
    # max(-maxsecs, 30) seconds per block instead (here 120)
    import threading
    import time as _time

    release = threading.Event()

    def handler(conn):
        conn.send("220 tarpit.example ESMTP")
        for verb, reply in (("EHLO", "250 tarpit.example"), ("MAIL", "250 ok"), ("RCPT", "250 ok"),
                            ("DATA", "354 go")):
            assert conn.line().upper().startswith(verb)
            conn.send(reply)
        release.wait(30)  # reads nothing more: the client's writes block

    srv = servers(HostileServer(handler))
    interp = configured("account default\nhost 127.0.0.1\nport %d\ntimeout 2\n" % srv.port)
    big = "x" * 70 + "\n"
    interp.eval("set ::big [string repeat {%s} 150000]" % big)  # ~10 MB: more than the socket buffers
    started = _time.monotonic()
    try:
        out = interp.eval(r"""set t [mime::initialize -canonical text/plain -string $::big]
            list [catch {smtp::sendmessage $t -originator joe@example.com -recipients r@example.net \
                -maxsecs 120} r] $r""")
    finally:
        release.set()
    elapsed = _time.monotonic() - started
    code, result = interp.tcl.tk.splitlist(out)
    assert code == "7" and "write to server timed out" in result, result
    assert elapsed < 2 + 8, elapsed  # the account's 2 s (and slack on a loaded machine), not 120 s


def test_a_server_silent_after_a_pipelined_batch_costs_one_wait_not_one_per_command(servers, configured):
    # MAIL, 20 RCPTs and DATA go in one write; the server reads them and
    # never answers.  Each reply was awaited in turn: 22 time-outs (22 s
    # here; with tcllib's waits, 600 s each: hours), where lock-step stops
    # after MAIL's one.
    import threading
    import time as _time

    release = threading.Event()

    def handler(conn):
        conn.send("220 silent.example ESMTP")
        conn.line()
        conn.send("250-silent.example", "250 PIPELINING")
        release.wait(60)

    srv = servers(HostileServer(handler))
    interp = configured("account default\nhost 127.0.0.1\nport %d\ntimeout 1\n" % srv.port)
    rcpts = ",".join("r%d@example.net" % i for i in range(20))
    started = _time.monotonic()
    try:
        code, result, _, _ = send(interp, rcpts, extra="-atleastone 1")
    finally:
        release.set()
    elapsed = _time.monotonic() - started
    assert code == 7 and "read from server timed out" in result, result
    assert elapsed < 1 + 6, elapsed
