"""aiosmtpd on 127.0.0.1, recording every command line and the DATA bytes.

aiosmtpd dispatches each command through ``SMTP._smtp_methods``; wrapping
those entries records the verb and argument of everything the client says
(after STARTTLS too) without touching the protocol.
"""
from __future__ import annotations

import socket
from typing import Any, Dict, List, Optional, Tuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class _Handler:
    def __init__(self, owner: "AioServer") -> None:
        self.owner = owner

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.owner.messages.append({
            "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.original_content, "mail_options": list(envelope.mail_options),
            "tls": session.ssl is not None, "auth": getattr(session, "auth_data", None),
        })
        return "250 2.0.0 Ok: queued"


class _RecordingSMTP(SMTP):
    def __init__(self, *args: Any, recorder: List[Tuple[str, str]], **kw: Any) -> None:
        super().__init__(*args, **kw)
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._wrap(verb, method, recorder)

    @staticmethod
    def _wrap(verb: str, method: Any, recorder: List[Tuple[str, str]]) -> Any:
        async def recorded(arg: Optional[str]) -> Any:
            recorder.append((verb, arg or ""))
            return await method(arg)

        return recorded


class _Controller(Controller):
    def __init__(self, owner: "AioServer", **kw: Any) -> None:
        self.owner = owner
        super().__init__(_Handler(owner), **kw)

    def factory(self) -> SMTP:
        return _RecordingSMTP(self.handler, recorder=self.owner.commands, **self.SMTP_kwargs)


class AioServer:
    """Start with optional ``tls_context`` (STARTTLS) and ``users``
    ({name: password}, enables AUTH).  ``port``, ``commands`` (list of
    ``(VERB, arg)``) and ``messages`` (dicts with ``data`` bytes) to inspect.
    """

    def __init__(self, tls_context: Any = None, users: Optional[Dict[str, str]] = None,
                 require_starttls: bool = False, **kw: Any) -> None:
        self.commands: List[Tuple[str, str]] = []
        self.messages: List[Dict[str, Any]] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        smtp_kw: Dict[str, Any] = dict(kw)
        if tls_context is not None:
            smtp_kw.update(tls_context=tls_context, require_starttls=require_starttls)
        if users is not None:
            def authenticator(server, session, envelope, mechanism, auth_data):
                if isinstance(auth_data, LoginPassword) and users.get(auth_data.login.decode()) == auth_data.password.decode():
                    return AuthResult(success=True)
                return AuthResult(success=False, handled=False)

            smtp_kw.update(authenticator=authenticator, auth_require_tls=False)
        self.controller = _Controller(self, hostname="127.0.0.1", port=self.port, **smtp_kw)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def verbs(self) -> List[str]:
        return [v for v, _ in self.commands]
