"""Opt-in TLS hardening (-tlsverify, -cafile, -tlsrequire), credential
protection and XOAUTH2: options of ours in tcllib's style (COMPATIBILITY.md)."""
from __future__ import annotations

import ssl


from pysmtp_tcl.smtp.connection import Connection, SelectorReactor


def send(interp, port, opts, server="127.0.0.1"):
    out = interp.eval("""set tok [mime::initialize -canonical text/plain -string hi]
        list [catch {smtp::sendmessage $tok -servers %s -ports %d -originator a@example.com \
            -recipients r@example.org %s} m o] $m \
            [expr {[dict exists $o -errorcode] ? [dict get $o -errorcode] : ""}]""" % (server, port, opts))
    rc, msg, ec = interp.tcl.tk.splitlist(out)
    return int(rc), msg, ec


def test_tlsverify_with_cafile_succeeds_and_sends_sni(interp, scripted, ca):
    names = []
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(ctx)
    ctx.sni_callback = lambda sslobj, name, c: names.append(name)
    srv = scripted(tls_context=ctx)
    import tempfile, os
    fd, path = tempfile.mkstemp(suffix=".pem")
    os.close(fd)
    ca.cert_pem.write_to_path(path)
    try:
        rc, msg, _ = send(interp, srv.port, "-tlsverify 1 -cafile {%s}" % path, server="localhost")
    finally:
        os.unlink(path)
    assert rc == 0, msg
    assert srv.conns[-1].tls and len(srv.datas) == 1
    assert names == ["localhost"]


def test_tlsverify_rejects_an_untrusted_certificate(interp, scripted, server_tls):
    srv = scripted(tls_context=server_tls)
    rc, msg, _ = send(interp, srv.port, "-tlsverify 1", server="localhost")
    assert rc == 1 and "TLS handshake with localhost failed" in msg and "certificate verify failed" in msg
    assert srv.datas == [] and not any(c.startswith("MAIL") for c in srv.commands)


def test_tlsverify_failure_goes_to_tlspolicy(interp, scripted, server_tls):
    srv = scripted(tls_context=server_tls)
    interp.eval("set ::seen {}; proc pol {code diag} { lappend ::seen $code $diag; return secure }")
    rc, msg, _ = send(interp, srv.port, "-tlsverify 1 -tlspolicy pol", server="localhost")
    seen = interp.tcl.tk.splitlist(interp.eval("set ::seen"))
    assert rc == 1 and seen[0] == "454" and "certificate" in seen[1].lower()
    assert srv.datas == []


def test_tlsrequire_refuses_a_server_without_starttls(interp, scripted):
    srv = scripted()
    rc, msg, ec = send(interp, srv.port, "-tlsrequire 1")
    assert rc == 1 and "-tlsrequire" in msg and "STARTTLS" in msg
    assert ec == "SMTP TLSREQUIRED"
    assert not any(c.startswith(("MAIL", "RCPT", "DATA")) for c in srv.commands)


def test_tlsrequire_refuses_insecure_policy_answer(interp, scripted, server_tls):
    srv = scripted(tls_context=server_tls, starttls=["454 4.7.0 not now"])
    interp.eval("proc ins {args} { return insecure }")
    rc, msg, _ = send(interp, srv.port, "-tlsrequire 1 -tlspolicy ins")
    assert rc == 1 and srv.datas == []


def test_tlsrequire_with_starttls_sends_encrypted(interp, scripted, server_tls):
    srv = scripted(tls_context=server_tls)
    rc, msg, _ = send(interp, srv.port, "-tlsrequire 1")
    assert rc == 0, msg
    assert srv.conns[0].tls and len(srv.datas) == 1


def test_xoauth2_selected_by_authmechanism(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 AUTH PLAIN XOAUTH2"], auth_users={"joe": "ya29.token"})
    rc, msg, _ = send(interp, srv.port, "-username joe -password ya29.token -authmechanism xoauth2")
    assert rc == 0, msg
    assert srv.commands[1] == "AUTH XOAUTH2" and srv.conns[0].auth == "joe"


def test_authmechanism_not_offered_is_code_7(interp, scripted):
    srv = scripted(ehlo=["250-test.example", "250 AUTH PLAIN"], auth_users={"joe": "pw"})
    rc, msg, _ = send(interp, srv.port, "-username joe -password pw -authmechanism CRAM-MD5")
    assert rc == 7 and "CRAM-MD5" in msg
    assert srv.datas == []


def test_authmechanism_unknown_value_is_an_option_error(interp, scripted):
    srv = scripted()
    rc, msg, _ = send(interp, srv.port, "-authmechanism KERBEROS9")
    assert rc == 1 and msg.startswith("-authmechanism must be one of") and srv.conns == []


def test_credentials_are_not_sent_in_clear_to_a_non_loopback_peer(monkeypatch, interp, scripted):
    # The peer check is the connection's; no non-loopback host may be used
    # in tests, so the peer is declared non-loopback for this one.
    monkeypatch.setattr(Connection, "peer_is_loopback", lambda self: False)
    srv = scripted(ehlo=["250-test.example", "250 AUTH PLAIN"], auth_users={"joe": "pw"})
    rc, msg, ec = send(interp, srv.port, "-username joe -password pw")
    assert rc == 1 and "unencrypted" in msg and "-insecureauth" in msg and ec == "SMTP PLAINTEXTAUTH"
    srv.settle()
    assert not any(c.startswith("AUTH") for c in srv.commands) and srv.datas == []
    rc, msg, _ = send(interp, srv.port, "-username joe -password pw -insecureauth 1")
    assert rc == 0, msg


def test_credentials_go_over_starttls_to_any_peer(monkeypatch, interp, scripted, server_tls):
    monkeypatch.setattr(Connection, "peer_is_loopback", lambda self: False)
    srv = scripted(tls_context=server_tls, ehlo=["250-test.example", "250 AUTH PLAIN"], auth_users={"joe": "pw"})
    rc, msg, _ = send(interp, srv.port, "-username joe -password pw")
    assert rc == 0, msg
    assert srv.conns[0].tls and srv.conns[0].auth == "joe"


def test_peer_is_loopback_detects_127_and_ipv6():
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = Connection(SelectorReactor())
    c.connect("127.0.0.1", srv.getsockname()[1], 5)
    try:
        assert c.peer_is_loopback()
    finally:
        c.close()
        srv.close()
    assert not c.peer_is_loopback()  # closed: never "safe"
