"""Python's ``email`` (policy.default) as a third opinion on parsing.

:func:`email_tree` describes a message as :func:`support.mimewalk.tree`
describes our parse; :func:`judge` compares the two and says *agree*, or
which documented row of COMPATIBILITY.md ("Where Python's email reads
otherwise", or an M/T row) explains the difference, or *unexplained*.

A documented difference is accepted only when the documented rewrite of
our tree (what the row says we do differently) makes the trees equal:
a row never excuses anything else in the same message.
"""
from __future__ import annotations

import copy
import quopri
import email
import email.errors
import email.header
import email.policy
import email.utils
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from .mimewalk import Error

__all__ = ["email_tree", "judge", "unfold"]

_PROPERTY_HEADERS = {"content-type", "content-transfer-encoding", "mime-version", "content-md5"}
_WS = re.compile(r"[ \t\r\n]+")


def unfold(value: str) -> str:
    """RFC 5322 §2.2.3 unfolding, then runs of white space as one space
    (Python's decoded values collapse them too)."""
    return _WS.sub(" ", value).strip()


def email_tree(data: bytes) -> Dict[str, Any]:
    """The tree Python's email (policy.default) reads from ``data``."""
    return _node(email.message_from_bytes(data, policy=email.policy.default))


def _decoded(raw: str) -> str:
    # RFC 2047 decoding of the raw value (policy.default would also
    # re-render address and date fields, which is not decoding)
    try:
        return unfold(str(email.header.make_header(email.header.decode_header(unfold(raw)))))
    except (UnicodeError, LookupError, email.errors.HeaderParseError):
        return unfold(raw)


def _node(m) -> Dict[str, Any]:
    if m.get("content-type"):
        params = {k.lower(): email.utils.collapse_rfc2231_value(v)
                  for k, v in m.get_params(failobj=[])[1:]}
    else:
        # RFC 2045 §5.2 default, which tcllib lists as a parameter
        params = {"charset": "us-ascii"} if m.get_content_type() == "text/plain" else {}
    out: Dict[str, Any] = {
        "content": m.get_content_type(),
        "params": params,
        "headers": [(k, _decoded(v)) for k, v in m.raw_items() if k.lower() not in _PROPERTY_HEADERS],
        "defects": [type(d).__name__ for d in m.defects],
    }
    if m.is_multipart():
        out["parts"] = [_node(p) for p in m.get_payload()]
    else:
        out["body"] = m.get_payload(decode=True) or b""
        cte = str(m.get("content-transfer-encoding", "")).strip().lower()
        out["cte"] = cte
        if cte == "quoted-printable":  # the encoded text, for E1 (not compared)
            out["raw"] = str(m.get_payload(decode=False)).encode("ascii", "surrogateescape")
    return out


def ours_comparable(t: Dict[str, Any], field_decode: Callable[[str], str]) -> Dict[str, Any]:
    """Our tree in :func:`email_tree`'s terms (params as a dict, header
    values unfolded and RFC 2047-decoded with our ``mime::field_decode``)."""
    out: Dict[str, Any] = {
        "content": t["content"],
        "params": dict(t["params"]),
        "headers": [(k, unfold(field_decode(v))) for k, v in t["headers"]],
    }
    if "parts" in t:
        out["parts"] = [ours_comparable(p, field_decode) for p in t["parts"]]
    else:
        out["body"] = t["body"]
        out["cte"] = t["encoding"]
    return out


def _strip(py: Dict[str, Any]) -> Dict[str, Any]:
    py = dict(py)
    py.pop("defects", None)
    py.pop("raw", None)
    if "parts" in py:
        py["parts"] = [_strip(p) for p in py["parts"]]
    return py


def _same(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    return _canon(_strip(a)) == _canon(_strip(b))


def _canon(node: Dict[str, Any]) -> Dict[str, Any]:
    """Header fields as ``{lower-case name: [values]}``: tcllib keeps one
    spelling per name and lists a name's values together at its first
    place; the values and their order per name are what must agree."""
    node = dict(node)
    table: Dict[str, List[str]] = {}
    for k, v in node["headers"]:
        table.setdefault(k.lower(), []).append(v)
    node["headers"] = table
    if "parts" in node:
        node["parts"] = [_canon(p) for p in node["parts"]]
    return node


# --- the documented rewrites (each returns a rewritten copy of ``ours``, or
# None when the row does not apply) ----------------------------------------

def _nodes(py, ours) -> List[Tuple[Dict[str, Any], Dict[str, Any]]]:
    """Pairs of nodes at the same place, as far as both trees go."""
    out = [(py, ours)]
    if "parts" in py and "parts" in ours:
        for a, b in zip(py["parts"], ours["parts"]):
            out += _nodes(a, b)
    return out


def _e5_close_missing(py, ours):
    """E5 (M21): no close delimiter: tcllib's -file parser (mime.test 3.8)
    and we label the last part application/octet-stream."""
    hit = False
    for a, b in _nodes(py, ours):
        if "CloseBoundaryNotFoundDefect" in a.get("defects", ()) and b.get("parts") and a.get("parts"):
            last = b["parts"][-1]
            if last["content"] == "application/octet-stream" and len(a["parts"]) == len(b["parts"]):
                last["content"] = a["parts"][-1]["content"]
                hit = True
    return ours if hit else None


def _e6_no_parts(py, ours):
    """E6 (M22, M23): no usable boundary or no opening delimiter: Python
    keeps the body as the multipart's payload; we give it as the body of
    one application/octet-stream part (tcllib's -file rule)."""
    hit = False
    for a, b in _nodes(py, ours):
        defects = a.get("defects", ())
        if ("NoBoundaryInMultipartDefect" in defects or "StartBoundaryNotFoundDefect" in defects) \
                and "body" in a and len(b.get("parts", ())) == 1:
            child = b["parts"][0]
            if child["content"] != "application/octet-stream" or "body" not in child:
                continue
            body = a["body"]
            if child["body"] in (body, body[:-1] if body.endswith(b"\n") else body,
                                 body[:-2] if body.endswith(b"\r\n") else body) or \
                    body.endswith(child["body"]):
                b.clear()
                b.update(copy.deepcopy(a))
                hit = True
    return ours if hit else None


_QP_WS = re.compile(rb"[ \t]+(?=\r?\n|\Z)")


def _e1_qp_trailing_space(py, ours):
    """E1: RFC 2045 §6.7 rule 3: white space at the end of a
    quoted-printable line was added in transit and is removed before
    decoding (tcllib and we); Python's email keeps it (and so also misses a
    soft break written ``= `` CRLF).  Applies where Python's own decoder,
    given the text without that padding, gives our octets."""
    hit = False
    for a, b in _nodes(py, ours):
        if a.get("cte") == "quoted-printable" and "body" in a and "body" in b and a["body"] != b["body"]:
            if quopri.decodestring(_QP_WS.sub(b"", a["raw"])) == b["body"]:
                b["body"] = a["body"]
                hit = True
    return ours if hit else None


def _e2_base64_padding(py, ours):
    """E2 (T13): "=" inside base64 data: Python stops decoding at the first
    padding (InvalidBase64CharactersDefect); we go on after it."""
    hit = False
    for a, b in _nodes(py, ours):
        if a.get("cte") == "base64" and "body" in a and "body" in b and a["body"] != b["body"] \
                and b["body"].startswith(a["body"]):
            b["body"] = a["body"]
            hit = True
    return ours if hit else None


def _e4_non_field_line(py, ours_error):
    """E4: a header line that is not a field: tcllib's error (mime.test 3.3,
    3.5), Python starts the body there."""
    return isinstance(ours_error, Error) and str(ours_error).startswith("improper line in header")


_RFC2231_KEY = re.compile(r".*\*(\d+\*?)?\Z")


def _m11_rfc2231_literal_keys(py, ours):
    """M11: RFC 2231 parameters are listed under their literal keys
    (tcllib) as well as decoded under the plain name."""
    hit = False
    for a, b in _nodes(py, ours):
        lit = [k for k in b["params"] if _RFC2231_KEY.match(k)]
        if lit:
            for k in lit:
                del b["params"][k]
            hit = True
    return ours if hit else None


def _e7_digest_default(py, ours):
    """E7: RFC 2046 §5.1.5 makes message/rfc822 the default type of a
    multipart/digest part; tcllib (and we) use text/plain there too, the
    part's body is the message text."""
    hit = False
    for a, b in _nodes(py, ours):
        if a["content"] != "multipart/digest" or "parts" not in a or "parts" not in b:
            continue
        for i, (x, y) in enumerate(zip(a["parts"], b["parts"])):
            if x["content"] == "message/rfc822" and y["content"] == "text/plain" and "body" in y \
                    and _same(email_tree(y["body"]), x["parts"][0]):
                b["parts"][i] = copy.deepcopy(x)
                hit = True
    return ours if hit else None


def _e8_empty_parts(py, ours):
    """E8: RFC 2046 §5.1.1: two delimiters in a row enclose an empty body
    part (text/plain by default); tcllib lists it (and we), Python drops
    it."""
    hit = False
    for a, b in _nodes(py, ours):
        if "parts" in a and "parts" in b and len(b["parts"]) > len(a["parts"]):
            kept = [p for p in b["parts"] if not (p.get("body") == b"" and not p["headers"]
                                                  and p["content"] == "text/plain")]
            if len(kept) == len(a["parts"]):
                b["parts"] = kept
                hit = True
    return ours if hit else None


def _e9_bad_content_type(py, ours):
    """E9: RFC 2045 §5.2: a Content-Type that does not parse (here: a
    parameter without "=") is ignored as a whole (tcllib): text/plain;
    Python keeps the type it could read."""
    hit = False
    for a, b in _nodes(py, ours):
        if b["content"] == "text/plain" and b["params"] == {"charset": "us-ascii"} \
                and a["content"] != "text/plain" and "body" in a and "body" in b and a["body"] == b["body"]:
            b["content"], b["params"] = a["content"], copy.deepcopy(a["params"])
            hit = True
    return ours if hit else None


def _e10_mbox_from_line(py, ours):
    """E10: an mbox ``From `` envelope line before the header (RFC 4155):
    tcllib makes a field of it (its name ends at the first colon of the
    time); Python keeps it apart (unixfrom)."""
    h = ours["headers"]
    if h and h[0][0].startswith("From ") and not (py["headers"] and py["headers"][0][0].startswith("From ")):
        ours["headers"] = h[1:]
        return ours
    return None


def _e11_delivery_status(py, ours):
    """E11: message/delivery-status (RFC 3464 §2.1) is groups of fields;
    Python lists each group as a part, tcllib (mime.test 12.0) and we parse
    it as a message: the first group is its header, the rest its body."""
    hit = False
    for a, b in _nodes(py, ours):
        if a["content"] == "message/delivery-status" and len(b.get("parts", ())) == 1 \
                and a.get("parts") and _canon(b["parts"][0])["headers"] == _canon(a["parts"][0])["headers"]:
            b["parts"] = copy.deepcopy(a["parts"])
            hit = True
    return ours if hit else None


REWRITES = (("M11", _m11_rfc2231_literal_keys), ("E11", _e11_delivery_status), ("E10", _e10_mbox_from_line),
            ("E1", _e1_qp_trailing_space), ("E2", _e2_base64_padding),
            ("E5", _e5_close_missing), ("E6", _e6_no_parts), ("E7", _e7_digest_default),
            ("E8", _e8_empty_parts), ("E9", _e9_bad_content_type))


def judge(py: Dict[str, Any], ours: Any, field_decode: Callable[[str], str]) -> Tuple[str, Optional[str]]:
    """``("agree", None)``, ``("documented", "E5+E1")`` or
    ``("unexplained", description)``."""
    if isinstance(ours, Error):
        if _e4_non_field_line(py, ours):
            return "documented", "E4"
        return "unexplained", "our parse failed: %s" % ours
    mine = ours_comparable(ours, field_decode)
    if _same(py, mine):
        return "agree", None
    rows = []
    work = copy.deepcopy(mine)
    for name, rewrite in REWRITES:
        done = rewrite(py, work)
        if done is not None:
            rows.append(name)
            work = done
            if _same(py, work):
                return "documented", "+".join(rows)
    return "unexplained", _describe(_canon(_strip(py)), _canon(_strip(work)))


def _describe(a, b, path="") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _describe(a.get(k), b.get(k), path + "/" + k)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _describe(x, y, "%s[%d]" % (path, i))
    return "%s: email %r, ours %r" % (path, a, b)
