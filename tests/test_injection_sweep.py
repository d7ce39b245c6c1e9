"""The injection sweep (tests/injection_sweep.py) in the test suite: every
option and header that can reach an SMTP command, with every line-breaking
or control character and 1 MB values, against a recording server on
127.0.0.1.  Nothing may be injected and no Python text may reach a script."""
from __future__ import annotations

import injection_sweep as sweep


def test_the_judges_see_injection():
    # the checks are not vacuous: what tcllib sent for issue 7's payloads
    # and a few other shapes count as injected
    assert sweep.command_problems([b"EHLO vm\r\n", b'RCPT TO:<"t\r\n', b" RCPT TO:<injected@evil>\r\n"])
    assert sweep.command_problems([b"RCPT TO:<t\r@x.y>\r\n"])
    assert sweep.command_problems([b"EHLO cl\xe2\x80\xa8ient.example\r\n"])
    assert sweep.command_problems([b"RCPT TO:<injected@evil.example>\r\n"])
    assert sweep.command_problems([b"EHLO " + b"a" * 600 + b"\r\n"])
    assert sweep.command_problems([b"AUTH LOGIN\r\n", b"A" * 20000 + b"\r\n"])
    assert sweep.message_problems(b"To: a@b\r\nX-Injected: yes\r\n\r\nbody\r\n")
    assert sweep.message_problems(b"To: a@b\r\nRCPT TO:<x@y>\r\n\r\nbody\r\n")
    assert sweep.message_problems(b"To: a\rb@c\r\n\r\nbody\r\n")
    # and what is fine is fine
    assert not sweep.command_problems([b"EHLO vm\r\n", b"AUTH PLAIN\r\n", b"AGpvZQBwdw==\r\n",
                                       b'RCPT TO:<"t RCPT TO:<injected@evil.example> x"@x.y>\r\n',
                                       b"QUIT\r\n"])
    assert not sweep.message_problems(b"To: \"a\r\n X-Injected: yes\"@x.y\r\nSubject: s\r\n\r\nb\r\n")


def test_injection_sweep(capsys):
    inputs = sweep.build_inputs()
    s = sweep.Sweep()
    try:
        results = [s.run(i) for i in inputs]
    finally:
        s.close()
    counts = sweep.summarise(results)
    print(sweep.summary_line(counts))
    bad = [(r.inp.target, r.inp.kind, r.inp.place, r.problems, r.message[:200])
           for r in results if r.problems or r.python_text]
    assert counts["injected"] == 0 and counts["python-text"] == 0, bad[:10]
    assert counts["tried"] >= 1700
    assert counts["refused"] + counts["sent-safe"] == counts["tried"]
    # every target was tried with every kind of payload
    kinds = {(r.inp.target, r.inp.kind) for r in results}
    targets = {r.inp.target for r in results}
    assert len(kinds) == len(targets) * (len(sweep.KINDS) + 1)
    # the two payloads went out as one clean RCPT each (see also
    # tests/test_send_input_safety.py for the Postfix smtp-sink check)
    folded = [r for r in results if r.inp.target == "-header To" and r.inp.kind == "CRLF+SP"
              and r.inp.place in ("quoted",)]
    assert folded and all(r.connected and r.rc == 0 for r in folded)
