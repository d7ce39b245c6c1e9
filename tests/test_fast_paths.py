"""The per-message fast paths give exactly what the straightforward code
they stand in for gives (issue 9, item 2).

Each fast path answers only the inputs it can judge at C speed and leaves
the others to the general code; the references below are the previous
implementations, kept as executable definitions, and every property
compares the two on generated inputs (hypothesis, derandomized: the
``gate`` profile of conftest.py).  End-to-end tests check what a script can
see: Tcl's own list splitting, the script's ``::env(TZ)`` and
``$tcl_platform(user)`` followed send by send, the same Date header.
"""
from __future__ import annotations

import os
import re
import socket
import tkinter
from typing import List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysmtp_tcl.bridge import options
from pysmtp_tcl.mime import Entity, generate
from pysmtp_tcl.mime import generator as mime_generator
from pysmtp_tcl.mime import headers as mime_headers
from pysmtp_tcl.mime.headers import HeaderValueError, ScriptValue
from pysmtp_tcl.smtp import connection, session
from pysmtp_tcl.smtp.datawriter import DataEncoder, LineTooLong
from pysmtp_tcl.smtp.replies import MAX_LINES, Reply, ReplyAssembler, parse_reply
from pysmtp_tcl.smtp.sendmessage import message_source

GATE = settings(derandomize=True, deadline=None, max_examples=400,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- Tcl lists (bridge/options.py) ------------------------------------------------

@pytest.fixture(scope="module")
def tk():
    return tkinter.Tcl().tk


list_text = st.text(alphabet=st.sampled_from(list(" \t\n\v\f\r{}\"\\[]$;#abcXYZ@.-_:=~|\x00\x01\x7f\xa0é\u2028")),
                    max_size=24)


@GATE
@given(value=st.one_of(list_text, st.text(max_size=24)))
def test_plain_list_splits_as_tcl_does(tk, value):
    plain = options.plain_list(value)
    if plain is None:
        return  # left to Tcl
    assert plain == [str(x) for x in tk.call("lrange", value, 0, "end") or ()]


def test_plain_list_takes_the_usual_values():
    assert options.plain_list("127.0.0.1") == ["127.0.0.1"]
    assert options.plain_list("To sink@sink.test") == ["To", "sink@sink.test"]
    assert options.plain_list(" a  b ") == ["a", "b"]
    assert options.plain_list("") == []
    for odd in ("{a b} c", 'a "b"', "a\\ b", "a\tb", "a\nb", "é"):
        assert options.plain_list(odd) is None


# --- header names and values (mime/headers.py, bridge/options.py) ---------------------

def ref_valid_field_name(name: str) -> bool:
    return bool(name) and all(32 < ord(c) < 127 and c != ":" for c in name)


_REF_BREAK = re.compile(r"\r\n|\r|\n")


def ref_check_header_value(name: str, value: str) -> None:
    if any(c in name for c in "\r\n\x00"):
        raise HeaderValueError('header name "%s" contains a line break or NUL (header injection)'
                               % mime_headers.visible(name))
    if "\x00" in value:
        raise HeaderValueError("value of header %s contains NUL" % name)
    n = len(value)
    for m in _REF_BREAK.finditer(value):
        j = m.end()
        if m.group() == "\r":
            raise HeaderValueError("value of header %s contains a bare CR" % name)
        if j >= n or value[j] not in " \t":
            raise HeaderValueError("value of header %s contains a line break not followed by"
                                   " white space (header injection)" % name)


header_text = st.text(alphabet=st.sampled_from(list("aZ09 \t:;!~\x7f\x1f\r\n\x00é\u2028-")), max_size=16)


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except (HeaderValueError, options.TclError) as e:
        return (type(e).__name__, str(e))


@GATE
@given(name=st.one_of(header_text, st.text(max_size=8)), value=st.one_of(header_text, st.text(max_size=16)))
def test_header_checks_match_the_per_character_rules(name, value):
    assert mime_headers.valid_field_name(name) == ref_valid_field_name(name)
    assert outcome(mime_headers.check_header_value, name, value) == outcome(ref_check_header_value, name,
                                                                           value)
    # smtp::sendmessage -header: the same name rule
    got = outcome(options.refuse_header_injection, "-header", name, value)
    if not ref_valid_field_name(name):
        assert got[0] == "TclError" and "is not a valid header field name" in got[1]
    else:
        assert got[0] == "ok" or "would inject header fields" in got[1]


# --- replies (smtp/replies.py) ------------------------------------------------------------

def assemble(buf: bytes):
    """The reply ReplyAssembler makes of ``buf``'s lines, and the octets
    those lines take; None when the lines run out first."""
    asm = ReplyAssembler()
    pos = 0
    while True:
        i = buf.find(b"\n", pos)
        if i < 0:
            return None
        raw = buf[pos:i]
        pos = i + 1
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        reply = asm.add(raw.decode("latin-1"))
        if reply is not None:
            return reply, pos


def fields(r: Reply):
    return (r.code, r.diagnostic, r.args, r.lines, r.local, r.keys, r.well_formed)


reply_line = st.one_of(
    st.tuples(st.sampled_from(["250", "220", "354", "421", "554", "099", "25", "2a0", "abc"]),
              st.sampled_from(["-", " ", "", "\r", "x", "- "]),
              st.text(alphabet=st.sampled_from(list("ok PIPELINING SIZE 1\r\t\xe9\x85")), max_size=12),
              st.sampled_from(["\r\n", "\n", "\r\r\n"])).map(lambda t: "".join(t).encode("latin-1")),
    st.binary(max_size=12))


@GATE
@given(st.lists(reply_line, max_size=8))
def test_parse_reply_is_the_assembler_at_c_speed(lines):
    buf = b"".join(lines)
    fast = parse_reply(bytearray(buf))
    if fast is None:
        return  # left to the assembler, line by line
    slow = assemble(buf)
    assert slow is not None
    assert fields(fast[0]) == fields(slow[0]) and fast[1] == slow[1]


def test_parse_reply_takes_the_usual_replies_and_leaves_the_rest():
    ehlo = b"250-sink.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n354 go\r\n"
    r, n = parse_reply(ehlo)
    assert (r.code, r.diagnostic, r.args) == (250, "sink.test", ["PIPELINING", "SIZE 10240000", "8BITMIME"])
    assert ehlo[n:] == b"354 go\r\n"
    assert parse_reply(b"250 ok") is None                 # no line end yet
    assert parse_reply(b"250-a\r\n250-b\r\n") is None     # more lines to come
    assert parse_reply(b"25\r\n") is None                  # too short: the assembler's text
    assert parse_reply(b"abc ok\r\n") is None              # no code
    many = b"250-x\r\n" * MAX_LINES + b"250 x\r\n"
    assert parse_reply(many) is None                       # the assembler's limit


def test_parse_reply_remembers_what_it_parsed_within_bounds():
    from pysmtp_tcl.smtp import replies

    one, two = parse_reply(bytearray(b"250 2.1.0 Ok\r\nrest")), parse_reply(b"250 2.1.0 Ok\r\n")
    assert one[0] is two[0] and (one[1], two[1]) == (14, 14)
    assert fields(one[0]) == fields(assemble(b"250 2.1.0 Ok\r\n")[0])
    ehlo = b"250-sink.test\r\n250 PIPELINING\r\n"
    assert parse_reply(ehlo)[0] is parse_reply(bytearray(ehlo + b"220 x\r\n"))[0]
    # octets that differ (a queue id, the line end) are a different reply
    assert parse_reply(b"250 2.1.0 Ok\n")[0] is not one[0]
    for n in range(3 * replies._SEEN_MAX):
        r, _ = parse_reply(b"250 2.0.0 Ok: queued as %05d\r\n" % n)
        assert r.diagnostic == "2.0.0 Ok: queued as %05d" % n
        assert len(replies._SEEN) <= replies._SEEN_MAX
    # a long reply (a hostile server's) is parsed but not kept
    long_reply = b"".join(b"250-%s\r\n" % (b"x" * 500) for _ in range(8)) + b"250 end\r\n"
    r, n = parse_reply(long_reply)
    assert n == len(long_reply) and len(r.args) == 8
    assert long_reply not in replies._SEEN and parse_reply(long_reply)[0] is not r


# --- the header block (mime/generator.py) -----------------------------------------------

def ref_head(entity: Entity, fields, utf8: bool) -> list:
    from pysmtp_tcl.mime.headers import check_header_value, fold_long_lines
    from pysmtp_tcl.mime.headerwriter import wire_field

    head = []
    for name, value in fields:
        check_header_value(name, value)
        if isinstance(value, ScriptValue):
            head.append(fold_long_lines(wire_field(name, value, utf8)) + "\n")
        else:
            head.append(mime_generator._parsed(entity, fold_long_lines("%s: %s" % (name, value)) + "\n"))
    return head


field_value = st.one_of(
    st.text(alphabet=st.sampled_from(list("ab ,<>@.\t")), max_size=30),
    st.text(alphabet=st.sampled_from(list("ab \r\n\t\x00é\u2028")), max_size=12),
    st.integers(990, 1010).map(lambda n: "x" * n),
    st.integers(240, 600).map(lambda n: "word " * n))


@GATE
@given(values=st.lists(st.tuples(st.sampled_from(["Subject", "To", "X-A", "Date"]), field_value,
                                 st.booleans()), max_size=6),
       octets=st.booleans(), utf8=st.booleans())
def test_header_block_fast_path_matches_the_field_by_field_writer(values, octets, utf8):
    e = Entity()
    e.header_octets = octets
    fields = [(n, ScriptValue(v) if script else v) for n, v, script in values]
    fields.append(("Content-Type", "text/plain"))
    try:
        want = "".join(p if isinstance(p, str) else p.decode("latin-1") for p in ref_head(e, fields, utf8))
    except HeaderValueError as err:
        with pytest.raises(HeaderValueError) as got:
            mime_generator._head(e, fields, utf8)
        assert str(got.value) == str(err)
        return
    got_pieces = mime_generator._head(e, fields, utf8)
    assert "".join(p if isinstance(p, str) else p.decode("latin-1") for p in got_pieces) == want
    assert [type(p) for p in got_pieces] == [type(p) for p in ref_head(e, fields, utf8)] or len(got_pieces) == 1


def test_a_small_body_goes_with_its_header_in_one_chunk():
    e = Entity.create("text/plain", headers=[("Subject", "hi")], string="line\n")
    chunks: List = []
    generate(e, chunks.append)
    assert len(chunks) == 1 and chunks[0].endswith("\n\nline\n")


# --- the measured message (smtp/session.py) ---------------------------------------------

def ref_measure_and_send(source):
    """Before: a measuring pass, then the message generated again and
    encoded for the wire (what the kept chunks replayed gave too); and
    whether the measuring pass was handed a WireSpan (a base64 body that
    was measured, not encoded)."""
    from pysmtp_tcl.mime.wire import WireSpan

    measure = DataEncoder(measure_only=True)
    spans = []

    def sink(chunk):
        measure.feed(chunk)
        if isinstance(chunk, WireSpan):
            spans.append(chunk)

    sink.measures_only = True
    try:
        source(sink)
        measure.finish()
        enc = DataEncoder()
        out = []
        source(lambda chunk: out.append(enc.feed(chunk)))
        wire = b"".join(out) + enc.finish()
    except LineTooLong as e:
        return ("refused", str(e)), False
    return (wire, measure.size, measure.eight_bit), bool(spans)


bodies = st.one_of(st.text(alphabet=st.sampled_from(list("a.\r\n é\x00")), max_size=60),
                   st.integers(990, 1005).map(lambda n: "y" * n + "\n"))


@GATE
@given(body=bodies, subject=st.text(alphabet=st.sampled_from(list("ab .")), max_size=10),
       content=st.sampled_from(["text/plain", "application/octet-stream"]))
def test_one_pass_measure_keeps_the_wire_octets_of_two(body, subject, content):
    e = Entity.create(content, headers=[("Subject", subject)], string=body)
    source = message_source(e)
    want, spans = ref_measure_and_send(source)
    try:
        enc, wire = session._measure(source)
    except LineTooLong as err:
        assert want == ("refused", str(err))
        return
    if spans:
        # a measured-only base64 body: nothing kept, sent from a new pass
        assert wire is None and (enc.size, enc.eight_bit) == want[1:]
    else:
        assert wire is not None and (wire, enc.size, enc.eight_bit) == want


def test_a_message_over_the_keep_limit_is_measured_only():
    e = Entity.create("text/plain", string="z" * 70 + "\n" * 4000)
    enc, wire = session._measure(message_source(e))
    small = Entity.create("text/plain", string="z" * 70 + "\n")
    assert wire is None or len(wire) <= session.KEEP_LIMIT
    big = Entity.create("text/plain", string=("z" * 70 + "\n") * (session.KEEP_LIMIT // 71 + 10))
    enc, wire = session._measure(message_source(big))
    assert wire is None and enc.size == len(("z" * 70 + "\r\n").encode()) * (session.KEEP_LIMIT // 71 + 10) + \
        len(b"".join(_head_octets(big)))
    assert session._measure(message_source(small))[1] is not None


def _head_octets(entity: Entity) -> List[bytes]:
    out: List[bytes] = []
    generate(entity, lambda c: out.append(c.encode() if isinstance(c, str) else c))
    head = b"".join(out).split(b"\n\n", 1)[0] + b"\n\n"
    return [head.replace(b"\n", b"\r\n")]


# --- EHLO keywords (smtp/session.py) -------------------------------------------------------

@GATE
@given(esmtp=st.lists(st.sampled_from(["SIZE", "size 100", "SIZE100", "PIPELINING", "SMTPUTF8", "smtputf8 x",
                                       "8BITMIME", "STARTTLS", "TLS", "AUTH PLAIN", "XQUE now"]), max_size=5),
       keyword=st.sampled_from(["SIZE", "SMTPUTF8", "PIPELINING", "TLS", "XQUE", "AUTH"]),
       params=st.booleans(), prefix=st.booleans())
def test_advertised_is_the_keyword_scan(esmtp, keyword, params, prefix):
    k = keyword.upper()
    want = any(a.upper() == k or (params and a.upper().startswith(k + " "))
               or (prefix and a.upper().startswith(k)) for a in esmtp)
    s = session.Session(conn=connection.Connection(connection.SelectorReactor()), opts=session.SessionOptions())
    s.esmtp = list(esmtp)
    assert s.has(keyword, params=params, prefix=prefix) == want


# --- IP literals (smtp/connection.py) ---------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "0.0.0.0", "255.255.255.255", "fe80::1", "::ffff:1.2.3.4",
                                  "2001:db8::8:800:200c:417a"])
def test_an_ip_literal_connects_where_the_resolver_would(host):
    got = connection._literal_address(host, 2525)
    want = socket.getaddrinfo(host, 2525, 0, socket.SOCK_STREAM)
    assert got is not None
    assert [(int(f), int(t), p, c, a) for f, t, p, c, a in want] == list(got)


@pytest.mark.parametrize("host", ["localhost", "127.1", "010.0.0.1", "1.2.3", "fe80::1%lo", "", " 127.0.0.1",
                                  "127.0.0.1 ", "[::1]", "é"])
def test_anything_else_goes_to_the_resolver(host):
    assert connection._literal_address(host, 25) is None


# --- waits in the kernel (smtp/connection.py) -------------------------------------------------

class _QuickReactor(connection.SelectorReactor):
    kernel_wait = 0.001


def test_a_plain_socket_blocks_briefly_in_the_kernel_then_asks_the_reactor():
    import struct
    import time

    with socket.create_server(("127.0.0.1", 0)) as srv:
        asked: List[float] = []

        class Counting(_QuickReactor):
            def wait(self, sock, writable, timeout):
                asked.append(timeout)
                return super().wait(sock, writable, 0.005)

        conn = connection.Connection(Counting())
        conn.connect("127.0.0.1", srv.getsockname()[1], 5)
        peer, _ = srv.accept()
        with peer:
            sock = conn.sock
            assert sock.getblocking() and sock.gettimeout() is None
            for opt in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
                # 1 ms, rounded up to the kernel's tick (4 ms at HZ=250)
                secs, usecs = struct.unpack("@ll", sock.getsockopt(socket.SOL_SOCKET, opt, 16))
                assert secs == 0 and 1000 <= usecs <= 10000
            # nothing to read: recv gives up after its kernel wait and the
            # reactor is asked (this one gives up after 5 ms: a time-out)
            asked.clear()  # (connect's wait)
            t0 = time.monotonic()
            with pytest.raises(connection.SMTPIOError) as e:
                conn.fill(time.monotonic() + 5)
            assert e.value.timeout and len(asked) == 1 and time.monotonic() - t0 < 1.0 and not conn._buf
            peer.sendall(b"220 hi\r\n")
            assert conn.read_line(5) == "220 hi"
            conn.close()


def test_a_connect_still_in_progress_is_waited_for():
    # A full accept queue drops the SYN: connect says EINPROGRESS and the
    # handshake is not done (getpeername fails), so the reactor's wait and
    # its time-out decide, as before.
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        port = srv.getsockname()[1]
        fillers = []
        try:
            for _ in range(2):  # the queue takes backlog + 1
                f = socket.socket()
                f.setblocking(False)
                f.connect_ex(("127.0.0.1", port))
                fillers.append(f)
            waits: List[object] = []

            class Recording(connection.SelectorReactor):
                def wait(self, sock, writable, timeout):
                    waits.append((writable, timeout))
                    return super().wait(sock, writable, 0.2)

            conn = connection.Connection(Recording())
            with pytest.raises(connection.SMTPIOError) as e:
                conn.connect("127.0.0.1", port, 5)
            assert e.value.timeout and waits and waits[0][0] is True
            # ... while a loopback connect that completes needs no wait
            waits.clear()
            with socket.create_server(("127.0.0.1", 0)) as ok:
                conn.connect("127.0.0.1", ok.getsockname()[1], 5)
                assert waits == [] and conn.sock is not None
                conn.close()
        finally:
            for f in fillers:
                f.close()


def test_without_kernel_wait_sockets_stay_non_blocking():
    with socket.create_server(("127.0.0.1", 0)) as srv:
        conn = connection.Connection(connection.SelectorReactor())
        conn.connect("127.0.0.1", srv.getsockname()[1], 5)
        srv.accept()[0].close()
        assert not conn.sock.getblocking()
        conn.close()


# --- what a script sees ------------------------------------------------------------------------

def _send(interp, port: int, extra: str = "") -> None:
    interp.eval("smtp::sendmessage [mime::initialize -canonical text/plain -string hi] -servers 127.0.0.1 "
                "-ports %d -usetls 0 -header {To rcpt@example.org} %s" % (port, extra))


def _date(data: bytes) -> Optional[str]:
    m = re.search(rb"\r\nDate: ([^\r]*)\r\n", data)
    return m.group(1).decode() if m else None


@pytest.fixture
def restore_tz():
    """Tcl's env array writes the process environment: put TZ and TCL_TZ
    back as they were (Python's os.environ still holds the originals)."""
    yield
    for name in ("TZ", "TCL_TZ"):
        if name in os.environ:
            os.putenv(name, os.environ[name])
        else:
            os.unsetenv(name)


def test_the_date_follows_the_scripts_time_zone_send_by_send(interp, aio, restore_tz):
    srv = aio()
    for tz in ("UTC0", "EST5", "XYZ-3"):
        interp.eval("set ::env(TZ) %s" % tz)
        _send(interp, srv.port, "-originator a@example.com")
    interp.eval("array set ::env {TZ UTC0}")
    _send(interp, srv.port, "-originator a@example.com")
    interp.eval("unset ::env(TZ)")
    interp.eval("set ::env(TCL_TZ) :UTC")
    _send(interp, srv.port, "-originator a@example.com")
    zones = [_date(m["data"]).rsplit(" ", 1)[1] for m in srv.messages]
    assert zones == ["+0000", "-0500", "+0300", "+0000", "+0000"]
    interp.eval("unset ::env(TCL_TZ)")


def _tcl_proper(tk: tkinter.Tcl, seconds: int) -> str:
    """``-now proper`` at ``seconds`` through Tcl's clock (tcllib's way)."""
    from types import SimpleNamespace

    from pysmtp_tcl.bridge.mime_text_commands import _SecondClock
    from pysmtp_tcl.mime import dates

    clock = _SecondClock(SimpleNamespace(tk=tk, call=tk.call), seconds)
    return str(dates.parsedatetime("-now", "proper", clock))


# (zone, UTC instants of its offset changes in 2026, or one instant for a
# zone without any): one-hour DST changes each way, Lord Howe's half-hour
# ones, St John's off the hour, and Kolkata's steady +0530
_ZONES = [(":America/New_York", (1772953200, 1793512800)), (":Europe/Berlin", (1774746000, 1792890000)),
          (":Australia/Lord_Howe", (1775314800, 1791041400)), (":America/St_Johns", (1772947800, 1793507400)),
          (":Asia/Kolkata", (1780000000,))]


@pytest.mark.parametrize("zone,changes", _ZONES)
def test_the_c_library_date_is_tcl_clocks_away_from_offset_changes(monkeypatch, zone, changes):
    """dates.proper_localtime (the send's Date when Tcl's clock would use
    the system zone) gives what tcllib's derivation with Tcl's clock gives,
    and declines near a change of offset, where the two could differ."""
    import time

    from pysmtp_tcl.mime import dates

    monkeypatch.setenv("TZ", zone)  # the C library's zone and Tcl's (env at creation)
    try:
        time.tzset()
        tk = tkinter.Tcl()
        assert tk.eval("set ::env(TZ)") == zone
        declined = kept = 0
        for change in changes:
            for seconds in range(change - 3 * 86400, change + 3 * 86400, 2221):
                fast = dates.proper_localtime(seconds)
                if fast is None:
                    declined += 1
                    continue
                kept += 1
                assert fast == _tcl_proper(tk, seconds), (zone, seconds)
        assert kept > 100
        assert (declined > 0) == (len(changes) == 2)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.skipif("TZ" in os.environ or "TCL_TZ" in os.environ,
                    reason="the C library's zone is only used when no TZ was ever set")
def test_the_date_after_the_script_unsets_tz_is_the_system_zones(interp, aio, restore_tz):
    srv = aio()
    # the script's TZ reaches the C library (Tcl's clock tzsets), then goes
    interp.eval("set ::env(TZ) XYZ-3; clock format [clock seconds] -format %z")
    _send(interp, srv.port, "-originator a@example.com")
    interp.eval("unset ::env(TZ)")
    want = interp.eval("clock format [clock seconds] -format %z")
    _send(interp, srv.port, "-originator a@example.com")
    zones = [_date(m["data"]).rsplit(" ", 1)[1] for m in srv.messages]
    assert zones == ["+0300", want]
    assert want == _tcl_proper(interp.tcl.tk, int(interp.eval("clock seconds"))).rsplit(" ", 1)[1]


def _env_traces(interp) -> str:
    return interp.eval("trace info variable ::env")


def test_the_env_trace_survives_unset_env_and_leaves_with_uninstall(aio, restore_tz):
    from pysmtp_tcl import Interpreter

    interp = Interpreter()
    srv = aio()
    want = []

    def send() -> None:
        # the zone Tcl's own clock gives in this interpreter now
        want.append(interp.eval("clock format [clock seconds] -format %z"))
        _send(interp, srv.port, "-originator a@example.com")

    interp.eval("set ::env(TZ) EST5")
    send()
    assert "_envtrace" in _env_traces(interp)
    saved = interp.eval("array get ::env")
    interp.eval("unset ::env")  # the trace goes with the array
    assert "_envtrace" not in _env_traces(interp)
    interp.eval("array set ::env [list {*}%s]" % "{%s}" % saved.replace("EST5", "XYZ-3"))
    send()
    assert "_envtrace" in _env_traces(interp)  # set again by the send
    interp.eval("set ::env(TZ) UTC0")
    send()
    zones = [_date(m["data"]).rsplit(" ", 1)[1] for m in srv.messages]
    assert zones == want and want[0] == "-0500"
    interp.close()
    assert "_envtrace" not in _env_traces(interp)
    interp.eval("set ::env(PYSMTP_TCL_AFTER_UNINSTALL) 1")  # no trace left calling a deleted command
    assert interp.eval("set ::env(PYSMTP_TCL_AFTER_UNINSTALL)") == "1"
    interp.eval("unset ::env(PYSMTP_TCL_AFTER_UNINSTALL)")


def test_the_originator_of_last_resort_is_read_when_needed(interp, aio):
    srv = aio()
    interp.eval("set ::tcl_platform(user) first")
    _send(interp, srv.port)
    interp.eval("set ::tcl_platform(user) second")
    _send(interp, srv.port)
    senders = [v for verb, v in srv.commands if verb == "MAIL"]
    host = interp.eval("info hostname")
    assert [s.split(":", 1)[1].split()[0] for s in senders] == ["<first@%s>" % host, "<second@%s>" % host]
    interp.eval("unset ::tcl_platform(user)")  # not needed when -originator names the sender
    _send(interp, srv.port, "-originator a@example.com")
    assert len(srv.messages) == 3


def test_lists_tcl_must_split_still_go_to_tcl(interp, aio):
    srv = aio()
    _send(interp, srv.port, "-originator a@example.com -header {Subject {two words}}")
    assert b"\r\nSubject: two words\r\n" in srv.messages[0]["data"]
    out = interp.eval("list [catch {smtp::sendmessage [mime::initialize -canonical text/plain -string x] "
                      "-servers {127.0.0.1 \"} -recipients a@b.c} m] $m $::errorCode")
    assert interp.tcl.tk.splitlist(out) == ("1", "unmatched open quote in list", "TCL VALUE LIST QUOTE")


# --- SMTPUTF8 mailbox patterns (smtp/commands.py) ------------------------------------------

_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-"
# the patterns as first written: one class holding U+00A0-U+10FFFF (slow to
# compile, which is why commands.py spells them differently)
REF_DOT_STRING_UTF8 = r"[%s\u00a0-\U0010ffff]+(?:\.[%s\u00a0-\U0010ffff]+)*" % (_ATEXT, _ATEXT)
REF_QUOTED_UTF8 = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u00a0-\U0010ffff]|\\[\x20-\x7e])*"'
REF_LABEL_UTF8 = (r"[A-Za-z0-9\u00a0-\U0010ffff](?:[A-Za-z0-9\u00a0-\U0010ffff-]*"
                  r"[A-Za-z0-9\u00a0-\U0010ffff])?")

mailbox_text = st.text(alphabet=st.one_of(
    st.sampled_from(list("aZ09.-_@\"\\ ()<>[]!~\x00\x1f\x7f\x80\x9f\xa0\xff\u2028\ud800\U0010ffff")),
    st.characters()), max_size=14)


@GATE
@given(text=mailbox_text)
def test_utf8_mailbox_patterns_match_as_first_written(text):
    from pysmtp_tcl.smtp import commands

    for ours, ref in ((commands._DOT_STRING_UTF8, REF_DOT_STRING_UTF8),
                      (commands._QUOTED_UTF8, REF_QUOTED_UTF8),
                      (commands._LABEL_UTF8, REF_LABEL_UTF8)):
        want = re.compile(ref)
        if isinstance(ours, str):  # a source for re's cache (compiled when first used)
            ours = re.compile(ours)
        assert bool(ours.fullmatch(text)) == bool(want.fullmatch(text))
        m, w = ours.match(text), want.match(text)
        assert (m and m.end()) == (w and w.end())


def test_a_redefined_parsedatetime_gives_the_date_as_in_tcllib(interp, aio):
    # tcllib's sendmessage calls ::mime::parsedatetime -now proper: a script
    # that redefines it (fixed dates in its own tests) gets its Date header
    srv = aio()
    _send(interp, srv.port, "-originator a@example.com")
    interp.eval('proc ::mime::parsedatetime {value property} {return "Thu, 01 Jan 2026 00:00:00 +0000"}')
    _send(interp, srv.port, "-originator a@example.com")
    dates = [_date(m["data"]) for m in srv.messages]
    assert dates[0] != dates[1] and dates[1] == "Thu, 01 Jan 2026 00:00:00 +0000"


# --- the SMTP dialogue (smtp/replies.py, smtp/dialogue.py, smtp/session.py) -------------

def take_reply_reference(buf: bytearray) -> Optional[Reply]:
    # the reader's step before take_reply: parse_reply, then drop what it took
    got = parse_reply(buf)
    if got is None:
        return None
    del buf[:got[1]]
    return got[0]


@GATE
@given(lines=st.lists(reply_line, min_size=1, max_size=6), seen=st.booleans(), tail=st.sampled_from([b"", b"250 x"]))
def test_take_reply_is_parse_reply_then_del(lines, seen, tail):
    from pysmtp_tcl.smtp.replies import take_reply

    data = b"".join(lines) + tail
    if seen:  # the same octets a second time: what the memo (whole buffer or first line) gives
        take_reply(bytearray(data))
        for k in range(1, len(lines) + 1):
            take_reply(bytearray(b"".join(lines[:k])))
    ref_buf, buf = bytearray(data), bytearray(data)
    while True:
        want, got = take_reply_reference(ref_buf), take_reply(buf)
        assert bytes(buf) == bytes(ref_buf)
        if want is None:
            assert got is None
            return
        assert fields(got) == fields(want)


class RefTransaction:
    """dialogue.MailTransaction before the per-message trims (the reference)."""

    def __init__(self, sender, recipients, params=(), *, atleastone, pipelining, rset_first=False, batch_limit=100):
        from collections import deque

        from pysmtp_tcl.smtp.dialogue import _DATA_STEP, _RSET_STEP, Phase, _mail_step, _rcpt_step

        self.Phase, self._DATA_STEP, self._RSET_STEP = Phase, _DATA_STEP, _RSET_STEP
        self.atleastone = atleastone
        self.batch_limit = max(1, batch_limit) if pipelining else 1
        self.phase = Phase.COMMANDS
        self.refused, self.accepted, self.failure, self.must_drop, self.closing = [], 0, None, False, False
        self._queue, self._sent, self._data_queued, self._opening_rset = deque(), deque(), False, rset_first
        if rset_first:
            self._queue.append(_RSET_STEP)
        self._queue.append(_mail_step(sender, tuple(params)))
        self._queue.extend(map(_rcpt_step, recipients))
        if pipelining and recipients and (atleastone or len(recipients) == 1):
            self._queue.append(_DATA_STEP)
            self._data_queued = True

    def next_batch(self):
        Phase = self.Phase
        if self._sent or self.phase is not Phase.COMMANDS:
            return ()
        if not self._queue:
            if self.failure is not None:
                self.phase = Phase.FAILED
                return ()
            if self._data_queued:
                return ()
            if self.accepted and (not self.refused or self.atleastone):
                self._queue.append(self._DATA_STEP)
                self._data_queued = True
            else:
                self._queue.append(self._RSET_STEP)
        batch = []
        while self._queue and len(batch) < self.batch_limit:
            batch.append(self._queue.popleft())
        self._sent.extend(batch)
        return tuple(batch)

    def receive(self, reply):
        from pysmtp_tcl.smtp import commands as cmds

        Phase = self.Phase
        cmd = self._sent.popleft().command
        if reply.code == 421 and reply.well_formed:
            self.closing = True
        if isinstance(cmd, cmds.Mail):
            if reply.code != 250 and self.failure is None:
                self.failure = reply
                self._queue.clear()
        elif isinstance(cmd, cmds.Rcpt):
            if self.failure is not None:
                return
            if reply.code in (250, 251):
                self.accepted += 1
            else:
                self.refused.append((cmd.path, str(reply.code), reply.diagnostic))
        elif cmd == cmds.DATA:
            if self.failure is None and self.accepted and (not self.refused or self.atleastone):
                if reply.code == 354:
                    self.phase = Phase.BODY
                else:
                    self.failure = reply
                    self.phase = Phase.FAILED
            elif reply.code == 354:
                self.must_drop = True
                self.phase = Phase.FAILED if self.failure is not None else Phase.DONE
            elif self.failure is not None:
                self.phase = Phase.FAILED
            else:
                self._queue.append(self._RSET_STEP)
        elif cmd == cmds.RSET:
            if self._opening_rset:
                self._opening_rset = False
                if reply.code != 250 and self.failure is None:
                    self.failure = reply
                    self._queue.clear()
            else:
                self.phase = Phase.DONE


@GATE
@given(n=st.integers(0, 5), atleastone=st.booleans(), pipelining=st.booleans(), rset_first=st.booleans(),
       limit=st.integers(1, 4), codes=st.lists(st.sampled_from([250, 251, 354, 421, 450, 503, 550, 554]), max_size=20))
def test_mail_transaction_is_the_reference(n, atleastone, pipelining, rset_first, limit, codes):
    from pysmtp_tcl.smtp.dialogue import MailTransaction

    rcpts = ["r%d@x.test" % i for i in range(n)]
    args = dict(atleastone=atleastone, pipelining=pipelining, rset_first=rset_first, batch_limit=limit)
    tx, ref = MailTransaction("a@x.test", rcpts, (("SIZE", "9"),), **args), RefTransaction("a@x.test", rcpts, (("SIZE", "9"),), **args)
    replies = iter(codes)
    while True:
        batch = tx.next_batch()
        assert batch == ref.next_batch()
        if not batch:
            break
        for _ in batch:
            code = next(replies, 250)
            r = Reply(code, "d%d" % code, lines=["%d d%d" % (code, code)])
            tx.receive(r)
            ref.receive(r)
    for name in ("phase", "refused", "accepted", "failure", "must_drop", "closing"):
        assert getattr(tx, name) == getattr(ref, name), name


@GATE
@given(esmtp=st.lists(st.sampled_from(["SIZE", "size 100", "SIZE100", "PIPELINING", "pipelining x", "SMTPUTF8",
                                       "smtputf8 x", "8BITMIME", "8bitmimex", "ONEX"]), max_size=6))
def test_transaction_offers_are_has(esmtp):
    s = session.Session(conn=connection.Connection(connection.SelectorReactor()), opts=session.SessionOptions())
    s.esmtp = list(esmtp)
    assert session._transaction_offers(s._ehlo_key()) == (
        s.has("SIZE", prefix=True), s.has("8BITMIME"), s.has("PIPELINING"), s.has("SMTPUTF8", params=True))
