"""PIPELINING (RFC 2920, COMPATIBILITY.md S24): MAIL, the RCPTs and (where
it cannot change the outcome) DATA in one write, against scripted servers on
127.0.0.1 that record every read; the script must see what the lock-step
dialogue gives it (each case is also sent with ``-pipelining 0`` and the
results compared), and nothing may be delivered that lock-step would not
deliver.  The sans-I/O core (:mod:`pysmtp_tcl.smtp.dialogue`) is also
driven directly with reply values.
"""
from __future__ import annotations

import pytest

from pysmtp_tcl.smtp import commands as cmds
from pysmtp_tcl.smtp.dialogue import BATCH_LIMIT, MailTransaction, Phase
from pysmtp_tcl.smtp.replies import Reply
from differential.harness import mask_data
from support.scripted import CLOSE

PIPE = ["250-test.example", "250-PIPELINING", "250 HELP"]
SENDER = "-originator a@example.com"


def send(interp, port: int, opts: str, body: str = "hello"):
    """``(code, result)`` of one send; ``-debug`` lines are not captured."""
    out = interp.eval(r"""
        set tok [mime::initialize -canonical text/plain -string {%s}]
        set code [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d %s} res]
        list $code $res
    """ % (body, port, opts))
    code, res = interp.tcl.tk.splitlist(out)
    return int(code), str(res)


def both_ways(interp, scripted, opts: str, **cfg):
    """Send with PIPELINING advertised, then (new server, same replies)
    with ``-pipelining 0``; returns ``(pipelined, lockstep)`` as
    ``((code, result), server)`` pairs."""
    cfg.setdefault("ehlo", PIPE)
    cfg.setdefault("transaction_state", True)
    a = scripted(**cfg)
    ra = send(interp, a.port, opts)
    b = scripted(**cfg)
    rb = send(interp, b.port, opts + " -pipelining 0")
    for s in (a, b):
        s.settle(5)
    return (ra, a), (rb, b)


def delivered(srv):
    """The messages the server took, with Date, Message-ID, Content-ID masked."""
    return [mask_data(d) for d in srv.datas]


def command_reads(conn):
    """The server's reads that held MAIL/RCPT/DATA/RSET lines, as lists of
    verbs (one list per read)."""
    out = []
    for chunk in conn.reads:
        verbs = [l.split(b" ", 1)[0].split(b":", 1)[0].strip().decode() for l in chunk.split(b"\r\n") if l]
        verbs = [v for v in verbs if v in ("MAIL", "RCPT", "DATA", "RSET")]
        if verbs:
            out.append(verbs)
    return out


# -- on the wire ------------------------------------------------------------------

def test_advertised_mail_rcpt_and_data_go_in_one_write(interp, scripted):
    (r, srv), (r0, srv0) = both_ways(interp, scripted, SENDER + " -recipients r@example.org")
    assert r == r0 == (0, "")
    assert command_reads(srv.conns[0])[0] == ["MAIL", "RCPT", "DATA"]
    assert delivered(srv) == delivered(srv0) and len(srv.datas) == 1
    # -pipelining 0: lock-step, one command per read
    assert all(len(v) == 1 for v in command_reads(srv0.conns[0]))


def test_not_advertised_is_lock_step(interp, scripted):
    srv = scripted(transaction_state=True)  # EHLO without PIPELINING
    assert send(interp, srv.port, SENDER + " -recipients {a@example.org, b@example.org}") == (0, "")
    srv.settle(5)
    assert command_reads(srv.conns[0]) == [["MAIL"], ["RCPT"], ["RCPT"], ["DATA"]]


def test_pipelining_only_from_the_ehlo_after_starttls(interp, scripted, server_tls):
    # offered in clear but not over TLS: the EHLO after STARTTLS decides
    srv = scripted(ehlo=PIPE, ehlo_tls=["250-test.example", "250 HELP"], tls_context=server_tls,
                   transaction_state=True)
    assert send(interp, srv.port, SENDER + " -recipients r@example.org") == (0, "")
    srv.settle(5)
    assert srv.conns[0].tls and command_reads(srv.conns[0]) == [["MAIL"], ["RCPT"], ["DATA"]]


def test_several_recipients_atleastone_0_data_waits_for_the_rcpt_replies(interp, scripted):
    (r, srv), (r0, _) = both_ways(interp, scripted, SENDER + " -recipients {a@example.org, b@example.org}")
    assert r == r0 == (0, "")
    assert command_reads(srv.conns[0]) == [["MAIL", "RCPT", "RCPT"], ["DATA"]]


def test_batches_hold_at_most_100_commands(interp, scripted):
    rcpts = ", ".join("r%d@example.org" % i for i in range(250))
    (r, srv), (r0, srv0) = both_ways(interp, scripted, SENDER + " -atleastone 1 -recipients {%s}" % rcpts)
    assert r == r0 == (0, "")
    reads = command_reads(srv.conns[0])
    assert max(len(v) for v in reads) <= BATCH_LIMIT
    # MAIL + 250 RCPT + DATA = 252 commands: at least three writes, DATA last
    assert len(reads) >= 3 and reads[-1][-1] == "DATA"
    assert srv.conns[0].commands == srv0.conns[0].commands


# -- the script sees what lock-step gives it --------------------------------------

def test_refused_mail_is_code_7_and_nothing_is_delivered(interp, scripted):
    (r, srv), (r0, _) = both_ways(interp, scripted, SENDER + " -recipients r@example.org",
                                  mail=["550 5.7.1 Sender rejected"])
    assert r == r0 and r[0] == 7 and "5.7.1 Sender rejected" in r[1] and "550" in r[1]
    # the RCPT and DATA of the batch were refused by the server
    assert srv.conns[0].commands[1:4] == ["MAIL FROM:<a@example.com>", "RCPT TO:<r@example.org>", "DATA"]
    assert srv.datas == [] and srv.conns[0].aborted == []


@pytest.mark.parametrize("atleastone", ["0", "1"])
def test_refused_recipient_among_several(interp, scripted, atleastone):
    (r, srv), (r0, srv0) = both_ways(
        interp, scripted, SENDER + " -atleastone %s -recipients {ok@example.org, gone@example.org}" % atleastone,
        rcpt_map={"gone@": ["550 5.1.1 gone"]})
    assert r == r0 == (0, "{gone@example.org 550 {5.1.1 gone}}")
    assert delivered(srv) == delivered(srv0)
    if atleastone == "0":
        # a refused recipient means RSET, nothing sent: DATA was not pipelined
        assert srv.datas == [] and "DATA" not in srv.conns[0].commands
        assert command_reads(srv.conns[0]) == [["MAIL", "RCPT", "RCPT"], ["RSET"]]
    else:
        assert len(srv.datas) == 1
        assert command_reads(srv.conns[0]) == [["MAIL", "RCPT", "RCPT", "DATA"]]


@pytest.mark.parametrize("atleastone", ["0", "1"])
def test_only_recipient_refused_data_refused_then_rset(interp, scripted, atleastone):
    (r, srv), (r0, _) = both_ways(interp, scripted, SENDER + " -atleastone %s -recipients gone@example.org"
                                  % atleastone, rcpt=["550 5.1.1 gone"])
    assert r == r0 == (0, "{gone@example.org 550 {5.1.1 gone}}")
    assert srv.datas == [] and srv.conns[0].commands[-2:] == ["RSET", "QUIT"]


def test_server_taking_data_where_no_message_may_go_gets_none(interp, scripted):
    # transaction_state off: the server answers 354 after refusing the only
    # recipient (not conforming); lock-step would have sent RSET
    (r, srv), (r0, srv0) = both_ways(interp, scripted, SENDER + " -recipients gone@example.org",
                                     rcpt=["550 5.1.1 gone"], transaction_state=False)
    assert r == r0 == (0, "{gone@example.org 550 {5.1.1 gone}}")
    assert srv.datas == [] and srv0.datas == []
    # the connection was closed without a final dot: the server saw EOF in DATA
    assert srv.conns[0].aborted == [b""]


def test_server_taking_data_after_refused_mail_gets_none(interp, scripted):
    (r, srv), (r0, _) = both_ways(interp, scripted, SENDER + " -recipients r@example.org",
                                  mail=["451 4.3.0 try later"], transaction_state=False)
    assert r == r0 and r[0] == 7 and "451" in r[1]
    assert srv.datas == [] and srv.conns[0].aborted == [b""]


def test_4xx_to_data_is_code_7(interp, scripted):
    (r, srv), (r0, _) = both_ways(interp, scripted, SENDER + " -recipients r@example.org",
                                  data=["451 4.3.0 Local problem"])
    assert r == r0 and r[0] == 7 and "4.3.0 Local problem" in r[1] and "451" in r[1]
    assert srv.datas == []


def test_connection_drop_mid_batch(interp, scripted):
    calls = []

    def rcpt(arg):
        calls.append(arg)
        return [CLOSE] if "two@" in arg else ["250 2.1.5 Ok"]

    (r, srv), (r0, srv0) = both_ways(interp, scripted, SENDER + " -recipients {one@example.org, two@example.org,"
                                     " three@example.org}", rcpt=rcpt)
    tk = interp.tcl.tk
    assert r[0] == r0[0] == 0
    got = [tuple(str(x) for x in tk.splitlist(e)) for e in tk.splitlist(r[1])]
    want = [tuple(str(x) for x in tk.splitlist(e)) for e in tk.splitlist(r0[1])]
    # the same recipients fail, with code 400 (the text of the third may be
    # EOF or the write error, by timing, in lock-step)
    assert [(a, c) for a, c, _ in got] == [(a, c) for a, c, _ in want] == [
        ("two@example.org", "400"), ("three@example.org", "400")]
    assert got[0][2] == want[0][2] == "premature end-of-file from server"
    assert srv.datas == srv0.datas == []


def test_debug_lines_keep_tcllibs_format(interp, scripted):
    srv = scripted(ehlo=PIPE, transaction_state=True)
    lines = []
    interp.context.write_stderr = lines.append  # what -debug writes to Tcl's stderr
    assert send(interp, srv.port, SENDER + " -debug 1 -recipients {a@example.org, b@example.org}") == (0, "")
    i = lines.index("--> MAIL FROM:<a@example.com> (wait upto 600 seconds)")
    assert lines[i:i + 6] == [
        "--> MAIL FROM:<a@example.com> (wait upto 600 seconds)",
        "--> RCPT TO:<a@example.org> (wait upto 3600 seconds)",
        "--> RCPT TO:<b@example.org> (wait upto 3600 seconds)",
        "<-- 250 2.1.0 Ok", "<-- 250 2.1.5 Ok", "<-- 250 2.1.5 Ok"]
    assert lines[i + 6:i + 8] == ["--> DATA (wait upto 300 seconds)", "<-- 354 End data with <CR><LF>.<CR><LF>"]


def test_pipelining_option_is_a_tcl_boolean(interp, scripted):
    srv = scripted(ehlo=PIPE)
    code, res = send(interp, srv.port, SENDER + " -recipients r@example.org -pipelining maybe")
    assert code == 1 and "maybe" in res


# -- the sans-I/O core, driven with reply values ------------------------------------

OK = Reply(250, "ok", lines=["250 ok"])
GONE = Reply(550, "gone", lines=["550 gone"])
GO = Reply(354, "go", lines=["354 go"])
NO_RCPT = Reply(554, "no valid recipients", lines=["554 no valid recipients"])


def names(batch):
    return [type(s.command).__name__ if not isinstance(s.command, cmds.Verb) else s.command.name
            for s in batch]


def test_core_lock_step_sends_rcpt_only_after_mails_reply():
    tx = MailTransaction("a@x.y", ["b@x.y", "c@x.y"], atleastone=False, pipelining=False)
    seen = []
    for reply in (OK, OK, GONE, OK):
        batch = tx.next_batch()
        seen.append(names(batch))
        assert tx.next_batch() == ()  # nothing more until the reply is in
        tx.receive(reply)
    assert seen == [["Mail"], ["Rcpt"], ["Rcpt"], ["RSET"]]
    assert tx.next_batch() == () and tx.phase is Phase.DONE
    assert tx.refused == [("c@x.y", "550", "gone")]


def test_core_pipelined_mail_failure_ignores_the_rest_of_the_batch():
    tx = MailTransaction("a@x.y", ["b@x.y"], atleastone=False, pipelining=True)
    assert names(tx.next_batch()) == ["Mail", "Rcpt", "DATA"]
    for reply in (Reply(550, "no", lines=["550 no"]), Reply(503, "need MAIL", lines=["503 need MAIL"]),
                  Reply(503, "need RCPT", lines=["503 need RCPT"])):
        tx.receive(reply)
    assert tx.next_batch() == () and tx.phase is Phase.FAILED and tx.failure.code == 550
    assert tx.refused == [] and not tx.must_drop


def test_core_354_where_no_message_may_go_means_drop():
    tx = MailTransaction("a@x.y", ["b@x.y"], atleastone=False, pipelining=True)
    tx.next_batch()
    for reply in (OK, GONE, GO):
        tx.receive(reply)
    assert tx.must_drop and tx.phase is Phase.DONE and tx.refused == [("b@x.y", "550", "gone")]


def test_core_opening_rset_goes_with_mail():
    tx = MailTransaction("a@x.y", ["b@x.y"], atleastone=True, pipelining=True, rset_first=True)
    assert names(tx.next_batch()) == ["RSET", "Mail", "Rcpt", "DATA"]
    for reply in (OK, OK, OK, GO):
        tx.receive(reply)
    assert tx.phase is Phase.BODY


def test_core_atleastone_1_all_refused_data_refused_then_rset():
    tx = MailTransaction("a@x.y", ["b@x.y", "c@x.y"], atleastone=True, pipelining=True)
    assert names(tx.next_batch()) == ["Mail", "Rcpt", "Rcpt", "DATA"]
    for reply in (OK, GONE, GONE, NO_RCPT):
        tx.receive(reply)
    assert names(tx.next_batch()) == ["RSET"]
    tx.receive(OK)
    assert tx.phase is Phase.DONE and len(tx.refused) == 2


def test_core_batches_are_capped():
    rcpts = ["r%d@x.y" % i for i in range(150)]
    tx = MailTransaction("a@x.y", rcpts, atleastone=True, pipelining=True, batch_limit=100)
    first = tx.next_batch()
    assert len(first) == 100 and names(first)[0] == "Mail"
    for _ in first:
        tx.receive(OK)
    second = tx.next_batch()
    assert len(second) == 52 and names(second)[-1] == "DATA"  # MAIL + 150 RCPT + DATA
    for _ in second[:-1]:
        tx.receive(OK)
    tx.receive(GO)
    assert tx.phase is Phase.BODY and tx.accepted == 150
