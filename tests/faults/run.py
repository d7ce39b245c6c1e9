#!/usr/bin/env python3
"""Inject every fault into pysmtp-tcl's smtp::sendmessage and report.

    python tests/faults/run.py              # every scenario, ours
    python tests/faults/run.py -k final     # names containing "final"
    python tests/faults/run.py -v           # one line per scenario
    python tests/faults/run.py --tcllib     # also real tcllib (tclsh), side by side

Ends with ``N faults injected: M handled correctly, F false successes,
H hangs, L leaked descriptors`` (a false success: rc 0 where the server
never answered the final dot with 2xx, or where the right outcome is a
failure, e.g. replies out of step); with ``--tcllib`` a line for tcllib
first.  Exit status 0 only when every fault was handled correctly.
"""
from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[0:0] = [os.path.dirname(HERE), os.path.dirname(os.path.dirname(HERE))]  # tests/, the repository

from faults.harness import OurClient, run_tcllib, server_tls_context  # noqa: E402
from faults.scenarios import SCENARIOS  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", action="append", default=[], help="only scenarios whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--tcllib", action="store_true", help="also run real tcllib in tclsh and show it")
    ap.add_argument("--tcllib-limit", type=float, default=None,
                    help="kill tclsh after this many seconds (default: the scenario's bound + 2)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and their right outcome")
    args = ap.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.k or any(k in s.name for k in args.k)]
    if args.list:
        for s in chosen:
            print("%-40s %s" % (s.name, s.expect.describe()))
        return 0
    tls = server_tls_context()
    client = OurClient()
    client.warm_up(tls)
    # The last line of defence: if a send blocks outside the event loop so
    # that no watchdog can end it, dump the stacks and exit (a suffered hang).
    n = hangs = false_successes = leaks = correct = 0
    theirs = {"correct": 0, "false": 0, "hangs": 0}
    t0 = time.monotonic()
    for sc in chosen:
        faulthandler.dump_traceback_later(sc.bound + 60, exit=True)
        out = client.run(sc, tls)
        faulthandler.cancel_dump_traceback_later()
        n += 1
        correct += out.correct
        hangs += out.hang
        false_successes += out.false_success
        leaks += out.fd_delta != 0 or out.sock_delta != 0
        if args.verbose or not out.correct:
            mark = "ok  " if out.correct else "FAIL"
            print("%s %-40s %s" % (mark, sc.name, out.summary()))
            for p in out.problems:
                print("       - %s" % p)
            if not out.correct and sc.note:
                print("       (note: %s)" % sc.note)
        if args.tcllib:
            t = run_tcllib(sc, tls, limit=args.tcllib_limit)
            theirs["correct"] += t.correct
            theirs["false"] += t.false_success
            theirs["hangs"] += t.hang
            print("     tcllib %-33s %s%s" % (sc.name, t.summary(),
                                             "" if t.correct else "  <- " + "; ".join(t.problems)))
        sys.stdout.flush()
    if args.verbose:
        print("(%.1f s)" % (time.monotonic() - t0))
    if args.tcllib:
        print("tcllib: %d of %d handled correctly, %d false successes, %d hangs"
              % (theirs["correct"], n, theirs["false"], theirs["hangs"]))
    print("%d faults injected: %d handled correctly, %d false successes, %d hangs, %d leaked descriptors"
          % (n, correct, false_successes, hangs, leaks))
    return 0 if correct == n else 1


if __name__ == "__main__":
    sys.exit(main())
