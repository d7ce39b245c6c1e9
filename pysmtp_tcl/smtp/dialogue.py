"""One mail transaction as a sans-I/O state machine (RFC 5321 §3.3, RFC 2920).

The decisions of tcllib's ``sendmessageaux``, without a socket: MAIL, one
RCPT per recipient, then DATA when at least one recipient was accepted and
either none was refused or ``-atleastone 1``; otherwise RSET.  A failed MAIL
or DATA ends the transaction as a failure (Tcl return code 7 in the bridge).

The caller (:class:`~.session.Session`, the I/O shell) asks
:meth:`MailTransaction.next_batch` for the commands to write, writes them in
one go, reads one reply per command in order and hands each to
:meth:`MailTransaction.receive`; it repeats until ``next_batch`` is empty
and then reads :attr:`~MailTransaction.phase`.  Without PIPELINING every
batch is one command, so the dialogue is tcllib's lock-step one.

With PIPELINING (RFC 2920 §3.1) a batch holds MAIL and the RCPTs, at most
:data:`BATCH_LIMIT` commands (msmtp's bound: the replies to a batch must fit
the socket buffers, or the client blocks writing while the server blocks
writing replies nobody reads).  DATA joins the last batch only where its
outcome cannot differ from lock-step: one recipient, or ``-atleastone 1``.
Then DATA goes exactly when the lock-step client would send it, except that
a server also sees it after a refused MAIL or when every recipient was
refused, and a conforming server refuses it then (503/554).  A server that
answers 354 anyway gets nothing: :attr:`~MailTransaction.must_drop` tells
the shell to close the connection without a final dot, so nothing can be
delivered that the lock-step client would not deliver.  With ``-atleastone
0`` and more than one recipient DATA waits for the RCPT replies, as a
refused recipient must lead to RSET with nothing sent (DESIGN.md §7).
"""
from __future__ import annotations

import enum
import functools
from collections import deque

from ..records import Value
from . import commands as cmds
from .replies import Reply

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Deque, List, Optional, Sequence, Tuple

    from .commands import Command, Params

#: Most commands written in one batch (msmtp caps its pipeline at 100).
BATCH_LIMIT = 100

#: tcllib's waits for each reply, in seconds (``talk $token SECS …``).
WAIT_MAIL = 600
WAIT_RCPT = 3600
WAIT_DATA = 300
WAIT_RSET = 300


class Step(Value):
    """A command to write and how long tcllib waits for its reply (s).

    :ivar kind: ``"MAIL"``, ``"RCPT"``, ``"DATA"``, ``"RSET"`` or ``""``
        (another command): how :meth:`MailTransaction.receive` reads its
        reply, told once per (memoized) step rather than per reply.
    """

    __slots__ = ("command", "wait", "kind")

    def __init__(self, command: Command, wait: float) -> None:
        self.command = command
        self.wait = wait
        self.kind = ("MAIL" if isinstance(command, cmds.Mail) else "RCPT" if isinstance(command, cmds.Rcpt)
                     else "DATA" if command == cmds.DATA else "RSET" if command == cmds.RSET else "")


# Steps are frozen values: the usual ones are made once (a script sends
# from and to the same addresses again and again).
_DATA_STEP = Step(cmds.DATA, WAIT_DATA)
_RSET_STEP = Step(cmds.RSET, WAIT_RSET)


@functools.lru_cache(maxsize=256)
def _mail_step(sender: str, params: Params) -> Step:
    return Step(cmds.Mail(sender, params), WAIT_MAIL)


@functools.lru_cache(maxsize=1024)
def _rcpt_step(recipient: str) -> Step:
    return Step(cmds.Rcpt(recipient), WAIT_RCPT)


class Phase(enum.Enum):
    COMMANDS = "commands"  # batches to write or replies to read
    BODY = "body"          # DATA got 354: send the message, then the final dot
    DONE = "done"          # no message goes (RSET sent): :attr:`refused` is the result
    FAILED = "failed"      # MAIL, DATA or the opening RSET failed: :attr:`failure`


class MailTransaction:
    """MAIL, RCPT…, DATA or RSET for one message.

    :param sender: the reverse-path (``""`` for ``<>``).
    :param recipients: forward-paths, in order.
    :param params: MAIL parameters (SIZE, BODY, SMTPUTF8).
    :param atleastone: ``-atleastone``: send to the accepted recipients
        even when some were refused.
    :param pipelining: the server offers PIPELINING and it may be used.
    :param rset_first: open with RSET (a connection kept open after an
        aborted transaction).  It is pipelined with MAIL.
    :param batch_limit: most commands per batch.
    """

    # Fields that start the same in every transaction are class defaults
    # (an assignment makes an instance's own): fewer stores per message.
    phase = Phase.COMMANDS
    #: recipients accepted (250/251)
    accepted = 0
    #: the reply that failed the transaction (:attr:`phase` FAILED)
    failure: Optional[Reply] = None
    #: the server took DATA (354) although no message may go: close the
    #: connection now, without a final dot (the transaction is discarded)
    must_drop = False
    #: a 421 came: the server is closing the connection (RFC 5321 §3.8)
    closing = False
    _data_queued = False

    def __init__(self, sender: str, recipients: Sequence[str], params: Params = (), *,
                 atleastone: bool, pipelining: bool, rset_first: bool = False,
                 batch_limit: int = BATCH_LIMIT) -> None:
        self.atleastone = atleastone
        self.pipelining = pipelining
        self.batch_limit = max(1, batch_limit) if pipelining else 1
        #: refused recipients ``(address, code, diagnostic)``, in order
        self.refused: List[Tuple[str, str, str]] = []
        self._sent: Deque[Step] = deque()
        self._opening_rset = rset_first
        queue: Deque[Step] = deque((_RSET_STEP,) if rset_first else ())
        queue.append(_mail_step(sender, tuple(params)))
        queue.extend(map(_rcpt_step, recipients))
        if pipelining and recipients and (atleastone or len(recipients) == 1):
            # Pipelined DATA cannot change the outcome (see the module text).
            queue.append(_DATA_STEP)
            self._data_queued = True
        self._queue = queue

    # -- what to write ----------------------------------------------------------
    def next_batch(self) -> Tuple[Step, ...]:
        """The commands to write now, in one write; ``()`` while replies are
        due, or when the dialogue is over (see :attr:`phase`)."""
        if self._sent or self.phase is not Phase.COMMANDS:
            return ()
        queue = self._queue
        if not queue:
            if self.failure is not None:
                self.phase = Phase.FAILED
                return ()
            if self._data_queued:  # DATA was answered: receive() set the phase
                return ()
            # tcllib: DATA when someone accepted and (nobody refused or
            # -atleastone 1); otherwise RSET, whose reply is ignored
            if self.accepted and (not self.refused or self.atleastone):
                queue.append(_DATA_STEP)
                self._data_queued = True
            else:
                queue.append(_RSET_STEP)
        if len(queue) <= self.batch_limit:  # the usual case: all of it
            batch = tuple(queue)
            queue.clear()
        else:
            batch = tuple([queue.popleft() for _ in range(self.batch_limit)])
        self._sent.extend(batch)
        return batch

    @property
    def awaiting(self) -> int:
        """Replies still due for commands written."""
        return len(self._sent)

    # -- what came back -----------------------------------------------------------
    def receive(self, reply: Reply) -> None:
        """The reply to the oldest command written and not yet answered
        (replies come in command order, RFC 2920 §3.1)."""
        step = self._sent.popleft()
        kind = step.kind
        code = reply.code
        if code == 421 and reply.well_formed:
            self.closing = True
        if kind == "MAIL":
            if code != 250 and self.failure is None:
                self.failure = reply
                self._queue.clear()  # lock-step stops here; nothing more is sent
        elif kind == "RCPT":
            if self.failure is not None:
                return  # written before MAIL's reply came; lock-step never sent it
            if code in (250, 251):
                self.accepted += 1
            else:
                self.refused.append((step.command.path, str(code), reply.diagnostic))
        elif kind == "DATA":
            wanted = self.failure is None and self.accepted and (not self.refused or self.atleastone)
            if wanted:
                if code == 354:
                    self.phase = Phase.BODY
                else:
                    self.failure = reply
                    self.phase = Phase.FAILED
            else:
                # Pipelined DATA where lock-step would have sent RSET (or
                # nothing, after a refused MAIL).  A 354 means the server
                # waits for a message that must not go.
                if code == 354:
                    self.must_drop = True
                    self.phase = Phase.FAILED if self.failure is not None else Phase.DONE
                elif self.failure is not None:
                    self.phase = Phase.FAILED
                else:
                    self._queue.append(_RSET_STEP)
        elif kind == "RSET":
            if self._opening_rset:
                # a kept connection's RSET after an aborted transaction
                self._opening_rset = False
                if code != 250 and self.failure is None:
                    self.failure = reply
                    self._queue.clear()
            else:
                self.phase = Phase.DONE  # tcllib ignores RSET's reply
