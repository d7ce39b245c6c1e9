"""Fault-injection suite for smtp::sendmessage: a raw-socket server that
misbehaves at each stage of the SMTP dialogue (server.py), the scenarios and
their right outcomes (scenarios.py), the runner and judge (harness.py), and
the CLI (run.py).  tests/test_faults.py runs each scenario as a pytest item."""
