"""Round trips a send needs, counted through a delaying loopback proxy
(tests/support/latency.py) as client-to-server flights: PIPELINING turns
MAIL + 100 RCPTs into one or two batches, reuse drops connect, greeting,
EHLO and QUIT from every message but the first.  (Times are for
``bench/``; flights do not depend on the machine's load.)"""
from __future__ import annotations

import gc

import pytest

from support.latency import DelayProxy

PIPE = ["250-test.example", "250-PIPELINING", "250 HELP"]
DELAY = 0.002  # the counts do not depend on it; keeps the lock-step cases short


@pytest.fixture(autouse=True)
def _collect_in_this_thread():
    yield
    gc.collect()


@pytest.fixture
def proxied(scripted):
    proxies = []

    def make(**cfg):
        srv = scripted(**cfg)
        proxy = DelayProxy(srv.port, DELAY)
        proxies.append(proxy)
        return srv, proxy

    yield make
    for p in proxies:
        p.stop()


def send(interp, port, opts, count=1):
    return interp.eval(r"""
        set out {}
        for {set i 0} {$i < %d} {incr i} {
            set tok [mime::initialize -canonical text/plain -string "message $i"]
            lappend out [catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports %d -originator a@example.com %s} r] $r
            mime::finalize $tok
        }
        set out
    """ % (count, port, opts))


RCPTS = "-recipients {%s}" % ", ".join("r%d@example.org" % i for i in range(100))


@pytest.mark.parametrize("pipelining, flights", [
    # EHLO, MAIL+99 RCPT, the 100th RCPT (a batch holds 100 commands), DATA,
    # message, dot and QUIT
    ("", 5),
    # EHLO, MAIL, 100 x RCPT, DATA, message and dot, QUIT
    ("-pipelining 0", 105),
])
def test_one_message_to_100_recipients(interp, proxied, pipelining, flights):
    srv, proxy = proxied(ehlo=PIPE, transaction_state=True)
    assert send(interp, proxy.port, RCPTS + " " + pipelining) == "0 {}"
    srv.settle(5)
    assert proxy.flights() == flights
    assert len(srv.datas) == 1


def test_100_recipients_atleastone_1_data_joins_the_last_batch(interp, proxied):
    srv, proxy = proxied(ehlo=PIPE, transaction_state=True)
    assert send(interp, proxy.port, RCPTS + " -atleastone 1") == "0 {}"
    srv.settle(5)
    assert proxy.flights() == 4  # EHLO, MAIL+99 RCPT, RCPT+DATA, message+dot+QUIT


@pytest.mark.parametrize("reuse, pipelining, flights", [
    (False, True, 10 * 3),     # EHLO, MAIL+RCPT+DATA, message+dot+QUIT
    (False, False, 10 * 6),    # EHLO, MAIL, RCPT, DATA, message, QUIT
    (True, True, 1 + 10 * 2 + 1),  # EHLO once; QUIT when the interpreter closes
    (True, False, 1 + 10 * 4 + 1),
])
def test_ten_messages(proxied, reuse, pipelining, flights):
    from pysmtp_tcl import Interpreter

    srv, proxy = proxied(ehlo=PIPE if pipelining else ["250-test.example", "250 HELP"])
    interp = Interpreter(reuse=True) if reuse else Interpreter()
    assert send(interp, proxy.port, "-recipients r@example.org", count=10) == " ".join(["0 {}"] * 10)
    interp.close()  # kept connections get QUIT
    srv.settle(5)
    assert len(srv.datas) == 10 and proxy.connections == (1 if reuse else 10)
    assert srv.conns[-1].commands[-1] == "QUIT"
    assert proxy.flights() == flights
