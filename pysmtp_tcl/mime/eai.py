"""Whether a message can go in an ASCII (non-SMTPUTF8) transaction.

Non-ASCII text the script put in header fields is written as RFC 2047
encoded-words, RFC 2231 parameters or IDNA A-labels (:mod:`.headerwriter`),
all ASCII.  What none of these can carry, above all an address whose local
part is not ASCII, is written as UTF-8 (RFC 6532), and a message holding it
may only go in an SMTPUTF8 transaction (RFC 6531 §3.4, §3.7.1): the smtp
layer declares SMTPUTF8 for it, or refuses to send when the server does not
offer it.  Fields of a parsed message are written as they were read (their
charset is unknown) and are not considered here.
"""
from __future__ import annotations

from collections import namedtuple

from .headers import ScriptValue
from .headerwriter import utf8_only

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Any, Optional

__all__ = ["Utf8Field", "utf8_field"]


Utf8Field = namedtuple("Utf8Field", "name kind text")
Utf8Field.__doc__ = """A header field that only an SMTPUTF8 transaction can carry.

:ivar name: (str) the field name as the script spelt it (``To``).
:ivar kind: (str) ``"address"`` (an ``addr-spec`` with a non-ASCII local
    part) or ``"value"`` (the whole value).
:ivar text: (str) that address or value.
"""


def utf8_field(entity: Any) -> Optional[Utf8Field]:
    """The first field (in the order the generator writes the message,
    subordinate parts included) that needs SMTPUTF8, or ``None``.

    :param entity: a :class:`~.model.Entity` (what would be sent).
    """
    if entity.value != "parts" and entity.headers.all_ascii():
        return None  # (the usual message: the walk below would look at these fields only)
    stack = [entity]
    while stack:
        e = stack.pop()
        # only a non-ASCII value may need UTF-8 (the usual header has none)
        for name, value in (() if e.headers.all_ascii() else e.headers.items()):
            if isinstance(value, ScriptValue) and not value.isascii():
                found = utf8_only(name, value)
                if found is not None:
                    return Utf8Field(name, *found)
        if e.value == "parts" and not e.dead:
            parts = e.parts[:1] if e.content.startswith("message/") else e.parts
            stack.extend(reversed(parts))
    return None
