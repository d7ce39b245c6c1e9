"""Python peers for bench/run.py: what a user could pick instead of a Tcl
script.  Each run is its own process, like the Tcl clients.

    python3 bench/peers.py CLIENT PORT COUNT [RECIPIENTS]

CLIENT: ``smtplib`` (a connection per message), ``smtplib-reuse`` (one
connection), ``aiosmtplib`` / ``aiosmtplib-reuse``.  The message is an
``email.message.EmailMessage`` built for each send (what a script does).
Prints ``load=<s to import> sent=<n> seconds=<s spent sending>``, the same
fields as the Tcl clients.
"""
from __future__ import annotations

import sys
import time


def message(i: int, recipients: int):
    from email.message import EmailMessage

    m = EmailMessage()
    m["From"] = "bench@client.test"
    m["To"] = ", ".join("sink%d@sink.test" % r for r in range(recipients))
    m["Subject"] = "bench %d" % i
    m.set_content("A small benchmark message.\nSecond line.\n")
    return m


def run_smtplib(port: int, count: int, recipients: int, reuse: bool) -> int:
    import smtplib

    conn = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test") if reuse else None
    for i in range(count):
        if conn is not None:
            conn.send_message(message(i, recipients))
        else:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test") as c:
                c.send_message(message(i, recipients))
    if conn is not None:
        conn.quit()
    return count


def run_aiosmtplib(port: int, count: int, recipients: int, reuse: bool) -> int:
    import asyncio

    import aiosmtplib

    async def go() -> int:
        if reuse:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="client.test",
                                     start_tls=False)
            await client.connect()
            for i in range(count):
                await client.send_message(message(i, recipients))
            await client.quit()
        else:
            for i in range(count):
                await aiosmtplib.send(message(i, recipients), hostname="127.0.0.1", port=port,
                                      local_hostname="client.test", start_tls=False)
        return count

    return asyncio.run(go())


def main() -> int:
    t0 = time.monotonic()
    client, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    recipients = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    reuse = client.endswith("-reuse")
    if client.startswith("aiosmtplib"):
        import aiosmtplib  # noqa: F401  (import time is load time)
        run = run_aiosmtplib
    else:
        import smtplib  # noqa: F401
        run = run_smtplib
    import email.message  # noqa: F401

    start = time.monotonic()
    sent = run(port, count, recipients, reuse)
    end = time.monotonic()
    print("load=%f sent=%d seconds=%f" % (start - t0, sent, end - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
