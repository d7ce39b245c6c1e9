"""Pure-Python MIME core behind the ``mime::`` Tcl commands (tcllib 1.21's
``mime`` package semantics).  Never imports tkinter.

API used by the bridge and the smtp layer:

- :class:`Entity` -- one part: ``Entity.create(canonical, params=, encoding=,
  headers=, string= | file= | parts=)``, ``header_names()``,
  ``get_header(name)``, ``set_header(name, value, mode)``,
  ``with_headers_appended(pairs)``, ``transfer_encoding()``, ``size()``.
- :func:`parse_string` / :func:`parse_file` -- ``initialize -string/-file``
  without ``-canonical``.
- :func:`generate` ``(entity, write)`` -- what ``copymessage`` writes, in
  bounded chunks (``str`` text with ``"\\n"`` line ends, or ``bytes``).
- :func:`build_message` -- ``buildmessage``: CRLF octets.
- :func:`unique_id`, :func:`mapencoding`, :func:`reversemapencoding`.
"""
from __future__ import annotations

from .charsets import mapencoding, reversemapencoding
from .generator import CRLFCollector, build_message, generate
from .headers import HeaderValueError
from .ids import make_boundary, tcl_hostname, unique_id
from .model import Entity, MimeError
from .parser import parse_file, parse_string

__all__ = [
    "Entity", "MimeError", "HeaderValueError", "generate", "build_message",
    "CRLFCollector", "parse_string", "parse_file", "unique_id", "make_boundary",
    "tcl_hostname", "mapencoding", "reversemapencoding",
]
