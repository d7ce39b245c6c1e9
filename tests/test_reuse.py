"""Opt-in connection reuse across ``smtp::sendmessage`` calls (issue 9 item
4; COMPATIBILITY.md S25): ``pysmtp-tclsh --reuse[=SECONDS]`` and
``install(interp, reuse=…)``, against scripted servers and a provider-like
aiosmtpd on 127.0.0.1.  tcllib's connection per send stays the default.
"""
from __future__ import annotations

import gc
import os
import sys
import time

import pytest

from conftest import REPO, run_launcher
from support.scripted import CLOSE

PIPE = ["250-test.example", "250-PIPELINING", "250 HELP"]


@pytest.fixture(autouse=True)
def _collect_in_this_thread():
    # interpreters must be freed by the thread that made them
    yield
    gc.collect()


@pytest.fixture
def reusing():
    """``reusing(seconds=30)`` -> an Interpreter with reuse on; its kept
    connections are closed (QUIT) after the test."""
    from pysmtp_tcl import Interpreter

    made = []

    def make(seconds=30.0, **kw):
        i = Interpreter(reuse=seconds, **kw)
        made.append(i)
        return i

    yield make
    for i in made:
        i.close()


def send(interp, port: int, opts: str = "", body: str = "hello", rcpt: str = "r@example.org"):
    out = interp.eval(r"""
        set tok [mime::initialize -canonical text/plain -string {%s}]
        set code [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com \
                         -recipients {%s} %s} res]
        mime::finalize $tok
        list $code $res
    """ % (body, port, rcpt, opts))
    code, res = interp.tcl.tk.splitlist(out)
    return int(code), str(res)


def verbs(conn):
    return [c.split(" ", 1)[0].split(":", 1)[0] for c in conn.commands]


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


# -- one connection for many sends ---------------------------------------------------

def test_default_is_a_connection_per_send(interp, scripted):
    srv = scripted()
    assert send(interp, srv.port) == send(interp, srv.port) == (0, "")
    srv.settle(5)
    assert len(srv.conns) == 2 and all(verbs(c)[-1] == "QUIT" for c in srv.conns)


def test_sends_share_one_connection_and_it_gets_quit_when_closed(reusing, scripted):
    srv = scripted(ehlo=PIPE, transaction_state=True)
    interp = reusing()
    for n in range(3):
        assert send(interp, srv.port, body="message %d" % n) == (0, "")
    assert len(srv.conns) == 1
    assert verbs(srv.conns[0]) == ["EHLO"] + ["MAIL", "RCPT", "DATA"] * 3
    assert [d.split(b"\r\n\r\n", 1)[1] for d in srv.datas] == [b"message %d\r\n" % n for n in range(3)]
    # with PIPELINING each later message costs two round trips: MAIL+RCPT+DATA, body+dot
    reads = [c for c in srv.conns[0].reads if c.startswith(b"MAIL")]
    assert len(reads) == 3 and all(c.count(b"\r\n") == 3 for c in reads)
    interp.close()  # uninstall: kept connections get QUIT
    assert wait_for(lambda: verbs(srv.conns[0])[-1] == "QUIT")


def test_next_transaction_opens_with_rset_after_an_aborted_one(reusing, scripted):
    replies = iter([["550 5.7.1 not now"], ["250 2.1.0 Ok"]])
    srv = scripted(ehlo=PIPE, mail=lambda arg: next(replies), transaction_state=True)
    interp = reusing()
    code, res = send(interp, srv.port)
    assert code == 7 and "550" in res
    assert send(interp, srv.port) == (0, "")
    assert len(srv.conns) == 1
    # tcllib would have closed with RSET and QUIT; the kept connection gets
    # RSET before the next MAIL, in the same write
    assert verbs(srv.conns[0]) == ["EHLO", "MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA"]
    assert any(c.startswith(b"RSET\r\nMAIL") for c in srv.conns[0].reads)
    assert len(srv.datas) == 1


def test_no_rset_after_a_clean_transaction_without_pipelining(reusing, scripted):
    srv = scripted()
    interp = reusing()
    assert send(interp, srv.port) == send(interp, srv.port) == (0, "")
    assert verbs(srv.conns[0]) == ["EHLO", "MAIL", "RCPT", "DATA", "MAIL", "RCPT", "DATA"]


# -- what must match ------------------------------------------------------------------

@pytest.mark.parametrize("first, second", [
    ("-username joe -password pw", "-username joe -password wrong"),
    ("-username joe -password pw", "-username ann -password pw2"),
    ("", "-username joe -password pw"),
    ("", "-usetls 0"),
    ("", "-tlsrequire 1"),
    ("", "-client other.example"),
    ("", "-tlspolicy ::policy"),
])
def test_a_connection_with_other_credentials_or_tls_settings_is_not_reused(reusing, scripted, server_tls,
                                                                           first, second):
    srv = scripted(ehlo=PIPE, tls_context=server_tls, auth_users={"joe": "pw", "ann": "pw2"},
                   ehlo_tls=PIPE[:1] + ["250-AUTH PLAIN"] + PIPE[1:])
    interp = reusing()
    interp.eval("proc ::policy {code diag} { return insecure }")
    assert send(interp, srv.port, first) == (0, "")
    ok = send(interp, srv.port, second)[0] == 0
    assert len(srv.conns) == 2
    assert srv.conns[0].auth == ("joe" if first else None)
    # and the same settings again take the matching kept connection (a
    # connection whose AUTH failed is never kept)
    send(interp, srv.port, second)
    assert len(srv.conns) == (2 if ok else 3)
    send(interp, srv.port, first)
    assert len(srv.conns) == (2 if ok else 3)


def test_same_settings_with_other_debug_maxsecs_pipelining_reuse(reusing, scripted):
    srv = scripted(ehlo=PIPE)
    interp = reusing()
    lines = []
    interp.context.write_stderr = lines.append
    assert send(interp, srv.port) == (0, "")
    assert send(interp, srv.port, "-debug 1 -maxsecs 30 -pipelining 0") == (0, "")
    assert len(srv.conns) == 1
    assert lines[0] == "Reusing the connection to 127.0.0.1..."
    assert "--> MAIL FROM:<a@example.com> (wait upto 600 seconds)" in lines
    assert "--> . (wait upto 30 seconds)" in lines


def test_other_server_or_port_is_another_connection(reusing, scripted):
    a, b = scripted(), scripted()
    interp = reusing()
    for srv in (a, b, a, b):
        assert send(interp, srv.port) == (0, "")
    assert len(a.conns) == len(b.conns) == 1


def test_onex_connection_is_not_kept(reusing, scripted):
    srv = scripted(ehlo=["250-test.example", "250-ONEX", "250 HELP"], verbs={"ONEX": ["250 one"]})
    interp = reusing()
    assert send(interp, srv.port) == send(interp, srv.port) == (0, "")
    srv.settle(5)
    assert len(srv.conns) == 2 and verbs(srv.conns[0])[-1] == "QUIT"


def test_account_connections_are_kept_per_account(provider_server, ca_file, tmp_path):
    from pysmtp_tcl import Interpreter

    srv = provider_server()
    acct = ("account %s\nhost localhost\nport %d\ntls on\ntls_starttls on\ntls_trust_file %s\n"
            "auth plain\nuser joe@example.com\npassword pw-secret\nfrom %s\n")
    cfg = tmp_path / "msmtprc"
    cfg.write_text(acct % ("a", srv.port, ca_file, "*@a.example") + acct % ("b", srv.port, ca_file, "*@b.example"))
    os.chmod(cfg, 0o600)
    interp = Interpreter(config=str(cfg), reuse=True)
    try:
        for sender in ("x@a.example", "y@a.example", "x@b.example", "z@a.example"):
            out = interp.eval("set t [mime::initialize -canonical text/plain -string hi]\n"
                              "smtp::sendmessage $t -originator %s -recipients r@example.net" % sender)
            assert out == ""
    finally:
        interp.close()
    assert len(srv.messages) == 4 and all(m["tls"] and m["auth"] == "joe@example.com" for m in srv.messages)
    # one connection (one STARTTLS, one AUTH) per account
    assert [v for v, _ in srv.commands].count("STARTTLS") == 2
    assert [v for v, _ in srv.commands].count("AUTH") == 2


@pytest.fixture
def provider_server(server_tls):
    from support.provider import ProviderServer

    servers = []

    def make():
        s = ProviderServer(server_tls, users={"joe@example.com": "pw-secret"}, tokens={})
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


# -- a kept connection the server closed ------------------------------------------------

@pytest.mark.parametrize("how", ["hang_up", "421_then_hang_up"])
def test_idle_close_by_the_server_means_a_new_connection(reusing, scripted, how):
    srv = scripted(ehlo=PIPE, transaction_state=True)
    interp = reusing()
    assert send(interp, srv.port) == (0, "")
    if how.startswith("421"):
        srv.say("421 4.4.2 test.example Error: timeout exceeded")
    srv.hang_up()
    srv.settle(5)
    assert send(interp, srv.port) == (0, "")
    assert len(srv.conns) == 2 and len(srv.datas) == 2
    assert verbs(srv.conns[1]) == ["EHLO", "MAIL", "RCPT", "DATA"]


def test_server_closing_as_mail_goes_out_is_retried_once_on_a_new_connection(reusing, scripted):
    # the kept connection looks alive, but the server hangs up on MAIL (its
    # idle timer fired as the command arrived): nothing was sent, so the
    # send starts again on a new connection
    mails = iter([["250 2.1.0 Ok"], [CLOSE], ["250 2.1.0 Ok"]])
    srv = scripted(ehlo=PIPE, mail=lambda arg: next(mails), transaction_state=True)
    interp = reusing()
    lines = []
    interp.context.write_stderr = lines.append
    assert send(interp, srv.port) == (0, "")
    assert send(interp, srv.port, "-debug 1") == (0, "")
    assert len(srv.conns) == 2 and len(srv.datas) == 2
    assert "    ... the kept connection to 127.0.0.1 is gone: connecting again ..." in lines


def test_no_retry_once_the_final_dot_was_sent(reusing, scripted):
    ends = iter([["250 2.0.0 Ok"], [CLOSE]])
    srv = scripted(ehlo=PIPE, data_end=lambda arg: next(ends))
    interp = reusing()
    assert send(interp, srv.port) == (0, "")
    code, res = send(interp, srv.port)
    # the server got the message and hung up before replying: whether it was
    # delivered is unknown, so it is code 7 and never sent again
    assert code == 7 and "premature end-of-file" in res
    assert len(srv.conns) == 1 and len(srv.datas) == 2


def test_no_retry_on_a_new_connection(reusing, scripted):
    srv = scripted(mail=[CLOSE])
    interp = reusing()
    code, res = send(interp, srv.port)
    assert code == 7 and len(srv.conns) == 1


def _kept_socket_readable(interp) -> bool:
    import select

    (entry,) = interp.context.pool._idle.values()
    return bool(select.select([entry.session.conn.sock], [], [], 5)[0])


@pytest.mark.parametrize("event_loop", [False, True])
def test_late_reply_on_an_idle_connection_is_not_read_as_the_next_ones(reusing, scripted, event_loop):
    srv = scripted(ehlo=PIPE, transaction_state=True)
    interp = reusing()
    warnings = []
    interp.context.pool.warn = warnings.append
    assert send(interp, srv.port) == (0, "")
    srv.say("554 5.6.0 late reply to the final dot")
    if event_loop:
        # the watcher closes it as soon as the server speaks
        interp.eval("after 300 {set ::done 1}; vwait ::done")
        assert len(interp.context.pool) == 0
    else:
        # checked when next asked for
        assert _kept_socket_readable(interp)
    assert send(interp, srv.port) == (0, "")
    assert len(srv.conns) == 2  # the connection with the stray reply was dropped
    assert len(warnings) == 1 and "554 5.6.0 late reply" in warnings[0] and "out of step" in warnings[0]


def test_expired_connection_gets_quit_when_next_asked_for_without_an_event_loop(reusing, scripted):
    srv = scripted()
    interp = reusing(0.2)
    assert send(interp, srv.port) == (0, "")
    time.sleep(0.4)  # the Tcl event loop does not run here
    assert send(interp, srv.port) == (0, "")
    assert len(srv.conns) == 2 and verbs(srv.conns[0])[-1] == "QUIT"


# -- the event loop -------------------------------------------------------------------

def test_idle_connection_gets_quit_from_the_event_loop(reusing, scripted):
    srv = scripted()
    interp = reusing(0.3)
    assert send(interp, srv.port) == (0, "")
    assert verbs(srv.conns[0])[-1] == "DATA"
    interp.eval("after 1000 {set ::done 1}; vwait ::done")
    assert len(interp.context.pool) == 0  # the timer ran in that vwait
    assert wait_for(lambda: verbs(srv.conns[0])[-1] == "QUIT")
    srv.settle(5)  # and the connection is closed
    assert send(interp, srv.port) == (0, "")
    assert len(srv.conns) == 2


def test_after_timers_fire_during_and_between_sends_without_tk(reusing, scripted):
    def slow(arg):
        time.sleep(0.3)
        return ["250 2.1.5 Ok"]

    srv = scripted(ehlo=PIPE, rcpt=slow)
    interp = reusing(5)
    interp.eval("set ::ticks 0; proc tick {} { incr ::ticks; after 20 tick }; tick")
    assert send(interp, srv.port) == (0, "")
    during = int(interp.eval("set ::ticks"))
    interp.eval("after 200 {set ::done 1}; vwait ::done")  # between sends, a connection kept
    between = int(interp.eval("set ::ticks")) - during
    assert send(interp, srv.port) == (0, "")
    after_second = int(interp.eval("set ::ticks")) - during - between
    assert during >= 5 and between >= 3 and after_second >= 5
    assert len(srv.conns) == 1
    assert interp.eval("info commands ::tk") == "" and interp.eval("catch {package present Tk}") == "1"
    interp.eval("foreach a [after info] { after cancel $a }")


# -- exit ------------------------------------------------------------------------------

SCRIPT = r"""
package require smtp
puts "tk: [catch {package present Tk}]"
foreach n {1 2} {
    set t [mime::initialize -canonical text/plain -string "message $n"]
    smtp::sendmessage $t -servers 127.0.0.1 -ports %d -originator a@example.com -recipients r@example.org %s
}
%s
"""


@pytest.mark.parametrize("ending", ["", "exit 3"])
def test_launcher_reuse_quits_open_connections_at_exit(scripted, tmp_path, ending):
    srv = scripted(ehlo=PIPE)
    script = tmp_path / "two.tcl"
    script.write_text(SCRIPT % (srv.port, "-debug 1", ending))
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    r = run_launcher(["--reuse", str(script)], env={"DISPLAY": ""} if "DISPLAY" in os.environ else env)
    assert r.returncode == (3 if ending else 0), r.stderr
    assert r.stdout == "tk: 1\n"
    srv.settle(5)
    assert len(srv.conns) == 1 and len(srv.datas) == 2
    assert verbs(srv.conns[0]) == ["EHLO"] + ["MAIL", "RCPT", "DATA"] * 2 + ["QUIT"]
    err = r.stderr.splitlines()
    assert err[-2:] == ["--> QUIT (wait upto 5 seconds)", "<-- 221 2.0.0 Bye"]
    assert "Reusing the connection to 127.0.0.1..." in err


def test_launcher_without_reuse_connects_per_send(scripted, tmp_path):
    srv = scripted()
    script = tmp_path / "two.tcl"
    script.write_text(SCRIPT % (srv.port, "", ""))
    r = run_launcher([str(script)])
    assert r.returncode == 0, r.stderr
    srv.settle(5)
    assert len(srv.conns) == 2


def test_launcher_reuse_option_values(scripted, tmp_path):
    script = tmp_path / "none.tcl"
    script.write_text("puts ok\n")
    assert run_launcher(["--reuse=2.5", str(script)]).stdout == "ok\n"
    for bad in ("--reuse=0", "--reuse=-1", "--reuse=abc", "--reuse=", "--reuse=nan"):
        r = run_launcher([bad, str(script)])
        assert r.returncode == 2 and "--reuse=SECONDS expects a number of seconds above 0" in r.stderr, bad


def test_python_api_quits_at_interpreter_exit(scripted):
    import subprocess

    srv = scripted()
    code = ("from pysmtp_tcl import Interpreter\n"
            "i = Interpreter(reuse=True)\n"
            "for n in range(2):\n"
            "    i.eval('smtp::sendmessage [mime::initialize -canonical text/plain -string hi] -servers 127.0.0.1"
            " -ports %d -originator a@example.com -recipients r@example.org')\n" % srv.port)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    srv.settle(5)
    assert len(srv.conns) == 1 and verbs(srv.conns[0])[-1] == "QUIT"


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "30", None.__class__])
def test_install_reuse_values(bad):
    import tkinter

    from pysmtp_tcl import install

    with pytest.raises(ValueError, match="reuse must be True, False or a number of seconds above 0"):
        install(tkinter.Tcl(), reuse=bad)


def test_install_reuse_false_turns_it_off_and_quits(reusing, scripted):
    from pysmtp_tcl import install

    srv = scripted()
    interp = reusing()
    assert send(interp, srv.port) == (0, "")
    install(interp.tcl, reuse=False)
    assert interp.context.pool is None
    assert wait_for(lambda: verbs(srv.conns[0])[-1] == "QUIT")
    assert send(interp, srv.port) == (0, "")
    srv.settle(5)
    assert len(srv.conns) == 2


class _RecordingTimers:
    """The pool's event-loop services, recorded so a test can fire them
    (what Tcl's file handler does when the socket turns readable)."""

    def __init__(self):
        self.watched = {}

    def call_later(self, seconds, fn):
        return object()

    def cancel(self, handle):
        pass

    def watch(self, sock, fn):
        self.watched[sock] = fn

    def unwatch(self, sock):
        self.watched.pop(sock, None)


def test_a_wake_up_without_data_leaves_the_idle_connection_kept(scripted):
    # The watcher fires when the socket is readable; on a TLS connection that
    # can be a record with nothing for us (a session ticket, a key update):
    # poll_input() finds no data.  The connection was dropped from the pool
    # then (not closed, no QUIT) and the next send connected again.
    from pysmtp_tcl.smtp.connection import SelectorReactor
    from pysmtp_tcl.smtp.pool import Pool, pool_key
    from pysmtp_tcl.smtp.session import SessionOptions, open_session

    srv = scripted(ehlo=PIPE)
    opts = SessionOptions(servers=("127.0.0.1",), ports=(str(srv.port),), client="client.example")
    session = open_session(opts, SelectorReactor())
    timers = _RecordingTimers()
    pool = Pool(30, timers)
    key = pool_key(opts)
    pool.put(key, session)
    (fire,) = timers.watched.values()
    fire()  # readable, but nothing to read
    assert len(pool) == 1 and session.conn.sock is not None
    assert pool.take(key) is session
    pool.put(key, session)
    (fire,) = timers.watched.values()
    srv.say("421 4.4.2 idle timeout")  # the server really speaks
    assert wait_for(lambda: session.conn.poll_input())
    fire()
    assert len(pool) == 0 and session.conn.sock is None  # closed at once
    pool.close_all()
