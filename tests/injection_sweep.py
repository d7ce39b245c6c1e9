#!/usr/bin/env python3
"""Injection sweep: every option and header that can reach an SMTP command,
with every character that could end or split a line, and 1 MB values, sent
by ``smtp::sendmessage`` to a real recording server on 127.0.0.1.

    python tests/injection_sweep.py          # counts
    python tests/injection_sweep.py -v       # one line per input
    python tests/injection_sweep.py -k To    # targets containing "To"

Targets: ``-originator -recipients -client -username -password -servers
-ports``; ``-header`` From, Sender, To, cc, Dcc, Bcc, Resent-From,
Resent-Sender, Resent-To, Resent-cc, Resent-Dcc, Resent-Bcc, Subject,
X-Custom; the token's own To/From/Subject (``initialize -header``) and a
parsed message's (``initialize -string``).  Address values get the payload
in every syntactic place (atom, quoted local part, angle address, domain,
domain literal, display name, comment, after the address).  Payload kinds:
CR, LF, CRLF, CRLF+SP (folding), NUL, other C0 (0x01, TAB, ESC, 0x1F), DEL,
U+0085, U+2028, U+2029, and a 1 MB value.  The payload carries the text of a
command and of a header field (``RCPT TO:<injected@evil.example>``,
``X-Injected: yes``).

Each input is classified by what the server saw:

* refused before connecting: no connection reached the server;
* sent and safe: every command line the server read is one well-formed
  command (a known verb, CRLF only at its end, no control character, C1 or
  U+2028/U+2029, within RFC 5321's length), no RCPT for the injected
  address, and every message's header block is well-formed fields and
  folds, with no forged field;
* injected: anything else (must be 0).

Also counted: Python exception text reaching the script (must be 0).  Exit
status 0 only when both are 0.  ``tests/test_injection_sweep.py`` runs it in
the test suite.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
if os.path.dirname(HERE) not in sys.path:
    sys.path.insert(0, os.path.dirname(HERE))

from support.scripted import ScriptedServer  # noqa: E402

KINDS: Dict[str, str] = {
    "CR": "\r", "LF": "\n", "CRLF": "\r\n", "CRLF+SP": "\r\n ", "NUL": "\x00", "C0-01": "\x01",
    "TAB": "\t", "ESC": "\x1b", "C0-1F": "\x1f", "DEL": "\x7f", "U+0085": "\x85", "U+2028": "\u2028",
    "U+2029": "\u2029",
}
BIG = 1 << 20  # "1 MB" values: a million characters
MARK_RCPT = "RCPT TO:<injected@evil.example>"
MARK_FIELD = "X-Injected: yes"

# Where a payload goes in an address ("{p}" is replaced).
ADDRESS_PLACES = {
    "atom": "a{p}b@x.example",
    "quoted": '"a{p}b"@x.example',
    "angle": "<a{p}@x.example>",
    "domain": "a@x{p}.example",
    "literal": "a@[192.0.2.1{p}]",
    "name": "Name{p} <a@x.example>",
    "comment": "a@x.example (c{p})",
    "after": "a@x.example{p}",
}
BIG_ADDRESS = {
    "local": "{big}@x.example", "quoted": '"{big}"@x.example', "domain": "a@{big}.example",
    "name": "{big} <a@x.example>", "comment": "a@x.example ({big})",
}

KNOWN_VERBS = {b"EHLO", b"HELO", b"MAIL", b"RCPT", b"DATA", b"RSET", b"QUIT", b"NOOP", b"STARTTLS",
               b"AUTH", b"QUED", b"ONEX"}
_BAD_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class Input:
    target: str            # "-recipients", "-header To", "token To", "parsed To" ...
    kind: str              # a KINDS key or "1MB"
    place: str             # where in the value
    value: str
    options: List[str] = field(default_factory=list)   # the other options
    token: str = "plain"   # plain | header NAME | parsed NAME


def payload(sep: str) -> str:
    return sep + MARK_FIELD + sep + MARK_RCPT + sep


def build_inputs() -> List[Input]:
    out: List[Input] = []
    base = ["-servers", "127.0.0.1", "-ports", "@PORT@"]
    big = "a" * BIG

    def address_values():
        for kind, sep in KINDS.items():
            for place, tmpl in ADDRESS_PLACES.items():
                yield kind, place, tmpl.replace("{p}", payload(sep))
        for place, tmpl in BIG_ADDRESS.items():
            yield "1MB", place, tmpl.replace("{big}", big)

    # options that carry addresses
    for kind, place, v in address_values():
        out.append(Input("-originator", kind, place, v, base + ["-originator", v, "-recipients", "r@x.example"]))
        out.append(Input("-recipients", kind, place, v, base + ["-originator", "o@x.example", "-recipients", v]))
    # -header fields, each with what makes it reach the envelope
    companions = {
        "From": ["-recipients", "r@x.example"], "Sender": ["-originator", "o@x.example", "-recipients",
                                                          "r@x.example", "-header", ("From", "f@x.example")],
        "To": ["-originator", "o@x.example"], "cc": ["-originator", "o@x.example", "-header", ("To", "t@x.example")],
        "Dcc": ["-originator", "o@x.example", "-header", ("To", "t@x.example")],
        "Bcc": ["-originator", "o@x.example", "-header", ("To", "t@x.example")],
        "Resent-From": ["-header", ("Resent-To", "t@x.example")],
        "Resent-Sender": ["-header", ("Resent-From", "f@x.example"), "-header", ("Resent-To", "t@x.example")],
        "Resent-To": ["-header", ("Resent-From", "f@x.example")],
        "Resent-cc": ["-header", ("Resent-From", "f@x.example"), "-header", ("Resent-To", "t@x.example")],
        "Resent-Dcc": ["-header", ("Resent-From", "f@x.example"), "-header", ("Resent-To", "t@x.example")],
        "Resent-Bcc": ["-header", ("Resent-From", "f@x.example"), "-header", ("Resent-To", "t@x.example")],
    }
    for name, extra in companions.items():
        for kind, place, v in address_values():
            out.append(Input("-header " + name, kind, place, v, base + extra + ["-header", (name, v)]))
    # header fields that are no addresses (they reach DATA only)
    for name in ("Subject", "X-Custom"):
        for kind, sep in KINDS.items():
            v = "text" + payload(sep) + "more"
            out.append(Input("-header " + name, kind, "text", v, base + [
                "-originator", "o@x.example", "-recipients", "r@x.example", "-header", (name, v)]))
        out.append(Input("-header " + name, "1MB", "text", big, base + [
            "-originator", "o@x.example", "-recipients", "r@x.example", "-header", (name, big)]))
    # the token's own headers (never used for the envelope, but sent)
    for how in ("header", "parsed"):
        for name in ("To", "From", "Subject"):
            for kind, sep in KINDS.items():
                v = ('"a%sb"@x.example' if name != "Subject" else "text%smore") % payload(sep)
                out.append(Input("%s %s" % ("token" if how == "header" else "parsed", name), kind, "value", v,
                                 base + ["-originator", "o@x.example", "-recipients", "r@x.example"],
                                 token="%s %s" % (how, name)))
            out.append(Input("%s %s" % ("token" if how == "header" else "parsed", name), "1MB", "value", big,
                             base + ["-originator", "o@x.example", "-recipients", "r@x.example"],
                             token="%s %s" % (how, name)))
    # values that go into EHLO and AUTH, and the connection's own options
    rest = ["-originator", "o@x.example", "-recipients", "r@x.example"]
    for kind, sep in KINDS.items():
        for place, tmpl in (("name", "cl{p}ient.example"), ("literal", "[192.0.2.1{p}]")):
            v = tmpl.replace("{p}", payload(sep))
            out.append(Input("-client", kind, place, v, base + rest + ["-client", v]))
        v = "u" + payload(sep) + "x"
        out.append(Input("-username", kind, "value", v, base + rest + ["-username", v, "-password", "pw"]))
        out.append(Input("-password", kind, "value", v, base + rest + ["-username", "u", "-password", v]))
        v = "127.0.0.1" + payload(sep)
        out.append(Input("-servers", kind, "value", v, ["-servers", v, "-ports", "@PORT@"] + rest))
        out.append(Input("-ports", kind, "value", "@PORT@" + payload(sep),
                         ["-servers", "127.0.0.1", "-ports", "@PORT@" + payload(sep)] + rest))
    for target, opts in (("-client", ["-client", big]), ("-username", ["-username", big, "-password", "pw"]),
                         ("-password", ["-username", "u", "-password", big]),
                         ("-servers", ["-servers", big]), ("-ports", ["-ports", "1" * BIG])):
        o = list(opts)
        if target != "-servers":
            o = ["-servers", "127.0.0.1"] + (["-ports", "@PORT@"] if target != "-ports" else []) + o
        else:
            o += ["-ports", "@PORT@"]
        out.append(Input(target, "1MB", "value", big, o + rest))
    return out


# -- judging what the server saw -----------------------------------------------------

def command_problems(lines: Sequence[bytes]) -> List[str]:
    """Why the client's command lines are not all single well-formed
    commands (empty: they are)."""
    problems = []
    in_auth = False
    for raw in lines:
        if not raw.endswith(b"\r\n") or raw.count(b"\r") != 1 or raw.count(b"\n") != 1:
            problems.append("line not ended by one CRLF: %r" % raw[:80])
            continue
        line = raw[:-2]
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            problems.append("not UTF-8: %r" % line[:80])
            continue
        if _BAD_IN_LINE.search(text):
            problems.append("control/separator character in %r" % line[:80])
        verb = line.split(b" ", 1)[0].upper()
        if in_auth and verb not in KNOWN_VERBS and re.fullmatch(rb"[A-Za-z0-9+/]*={0,2}|\*", line):
            if len(raw) > 12288:
                problems.append("AUTH response of %d octets" % len(raw))
            continue
        in_auth = verb == b"AUTH"
        if verb not in KNOWN_VERBS:
            problems.append("unknown command %r" % line[:80])
        if len(raw) > 512:
            problems.append("%s line of %d octets" % (verb.decode("latin-1"), len(raw)))
        if verb == b"RCPT" and b"<injected@evil.example>" in line and not line.startswith(b'RCPT TO:<"'):
            problems.append("injected recipient: %r" % line[:80])
    return problems


_FIELD = re.compile(rb"[!-9;-~]+:")


def message_problems(data: bytes) -> List[str]:
    """Header-block and transparency problems of one DATA payload."""
    problems = []
    if re.search(rb"\r(?!\n)|(?<!\r)\n", data):
        problems.append("bare CR or LF in DATA")
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            continue  # a fold
        if not _FIELD.match(line):
            problems.append("header line that is no field: %r" % line[:80])
        elif line.lower().startswith(b"x-injected:"):
            problems.append("forged field: %r" % line[:80])
    return problems


PYTHON_TEXT = re.compile(r"Traceback|File \"|\w+Error\b|\w+Exception\b|pysmtp_tcl\.\w")


@dataclass
class Result:
    inp: Input
    rc: int
    message: str
    connected: bool
    problems: List[str]
    python_text: bool

    @property
    def outcome(self) -> str:
        if self.problems:
            return "injected"
        return "sent-safe" if self.connected else "refused"


class Sweep:
    """One interpreter, one recording server (AUTH, SIZE, 8BITMIME and
    SMTPUTF8 offered, so as much as possible goes through)."""

    def __init__(self) -> None:
        from pysmtp_tcl import Interpreter

        self.interp = Interpreter()
        self.tk = self.interp.tcl.tk
        self.server = ScriptedServer(ehlo=["250-sweep.example", "250-SIZE 100000000", "250-8BITMIME",
                                           "250-SMTPUTF8", "250 AUTH PLAIN LOGIN"],
                                     auth_users={"u": "pw"})

    def close(self) -> None:
        self.server.stop()

    def _sentinel(self) -> None:
        # Connections are accepted in order: once this one is recorded, so
        # is every connection the send made.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.recv(100)
            s.sendall(b"QUIT\r\n")
            s.recv(100)
        deadline = time.monotonic() + 10
        while not any(c.lines == [b"QUIT\r\n"] for c in self.server.conns[self._seen:]):
            if time.monotonic() > deadline:
                raise RuntimeError("sentinel connection not recorded")
            time.sleep(0.001)
        self.server.settle()

    def run(self, inp: Input) -> Result:
        port = str(self.server.port)
        words = []
        for w in inp.options:
            if isinstance(w, tuple):
                words.append(tuple(x.replace("@PORT@", port) for x in w))
            else:
                words.append(w.replace("@PORT@", port))
        self.tk.call("set", "::sw_args", tuple(words))
        self.tk.call("set", "::sw_value", inp.value)
        if inp.token == "plain":
            make = 'mime::initialize -canonical text/plain -string "body\\n"'
        elif inp.token.startswith("header "):
            make = ('mime::initialize -canonical text/plain -header [list %s $::sw_value] -string "body\\n"'
                    % inp.token.split()[1])
        else:
            make = 'mime::initialize -string "%s: $::sw_value\\n\\nbody\\n"' % inp.token.split()[1]
        self._seen = len(self.server.conns)
        out = self.tk.eval("""
            set ::sw_rc [catch {
                set ::sw_tok [%s]
                smtp::sendmessage $::sw_tok {*}$::sw_args
            } ::sw_m ::sw_o]
            if {[info exists ::sw_tok]} { catch {mime::finalize $::sw_tok}; unset ::sw_tok }
            set ::sw_info [expr {[dict exists $::sw_o -errorinfo] ? [dict get $::sw_o -errorinfo] : ""}]
            list $::sw_rc [string map [list \\0 <NUL>] [string range $::sw_m 0 2000]] \\
                [string map [list \\0 <NUL>] [string range $::sw_info 0 4000]]""" % make)
        rc, message, info = self.tk.splitlist(out)
        self._sentinel()
        conns = [c for c in self.server.conns[self._seen:] if c.lines != [b"QUIT\r\n"]]
        problems: List[str] = []
        for c in conns:
            problems += command_problems(c.lines)
            for d in c.datas + c.aborted:
                problems += message_problems(d)
        return Result(inp, int(rc), str(message), bool(conns), problems,
                      bool(PYTHON_TEXT.search(str(message)) or PYTHON_TEXT.search(str(info))))


def summarise(results: Sequence[Result]) -> Dict[str, int]:
    counts = {"tried": len(results), "refused": 0, "sent-safe": 0, "injected": 0,
              "python-text": sum(r.python_text for r in results)}
    for r in results:
        counts[r.outcome] += 1
    return counts


def summary_line(counts: Dict[str, int]) -> str:
    return ("%(tried)d inputs tried: %(refused)d refused before connecting, %(sent-safe)d sent and safe, "
            "%(injected)d injected, %(python-text)d with Python text" % counts)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-k", action="append", default=[], help="only targets containing this")
    args = ap.parse_args(argv)
    inputs = [i for i in build_inputs() if not args.k or any(k in i.target for k in args.k)]
    sweep = Sweep()
    results = []
    t0 = time.monotonic()
    try:
        for inp in inputs:
            r = sweep.run(inp)
            results.append(r)
            if args.verbose or r.problems or r.python_text:
                print("%-10s %-22s %-8s %-8s rc=%d %s" % (r.outcome, inp.target, inp.kind, inp.place, r.rc,
                                                         r.message[:100].encode("unicode_escape").decode()))
                for p in r.problems:
                    print("    - " + p)
    finally:
        sweep.close()
    counts = summarise(results)
    by_target: Dict[str, Tuple[int, int, int]] = {}
    for r in results:
        a, b, c = by_target.get(r.inp.target, (0, 0, 0))
        by_target[r.inp.target] = (a + (r.outcome == "refused"), b + (r.outcome == "sent-safe"),
                                   c + (r.outcome == "injected"))
    if args.verbose:
        for t, (a, b, c) in sorted(by_target.items()):
            print("  %-22s refused %4d  sent-safe %4d  injected %d" % (t, a, b, c))
        print("(%.1f s)" % (time.monotonic() - t0))
    print(summary_line(counts))
    return 0 if counts["injected"] == 0 and counts["python-text"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
