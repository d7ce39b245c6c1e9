"""A mail provider's submission server, for the account tests: aiosmtpd on
127.0.0.1 with STARTTLS (or implicit TLS), AUTH only over TLS, and the
mechanisms providers offer: PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER
(RFC 7628), answering refused tokens as Gmail does (an error document as a
334 challenge, then 535).

It records every command (``commands``), each AUTH exchange as the client
sent it (``auths``: mechanism and the decoded client responses), and every
message with the TLS and AUTH state it arrived under (``messages``).
"""
from __future__ import annotations

import base64
import json
import socket
import ssl
from typing import Any, Dict, List, Optional

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

from support.aio import _RecordingSMTP


class _Handler:
    def __init__(self, owner: "ProviderServer") -> None:
        self.owner = owner

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.owner.messages.append({
            "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.original_content,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "auth": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword)
            else None,
        })
        return "250 2.0.0 OK: queued as %d" % len(self.owner.messages)

    # -- OAuth 2 mechanisms (aiosmtpd calls handler.auth_NAME(server, args)) --
    async def auth_XOAUTH2(self, server: SMTP, args: List[str]) -> Any:  # noqa: N802
        blob = await self._initial(server, args)
        if blob is MISSING:
            return AuthResult(success=False, handled=True)
        self.owner.auths.append(("XOAUTH2", [blob]))
        fields = dict(f.split("=", 1) for f in blob.decode().split("\x01") if "=" in f)
        user, bearer = fields.get("user", ""), fields.get("auth", "")
        if self.owner.tokens.get(user) and bearer == "Bearer " + self.owner.tokens[user]:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        # Gmail: the error as a challenge; the client answers with an empty line
        more = await server.challenge_auth(json.dumps({"status": "401", "schemes": "Bearer"}))
        self.owner.auths[-1][1].append(more if more is not MISSING else b"*")
        return AuthResult(success=False, handled=more is MISSING,
                          message="535 5.7.8 Username and Password not accepted")

    async def auth_OAUTHBEARER(self, server: SMTP, args: List[str]) -> Any:  # noqa: N802
        blob = await self._initial(server, args)
        if blob is MISSING:
            return AuthResult(success=False, handled=True)
        self.owner.auths.append(("OAUTHBEARER", [blob]))
        gs2, _, rest = blob.partition(b"\x01")
        fields = dict(f.split("=", 1) for f in rest.decode().split("\x01") if "=" in f)
        user = gs2.decode().split(",")[1][2:] if gs2.startswith(b"n,a=") else ""
        if self.owner.tokens.get(user) and fields.get("auth") == "Bearer " + self.owner.tokens[user]:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        # RFC 7628 §3.2.2: error document, the client must send a lone 0x01
        more = await server.challenge_auth(json.dumps({"status": "invalid_token", "scope": "mail"}))
        self.owner.auths[-1][1].append(more if more is not MISSING else b"*")
        return AuthResult(success=False, handled=more is MISSING,
                          message="535 5.7.8 Authentication credentials invalid")

    @staticmethod
    async def _initial(server: SMTP, args: List[str]) -> Any:
        if len(args) == 2:
            return base64.b64decode(args[1])
        return await server.challenge_auth("")


class _Controller(Controller):
    def __init__(self, owner: "ProviderServer", **kw: Any) -> None:
        self.owner = owner
        super().__init__(_Handler(owner), **kw)

    def factory(self) -> SMTP:
        return _RecordingSMTP(self.handler, recorder=self.owner.commands, **self.SMTP_kwargs)


class ProviderServer:
    """Start a provider-like server.

    :param tls_context: server-side context (certificate).
    :param implicit: implicit TLS (port 465 style) instead of STARTTLS.
    :param starttls: offer STARTTLS (False: a server that never offers it).
    :param users: ``{user: password}`` for PLAIN and LOGIN.
    :param tokens: ``{user: access token}`` for XOAUTH2 and OAUTHBEARER.
    :param mechanisms: the AUTH mechanisms to offer (default all four).
    :param auth_require_tls: offer AUTH only over TLS (False: a careless
        server offering it in clear too).
    """

    def __init__(self, tls_context: Optional[ssl.SSLContext], *, implicit: bool = False,
                 starttls: bool = True, users: Optional[Dict[str, str]] = None,
                 tokens: Optional[Dict[str, str]] = None,
                 mechanisms: Optional[List[str]] = None, auth_require_tls: bool = True) -> None:
        self.commands: List[tuple] = []
        self.auths: List[tuple] = []
        self.messages: List[Dict[str, Any]] = []
        self.users = dict(users or {})
        self.tokens = dict(tokens or {})
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        users_ = self.users

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and users_.get(auth_data.login.decode()) == auth_data.password.decode())
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        all_mechs = ["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"]
        exclude = [m for m in all_mechs if m not in (mechanisms or all_mechs)]
        # AUTH only over TLS (aiosmtpd knows only STARTTLS as TLS, so with
        # implicit TLS every connection is TLS and AUTH is always offered)
        kw: Dict[str, Any] = dict(authenticator=authenticator,
                                  auth_require_tls=auth_require_tls and not implicit,
                                  auth_exclude_mechanism=exclude)
        if implicit:
            kw["ssl_context"] = tls_context
        elif starttls and tls_context is not None:
            kw.update(tls_context=tls_context, require_starttls=True)
        self.controller = _Controller(self, hostname="127.0.0.1", port=self.port,
                                      server_hostname="provider.test", **kw)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def verbs(self) -> List[str]:
        return [v for v, _ in self.commands]
