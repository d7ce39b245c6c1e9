"""Parse a message with ``mime::initialize`` in a Tcl interpreter (ours or
real tcllib's) and describe the part tree as plain Python values, so two
parsers (or ``-string`` and ``-file``) can be compared with ``==``."""
from __future__ import annotations

import itertools
import os
import tempfile
import tkinter
from typing import Any, Dict, List, Optional, Tuple, Union

from pysmtp_tcl import Interpreter

__all__ = ["tcllib_interp", "ours_interp", "parse", "tree", "octets_of", "Error"]

_n = itertools.count()
_interps: Dict[str, Any] = {}


def tcllib_interp() -> tkinter.Tcl:
    """One interpreter with the host's tcllib ``mime`` (the oracle: 1.21 on
    Tcl 8.6, 2.0 on Tcl 9; support/oracle.py)."""
    if "tcllib" not in _interps:
        from support import oracle

        o = oracle.oracle()
        t = tkinter.Tcl()
        t.eval("encoding system utf-8")
        assert t.eval("package require mime") == o.mime
        assert t.eval("package ifneeded mime %s" % o.mime).startswith("source " + o.library)
        _interps["tcllib"] = t
    return _interps["tcllib"]


def ours_interp() -> tkinter.Tcl:
    """One interpreter with our package installed."""
    if "ours" not in _interps:
        i = Interpreter()
        assert "pysmtp_tcl::invoke" in i.eval("info body ::mime::getheader")
        _interps["ours"] = i.tcl
    return _interps["ours"]


class Error(str):
    """A Tcl error's message where a tree was expected."""

    def __repr__(self) -> str:
        return "Error(%s)" % str.__repr__(self)


def octets_of(value: Any) -> bytes:
    """A ``getbody`` result as octets (chars above U+00FF as UTF-8)."""
    if isinstance(value, bytes):
        return value
    s = str(value)
    try:
        return s.encode("latin-1")
    except UnicodeEncodeError:
        return s.encode("utf-8")


def _list(t: tkinter.Tcl, value: Any) -> Tuple[str, ...]:
    if isinstance(value, tuple):
        return tuple(str(x) for x in value)
    return tuple(str(x) for x in t.splitlist(value))


def tree(t: tkinter.Tcl, tok: str, decode: bool = False) -> Dict[str, Any]:
    """``{content, params, encoding, headers, body | parts}`` for ``tok``;
    ``headers`` is ``[(name, value)]`` of the user headers in order,
    ``body`` the ``getbody`` octets (or an :class:`Error`), ``text`` the
    ``getbody -decode`` result when ``decode``."""
    params = _list(t, t.call("mime::getproperty", tok, "params"))
    out: Dict[str, Any] = {
        # (eval: a string result, whatever Tcl object type it has)
        "content": t.eval("mime::getproperty %s content" % tok),
        "params": list(zip(params[0::2], params[1::2])),
        "encoding": t.eval("mime::getproperty %s encoding" % tok),
        "headers": [(n, v) for n in _list(t, t.call("mime::getheader", tok, "-names"))
                    for v in _list(t, t.call("mime::getheader", tok, n))],
    }
    try:
        parts = _list(t, t.call("mime::getproperty", tok, "parts"))
    except tkinter.TclError:
        parts = None
    if parts is None:
        try:
            out["body"] = octets_of(t.call("mime::getbody", tok))
        except tkinter.TclError as e:
            out["body"] = Error(str(e))
        if decode:
            try:
                out["text"] = str(t.call("mime::getbody", tok, "-decode"))
            except tkinter.TclError as e:
                out["text"] = Error(str(e))
    else:
        out["parts"] = [tree(t, p, decode) for p in parts]
    return out


def parse(t: tkinter.Tcl, data: Union[bytes, str], how: str = "string",
          decode: bool = False, tmpdir: Optional[str] = None) -> Union[Dict[str, Any], Error]:
    """``mime::initialize -string data`` (bytes go in as a Tcl byte array:
    octets as chars) or ``-file`` (``data`` written to a temporary file);
    the tree, or the :class:`Error` initialize (or a walk) raised."""
    path = None
    try:
        if how == "file":
            fd, path = tempfile.mkstemp(prefix="mimewalk%d-" % next(_n), dir=tmpdir)
            with os.fdopen(fd, "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
            tok = t.call("mime::initialize", "-file", path)
        else:
            tok = t.call("mime::initialize", "-string", data)
        try:
            return tree(t, str(tok), decode)
        finally:
            t.call("mime::finalize", str(tok))
    except tkinter.TclError as e:
        return Error(str(e))
    finally:
        if path:
            os.unlink(path)


def bodies(node: Any) -> List[bytes]:
    """The leaf bodies of a tree, depth first."""
    if isinstance(node, Error):
        return []
    if "parts" in node:
        return [b for p in node["parts"] for b in bodies(p)]
    return [node["body"]]
