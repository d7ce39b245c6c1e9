"""Differential wire suite: every scenario of ``tests/differential`` run under
real tcllib (``tclsh``) and under ``pysmtp-tclsh`` against fresh scripted
servers; one item per scenario, failing on an unexplained difference (or a
declared difference that did not occur).  The selected scenarios are run in
parallel once, on first use; each item then reports its own verdict.

Also: ``python -m tests.differential`` prints the same verdicts.
"""
from __future__ import annotations

import gc
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Dict

import pytest

from differential.harness import Verdict, compat_ids, describe, run_scenario
from differential.scenarios import RUNS as SCENARIOS

pytestmark = pytest.mark.tcllib

BY_NAME = {s.name: s for s in SCENARIOS}
_lock = threading.Lock()
_verdicts: Dict[str, Verdict] = {}


def _selected(session) -> list:
    names = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "originalname", "") == "test_wire_matches_tcllib" and callspec is not None:
            names.append(callspec.params["name"])
    return names


@pytest.fixture(scope="module")
def oracle():
    """The host's tcllib, and (for TLS scenarios) one with tcl-tls: the same
    on Tcl 8.6; tcllib 1.21 on Tcl 8.6 beside a Tcl 9 host (support/oracle.py)."""
    from support import oracle as host

    exes = []
    for o in (host.oracle(), host.tls_oracle()):
        try:
            p = subprocess.run(o.command(), input="puts [package require smtp]; puts [package require tls]",
                               capture_output=True, text=True, env=o.environ())
        except (OSError, RuntimeError) as e:
            pytest.fail(str(e))
        if not p.stdout.startswith(o.smtp + "\n") or (o.tls and p.returncode):
            pytest.fail("tcllib %s (smtp %s)%s needed in %s: apt-get install tcllib tcl-tls "
                        "(got %r %r)" % (o.tcllib, o.smtp, " and tcl-tls" if o.tls else "",
                                         o.tclsh, p.stdout, p.stderr))
        exes.append(o.tclsh)
    return exes


def _verdict(request, name: str) -> Verdict:
    with _lock:
        if name not in _verdicts:
            wanted = [n for n in _selected(request.session) if n not in _verdicts] or [name]
            if name not in wanted:
                wanted.append(name)
            ids = compat_ids()
            # No garbage collection in the worker threads: a Tcl interpreter
            # an earlier test left in a reference cycle must be freed on the
            # thread that made it (Tcl aborts the process otherwise).
            gc.collect()
            gc.disable()
            try:
                with ThreadPoolExecutor(6) as ex:
                    for n, v in zip(wanted, ex.map(lambda n: run_scenario(BY_NAME[n], ids), wanted)):
                        _verdicts[n] = v
            finally:
                gc.enable()
        return _verdicts[name]


def test_enough_scenarios():
    assert len(SCENARIOS) >= 40
    assert len(BY_NAME) == len(SCENARIOS), "scenario names must be unique"


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_wire_matches_tcllib(request, oracle, name):
    v = _verdict(request, name)
    assert v.ok, describe(v)
