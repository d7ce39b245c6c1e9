"""CLI: run every differential scenario (in parallel) and print the verdicts.

    python -m tests.differential [-v] [-j N] [NAME-SUBSTRING ...]
    python tests/differential/run.py ...

Ends with ``N scenarios: I identical, D documented differences, U unexplained``;
exit status 1 when anything is unexplained.
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "tests.differential"

from .harness import compat_ids, describe, run_scenario  # noqa: E402
from .scenarios import RUNS as SCENARIOS  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.differential", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="run only scenarios whose name contains one of these")
    ap.add_argument("-j", "--jobs", type=int, default=6, help="scenarios run at once (default 6)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print both sides' fields")
    args = ap.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.names or any(n in s.name for n in args.names)]
    ids = compat_ids()
    t0 = time.monotonic()
    with ThreadPoolExecutor(max(1, args.jobs)) as ex:
        verdicts = list(ex.map(lambda s: run_scenario(s, ids), chosen))
    for v in verdicts:
        print(describe(v, args.verbose))
    n = len(verdicts)
    ident = sum(v.status == "identical" for v in verdicts)
    doc = sum(v.status == "documented" for v in verdicts)
    bad = sum(v.status == "unexplained" for v in verdicts)
    print("(%.1f s)" % (time.monotonic() - t0), file=sys.stderr)
    print("%d scenarios: %d identical, %d documented differences, %d unexplained" % (n, ident, doc, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
