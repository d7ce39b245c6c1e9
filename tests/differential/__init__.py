"""Differential wire suite: each scenario is one Tcl script run under real
tcllib (``tclsh``) and under ``pysmtp-tclsh``, each against a fresh scripted
SMTP server on 127.0.0.1 with the same configuration; the client's command
lines, DATA bytes, result, return code, error text and ``-debug`` lines are
compared (masked where values legitimately vary).  Expected divergences are
declared per scenario with a reference to a ``COMPATIBILITY.md`` smtp entry.

Run ``python -m tests.differential`` (or ``python tests/differential/run.py``)
for a report; ``tests/test_wire_differential.py`` has one pytest item per
scenario.
"""
