"""Every fault, and the outcome that is right for it.

The right outcome is tcllib 1.21's (``smtp.tcl``: ``hear``/``talk``/
``initialize``/``initialize_ehlo``/``sendmessageaux``/``wtext``), except
where tcllib hangs, exhausts memory or reports a success the server never
gave: there the right outcome is the RFC-safe one (bounded time, an error
or return code 7, never a success).  How tcllib folds what it reads:

* a line shorter than 3 chars: ``code 500 diagnostic {response too short: L}``;
  first line whose first 3 chars ``scan %d`` fails: ``code 500 diagnostic
  {unrecognizable code: L}``; ``scan`` reads a leading integer, so ``2x0``
  is code ``2``; ``250`` alone is a complete, positive reply (RFC 5321
  §4.2: the text is optional).
* EOF, a read error or the per-line timer: ``code 400 diagnostic <why>``.
* greeting not 220: next server, then a Tcl error with that diagnostic.
* EHLO: 5xx means try HELO; anything but 250 (after HELO) closes and gives a
  Tcl error whose text is the *greeting*'s diagnostic (``initialize``
  returns the last value of its own ``result``: the greeting).
* STARTTLS answered with anything but 220: opportunistic (``-tlspolicy``
  unset = ``insecure``): go on in clear.
* MAIL not 250, DATA not 354, final reply not 250/251: return code 7 with
  the reply; RCPT not 250/251: the recipient goes into the returned list
  (return code 0) and RSET is sent.
* a failed QUIT after an accepted message is ignored: success.

Where pysmtp-tcl deliberately differs (COMPATIBILITY.md S5, S6, S12, S16,
S20, S21) the right outcome here is ours: a dead connection fails at once, a
failed STARTTLS handshake is a failure, a failed AUTH is code 7; a reply
that comes where none is due (after the final dot's reply, or a well-formed
reply other than 221/421 to QUIT after a delivered message) means the
replies are out of step: code 7, never a success; a failed EHLO/HELO names
itself (``EHLO to HOST failed: …``) instead of repeating the greeting; and
``-maxsecs`` bounds the wait for the greeting.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, List, Optional

from .server import GREETING_TEXT, NORMAL, Fault

#: text families (regular expressions, searched)
# (Tcl's ENOTCONN text: "socket is not connected" on 8.6, "transport endpoint
# is not connected" on Tcl 9 -- COMPATIBILITY.md N10)
EOF = (r"premature end-of-file from server|connection reset by peer|broken pipe|socket is not connected"
       r"|transport endpoint is not connected")
WRITE = r"error writing|premature end-of-file|connection reset by peer|broken pipe"
TIMEOUT = r"timed out"
TOO_LONG = r"long"          # a reply line over the client's cap
TOO_MANY = r"lines"         # a reply with too many continuation lines
TLS = r"."                  # a TLS failure (any text: the server list is thrown)

MAXSECS = 1.0               # -maxsecs of every send
SLACK = 4.0                 # allowed beyond a scenario's own wait (2 loaded cores)
RELEASE = 1.5               # a stall at a stage with a minutes-long wait is
                            # released (server closes) after this many seconds


@dataclass(frozen=True)
class Expect:
    """The right outcome.

    :ivar rc: Tcl return code of ``smtp::sendmessage``: 0, 1 or 7.
    :ivar code: rc 7: the ``code`` of the result; rc 0 with ``refused``: the
        code given for the recipient.
    :ivar text: regex searched in the error message (rc 1), the diagnostic
        (rc 7, refused recipient); ``None``: anything.
    :ivar refused: rc 0: a one-recipient failure list instead of ``""``.
    :ivar exact: the diagnostic must equal ``text`` literally.
    """

    rc: int
    code: Optional[str] = None
    text: Optional[str] = None
    refused: bool = False
    exact: bool = False

    def describe(self) -> str:
        if self.rc == 0:
            return "0 {%s %s}" % (self.code, self.text) if self.refused else "0 (success)"
        if self.rc == 7:
            return "7 code %s /%s/" % (self.code, self.text)
        return "1 /%s/" % self.text


SUCCESS = Expect(0)


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault
    expect: Expect
    bound: float                       # must end within (seconds)
    release_at: Optional[float] = None  # the Tcl-after watchdog releases the server
    min_elapsed: float = 0.0           # must not give up before (RFC waits are minutes)
    big: bool = False                  # send a message big enough to block writes
    check: Optional[Callable[..., Optional[str]]] = None  # (server, outcome) -> problem
    note: str = ""                     # what tcllib does, where it is not right
    also: Optional[Expect] = None      # another right outcome (a race the client cannot see)


def _dead(stage: str, text: str) -> Expect:
    """The right outcome when the connection is unusable at ``stage``
    (EOF, reset, a line over the cap, a released stall)."""
    if stage == "greeting":
        return Expect(1, text=text)
    if stage in ("ehlo", "helo"):
        # tcllib reports the greeting's text; we say which command failed
        # and why (COMPATIBILITY.md S21)
        return Expect(1, text=r"^%s to 127\.0\.0\.1 failed: .*(%s)" % (stage.upper(), text))
    if stage == "starttls":
        return Expect(1, text=TLS)
    if stage == "rcpt":
        return Expect(0, "400", text, refused=True)
    if stage == "quit":
        return SUCCESS
    return Expect(7, "400", text)


def _reply(stage: str, code: int, diag: str) -> Expect:
    """The right outcome when the reply at ``stage`` is read as ``code``
    with ``diag`` and the dialogue then goes on normally."""
    d = re.escape(diag)
    if stage == "greeting":
        return SUCCESS if code == 220 else Expect(1, text="^%s$" % d)
    if stage == "ehlo":
        return SUCCESS if code == 250 or 500 <= code <= 599 else Expect(1, text=r"^EHLO to 127\.0\.0\.1 failed: ")
    if stage == "helo":
        return SUCCESS if code == 250 else Expect(1, text=r"^HELO to 127\.0\.0\.1 failed: ")
    if stage == "starttls":
        return SUCCESS          # opportunistic: go on in clear
    if stage == "auth":
        return SUCCESS if code == 235 else Expect(7, str(code), "^%s$" % d)
    if stage == "mail":
        return SUCCESS if code == 250 else Expect(7, str(code), "^%s$" % d)
    if stage == "rcpt":
        return SUCCESS if code in (250, 251) else Expect(0, str(code), "^%s$" % d, refused=True)
    if stage == "data":
        return Expect(7, str(code), "^%s$" % d)
    if stage == "final":
        return SUCCESS if code in (250, 251) else Expect(7, str(code), "^%s$" % d)
    return SUCCESS  # quit


GARBAGE = b"\x00\xff\xfe\x01\x80\x1b[31mgarbage\x07"

#: malformed replies: name -> (raw reply, code read, diagnostic read)
MALFORMED = {
    "code_2x0": (b"2x0\r\n", 2, ""),
    "code_abc": (b"abc\r\n", 500, "unrecognizable code: abc"),
    "empty_line": (b"\r\n", 500, "response too short: "),
    "code_without_text": (None, None, ""),  # "250"/"220"/"354"… alone: valid
    "binary_garbage": (GARBAGE + b"\r\n", 500, "unrecognizable code: " + GARBAGE.decode("latin-1")),
}

REPLY_STAGES = ("greeting", "ehlo", "helo", "starttls", "auth", "mail", "rcpt", "data", "final", "quit")


def _fault(stage: str, action: str, payload: bytes = b"") -> Fault:
    return Fault(stage, action, payload, tls=stage == "starttls", auth=stage == "auth")


def _no_helo_after_tls(server, outcome) -> Optional[str]:
    cmds = [c.split(" ")[0].upper() for c in server.commands]
    if "HELO" in cmds:
        return "the injected line was read as the EHLO reply over TLS (HELO followed): %s" % cmds
    if cmds.count("EHLO") != 2:
        return "expected EHLO before and after STARTTLS, got %s" % cmds
    return None


def build() -> List[Scenario]:
    out: List[Scenario] = []
    add = out.append
    for st in REPLY_STAGES:
        normal = NORMAL[st]
        # stalls: the final reply is bounded by -maxsecs; the other stages
        # wait minutes (RFC 5321 §4.5.3.2), so a Tcl `after` releases them.
        if st == "final":
            add(Scenario("final:stall", _fault(st, "stall"), Expect(7, "400", TIMEOUT),
                         bound=MAXSECS + SLACK, min_elapsed=MAXSECS * 0.9))
        elif st == "greeting":
            # -maxsecs shortens the greeting's 600 s wait (issue 7 item 9)
            add(Scenario("greeting:stall", _fault(st, "stall"), Expect(1, text=TIMEOUT),
                         bound=MAXSECS + SLACK, min_elapsed=MAXSECS * 0.9,
                         note="tcllib waits 600 s for the greeting whatever -maxsecs says"))
        else:
            add(Scenario("%s:stall" % st, _fault(st, "stall"), _dead(st, EOF),
                         bound=RELEASE + SLACK, release_at=RELEASE, min_elapsed=RELEASE * 0.9,
                         note="waits the stage's fixed time-out (minutes) until the server goes"))
        add(Scenario("%s:drop" % st, _fault(st, "drop"), _dead(st, EOF), bound=SLACK,
                     note="" if st in ("greeting", "ehlo", "helo", "mail", "data", "final", "quit")
                     else "tcllib goes on over the dead socket and waits 300-600 s (S12)"))
        add(Scenario("%s:half_close" % st, _fault(st, "half_close"), _dead(st, EOF), bound=SLACK))
        add(Scenario("%s:reset" % st, _fault(st, "reset"), _dead(st, EOF), bound=SLACK))
        add(Scenario("%s:endless_line" % st, _fault(st, "endless_line"), _dead(st, TOO_LONG), bound=SLACK,
                     note="tcllib: `gets` buffers the line without limit (memory exhaustion, hang)"))
        add(Scenario("%s:wide_continuation" % st, _fault(st, "wide_cont"), _dead(st, TOO_LONG), bound=SLACK,
                     note="lines of 60000 octets, each with its CRLF: tcllib buffers them all "
                          "(1000 lines: 60 MB)"))
        if st in ("ehlo", "helo", "greeting", "starttls"):
            # the connection is unusable after an endless reply: next server
            # (tcllib would go on in clear after STARTTLS and hang in hear)
            e = _dead(st, TOO_MANY)
        elif st == "rcpt":
            e = Expect(0, "500", TOO_MANY, refused=True)
        elif st == "quit":
            e = SUCCESS
        else:
            e = Expect(7, "500", TOO_MANY)
        add(Scenario("%s:endless_continuation" % st, _fault(st, "endless_cont"), e, bound=SLACK + 2,
                     note="tcllib: `hear` appends continuation lines forever (hang, memory)"))
        add(Scenario("%s:slow_bytes" % st, _fault(st, "slow"), SUCCESS, bound=SLACK + 2))
        add(Scenario("%s:bare_lf" % st, _fault(st, "bare_lf"), SUCCESS, bound=SLACK))
        for name, (raw, c, diag) in MALFORMED.items():
            if raw is None:
                add(Scenario("%s:%s" % (st, name), _fault(st, "code_only"), SUCCESS, bound=SLACK))
                continue
            add(Scenario("%s:%s" % (st, name), _fault(st, "reply", raw), _reply(st, c, diag), bound=SLACK))
        add(Scenario("%s:dash_last_line" % st, _fault(st, "reply_close", normal[:3] + b"-\r\n"),
                     _dead(st, EOF), bound=SLACK))
        add(Scenario("%s:bare_cr_only" % st, _fault(st, "reply_close", normal.replace(b"\r\n", b"\r")),
                     _dead(st, EOF), bound=SLACK,
                     note="tcllib: `gets` returns the unterminated line at EOF and accepts it"))
        add(Scenario("%s:unterminated_then_eof" % st, _fault(st, "reply_close", normal[:-2]),
                     _dead(st, EOF), bound=SLACK,
                     note="tcllib: `gets` returns the unterminated line at EOF and accepts it"))

    # -- stage-specific ----------------------------------------------------------
    add(Scenario("greeting:data_before_greeting", _fault("greeting", "pre_greeting", b"250 early-bird\r\n"),
                 Expect(1, text="^early-bird$"), bound=SLACK))
    add(Scenario("greeting:extra_line_after_greeting", _fault("greeting", "greeting_inject", b"250 injected\r\n"),
                 Expect(7, "250", r"^2\.1\.5 Ok$"), bound=SLACK,
                 note="replies shift by one: DATA reads RCPT's 250 (tcllib the same)"))
    add(Scenario("greeting:421", _fault("greeting", "reply", b"421 4.3.2 not now\r\n"),
                 Expect(1, text=r"^4\.3\.2 not now$"), bound=SLACK))
    add(Scenario("starttls:injection_after_220",
                 _fault("starttls", "tls_inject", b"554 5.7.0 injected in clear\r\n"),
                 SUCCESS, bound=SLACK, check=_no_helo_after_tls))
    add(Scenario("starttls:close_during_handshake", _fault("starttls", "tls_close"), Expect(1, text=TLS),
                 bound=SLACK, note="tcllib swallows the handshake error and goes on (S5)"))
    add(Scenario("starttls:plaintext_instead_of_handshake", _fault("starttls", "tls_garbage"),
                 Expect(1, text=TLS), bound=SLACK))
    add(Scenario("starttls:stall_during_handshake", _fault("starttls", "tls_stall"), Expect(1, text=TLS),
                 bound=RELEASE + SLACK, release_at=RELEASE, min_elapsed=RELEASE * 0.9))
    add(Scenario("starttls:454", _fault("starttls", "reply", b"454 4.7.0 TLS not available\r\n"),
                 SUCCESS, bound=SLACK))
    add(Scenario("auth:535", _fault("auth", "reply", b"535 5.7.8 bad credentials\r\n"),
                 Expect(7, "535", r"^5\.7\.8 bad credentials$"), bound=SLACK,
                 note="tcllib sends unauthenticated (S6)"))
    add(Scenario("rcpt:550", _fault("rcpt", "reply", b"550 5.1.1 no such user\r\n"),
                 Expect(0, "550", r"^5\.1\.1 no such user$", refused=True), bound=SLACK))
    add(Scenario("mail:451", _fault("mail", "reply", b"451 4.3.0 try later\r\n"),
                 Expect(7, "451", r"^4\.3\.0 try later$"), bound=SLACK))
    add(Scenario("final:554", _fault("final", "reply", b"554 5.6.0 rejected\r\n"),
                 Expect(7, "554", r"^5\.6\.0 rejected$"), bound=SLACK))
    add(Scenario("final:drip_line", _fault("final", "drip_line"), Expect(7, "400", TIMEOUT),
                 bound=MAXSECS + SLACK, min_elapsed=MAXSECS * 0.9))
    add(Scenario("final:drip_continuation", _fault("final", "drip_cont"), Expect(7, None, None),
                 bound=MAXSECS + SLACK,
                 note="a continuation line every 0.2 s: each line is within -maxsecs, the reply never ends"))
    # the message body: the server is reading, not replying
    add(Scenario("body:stop_reading", Fault("body", "stop_reading"), Expect(7, "400", WRITE),
                 bound=2.0 + SLACK, release_at=2.0, min_elapsed=1.8, big=True,
                 note="tcllib queues the whole message in Tcl's buffer and times out after -maxsecs"))
    add(Scenario("body:drop_after_256k", Fault("body", "body_drop"), Expect(7, "400", WRITE),
                 bound=SLACK, big=True))
    add(Scenario("body:reset_after_256k", Fault("body", "body_reset"), Expect(7, "400", WRITE),
                 bound=SLACK, big=True))
    add(Scenario("body:drop_at_once", Fault("body", "drop"), Expect(7, "400", WRITE), bound=SLACK))
    add(Scenario("body:half_close", Fault("body", "half_close"), Expect(7, "400", WRITE), bound=SLACK))
    add(Scenario("body:early_2xx_before_dot", Fault("body", "early_reply"),
                 Expect(7), bound=SLACK,
                 note="a 250 read before the final dot was sent is not its reply"))
    # -- replies out of step (issue 7 item 4, S16): one reply too many must
    # never turn into a success --------------------------------------------------
    double = {
        "greeting": Expect(1, text=r"^EHLO to 127\.0\.0\.1 failed: 220 "),
        "ehlo": Expect(7, "250"), "helo": Expect(7, "250"), "mail": Expect(7, "250"),
        "rcpt": Expect(7, "250"),
        "data": Expect(7, "400", "server replied before the end of the message: 354"),
        "final": Expect(7, "400", "out of step"),
        "quit": SUCCESS,   # 221 twice: the dialogue is over, nothing is misread
    }
    for st, e in double.items():
        add(Scenario("%s:double_reply" % st, _fault(st, "double"), e, bound=SLACK,
                     note="tcllib reads every later reply one command late" if st != "quit" else ""))
    for name, payload, late, e in (
            ("stray_2xx_then_554", b"554 5.6.0 refused\r\n", 0.0, Expect(7, "554", r"^5\.6\.0 refused$")),
            ("stray_2xx_then_late_554", b"554 5.6.0 refused\r\n", 0.3, Expect(7, "554", r"^5\.6\.0 refused$")),
            ("stray_2xx_then_250", b"250 2.0.0 Ok\r\n", 0.0, Expect(7, "400", "out of step.*may have been delivered")),
            ("stray_2xx_then_late_250", b"250 2.0.0 Ok\r\n", 0.3, Expect(7, "400", "out of step.*may have been delivered"))):
        add(Scenario("final:" + name, Fault("final", "stray_then", payload, late_after=late), e, bound=SLACK,
                     note="tcllib takes the stray 2xx for the reply to the dot: success"))
    add(Scenario("body:2xx_after_last_line", Fault("body", "early_reply_at", b"Hello.\r\n"),
                 # which of our two guards fires depends on whether the 250
                 # arrives before the dot is written: a failure either way
                 Expect(7, None, r"^server replied before the end of the message: 250 |"
                                 r"^5\.6\.0 message refused after all$"), bound=SLACK,
                 note="issue 7: tcllib (and our S16 guard alone) reported success"))
    # (the server hangs up after it: whether that reply was QUIT's or a late
    # one to the dot cannot be told, so whether the message went is unknown)
    add(Scenario("quit:250_instead_of_221", _fault("quit", "reply", b"250 2.0.0 Ok\r\n"),
                 Expect(7, "400", r'^QUIT was answered "250 2\.0\.0 Ok", not 221: the replies may be out of step'),
                 bound=SLACK, note="tcllib ignores QUIT's reply: success"))
    add(Scenario("quit:554_instead_of_221", _fault("quit", "reply", b"554 5.6.0 refused\r\n"),
                 Expect(7, "400", r'^QUIT was answered "554 5\.6\.0 refused", not 221'), bound=SLACK,
                 note="tcllib ignores QUIT's reply: success"))
    add(Scenario("quit:421", _fault("quit", "reply", b"421 4.3.2 shutting down\r\n"), SUCCESS, bound=SLACK,
                 note="421 may answer any command (RFC 5321 §3.8): not a sign of replies out of step"))
    add(Scenario("data:451", _fault("data", "reply", b"451 4.3.0 try later\r\n"),
                 Expect(7, "451", r"^4\.3\.0 try later$"), bound=SLACK))
    # -- every fault from MAIL on again, with PIPELINING advertised (RFC 2920):
    # MAIL, RCPT and DATA (one recipient) go in one write; the outcome must
    # be the lock-step one.  The server answers RCPT and DATA even after a
    # refused MAIL/RCPT (a non-conforming server): the client must then
    # send no message (the connection is closed without a final dot).
    out += [pipelined(sc) for sc in out if sc.fault.stage in PIPELINED_STAGES]
    names = [s.name for s in out]
    assert len(names) == len(set(names)), "duplicate scenario names"
    return out


#: stages that come after MAIL, where PIPELINING changes the dialogue
PIPELINED_STAGES = ("mail", "rcpt", "data", "body", "final", "quit")


def pipelined(sc: Scenario) -> Scenario:
    """``sc`` against a server that advertises PIPELINING; the server must
    also have seen MAIL arrive with more commands behind it."""
    import dataclasses

    def check(server, outcome) -> Optional[str]:
        if "MAIL batched" not in server.events:
            return "MAIL did not arrive with RCPT/DATA in one write (events: %s)" % server.events
        return sc.check(server, outcome) if sc.check is not None else None

    also = sc.also
    if sc.fault.action == "reset" and sc.fault.stage in ("rcpt", "data"):
        # A reset discards replies the client has not read yet (TCP): the
        # failure then shows at the first lost reply, MAIL's (code 7) or
        # RCPT's (the recipient refused with 400, nothing sent), depending
        # on whether the replies were read before the reset came (S24).
        also = Expect(7, "400", EOF) if sc.fault.stage == "rcpt" else Expect(0, "400", EOF, refused=True)
    return dataclasses.replace(sc, name=sc.name + "+pipelining", also=also,
                               fault=dataclasses.replace(sc.fault, pipelining=True), check=check)


SCENARIOS: List[Scenario] = build()
BY_NAME = {s.name: s for s in SCENARIOS}
