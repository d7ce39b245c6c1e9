"""msmtp-style accounts (issue 10): an unchanged script that says
``-servers localhost -ports 25`` is delivered through the account chosen by
its envelope sender, to a provider-like aiosmtpd (STARTTLS or implicit TLS,
AUTH only over TLS, PLAIN/LOGIN/XOAUTH2/OAUTHBEARER), securely by default,
with a send log and secrets redacted everywhere."""
from __future__ import annotations

import base64
import gc
import hashlib
import os
import re
import socket
import ssl
import stat
import time

import pytest

from conftest import REPO, run_launcher
from support.provider import ProviderServer

from pysmtp_tcl.smtp.connection import Connection
from pysmtp_tcl.smtp.tls import fingerprint_text

TOKEN = "ya29.A0-secret-token"
PASSWORD = "pw-secret-123"

SEND = r"""
package require smtp
set t [mime::initialize -canonical text/plain -string "hello through the account"]
mime::setheader $t Subject {account test}
set code [catch {smtp::sendmessage $t -servers localhost -ports 25 -originator %(sender)s \
    -recipients {rcpt@example.net} -username script-user -password script-pw %(extra)s} r opts]
list $code $r [expr {[dict exists $opts -errorcode] ? [dict get $opts -errorcode] : ""}]
"""


@pytest.fixture(autouse=True)
def _collect_in_this_thread():
    # A Tcl interpreter must be freed by the thread that made it; one caught
    # in a reference cycle (e.g. by a traceback) would otherwise be freed by
    # whichever thread's allocation triggers the collector: a server thread.
    yield
    gc.collect()


@pytest.fixture
def provider(server_tls):
    servers = []

    def make(**kw):
        kw.setdefault("tokens", {"joe@example.com": TOKEN})
        kw.setdefault("users", {"joe@example.com": PASSWORD})
        s = ProviderServer(kw.pop("tls_context", server_tls), **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


def account(port, ca_file, *, auth="xoauth2", extra="", name="default", secret=None, tls="on",
            starttls="on"):
    secret = secret if secret is not None else (
        "passwordeval \"printf '%s\\n'\"" % TOKEN if auth in ("xoauth2", "oauthbearer")
        else "password " + PASSWORD)
    return ("account %s\nhost localhost\nport %d\ntls %s\ntls_starttls %s\ntls_trust_file %s\n"
            "auth %s\nuser joe@example.com\n%s\n%s\n" % (name, port, tls, starttls, ca_file, auth, secret, extra))


@pytest.fixture
def configured(tmp_path):
    """``configured(text)`` -> an Interpreter installed with that msmtprc."""
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


def send(interp, sender="joe@example.com", extra=""):
    out = interp.eval(SEND % {"sender": sender, "extra": extra})
    code, result, errorcode = interp.tcl.tk.splitlist(out)
    return int(code), str(result), str(errorcode)


# -- delivered through the account ---------------------------------------------

@pytest.mark.parametrize("mech", ["plain", "login", "xoauth2", "oauthbearer"])
def test_script_saying_localhost_25_goes_through_the_account(mech, provider, configured, ca_file, capfd):
    srv = provider()
    interp = configured(account(srv.port, ca_file, auth=mech))
    code, result, _ = send(interp, extra="-debug 1")
    assert (code, result) == (0, "")
    # STARTTLS before AUTH, the account's credentials, never the script's
    assert srv.verbs == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"]
    (msg,) = srv.messages
    assert msg["tls"] and msg["auth"] == "joe@example.com"
    assert (msg["mail_from"], msg["rcpt_tos"]) == ("joe@example.com", ["rcpt@example.net"])
    assert b"Subject: account test" in msg["data"] and b"hello through the account" in msg["data"]
    assert b"script-user" not in b"".join(str(c).encode() for c in srv.commands)
    err = capfd.readouterr().err
    assert "Trying localhost..." in err and "--> STARTTLS" in err and "[credentials redacted]" in err
    assert TOKEN not in err and PASSWORD not in err
    assert base64.b64encode(TOKEN.encode()).decode()[:12] not in err


def test_xoauth2_and_oauthbearer_send_exactly_the_rfc_forms(provider, configured, ca_file):
    srv = provider()
    for mech in ("xoauth2", "oauthbearer"):
        interp = configured(account(srv.port, ca_file, auth=mech))
        assert send(interp)[0] == 0
    (m1, (b1,)), (m2, (b2,)) = srv.auths
    assert (m1, b1) == ("XOAUTH2", b"user=joe@example.com\x01auth=Bearer " + TOKEN.encode() + b"\x01\x01")
    assert (m2, b2) == ("OAUTHBEARER", b"n,a=joe@example.com,\x01host=localhost\x01port=%d\x01auth=Bearer %s\x01\x01"
                        % (srv.port, TOKEN.encode()))


@pytest.mark.parametrize("mech, answer", [("xoauth2", b""), ("oauthbearer", b"\x01")])
def test_a_refused_token_is_code_7_naming_the_account_and_redacted(mech, answer, provider, configured,
                                                                   ca_file, tmp_path, capfd):
    srv = provider(tokens={"joe@example.com": "another-token"})
    log = tmp_path / "log"
    interp = configured(account(srv.port, ca_file, auth=mech, extra="logfile %s" % log))
    code, result, _ = send(interp, extra="-debug 1")
    assert code == 7 and "account default: " in result and "code 535" in result
    assert srv.auths[0][1][1] == answer  # RFC 7628 §3.2.2 / Google's XOAUTH2 error handling
    assert srv.messages == [] and "MAIL" not in srv.verbs
    text = log.read_text()
    assert " tls=on auth=off " in text and "smtpstatus=535" in text and "exitcode=EX_NOPERM" in text
    assert "tls_verified=on" in text
    everything = capfd.readouterr().err + text + result
    assert TOKEN not in everything


def test_implicit_tls(provider, configured, ca_file):
    srv = provider(implicit=True)
    interp = configured(account(srv.port, ca_file, auth="oauthbearer", starttls="off"))
    assert send(interp)[:2] == (0, "")
    assert srv.verbs[:2] == ["EHLO", "AUTH"] and srv.messages[0]["tls"]


def test_auth_on_chooses_as_msmtp_does(provider, configured, ca_file):
    # msmtp: CRAM-MD5 if offered, else over TLS PLAIN, then LOGIN; never the
    # OAuth mechanisms (a password is not a token).
    srv = provider()
    interp = configured(account(srv.port, ca_file, auth="on"))
    assert send(interp)[0] == 0
    assert srv.commands[srv.verbs.index("AUTH")][1] == "PLAIN"
    srv2 = provider(mechanisms=["XOAUTH2", "OAUTHBEARER"])
    interp = configured(account(srv2.port, ca_file, auth="on"))
    code, result, _ = send(interp)
    assert code == 7 and "cannot find a usable authentication method" in result
    assert "AUTH" not in srv2.verbs


def test_named_mechanism_the_server_does_not_offer(provider, configured, ca_file):
    srv = provider(mechanisms=["PLAIN"])
    interp = configured(account(srv.port, ca_file, auth="xoauth2"))
    code, result, _ = send(interp)
    assert code == 7 and "does not support authentication method XOAUTH2" in result and srv.messages == []


# -- secure by default ------------------------------------------------------------

def _issue(ca, *names):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert = ca.issue_cert(*names)
    cert.configure_cert(ctx)
    return ctx, cert


def test_wrong_host_name_is_refused(provider, configured, ca, ca_file):
    ctx, _ = _issue(ca, "mail.example.test")
    srv = provider(tls_context=ctx)
    interp = configured(account(srv.port, ca_file))
    code, result, errorcode = send(interp)
    assert code == 1 and result.startswith("account default: ") and "certificate verify failed" in result
    assert "Hostname mismatch" in result or "hostname" in result.lower()
    assert "AUTH" not in srv.verbs and srv.messages == []


def test_untrusted_ca_is_refused(provider, configured, tmp_path):
    import trustme

    other = trustme.CA()
    other_file = tmp_path / "other-ca.pem"
    other.cert_pem.write_to_path(str(other_file))
    srv = provider()  # certificate from the session CA, which this account does not trust
    interp = configured(account(srv.port, str(other_file)))
    code, result, _ = send(interp)
    assert code == 1 and "certificate verify failed" in result and srv.messages == []
    # the system store does not trust it either (msmtp's default: tls_trust_file system)
    interp = configured(account(srv.port, "system"))
    assert send(interp)[0] == 1 and srv.messages == [] and "AUTH" not in srv.verbs


def test_missing_starttls_is_a_failure_never_plaintext(provider, configured, ca_file):
    srv = provider(starttls=False)
    interp = configured(account(srv.port, ca_file))
    code, result, errorcode = send(interp)
    assert code == 1 and result == ("account default: TLS required (tls on), but localhost does not "
                                    "support TLS via the STARTTLS command")
    assert srv.verbs[:1] == ["EHLO"] and not {"STARTTLS", "AUTH", "MAIL"} & set(srv.verbs)
    assert srv.messages == []


def test_fingerprint_pinning(provider, configured, ca, server_tls):
    # a certificate no trust file vouches for, trusted by its fingerprint
    _, cert = _issue(ca, "localhost", "127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    srv = provider(tls_context=ctx)
    pinned = "account default\nhost localhost\nport %d\ntls on\ntls_fingerprint %s\nauth plain\n" \
             "user joe@example.com\npassword %s\n"
    interp = configured(pinned % (srv.port, fingerprint_text(der), PASSWORD))
    assert send(interp)[0] == 0 and srv.messages[0]["auth"] == "joe@example.com"
    digest = bytearray(hashlib.sha256(der).digest())
    digest[0] ^= 0xFF
    wrong = ":".join("%02X" % b for b in digest)
    interp = configured(pinned % (srv.port, wrong, PASSWORD))
    code, result, _ = send(interp)
    assert code == 1 and "fingerprint does not match" in result and len(srv.messages) == 1


def test_credentials_never_go_unverified_or_in_clear_to_a_non_loopback_host(monkeypatch, provider,
                                                                           configured, ca_file):
    # No non-loopback host may be used in tests: the peer is declared one.
    monkeypatch.setattr(Connection, "peer_is_loopback", lambda self: False)
    srv = provider()
    interp = configured(account(srv.port, ca_file, auth="plain", extra="tls_certcheck off")
                        .replace("tls_trust_file %s\n" % ca_file, ""))
    code, result, errorcode = send(interp)
    assert code == 1 and "without a verified certificate (tls_certcheck off)" in result
    assert errorcode == "SMTP PLAINTEXTAUTH" and "AUTH" not in srv.verbs
    srv2 = provider(starttls=False, mechanisms=["PLAIN"], auth_require_tls=False)
    interp = configured(account(srv2.port, ca_file, auth="plain", tls="off"))
    code, result, _ = send(interp)
    assert code == 1 and "unencrypted connection (tls off)" in result and "AUTH" not in srv2.verbs
    # verified TLS: the credentials go
    interp = configured(account(srv.port, ca_file, auth="plain"))
    assert send(interp)[0] == 0


def test_tls_off_means_no_starttls_even_if_offered(provider, configured, ca_file):
    srv = provider(mechanisms=["PLAIN"])
    text = "account default\nhost localhost\nport %d\n" % srv.port
    interp = configured(text)
    code, result, _ = send(interp)
    # the provider wants STARTTLS before MAIL; msmtp's tls off does not do it
    assert "STARTTLS" not in srv.verbs and code == 7 and "530" in result


# -- passwordeval -------------------------------------------------------------------

def test_passwordeval_failing_slow_or_empty_is_an_error_before_connecting(provider, configured, ca_file,
                                                                          tmp_path):
    srv = provider()
    for cmd, words in [("exit 3", "exited with status 3"),
                       ("true", "printed nothing"),
                       ("printf '\\n'", "printed an empty first line"),
                       ("echo oops >&2; exit 1", "exited with status 1")]:
        interp = configured(account(srv.port, ca_file, secret="passwordeval \"%s\"" % cmd))
        code, result, errorcode = send(interp)
        assert code == 1 and result == "account default: passwordeval " + words, result
        assert errorcode == "SMTP PASSWORDEVAL"
    marker = tmp_path / "still-running"
    interp = configured(account(srv.port, ca_file, extra="timeout 1",
                                secret="passwordeval \"sleep 30; touch %s\"" % marker))
    t0 = time.monotonic()
    code, result, _ = send(interp)
    assert code == 1 and "did not finish within 1 seconds (timeout)" in result
    assert time.monotonic() - t0 < 10
    assert srv.commands == []  # nothing was even connected
    time.sleep(0.2)
    assert not marker.exists()  # the helper was killed, not left running


def test_passwordeval_runs_per_send_unless_it_reports_an_expiry(provider, configured, ca_file, tmp_path):
    srv = provider()
    counter = tmp_path / "runs"

    def helper(output):
        script = tmp_path / ("helper%d.sh" % len(list(tmp_path.glob("helper*"))))
        script.write_text("#!/bin/sh\necho x >> %s\nprintf '%s'\n" % (counter, output))
        script.chmod(0o700)
        return "passwordeval %s" % script

    for output, runs in [(TOKEN + "\\n", 3), (TOKEN + "\\nexpires_in=3600\\n", 1),
                         ('{"access_token": "%s", "expires_in": 3599, "token_type": "Bearer"}' % TOKEN, 1),
                         (TOKEN + "\\nexpires_at=%d\\n" % (time.time() + 3600), 1),
                         (TOKEN + "\\nexpires_in=0\\n", 3)]:  # already expired: not kept
        counter.write_text("")
        interp = configured(account(srv.port, ca_file, secret=helper(output)))
        for _ in range(3):
            assert send(interp)[0] == 0
        assert len(counter.read_text().split()) == runs, output


def test_a_refused_cached_token_is_not_offered_again(provider, configured, ca_file, tmp_path):
    srv = provider()
    token_file = tmp_path / "token"
    token_file.write_text("stale\n")
    interp = configured(account(srv.port, ca_file,
                                secret="passwordeval \"cat %s; echo expires_in=3600\"" % token_file))
    assert send(interp)[0] == 7
    token_file.write_text(TOKEN + "\n")
    assert send(interp)[0] == 0  # the command ran again


# -- choosing the account --------------------------------------------------------------

def test_account_chosen_by_envelope_sender(provider, configured, ca_file):
    a, b, d = provider(), provider(), provider()
    text = (account(a.port, ca_file, name="a", extra="from *@a.example")
            + account(b.port, ca_file, name="b", extra="from joe@b.example")
            + account(d.port, ca_file, name="fallback") + "account default : fallback\n")
    interp = configured(text)
    for sender, srv in [("x@a.example", a), ("Joe+tag@B.example", b), ("x@c.example", d)]:
        assert send(interp, sender=sender)[0] == 0
        assert srv.messages[-1]["mail_from"] == sender  # the envelope is the script's
    assert [len(s.messages) for s in (a, b, d)] == [1, 1, 1]


def test_sender_from_the_from_header_chooses_too(provider, configured, ca_file):
    a = provider()
    interp = configured(account(a.port, ca_file, name="a", extra="from *@a.example"))
    out = interp.eval("""
        set t [mime::initialize -canonical text/plain -string hi]
        smtp::sendmessage $t -header {From {Ann <ann@a.example>}} -header {To rcpt@example.net}
    """)
    assert out == "" and a.messages[0]["mail_from"] == "ann@a.example"


def test_no_matching_account_and_no_default(provider, configured, ca_file, tmp_path):
    srv = provider()
    interp = configured(account(srv.port, ca_file, name="a", extra="from *@a.example"))
    code, result, errorcode = send(interp, sender="x@b.example")
    assert code == 1 and errorcode == "SMTP NOACCOUNT"
    assert result.endswith(": no account matches the envelope sender <x@b.example> and there is no "
                           "account default") and "msmtprc" in result
    assert srv.commands == []


# -- the send log -------------------------------------------------------------------------

LINE = re.compile(
    r"^(?P<time>[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d) host=localhost tls=on auth=on user=joe@example\.com "
    r"from=joe@example\.com recipients=rcpt@example\.net mailsize=(?P<size>\d+) smtpstatus=250 "
    r"smtpmsg='250 2\.0\.0 OK: queued as 1' exitcode=EX_OK account=default script=(?P<script>\S+) "
    r"tls_verified=on message_id=<[^ >]+>$")


def test_log_line_in_msmtps_format_plus_ours(provider, configured, ca_file, tmp_path):
    srv = provider()
    log = tmp_path / "sent.log"
    interp = configured(account(srv.port, ca_file, extra="logfile %s" % log))
    script = tmp_path / "job.tcl"
    script.write_text(SEND % {"sender": "joe@example.com", "extra": ""})
    out = interp.evalfile(script)
    assert out.startswith("0 ")
    (line,) = log.read_text().splitlines()
    m = LINE.match(line)
    assert m, line
    assert m["script"] == str(script) and int(m["size"]) == len(srv.messages[0]["data"])
    assert TOKEN not in line and "hello through" not in line
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    mid = line.rsplit("message_id=", 1)[1]
    assert b"Message-ID: " + mid.encode() in srv.messages[0]["data"]


def test_log_lines_for_failures(provider, configured, ca_file, tmp_path):
    log = tmp_path / "log"
    srv = provider(starttls=False)
    interp = configured(account(srv.port, ca_file, extra="logfile %s\nlogfile_time_format %%Y" % log))
    send(interp)
    srv2 = provider()
    interp = configured(account(srv2.port, ca_file, extra="logfile %s" % log,
                                secret="passwordeval \"exit 2\""))
    send(interp)
    first, second = log.read_text().splitlines()
    assert re.match(r"^\d{4} host=localhost tls=off auth=off from=joe@example.com "
                    r"recipients=rcpt@example.net errormsg='account default: TLS required \(tls on\), "
                    r"but localhost does not support TLS via the STARTTLS command' exitcode=EX_UNAVAILABLE "
                    r"account=default tls_verified=off message_id=<\S+>$", first), first
    assert "errormsg='account default: passwordeval exited with status 2' exitcode=EX_CONFIG" in second


def test_log_to_stdout(provider, configured, ca_file, capfd):
    srv = provider()
    interp = configured(account(srv.port, ca_file, extra="logfile -"))
    send(interp)
    out = capfd.readouterr().out
    assert re.search(r"^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d host=localhost .* exitcode=EX_OK ", out, re.M), out


def test_syslog(provider, configured, ca_file, tmp_path):
    srv = provider()
    path = str(tmp_path / "syslog.sock")
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(path)
    sink.settimeout(10)
    try:
        interp = configured(account(srv.port, ca_file, extra="syslog LOG_MAIL"))
        interp.context.delivery.syslog_socket = path
        send(interp)
        datagram = sink.recv(65536).decode()
    finally:
        sink.close()
    # <PRI> = LOG_MAIL (2) * 8 + LOG_INFO (6)
    assert re.match(r"^<22>[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d pysmtp-tcl\[\d+\]: host=localhost tls=on "
                    r"auth=on user=joe@example.com from=joe@example.com .* exitcode=EX_OK ", datagram), datagram


def test_unwritable_log_is_reported_and_the_send_still_counts(provider, configured, ca_file, tmp_path, capfd):
    srv = provider()
    interp = configured(account(srv.port, ca_file, extra="logfile %s/no/such/dir/log" % tmp_path))
    assert send(interp)[0] == 0 and len(srv.messages) == 1
    err = capfd.readouterr().err
    assert "pysmtp-tcl: cannot log to %s/no/such/dir/log: No such file or directory" % tmp_path in err
    assert "log info was: host=localhost" in err and TOKEN not in err


# -- entry points ------------------------------------------------------------------------------

def test_no_config_changes_nothing(aio, monkeypatch):
    from pysmtp_tcl import Interpreter

    monkeypatch.delenv("PYSMTP_TCL_CONFIG", raising=False)
    srv = aio()
    interp = Interpreter()
    assert interp.context.delivery is None
    interp.eval("set t [mime::initialize -canonical text/plain -string hi]")
    assert interp.eval("smtp::sendmessage $t -servers 127.0.0.1 -ports %d -originator a@b.c "
                       "-recipients d@e.f" % srv.port) == ""
    assert srv.verbs == ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]


def test_environment_variable_and_install_errors(provider, ca_file, tmp_path, monkeypatch):
    import pysmtp_tcl
    from pysmtp_tcl import Interpreter
    from pysmtp_tcl.delivery import ConfigError

    srv = provider()
    path = tmp_path / "rc"
    path.write_text(account(srv.port, ca_file))
    os.chmod(path, 0o600)
    monkeypatch.setenv("PYSMTP_TCL_CONFIG", str(path))
    interp = Interpreter()
    assert send(interp)[0] == 0 and len(srv.messages) == 1
    interp.close()
    assert Interpreter(config=False).context.delivery is None
    path.write_text("account default\nhost h\nbogus 1\n")
    with pytest.raises(ConfigError) as info:
        Interpreter()
    assert str(info.value) == "%s: line 3: account default: unknown command bogus" % path
    del info
    import tkinter

    tcl = tkinter.Tcl()
    with pytest.raises(ValueError):
        pysmtp_tcl.install(tcl, route=object(), config=str(path))
    assert pysmtp_tcl.bridge.install.context_of(tcl) is None  # nothing was installed


def test_launcher_config_option_and_errors(provider, ca_file, tmp_path):
    srv = provider()
    path = tmp_path / "rc"
    path.write_text(account(srv.port, ca_file, extra="logfile -"))
    os.chmod(path, 0o600)
    script = tmp_path / "s.tcl"
    script.write_text(SEND % {"sender": "joe@example.com", "extra": ""} + "\nputs done\n")
    p = run_launcher(["--config", str(path), str(script)])
    assert p.returncode == 0, p.stderr
    assert "exitcode=EX_OK" in p.stdout and p.stdout.rstrip().endswith("done")
    assert srv.messages[0]["auth"] == "joe@example.com"
    p = run_launcher([str(script)], env={"PYSMTP_TCL_CONFIG": str(path)})
    assert p.returncode == 0 and len(srv.messages) == 2
    # a bad file: a clear message, status 78 (EX_CONFIG), the script never runs
    path.write_text("account default\nhost localhost\ntls_priorities NORMAL\n")
    p = run_launcher(["--config", str(path), str(script)])
    assert p.returncode == 78 and "done" not in p.stdout
    assert p.stderr.strip() == ("pysmtp-tclsh: %s: line 3: account default: command tls_priorities is not supported by "
                                "pysmtp-tcl (GnuTLS priority strings do not apply (Python's ssl/OpenSSL))"
                                % path)
    p = run_launcher(["--config", str(path), "--capture", str(tmp_path / "c"), str(script)])
    assert p.returncode == 2 and "--config excludes" in p.stderr
    # capture never falls back to the environment's configuration
    p = run_launcher(["--capture", str(tmp_path / "cap"), str(script)],
                     env={"PYSMTP_TCL_CONFIG": str(path)})
    assert p.returncode == 0, p.stderr


def test_the_manuals_example_through_an_account(provider, ca_file, tmp_path):
    """examples/send_simple_message.tcl, unchanged, through STARTTLS + XOAUTH2."""
    srv = provider(tokens={"joe@example.com": TOKEN})
    path = tmp_path / "rc"
    path.write_text(account(srv.port, ca_file, extra="logfile %s" % (tmp_path / "log")))
    os.chmod(path, 0o600)
    p = run_launcher(["--config", str(path), str(REPO / "examples" / "send_simple_message.tcl")])
    assert p.returncode == 0, p.stderr
    assert p.stdout == "sent to postmaster@localhost via localhost\n"
    assert srv.verbs == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"]
    assert srv.auths[0][0] == "XOAUTH2" and srv.messages[0]["rcpt_tos"] == ["postmaster@localhost"]
    assert b"Subject: This is the subject." in srv.messages[0]["data"]
    line = (tmp_path / "log").read_text()
    assert "exitcode=EX_OK" in line and "send_simple_message.tcl" in line and TOKEN not in line


def test_readme_demo_from_a_fresh_checkout(tmp_path):
    """The README's "Try it from a fresh clone" command, as written."""
    import shutil
    import subprocess

    readme = (REPO / "README.md").read_text()
    command = ("pysmtp-tclsh --config examples/msmtprc examples/send_simple_message.tcl "
               "&& cat outbox/0001.eml")
    assert "python3 -m pip install . && " + command in readme
    # the files as git has them (a fresh clone), in a directory of their own
    files = subprocess.run(["git", "ls-files", "examples"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert {"examples/msmtprc", "examples/outbox-sendmail", "examples/send_simple_message.tcl"} <= set(files)
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, tmp_path / f)
    mode = subprocess.run(["git", "ls-files", "-s", "examples/outbox-sendmail"], cwd=REPO,
                          capture_output=True, text=True).stdout.split()[0]
    assert mode == "100755"  # executable in the repository, not just here
    p = run_launcher(["--config", "examples/msmtprc", "examples/send_simple_message.tcl"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    log, sent = p.stdout.splitlines()
    assert sent == "sent to postmaster@localhost via localhost"
    assert " host=examples/outbox-sendmail tls=off auth=off from=" in log and " exitcode=EX_OK " in log
    msg = (tmp_path / "outbox" / "0001.eml").read_bytes()
    assert b"Subject: This is the subject." in msg and msg.endswith(b"This is the message.\n")
    assert (tmp_path / "outbox" / "0001.envelope").read_text().splitlines()[1] == "to: postmaster@localhost"


def test_client_certificate_domain_and_timeout(provider, configured, ca, ca_file, tmp_path):
    # a server that asks for a client certificate from the session CA
    ctx, _ = _issue(ca, "localhost", "127.0.0.1")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(ctx)
    srv = provider(tls_context=ctx)
    client = ca.issue_cert("batch@client.test")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(cert))
    client.private_key_pem.write_to_path(str(key))
    interp = configured(account(srv.port, ca_file, extra="tls_cert_file %s\ntls_key_file %s\ndomain batch.client.test"
                                % (cert, key)))
    assert send(interp)[0] == 0 and len(srv.messages) == 1
    assert srv.commands[0] == ("EHLO", "batch.client.test")
    interp = configured(account(srv.port, ca_file))  # no certificate: the server hangs up
    code, result, _ = send(interp)
    assert code == 1 and result.startswith("account default: ") and len(srv.messages) == 1
    assert srv.verbs.count("AUTH") == 1
    # timeout bounds every wait: a server that accepts and never greets
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        interp = configured(account(silent.getsockname()[1], ca_file, extra="timeout 1"))
        t0 = time.monotonic()
        code, result, _ = send(interp)
        assert code == 1 and "timed out" in result and time.monotonic() - t0 < 10
    finally:
        silent.close()
