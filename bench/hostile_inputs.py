"""How the mime layer's time grows with crafted input (issue 8 QA).

A hostile sender controls every octet a script parses; a script author may
pass untrusted text to ``-canonical``, ``-header`` or the text commands.
Each case below is run at sizes n, 4n and 16n; ``x16`` is the time ratio of
16n to n: about 16 for linear work, about 256 for quadratic.  Cases that
once were quadratic are marked.  Numbers measured while other work runs on
the machine are noisy; look at the ratios.

    python3 bench/hostile_inputs.py            # all cases
    python3 bench/hostile_inputs.py qp_ws idna # some of them
    python3 bench/hostile_inputs.py --max-ratio 64   # exit 1 above it
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pysmtp_tcl import Interpreter  # noqa: E402

PARSE = ("set t [mime::initialize -string $s]; catch {mime::getbody $t -decode}; "
         "mime::getheader $t; string length [mime::buildmessage $t]; mime::finalize $t")
HEADER = ("set t [mime::initialize -canonical text/plain -string x -header [list %s $s]]; "
          "string length [mime::buildmessage $t]; mime::finalize $t")

#: name -> (Tcl script using $s, input of size n, was quadratic)
CASES = {
    "qp_ws": ("mime::qp_decode $s", lambda n: " " * (10 * n) + "x", True),
    "qp_body_ws": (PARSE, lambda n: "Content-Transfer-Encoding: quoted-printable\n\n"
                   + " " * (10 * n) + "x", True),
    "canonical_ws": ("catch {mime::initialize -canonical $s -string x}",
                     lambda n: "text/plain" + " " * (10 * n) + "x", True),
    "idna": (HEADER % "To", lambda n: "a@" + "\u00e9." * n + "x", True),
    "glued_specials": (HEADER % "To", lambda n: "J\u00f6rg <a@b>" + "," * (10 * n), True),
    "continuation_lines": (PARSE, lambda n: "Subject: a" + "\n b" * (10 * n) + "\n\nx\n", True),
    "many_fields": (PARSE, lambda n: "".join("X-%d: v\n" % i for i in range(n)) + "\nx\n", False),
    "many_parts": (PARSE, lambda n: "Content-Type: multipart/mixed; boundary=b\n\n"
                   + "--b\n\nx\n" * n + "--b--\n", False),
    "prefix_lines": (PARSE, lambda n: "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n"
                     + "--bX\n" * n + "--b--\n", False),
    "many_params": (PARSE, lambda n: "Content-Type: text/plain"
                    + "".join("; p%d=v" % i for i in range(n)) + "\n\nx\n", True),
    "rfc2231_segments": (PARSE, lambda n: "Content-Type: text/plain"
                         + "".join("; t*%d*=%%41" % i for i in range(n)) + "\n\nx\n", False),
    "nested_messages": (PARSE, lambda n: "Content-Type: message/rfc822\n\n" * (n // 4)
                        + "x\n", False),
    "field_decode_words": ("mime::field_decode $s", lambda n: "=?utf-8?q?=C3?= =?utf-8?q?=A9?= " * n,
                           False),
    "parseaddress_list": ("mime::parseaddress $s", lambda n: "a@b, " * n, True),
    "parseaddress_comments": ("mime::parseaddress $s", lambda n: "a@b" + "(" * n + ")" * n, False),
    "parsedatetime_comments": ("mime::parsedatetime $s zone",
                               lambda n: "Mon, 1 Jan 2001 00:00:00 +0000 " + "()" * (10 * n), True),
    "subject_non_ascii": (HEADER % "Subject", lambda n: "\u00e9 a" * n, False),
    "to_comments": (HEADER % "To", lambda n: "a@b.c " + "(\u00e9)" * n, False),
    "word_encode": ("mime::word_encode utf-8 quoted-printable $s", lambda n: "\u00e9" * n, False),
}


def measure(interp: Interpreter, script: str, text: str) -> float:
    interp.tcl.call("set", "s", text)
    best = None
    for _ in range(2):
        t0 = time.perf_counter()
        interp.eval(script)
        d = time.perf_counter() - t0
        best = d if best is None else min(best, d)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("-n", type=int, default=2000, help="smallest size (default 2000)")
    ap.add_argument("--max-ratio", type=float, default=0,
                    help="exit 1 if a case's x16 ratio is above this")
    args = ap.parse_args()
    names = args.cases or list(CASES)
    interp = Interpreter()
    worst = 0.0
    print("%-24s %10s %10s %10s %6s  %s" % ("case", "n", "4n", "16n", "x16", ""))
    for name in names:
        script, make, was = CASES[name]
        times = [measure(interp, script, make(args.n * k)) for k in (1, 4, 16)]
        ratio = times[2] / max(times[0], 1e-4)
        worst = max(worst, ratio)
        print("%-24s %9.4fs %9.4fs %9.4fs %6.1f  %s" % (
            name, times[0], times[1], times[2], ratio, "(was quadratic)" if was else ""))
    if args.max_ratio and worst > args.max_ratio:
        print("a case grew faster than x%g" % args.max_ratio)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
