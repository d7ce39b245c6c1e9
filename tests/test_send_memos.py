"""The per-send memos of issue 9 item 2 give exactly what the code they
stand in for gives.

A script that sends many messages repeats its options, its envelope and
the kind of message it sends; these results are kept by exactly the inputs
they are functions of: ``smtp::sendmessage``'s option words (parse_options),
the envelope (sendmessage.prepare: derive + check_envelope, with the token
numbers the address parses use up spent again), a small string body's
transfer label (Entity.transfer_label), and the outgoing copy's appended
headers are checked as set_header checks them.  Each property compares the
kept answer with the straightforward computation on generated inputs
(hypothesis, derandomized), errors included.  The pool's one sweep timer
closes idle connections when per-connection timers would have.
"""
from __future__ import annotations

from typing import Any, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysmtp_tcl.mime import Entity, address
from pysmtp_tcl.mime import model as mime_model
from pysmtp_tcl.mime.headers import HeaderValueError
from pysmtp_tcl.mime.model import MimeError
from pysmtp_tcl.smtp import envelope as envmod
from pysmtp_tcl.smtp import pool as pool_mod
from pysmtp_tcl.smtp import sendmessage as sm
from pysmtp_tcl.smtp.connection import SMTPIOError

from support.mime_refs import ref_derived

GATE = settings(derandomize=True, deadline=None, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _outcome(fn, *args, **kw):
    try:
        return ("ok", fn(*args, **kw))
    except (envmod.EnvelopeError, sm.InputError, MimeError, HeaderValueError) as e:
        return ("error", type(e).__name__, str(e))


# --- the envelope (sendmessage.prepare) ---------------------------------------------

class _Services:
    """Services as the bridge makes them, with a pure parser and counters
    for the side effects (token numbers, Date, Message-ID)."""

    def __init__(self, memo: bool) -> None:
        self.tokens = 0
        self.users = 0
        self.ids = 0

        def parse(text: str):
            self.tokens += 1
            return [dict(a) for a in address.parseaddress(text, "client.test")]

        def user() -> str:
            self.users += 1
            return "scriptuser"

        def uid() -> str:
            self.ids += 1
            return "<id%d@client.test>" % self.ids

        def spend(n: int) -> None:
            self.tokens += n

        self.services = sm.Services(parse_addresses=parse, now_proper=lambda: "Thu, 1 Jan 2026 00:00:00 +0000",
                                    unique_id=uid, user=user,
                                    parse_quietly=lambda s: address.parseaddress(s, "client.test"),
                                    spend_parses=spend if memo else None, envelopes={} if memo else None)


addresses = st.sampled_from(["a@b.test", "A <a@b.test>", "c@d.test, e@f.test", "user", "", "bad@", "<>",
                             "x y <z@w.test>", "\"q\\\"x\"@e.test", "a@b.test (c)", "\u00e9@b.test",
                             "a@b.test\n c@d.test", "p\t@q.test"])
header_names = st.sampled_from(["To", "cc", "Bcc", "From", "Sender", "Subject", "Date", "Message-ID",
                                "Resent-To", "Resent-From", "Dcc", "X-A", "Resent-Date", "Content-Type"])
header_values = st.one_of(addresses, st.sampled_from(["hello", "a\r\nb", "x\ny", " \t", "\u00e9t\u00e9"]))


def _entity(date: bool, mid: bool, bcc: bool) -> Entity:
    headers = []
    if date:
        headers.append(("Date", "Wed, 31 Dec 2025 00:00:00 +0000"))
    if mid:
        headers.append(("Message-ID", "<given@client.test>"))
    if bcc:
        headers.append(("Bcc", "hidden@b.test"))
    return Entity.create("text/plain", headers=headers, string="body\n")


def _view(prepared: sm.Prepared) -> Any:
    env = prepared.envelope
    return (env.sender, env.recipients, env.bcc, env.headers, env.originator, env.subject, env.bcc_name,
            env.has_bcc, env.needs, env.sender_source, env.recipient_parts, env.bcc_parts,
            list(prepared.outgoing.headers.items()))


@GATE
@given(originator=st.one_of(st.none(), addresses), recipients=st.one_of(st.just(""), addresses),
       headers=st.lists(st.tuples(header_names, header_values), max_size=4),
       entities=st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), min_size=1, max_size=4))
def test_a_kept_envelope_is_the_one_derived_again(originator, recipients, headers, entities):
    plain, kept = _Services(memo=False), _Services(memo=True)
    for date, mid, bcc in entities:
        req = sm.SendRequest(entity=_entity(date, mid, bcc), originator=originator, recipients=recipients,
                             headers=tuple(headers), atleastone=False, session=sm.SessionOptions())
        a = _outcome(sm.prepare, req, plain.services)
        b = _outcome(sm.prepare, req, kept.services)
        a = a if a[0] == "error" else ("ok", _view(a[1]))
        b = b if b[0] == "error" else ("ok", _view(b[1]))
        assert a == b
        # the same side effects: token numbers, user look-ups, Message-IDs
        assert (plain.tokens, plain.users, plain.ids) == (kept.tokens, kept.users, kept.ids)


def test_the_envelope_is_kept_and_the_parses_spent_again():
    kept = _Services(memo=True)
    req = sm.SendRequest(entity=_entity(False, False, False), originator="a@b.test", recipients="",
                         headers=(("To", "c@d.test"), ("Subject", "s")), atleastone=False,
                         session=sm.SessionOptions())
    first = sm.prepare(req, kept.services)
    spent = kept.tokens
    assert spent == 2
    second = sm.prepare(req, kept.services)
    assert second.envelope is first.envelope and kept.tokens == 2 * spent
    assert second.outgoing is not first.outgoing and kept.ids == 2  # a new Message-ID each time


def test_the_originator_of_last_resort_is_never_kept():
    kept = _Services(memo=True)
    req = sm.SendRequest(entity=_entity(False, False, False), originator=None, recipients="c@d.test",
                         headers=(), atleastone=False, session=sm.SessionOptions())
    sm.prepare(req, kept.services)
    sm.prepare(req, kept.services)
    assert kept.users == 2 and not kept.services.envelopes


# --- the outgoing copy's headers (Entity.derived) -----------------------------------

derived_names = st.sampled_from(["To", "X-A", "x-a", "Content-Type", "content-transfer-encoding", "MIME-Version",
                                 "Content-MD5", "Bad Name", "A:B", "\u00e9", "Date", ""])
derived_values = st.sampled_from(["v", "", "text/plain", "1.0", "7bit", "a\r\nb", "a\n b", "a\x00b", "\u00e9",
                                  "text/plain; charset=us-ascii"])


@GATE
@given(pairs=st.lists(st.tuples(derived_names, derived_values), max_size=5),
       without=st.lists(st.sampled_from(["Bcc", "To", "X-A"]), max_size=2),
       has=st.lists(st.tuples(st.sampled_from(["Bcc", "X-A", "To"]), st.just("w")), max_size=3))
def test_derived_appends_as_set_header_does(pairs, without, has):
    e = Entity.create("text/plain", headers=has, string="x")
    a = _outcome(ref_derived, e, pairs, without)
    b = _outcome(e.derived, pairs, without)
    if a[0] == "ok" and b[0] == "ok":
        assert list(a[1].headers.items()) == list(b[1].headers.items())
        assert [type(v) for _, v in a[1].headers.items()] == [type(v) for _, v in b[1].headers.items()]
    else:
        assert a == b


# --- transfer labels (Entity.transfer_label) ---------------------------------------------

bodies = st.lists(st.sampled_from(list("ab .\n\r\t\x00\xe9\u20acF") + ["From ", "\n.", " \n"]),
                  max_size=30).map("".join)


@GATE
@given(content=st.sampled_from(["text/plain", "application/octet-stream", "image/png", "message/rfc822",
                                "text/html"]),
       charset=st.sampled_from([None, "us-ascii", "utf-8", "iso-8859-1", "koi8-r"]),
       encoding=st.sampled_from(["", "7bit", "8bit", "binary", "base64", "quoted-printable"]),
       body=st.one_of(bodies, st.integers(0, 1200).map(lambda n: "x" * n + "\n")),
       canonical=st.booleans())
def test_a_kept_transfer_label_is_the_one_worked_out(content, charset, encoding, body, canonical):
    e = Entity.create(content, params=[("charset", charset)] if charset else [], encoding=encoding,
                      string=body)
    e.canonical = canonical
    expect = e._transfer_label()
    assert e.transfer_label() == expect
    assert e.transfer_label() == expect  # kept
    twin = Entity.create(content, params=[("charset", charset)] if charset else [], encoding=encoding,
                         string=body)
    twin.canonical = canonical
    assert twin.transfer_label() == twin._transfer_label() == expect


def test_the_transfer_label_memo_stays_small():
    for n in range(mime_model._LABEL_MEMO_SIZE + 10):
        Entity.create("text/plain", string="body %d\n" % n).transfer_label()
    assert len(mime_model._LABELS) <= mime_model._LABEL_MEMO_SIZE
    big = Entity.create("text/plain", string="y" * (mime_model._LABEL_MEMO_BODY + 1))
    big.transfer_label()
    assert all(len(k[-1]) <= mime_model._LABEL_MEMO_BODY for k in mime_model._LABELS)


# --- option words (bridge/smtp_commands.parse_options) ---------------------------------

option_words = st.lists(st.sampled_from(["-servers", "127.0.0.1", "-ports", "25", "-debug", "1", "0", "yes",
                                         "-header", "To a@b.test", "{Subject x}", "Content-Type x",
                                         "-originator", "a@b.test", "-maxsecs", "0x10", "1e2", "abc",
                                         "-authmechanism", "plain", "-bogus", "-queue", "{a b", "x\ny"]),
                        max_size=8)


@pytest.fixture(scope="module")
def ctx():
    from pysmtp_tcl import Interpreter

    return Interpreter().context


def _parsed(fn, ctx, args):
    from pysmtp_tcl.bridge.registry import TclError

    try:
        return ("ok", fn(ctx, args))
    except TclError as e:
        return ("error", e.message, e.errorcode)


@GATE
@given(words=st.lists(option_words, min_size=1, max_size=3))
def test_kept_options_are_the_words_parsed_again(ctx, words):
    from pysmtp_tcl.bridge import smtp_commands as sc

    for w in words + words[:1]:
        args = tuple(w)
        assert _parsed(sc._options, ctx, args) == _parsed(sc.parse_options, ctx, args)


def test_a_cafile_is_read_at_every_send(ctx, tmp_path):
    from pysmtp_tcl.bridge import smtp_commands as sc
    from pysmtp_tcl.bridge.registry import TclError

    path = tmp_path / "ca.pem"
    args = ("-cafile", str(path))
    for _ in range(2):  # no file: refused both times
        with pytest.raises(TclError, match="-cafile"):
            sc._options(ctx, args)
    assert ctx.memo.get("options", (None,))[0] != args


# --- the pool's sweep timer (smtp/pool.py) -------------------------------------------------

class _Timers:
    def __init__(self) -> None:
        self.pending: List[Any] = []  # [due, fn]

    def call_later(self, seconds, fn):
        entry = [clock.now + seconds, fn]
        self.pending.append(entry)
        return entry

    def cancel(self, handle):
        if handle in self.pending:
            self.pending.remove(handle)

    def watch(self, sock, fn):
        pass

    def unwatch(self, sock):
        pass

    def run_due(self):
        while True:
            due = [e for e in self.pending if e[0] <= clock.now]
            if not due:
                return
            e = min(due, key=lambda x: x[0])
            self.pending.remove(e)
            e[1]()


class _Clock:
    now = 0.0

    def __call__(self):
        return self.now


clock = _Clock()


class _Conn:
    def __init__(self) -> None:
        self.sock = object()
        self.reactor = None
        self.closed = False

    def send(self, data, timeout):
        raise SMTPIOError("gone")  # _quit then just closes

    def close(self):
        self.closed = True
        self.sock = None

    def poll_input(self):
        return False


class _Session:
    debug = None
    delivered = True

    def __init__(self) -> None:
        self.conn = _Conn()


@GATE
@given(ops=st.lists(st.tuples(st.sampled_from(["put", "take", "wait"]), st.integers(0, 2),
                              st.sampled_from([0.0, 0.1, 0.5, 0.999, 1.0, 1.5, 3.0])), max_size=25))
def test_one_sweep_timer_closes_each_idle_session_after_its_idle_time(ops):
    clock.now = 0.0
    timers = _Timers()
    pool = pool_mod.Pool(idle=1.0, timers=timers, clock=clock)
    since = {}
    for op, key, dt in ops:
        if op == "put":
            s = _Session()
            pool.put(key, s)
            since[key] = (s, clock.now)
        elif op == "take":
            got = pool.take(key)
            if key in since:
                s, t = since.pop(key)
                assert got is s  # never taken from the pool by the sweep before its time
        else:
            clock.now += dt
            timers.run_due()
            slack = pool_mod._TIMER_SLACK
            for k, (s, t) in list(since.items()):
                age = clock.now - t
                if age >= 1.0 + 2 * slack:
                    # its time has come: closed, and gone from the pool
                    assert s.conn.closed and pool_mod.Pool.take(pool, k) is None
                    since.pop(k)
                elif age < 1.0 - slack:
                    assert not s.conn.closed
                elif s.conn.closed:
                    since.pop(k)
        # a timer is pending whenever a session is idle
        assert not since or timers.pending
        assert len(timers.pending) <= 1


# --- ::mime::parsedatetime watched by a trace (bridge/smtp_commands.py) -----------------

@pytest.mark.parametrize("change", [
    'proc ::mime::parsedatetime {value property} {return "Thu, 01 Jan 2026 00:00:00 +0000"}',
    'rename ::mime::parsedatetime ::mime::pdt0; '
    'proc ::mime::parsedatetime {value property} {return "Thu, 01 Jan 2026 00:00:00 +0000"}',
    'rename ::mime::parsedatetime {}; interp alias {} ::mime::parsedatetime {} apply '
    '{{value property} {return "Thu, 01 Jan 2026 00:00:00 +0000"}}',
])
def test_the_shim_is_watched_send_after_send(interp, aio, change):
    import re

    def send():
        interp.eval("smtp::sendmessage [mime::initialize -canonical text/plain -string hi] -servers 127.0.0.1 "
                    "-ports %d -usetls 0 -originator a@example.com -header {To rcpt@example.org}" % srv.port)

    def date(data: bytes) -> str:
        return re.search(rb"\r\nDate: ([^\r]*)\r\n", data).group(1).decode()

    srv = aio()
    send()
    send()  # the shim is watched now
    interp.eval(change)
    send()
    send()
    dates = [date(m["data"]) for m in srv.messages]
    assert len(dates) == 4
    assert dates[0] != "Thu, 01 Jan 2026 00:00:00 +0000" and dates[2:] == ["Thu, 01 Jan 2026 00:00:00 +0000"] * 2


# --- a command of the script's that tcllib runs during a send fails -----------------------

_SCRIPT_FAILURES = [
    "rename ::mime::parsedatetime {}",
    "proc ::mime::parsedatetime {value property} {error \"no clock here\" {} {MY CODE}}",
]


@pytest.mark.parametrize("change", _SCRIPT_FAILURES)
def test_a_failing_script_command_gives_its_own_error_as_in_tcllib(interp, aio, change):
    # tcllib's sendmessage runs ::mime::parsedatetime -now proper for the
    # Date field; when the script removed or broke it, the script got
    # "internal error in pysmtp-tcl" (SMTP INTERNAL) where tcllib passes on
    # that command's error.  Nothing is sent either way.
    import subprocess

    from support.oracle import oracle

    srv = aio()
    script = ("package require mime; package require smtp\n%s\n"
              "set t [mime::initialize -canonical text/plain -string hi]\n"
              "set rc [catch {smtp::sendmessage $t -servers 127.0.0.1 -ports %d -usetls 0 "
              "-originator a@example.com -header {To rcpt@example.org}} m]\n"
              "puts [list $rc $m $::errorCode]\n" % (change, srv.port))
    o = oracle()
    theirs = subprocess.run(o.command(), input=script, capture_output=True, text=True,
                            env=o.environ(), timeout=60)
    interp.eval(change)
    interp.tcl.tk.call("set", "::p", srv.port)
    ours = interp.eval("set t [mime::initialize -canonical text/plain -string hi]\n"
                       "set rc [catch {smtp::sendmessage $t -servers 127.0.0.1 -ports $::p -usetls 0 "
                       "-originator a@example.com -header {To rcpt@example.org}} m]\n"
                       "list $rc $m $::errorCode")
    assert theirs.stdout.strip() == ours
    assert ours.startswith("1 ") and "INTERNAL" not in ours
    assert srv.messages == []
