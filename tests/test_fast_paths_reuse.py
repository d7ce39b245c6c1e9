"""The per-message shortcuts of the reuse path give exactly what the code
they stand in for gives (issue 9, item 2): a reply already received is
read by ``Session.hear`` inline (``take_reply``'s work), ``poll_input``
asks a poll object before ``recv``, the header table gives its pairs in
one comprehension and says at C speed whether any value is non-ASCII.

The references are the previous implementations, kept as executable
definitions; hypothesis is derandomized (the ``gate`` profile's way), and
the sockets are real (a connected pair on 127.0.0.1).
"""
from __future__ import annotations

import socket
from typing import Any, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysmtp_tcl.mime import Entity, eai
from pysmtp_tcl.mime.headers import Headers, ScriptValue
from pysmtp_tcl.smtp import connection, session
from pysmtp_tcl.smtp.replies import Reply

GATE = settings(derandomize=True, deadline=None, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- the header table (mime/headers.py, mime/eai.py) -------------------------------

names = st.sampled_from(["To", "to", "Subject", "X-A", "x-a", "Date", "From", "Cc"])
values = st.one_of(st.text(max_size=12),
                   st.text(alphabet=st.sampled_from(list("ab <>@.\"é\u00e9ü\u4e2d\ud800")), max_size=16))
script = st.booleans()


def _table(ops) -> Headers:
    h = Headers()
    for op, name, value, is_script in ops:
        v = ScriptValue(value) if is_script else value
        if op == "append":
            h.append(name, v)
        elif op == "write":
            h.write(name, v)
        elif name in h:
            h.delete(name)
    return h


ops = st.lists(st.tuples(st.sampled_from(["append", "append", "write", "delete"]), names, values, script),
               max_size=10)


@GATE
@given(ops=ops)
def test_pairs_and_all_ascii_are_the_item_walk(ops):
    h = _table(ops)
    assert h.pairs() == list(h.items())
    assert h.all_ascii() == all(v.isascii() for _, v in h.items())


def _utf8_field_reference(entity: Any) -> Optional[eai.Utf8Field]:
    # eai.utf8_field before the all_ascii shortcut
    stack = [entity]
    while stack:
        e = stack.pop()
        for name, value in e.headers.items():
            if isinstance(value, ScriptValue) and not value.isascii():
                found = eai.utf8_only(name, value)
                if found is not None:
                    return eai.Utf8Field(name, *found)
        if e.value == "parts" and not e.dead:
            parts = e.parts[:1] if e.content.startswith("message/") else e.parts
            stack.extend(reversed(parts))
    return None


addresses = st.sampled_from(["a@b.example", "josé@b.example", "a@bé.example", "\"x y\" <ü@c.example>",
                             "plain text", "中文 <a@b.example>", "x@y"])


@GATE
@given(heads=st.lists(st.lists(st.tuples(st.sampled_from(["To", "Cc", "Subject", "X-A"]),
                                         st.one_of(addresses, values), script), max_size=4),
                      min_size=1, max_size=3),
       message=st.booleans())
def test_utf8_field_is_the_item_walk(heads, message):
    parts: List[Entity] = []
    for fields in heads[1:]:
        e = Entity.create("text/plain", string="x")
        for name, value, is_script in fields:
            e.headers.append(name, ScriptValue(value) if is_script else value)
        parts.append(e)
    top = Entity.create("message/rfc822" if message else "multipart/mixed", parts=parts) if parts \
        else Entity.create("text/plain", string="x")
    for name, value, is_script in heads[0]:
        top.headers.append(name, ScriptValue(value) if is_script else value)
    assert eai.utf8_field(top) == _utf8_field_reference(top)


# --- reading replies (smtp/connection.py, smtp/session.py) -----------------------

@pytest.fixture
def pair():
    server = socket.create_server(("127.0.0.1", 0))
    conn = connection.Connection(connection.SelectorReactor())
    conn.connect("127.0.0.1", server.getsockname()[1], 5)
    peer, _ = server.accept()
    server.close()
    yield conn, peer
    conn.close()
    peer.close()


def _reference_poll(conn: connection.Connection, data_only: bool) -> bool:
    # poll_input before the poll object: recv answers alone
    if conn._buf or (conn._eof and not data_only):
        return True
    if conn.sock is None:
        return False
    try:
        chunk = conn.sock.recv(65536)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return not data_only
    if not chunk:
        conn._eof = True
        return not data_only
    conn._buf += chunk
    return True


def _settle(conn: connection.Connection) -> None:
    # wait (event-based) until the kernel shows what the peer did
    import select

    assert select.select([conn.sock], [], [], 10)[0]


@pytest.mark.parametrize("data_only", [False, True])
@pytest.mark.parametrize("reference", [False, True])
def test_poll_input_answers_as_recv_did(pair, data_only, reference):
    conn, peer = pair
    poll = (lambda: _reference_poll(conn, data_only)) if reference else (lambda: conn.poll_input(data_only))
    assert poll() is False  # nothing sent
    assert poll() is False  # asked again: the same poll object
    peer.sendall(b"250 ok\r\n")
    _settle(conn)
    assert poll() is True
    assert bytes(conn._buf) == b"250 ok\r\n"
    conn._buf.clear()
    assert poll() is False
    peer.close()  # the server closes: EOF is input unless data_only
    _settle(conn)
    assert poll() is (not data_only)
    if not data_only:
        assert conn._eof
    conn.close()
    assert poll() is (not data_only and conn._eof)


def test_poll_input_follows_a_new_socket(pair):
    conn, peer = pair
    assert conn.poll_input() is False
    first = conn._poller
    assert first is not None and first[0] is conn.sock
    conn.close()
    assert conn._poller is None
    server = socket.create_server(("127.0.0.1", 0))
    try:
        conn.connect("127.0.0.1", server.getsockname()[1], 5)
        peer2, _ = server.accept()
    finally:
        server.close()
    try:
        assert conn.poll_input() is False
        assert conn._poller is not None and conn._poller[0] is conn.sock
        peer2.sendall(b"221 bye\r\n")
        _settle(conn)
        assert conn.poll_input() is True
    finally:
        peer2.close()


reply_line = st.one_of(
    st.sampled_from(["250 ok", "250-PIPELINING", "250-SIZE 100", "354 go", "221 bye", "421 closing",
                     "250 ", "25", "abc def", "250-", "550 5.1.1 no"]),
    st.text(alphabet=st.sampled_from(list("0123456789- abc\r")), max_size=10))


@GATE
@given(lines=st.lists(reply_line, min_size=1, max_size=6), tail=st.sampled_from([b"", b"\n", b"250 x", b"2"]),
       debug=st.booleans())
def test_hear_inline_is_take_reply(lines, tail, debug):
    data = b"".join(line.encode("latin-1") + b"\n" for line in lines) + tail
    said: List[str] = []

    def make() -> session.Session:
        c = connection.Connection(connection.SelectorReactor())
        c._buf += data
        return session.Session(conn=c, opts=session.SessionOptions(), debug=said.append if debug else None)

    s = make()
    expected = s.conn.take_reply()  # the reference: what hear's first step was
    rest = bytes(s.conn._buf)
    if expected is None:
        return  # left to the line-by-line reader, as before
    shown = ["<-- " + line for line in expected.lines] if debug else []
    s2 = make()
    got = s2.hear(5)
    assert got == expected
    assert bytes(s2.conn._buf) == rest
    assert said == shown


def test_hear_on_a_dead_session_reads_nothing():
    c = connection.Connection(connection.SelectorReactor())
    c._buf += b"250 ok\n"
    s = session.Session(conn=c, opts=session.SessionOptions())
    s.dead = "gone"
    assert s.hear(5) == Reply.failure("gone")
    assert bytes(c._buf) == b"250 ok\n"


# --- mime::initialize -canonical X -string S (bridge/mime_commands.py) -------------

@pytest.fixture(scope="module")
def tcl():
    from pysmtp_tcl import Interpreter

    return Interpreter()


canonicals = st.one_of(st.sampled_from(["text/plain", "TEXT/Plain", "text/html; charset=utf-8", "text",
                                        "text/plain\nX-Evil: 1", "application/octet-stream", "a/b c",
                                        "multipart/mixed", "message/rfc822", "", "text/plain;"]),
                       st.text(alphabet=st.sampled_from(list("tx/;= \"\r\n\x00é")), max_size=12))
bodies = st.text(alphabet=st.sampled_from(list("ab \n\r.\x00é{}\\$[")), max_size=20)

#: what a script sees of an initialize: its error, or the entity (the
#: Content-ID line, which numbers every call, and the random multipart
#: boundary left out)
_REPORT = """{words} {
    if {[catch {mime::initialize {*}$words} tok]} { return [list error $tok] }
    set out [list ok [mime::getproperty $tok] [mime::getheader $tok -names]]
    set text [regsub -line {^Content-ID: .*$} [mime::buildmessage $tok] {}]
    lappend out [regsub -all {boundary="[^"]*"} $text {boundary=B}]
    mime::finalize $tok
    return $out
}"""


@GATE
@given(canonical=canonicals, body=bodies)
def test_initialize_shortcut_is_the_option_loop(tcl, canonical, body):
    # the shortcut takes exactly "-canonical X -string S"; the same options
    # in the other order go through the general loop
    fast = tcl.call("apply", _REPORT, ("-canonical", canonical, "-string", body))
    loop = tcl.call("apply", _REPORT, ("-string", body, "-canonical", canonical))
    assert str(fast) == str(loop)


batch_reply = st.one_of(st.sampled_from(["250 2.1.0 Ok", "250 2.1.5 Ok", "354 go", "550 no", "421 bye", "250-a", "25"]),
                        st.text(alphabet=st.sampled_from(list("0123456789- ok")), max_size=8))


def _exchange_both_ways(data: bytes, n: int) -> None:
    # exchange reads a batch's further replies inline when they are already
    # received and nothing is shown; with -debug every reply goes through
    # hear.  Both must give the same replies, leave the same octets unread
    # and the session in the same state.
    from pysmtp_tcl.smtp.dialogue import _mail_step, _rcpt_step

    batch = (_mail_step("a@x.test", ()),) + tuple(_rcpt_step("r%d@x.test" % i) for i in range(n - 1))
    results = []
    for debug in (None, [].append):
        server = socket.create_server(("127.0.0.1", 0))
        conn = connection.Connection(connection.SelectorReactor())
        conn.connect("127.0.0.1", server.getsockname()[1], 5)
        peer, _ = server.accept()
        server.close()
        try:
            peer.sendall(data)
            peer.shutdown(socket.SHUT_WR)  # then EOF: a reply that never comes fails at once
            s = session.Session(conn=conn, opts=session.SessionOptions(), debug=debug)
            got = s.exchange(batch)
            results.append(([(r.code, r.diagnostic, r.args, r.lines, r.local) for r in got],
                            bytes(conn._buf), s.dead, s.lost))
        finally:
            conn.close()
            peer.close()
    assert results[0] == results[1]


@settings(GATE, max_examples=60)
@given(lines=st.lists(batch_reply, min_size=1, max_size=5), n=st.integers(2, 3))
def test_exchange_takes_received_replies_as_hear_does(lines, n):
    _exchange_both_ways(b"".join(line.encode("latin-1") + b"\r\n" for line in lines), n)


def test_exchange_after_an_unusable_reply_reads_no_more():
    # a reply of too many lines makes the stream unusable (dead) with octets
    # still received: the rest of the batch fails, nothing more is parsed
    from pysmtp_tcl.smtp.replies import MAX_LINES

    _exchange_both_ways(b"250-x\r\n" * (MAX_LINES + 1) + b"250 ok\r\n250 ok\r\n", 2)
