"""smtp::sendmessage end to end: a Tcl script in an embedded interpreter,
our packages, a real SMTP server on 127.0.0.1 (scripted or aiosmtpd)."""
from __future__ import annotations

import re
import time

import pytest

from support import oracle
from support.scripted import CLOSE, STALL


def tcl_send(interp, port, opts: str, body: str = "hello", setup: str = "") -> str:
    """Build a text/plain message, send it with ``opts``; returns
    ``{code result}`` as a Tcl list string."""
    return interp.eval(r"""
        set tok [mime::initialize -canonical text/plain -string {%s}]
        %s
        set code [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d %s} res]
        list $code $res
    """ % (body, setup, port, opts))


def code_result(interp, out: str):
    code, res = interp.tcl.tk.splitlist(out)
    return int(code), res


def header_block(data: bytes) -> str:
    return data.split(b"\r\n\r\n", 1)[0].decode()


def headers(data: bytes):
    head = re.sub(r"\r\n[ \t]", " ", header_block(data))
    return [tuple(h.split(": ", 1)) if ": " in h else (h.rstrip(":"), "") for h in head.split("\r\n")]


def test_plain_send_wire_dialogue_and_message(interp, aio):
    srv = aio()
    out = tcl_send(interp, srv.port, "-originator sender@example.com -header {To rcpt@example.org} "
                   "-header {Subject {plain test}}", body="line 1\nline 2")
    assert code_result(interp, out) == (0, "")
    assert srv.verbs == ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    # -client defaults to [info hostname] unless -servers is just localhost
    assert srv.commands[0] == ("EHLO", interp.eval("info hostname"))
    # SIZE: every octet the server got (RFC 1870 §5), the closing CRLF
    # added to "line 2" included (issue 7 item 8)
    assert srv.commands[1] == ("MAIL", "FROM:<sender@example.com> SIZE=%d" % len(srv.messages[0]["data"]))
    assert srv.commands[2] == ("RCPT", "TO:<rcpt@example.org>")
    msg = srv.messages[0]
    data = msg["data"]
    names = [k for k, _ in headers(data)]
    # tcllib's order: MIME-Version, the token's own headers, the -header
    # values, then the derived From, Date, Message-ID, and Content-Type last.
    assert names == ["MIME-Version", "Content-ID", "To", "Subject", "From", "Date",
                     "Message-ID", "Content-Type"]
    h = dict(headers(data))
    assert h["From"] == "sender@example.com" and h["Subject"] == "plain test"
    assert re.fullmatch(r"<\d+\.\d+\.\d+@.+>", h["Message-ID"])
    assert data.endswith(b"\r\n\r\nline 1\r\nline 2\r\n")


def test_recipients_from_to_cc_dcc_and_bcc_digest_on_same_connection(interp, scripted):
    srv = scripted()
    out = tcl_send(interp, srv.port, "-originator a@example.com "
                   "-header {To to@example.org} -header {cc cc@example.org} "
                   "-header {Dcc dcc@example.org} -header {Bcc bcc@example.org} "
                   "-header {Subject hi}")
    assert code_result(interp, out) == (0, "")
    assert len(srv.conns) == 1, "Bcc copy must go over the same connection"
    cmds = srv.conns[0].commands
    assert [c for c in cmds if c.startswith(("MAIL", "RCPT"))] == [
        "MAIL FROM:<a@example.com>", "RCPT TO:<to@example.org>", "RCPT TO:<cc@example.org>",
        "RCPT TO:<dcc@example.org>", "MAIL FROM:<a@example.com>", "RCPT TO:<bcc@example.org>"]
    main, digest = srv.datas
    names = [k.lower() for k, _ in headers(main)]
    assert "dcc" not in names and "bcc" not in names and "cc" in names
    dh = dict((k.lower(), v) for k, v in headers(digest))
    assert dh["subject"] == "[Bcc] hi"
    assert dh["content-type"].startswith("multipart/digest")
    assert dh["content-description"] == "Blind Carbon Copy"
    assert b"Content-Type: message/rfc822" in digest
    assert b"Subject: hi" in digest  # the original message rides inside


def test_resent_headers_switch_every_derived_name(interp, scripted):
    srv = scripted()
    out = tcl_send(interp, srv.port, "-header {Resent-From fwd@example.com} "
                   "-header {Resent-To new@example.org} -header {Subject fwd}")
    assert code_result(interp, out) == (0, "")
    assert "MAIL FROM:<fwd@example.com>" in srv.commands
    assert "RCPT TO:<new@example.org>" in srv.commands
    names = [k for k, _ in headers(srv.datas[0])]
    assert "Resent-Date" in names and "Resent-Message-ID" in names
    assert "Date" not in names and "From" not in names


@pytest.mark.parametrize("alo", [0, 1])
def test_atleastone_with_one_refused_recipient(interp, scripted, alo):
    srv = scripted(rcpt_map={"gone@": ["550-5.1.1 The email account does not exist.",
                                       "550 5.1.1 Please check the address."]})
    out = tcl_send(interp, srv.port, "-originator s@example.com -atleastone %d "
                   "-recipients {good@example.org, gone@example.org}" % alo)
    code, res = code_result(interp, out)
    assert code == 0
    assert interp.tcl.tk.splitlist(res) == ("gone@example.org 550 {5.1.1 The email account does not exist.}",)
    cmds = srv.commands
    if alo:
        assert "DATA" in cmds and "RSET" not in cmds and len(srv.datas) == 1
    else:
        assert "RSET" in cmds and "DATA" not in cmds and srv.datas == []


def test_refused_mail_from_is_return_code_7(interp, scripted):
    srv = scripted(mail=["550 5.7.1 Sender rejected"])
    out = tcl_send(interp, srv.port, "-originator bad@example.com -recipients r@example.org")
    code, res = code_result(interp, out)
    assert code == 7
    assert interp.tcl.tk.splitlist(res) == ("diagnostic", "5.7.1 Sender rejected", "args", "", "code", "550")
    srv.settle()
    assert srv.datas == [] and "RSET" in srv.commands and "QUIT" in srv.commands
    # code 7 is not an error: try ... on error does not catch it.
    assert interp.eval("""
        set tok [mime::initialize -canonical text/plain -string x]
        set r [catch {try {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d \
            -originator bad@example.com -recipients r@example.org} on error {m} {set caught $m}} m o]
        list $r [info exists caught] [dict get $o -code]""" % srv.port) == "7 0 7"


def test_refused_data_is_return_code_7(interp, scripted):
    srv = scripted(data=["554 5.3.0 No thanks"])
    code, res = code_result(interp, tcl_send(interp, srv.port, "-originator a@example.com -recipients r@example.org"))
    assert code == 7 and "554" in res and srv.datas == []


def test_refused_final_reply_is_return_code_7(interp, scripted):
    srv = scripted(data_end=["552 5.3.4 Message too big"])
    code, res = code_result(interp, tcl_send(interp, srv.port, "-originator a@example.com -recipients r@example.org"))
    assert code == 7 and interp.tcl.tk.splitlist(res)[-1] == "552"


def test_failover_past_closed_port_and_421_greeting(interp, scripted):
    busy = scripted(greeting=["421 4.3.2 Service not available"])
    good = scripted()
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    out = interp.eval("""
        set tok [mime::initialize -canonical text/plain -string hi]
        smtp::sendmessage $tok -servers {127.0.0.1 127.0.0.1 127.0.0.1} -ports {%d %d %d} \
            -originator a@example.com -recipients r@example.org""" % (closed, busy.port, good.port))
    assert out == ""
    assert len(good.datas) == 1
    assert busy.commands == [] or busy.commands == ["QUIT"] or all(not c.startswith("MAIL") for c in busy.commands)


def test_connection_failure_is_a_normal_error(interp):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    out = interp.eval("""
        set tok [mime::initialize -canonical text/plain -string hi]
        list [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -recipients r@example.org} m] $m""" % closed)
    code, msg = interp.tcl.tk.splitlist(out)
    assert code == "1"
    # Tcl's text for ENOTCONN: its own on 8.6, strerror's on Tcl 9 (N10)
    text = "transport endpoint is not connected" if oracle.tcl9() else "socket is not connected"
    assert re.fullmatch(r'error reading "sock[0-9a-f]+": ' + text, msg)


def test_ehlo_5xx_falls_back_to_helo(interp, scripted):
    srv = scripted(ehlo=["502 5.5.2 EHLO not supported"])
    assert code_result(interp, tcl_send(interp, srv.port, "-originator a@example.com -recipients r@example.org")) == (0, "")
    host = interp.eval("info hostname")
    assert srv.commands[:2] == ["EHLO " + host, "HELO " + host]
    assert len(srv.datas) == 1


def test_starttls_used_when_offered(interp, aio, server_tls):
    srv = aio(tls_context=server_tls)
    assert code_result(interp, tcl_send(interp, srv.port, "-originator a@example.com -recipients r@example.org")) == (0, "")
    assert srv.verbs[:3] == ["EHLO", "STARTTLS", "EHLO"]
    assert srv.messages[0]["tls"] is True


@pytest.mark.parametrize("answer", ["secure", "insecure"])
def test_tlspolicy_when_starttls_refused(interp, scripted, server_tls, answer):
    srv = scripted(tls_context=server_tls, starttls=["454 4.7.0 TLS not available"])
    out = interp.eval("""
        set ::policy_args {}
        proc policy {code diag} { lappend ::policy_args $code $diag; return %s }
        set tok [mime::initialize -canonical text/plain -string hi]
        set rc [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -tlspolicy policy \
            -originator a@example.com -recipients r@example.org} m opts]
        list $rc $::policy_args [expr {$rc ? [dict get $opts -errorcode] : ""}]""" % (answer, srv.port))
    rc, args, errorcode = interp.tcl.tk.splitlist(out)
    assert interp.tcl.tk.splitlist(args) == ("454", "4.7.0 TLS not available")
    if answer == "insecure":
        assert rc == "0" and len(srv.datas) == 1
    else:
        assert rc == "1" and srv.datas == [] and errorcode == "454"
        assert not any(c.startswith("MAIL") for c in srv.commands)


def test_starttls_handshake_failure_is_not_ignored(interp, scripted, ca):
    import ssl
    # The server's certificate is fine, but it only speaks TLS 1.3 with a
    # client context limited to 1.2 -> handshake fails; never plaintext after.
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(ctx)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    srv = scripted(tls_context=ctx)
    import pysmtp_tcl.smtp.session as sess
    orig = sess._insecure_context

    def tls12():
        c = orig()
        c.maximum_version = ssl.TLSVersion.TLSv1_2
        return c
    sess._insecure_context = tls12
    try:
        code, res = code_result(interp, tcl_send(interp, srv.port, "-originator a@example.com -recipients r@example.org"))
    finally:
        sess._insecure_context = orig
    assert code == 1
    assert srv.datas == [] and not any(c.startswith("MAIL") for c in srv.commands)


def test_implicit_tls_with_tlsimport(interp, scripted, server_tls):
    srv = scripted(implicit_tls=server_tls)
    assert code_result(interp, tcl_send(interp, srv.port, "-tlsimport 1 -originator a@example.com -recipients r@example.org")) == (0, "")
    assert srv.conns[0].tls and len(srv.datas) == 1


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_auth_mechanisms(interp, scripted, mech):
    srv = scripted(ehlo=["250-test.example", "250 AUTH " + mech], auth_users={"joe": "s3cret"})
    assert code_result(interp, tcl_send(interp, srv.port, "-username joe -password s3cret "
                                        "-originator a@example.com -recipients r@example.org")) == (0, "")
    assert srv.conns[0].auth == "joe"
    assert srv.commands[1] == "AUTH " + mech
    assert len(srv.datas) == 1


def test_auth_prefers_strongest_offered_and_accepts_equals_form(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 AUTH=PLAIN LOGIN CRAM-MD5"], auth_users={"joe": "pw"})
    assert code_result(interp, tcl_send(interp, srv.port, "-username joe -password pw "
                                        "-originator a@example.com -recipients r@example.org")) == (0, "")
    assert srv.commands[1] == "AUTH CRAM-MD5"


def test_failed_auth_is_an_error_not_an_unauthenticated_send(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 AUTH PLAIN LOGIN"], auth_users={"joe": "right"})
    code, res = code_result(interp, tcl_send(interp, srv.port, "-username joe -password wrong "
                                             "-originator a@example.com -recipients r@example.org"))
    assert code == 7 and "535" in res
    assert srv.datas == [] and not any(c.startswith("MAIL") for c in srv.commands)


def test_maxsecs_bounds_the_wait_for_the_final_reply(interp, scripted):
    srv = scripted(data_end=[STALL])
    t0 = time.monotonic()
    code, res = code_result(interp, tcl_send(interp, srv.port, "-maxsecs 1 -originator a@example.com -recipients r@example.org"))
    assert time.monotonic() - t0 < 10
    assert code == 7
    assert interp.tcl.tk.splitlist(res) == ("diagnostic", "read from server timed out", "args", "", "code", "400")


def test_after_timers_fire_during_a_slow_send(interp, scripted):
    def slow(_arg):
        time.sleep(0.6)
        return ["250 2.0.0 Ok: queued"]
    srv = scripted(data_end=slow)
    out = interp.eval("""
        set ::ticks 0
        proc tick {} { incr ::ticks; set ::tickid [after 20 tick] }
        set ::tickid [after 20 tick]
        set tok [mime::initialize -canonical text/plain -string hi]
        smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com -recipients r@example.org
        after cancel $::tickid
        set ::ticks""" % srv.port)
    assert int(out) >= 10, "the Tcl event loop must run while waiting for the server"


def test_server_dropping_after_data_is_code_7(interp, scripted):
    srv = scripted(data_end=[CLOSE])
    code, res = code_result(interp, tcl_send(interp, srv.port, "-originator a@example.com -recipients r@example.org"))
    assert code == 7 and "premature end-of-file from server" in res


def test_token_is_unchanged_and_resend_has_single_headers(interp, scripted):
    # Case 26: tcllib leaves From/To/Subject/Date/Message-ID on the token.
    srv = scripted()
    out = interp.eval("""
        set tok [mime::initialize -canonical text/plain -string "monthly report"]
        set before [mime::getheader $tok -names]
        foreach to {list-a@example.org list-b@example.org} {
            smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator s@example.com \
                -recipients $to -header [list From "Reports <s@example.com>"] -header [list To $to] \
                -header [list Subject "Report"]
        }
        list $before [mime::getheader $tok -names]""" % srv.port)
    assert out == "Content-ID Content-ID"
    d1, d2 = srv.datas
    for d in (d1, d2):
        names = [k.lower() for k, _ in headers(d)]
        for h in ("from", "to", "subject", "date", "message-id"):
            assert names.count(h) == 1
    assert b"list-a@example.org" not in d2
    mid = [dict((k.lower(), v) for k, v in headers(d))["message-id"] for d in (d1, d2)]
    assert mid[0] != mid[1]


def test_bare_cr_and_crlf_bodies_go_out_as_clean_crlf(interp, scripted):
    # Case 22: no bare CR, no CR CR LF, every "." line stuffed.
    srv = scripted()
    interp.eval(r"""
        set body "line one\rstill line one?\r.\r\nMAIL FROM:<spoof@example.net>\r\nafter"
        set tok [mime::initialize -canonical text/plain -encoding 8bit -string $body]
        smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator s@example.com \
            -recipients r@example.org""" % srv.port)
    d = srv.datas[0]
    assert not re.search(rb"\r(?!\n)", d) and b"\r\r\n" not in d
    assert not re.search(rb"(?<!\r)\n", d)
    assert all(line != b"." for line in re.split(rb"\r\n", d))
    assert len(srv.conns[0].datas) == 1


def test_header_injection_in_header_option_is_refused_before_connecting(interp, scripted):
    srv = scripted()
    code, res = code_result(interp, tcl_send(interp, srv.port, "-recipients r@example.org "
                                             "-header [list Subject \"x\\nBcc: evil@example.net\"]"))
    assert code == 1 and "-header" in res and "line break" in res
    assert srv.conns == []


def test_crlf_in_recipients_is_refused(interp, scripted):
    srv = scripted()
    code, res = code_result(interp, tcl_send(interp, srv.port, "-recipients \"r@example.org\\r\\nRSET\""))
    assert code == 1 and "-recipients" in res
    assert srv.conns == []


def test_non_ascii_address_without_smtputf8_is_a_clear_error(interp, scripted):
    srv = scripted()
    code, res = code_result(interp, tcl_send(interp, srv.port, "-originator a@example.com -recipients \"j\u00f6rg@example.org\""))
    assert code == 1 and "SMTPUTF8" in res
    assert not any(c.startswith(("MAIL", "RCPT")) for c in srv.commands)


def test_non_ascii_address_with_smtputf8(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 SMTPUTF8"])
    assert code_result(interp, tcl_send(interp, srv.port, "-originator a@example.com -recipients \"j\u00f6rg@example.org\"")) == (0, "")
    raw = [l for l in srv.conns[0].lines if l.startswith(b"RCPT")][0]
    assert raw == "RCPT TO:<jörg@example.org>\r\n".encode("utf-8")
    assert [l for l in srv.conns[0].lines if l.startswith(b"MAIL")][0].endswith(b" SMTPUTF8\r\n")


def test_size_is_declared_when_advertised(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 SIZE 1000000"])
    tcl_send(interp, srv.port, "-originator a@example.com -recipients r@example.org")
    mail = [c for c in srv.commands if c.startswith("MAIL")][0]
    size = int(mail.rsplit("SIZE=", 1)[1])
    # RFC 1870 §5: SIZE counts the CRLF added after "hi" too (issue 7 item 8)
    assert size == len(srv.datas[0])


def test_queue_sends_qued_only_when_xque_advertised(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 XQUE"], verbs={"QUED": ["250 ok"]})
    tcl_send(interp, srv.port, "-queue 1 -originator a@example.com -recipients r@example.org")
    assert "QUED" in srv.commands
    srv2 = scripted()
    tcl_send(interp, srv2.port, "-queue 1 -originator a@example.com -recipients r@example.org")
    assert "QUED" not in srv2.commands


def test_body_8bitmime_declared_for_8bit_content_when_offered(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 8BITMIME"])
    interp.eval("""set tok [mime::initialize -canonical text/plain -encoding 8bit -string "caf\u00e9"]
        smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com -recipients r@example.org
        set tok [mime::initialize -canonical text/plain -string "plain ascii"]
        smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com -recipients r@example.org
        """ % (srv.port, srv.port))
    mails = [c for c in srv.commands if c.startswith("MAIL")]
    assert mails == ["MAIL FROM:<a@example.com> BODY=8BITMIME", "MAIL FROM:<a@example.com>"]
    assert "caf\u00e9".encode("utf-8") in srv.datas[0]


def test_early_reply_before_the_dot_is_not_a_success(interp, scripted):
    # The server answers 250 right after 354, then 554 to the dot: the 250
    # must not be taken for the reply to the dot.
    srv = scripted(data=["354 go ahead", "250 2.0.0 queued early"], data_end=["554 5.6.0 refused after all"])
    code, res = code_result(interp, tcl_send(interp, srv.port, "-originator a@example.com -recipients r@example.org",
                                             body="x" * 100))
    assert code == 7 and "before the end of the message" in res
    srv.settle()
    assert srv.datas == []


def test_bcc_fields_already_on_the_message_are_not_disclosed(interp, scripted):
    # A parsed (or scripted) message carrying Bcc: tcllib sends that field
    # to every recipient; the envelope never used it.
    srv = scripted()
    interp.eval(r"""
        set tok [mime::initialize -string "From: a@example.com\nTo: r@example.org\nBcc: hidden@example.net\nDcc: also@example.net\nSubject: s\n\nbody\n"]
        smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com \
            -header {To r@example.org}
        set ::names [mime::getheader $tok -names]""" % srv.port)
    d = srv.datas[0]
    assert b"hidden@example.net" not in d and b"also@example.net" not in d
    assert [c for c in srv.commands if c.startswith("RCPT")] == ["RCPT TO:<r@example.org>"]
    assert "Bcc" in interp.eval("set ::names")  # the caller's token keeps it
