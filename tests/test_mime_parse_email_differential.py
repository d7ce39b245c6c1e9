"""Parsing differential with Python's ``email`` as a third opinion (issue 8,
item 3): messages made by ``email.message.EmailMessage`` and written with
``policy.SMTP`` (CRLF) or LF, plus deliberately malformed variants, are
parsed by ``mime::initialize`` (ours: ``-string`` and ``-file`` must give the
same tree) and by ``email`` (policy.default).  Part tree, content types and
parameters, decoded body octets and decoded header text must agree, or the
difference must be one a COMPATIBILITY.md row documents
(:func:`support.emailcompare.judge` applies only that row's rewrite).
Real tcllib parses each message too; its agreement is counted, not judged
(its differences are the M/T rows, tested in test_mime_parse_rfc.py).

Deterministic (``derandomize``); the counts are printed by the last test.
"""
from __future__ import annotations

import collections
import email.policy
import re
from email.message import EmailMessage

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import pytest

from support.emailcompare import email_tree, judge
from support.mimewalk import ours_interp, parse, tcllib_interp

pytestmark = pytest.mark.tcllib

COUNTS: collections.Counter = collections.Counter()
ROWS: collections.Counter = collections.Counter()
EXAMPLES = 500

LF = email.policy.default.clone(linesep="\n")

text_alphabet = st.sampled_from(list("abc XYZ019.=,;:\"'()<>?_-\t") + ["\n", "\n", "From ", "\u00e9", "\u20ac",
                                                                       "\u00fc", "x" * 90])
texts = st.lists(text_alphabet, max_size=40).map("".join)
header_text = st.lists(st.sampled_from(list("abc XYZ019.-?_") + ["\u00e9", "\u20ac", "=?", "Gr\u00fc\u00dfe"]),
                       min_size=1, max_size=12).map("".join).map(str.strip).filter(bool)

leaf = st.one_of(
    st.fixed_dictionaries({"kind": st.just("text"), "text": texts,
                           "subtype": st.sampled_from(["plain", "html"]),
                           "charset": st.sampled_from(["utf-8", "iso-8859-1", "us-ascii"]),
                           "cte": st.sampled_from([None, "quoted-printable", "base64", "8bit", "7bit"])}),
    st.fixed_dictionaries({"kind": st.just("bytes"), "data": st.binary(max_size=120) | st.just(
                              b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\r\r\n\n"),
                           "type": st.sampled_from([("image", "png"), ("application", "octet-stream")]),
                           "cte": st.sampled_from(["base64", "quoted-printable"])}),
)


def _containers(children):
    return st.one_of(
        st.fixed_dictionaries({"kind": st.just("multi"),
                               "subtype": st.sampled_from(["mixed", "alternative", "related", "form-data"]),
                               "parts": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"kind": st.just("message"), "child": children}),
    )


trees = st.recursive(leaf, _containers, max_leaves=5)
headers = st.lists(st.tuples(st.sampled_from(["Subject", "X-Note", "Comments"]), header_text), max_size=3)


def build(node, hdrs, boundary="b"):
    """An EmailMessage for ``node``; multipart boundaries nest as prefixes
    of each other (``b``, ``bx``, ``bxx``...)."""
    m = EmailMessage(policy=email.policy.SMTP)
    if node["kind"] == "text":
        m.set_content(node["text"], subtype=node["subtype"], charset=node["charset"], cte=node["cte"])
    elif node["kind"] == "bytes":
        m.set_content(node["data"], *node["type"], cte=node["cte"])
    elif node["kind"] == "message":
        m.set_content(build(node["child"], [("Subject", "inner")], boundary + "x"))
    else:
        m["Content-Type"] = "multipart/" + node["subtype"]
        m.set_param("boundary", boundary)
        m.set_payload([build(c, [], boundary + "x" * (i + 1)) for i, c in enumerate(node["parts"])])
    for k, v in hdrs:
        m[k] = v
    return m


def _root_boundary(data: bytes):
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = re.search(rb'boundary="?([^";\r\n]+)', head)
    return found.group(1) if found else None


def mutate(data: bytes, how: str) -> bytes:
    """Deliberately malformed (or merely unusual) variants."""
    b = _root_boundary(data)
    if how == "lf":
        return data.replace(b"\r\n", b"\n")
    if how == "trailing_ws" and b"\r\n\r\n" in data:
        head, body = data.split(b"\r\n\r\n", 1)
        # white space added in transit (not on field lines: Python does not
        # trim a Content-Transfer-Encoding value, E12 is not generated)
        body = b"\r\n".join(l if b":" in l or not l else l + b" \t" for l in body.split(b"\r\n"))
        return head + b"\r\n\r\n" + body
    if b is None:
        return data
    d = b"--" + b
    if how == "no_close":
        return data[:data.rfind(d + b"--")]
    if how == "padding":
        return re.sub(rb"(?m)^(" + re.escape(d) + rb"(?:--)?)\r$", rb"\1 \t\r", data)
    if how == "pre_epi":
        i = data.find(d)
        return data[:i] + b"This is a MIME message.\r\n" + data[i:] + b"epilogue\r\n--" + b + b"\r\nnot a part\r\n"
    if how == "no_boundary":
        return data.replace(b'boundary="' + b + b'"', b'x-was="' + b + b'"', 1).replace(
            b"boundary=" + b, b"x-was=" + b, 1)
    return data


MUTATIONS = ["none", "none", "lf", "trailing_ws", "no_close", "padding", "pre_epi", "no_boundary"]


def field_decode(value: str) -> str:
    return str(ours_interp().call("mime::field_decode", value))


def check(data: bytes, tmpdir: str) -> None:
    COUNTS["inputs"] += 1
    ours = parse(ours_interp(), data, "string")
    assert parse(ours_interp(), data, "file", tmpdir=tmpdir) == ours, "-string and -file differ"
    verdict, why = judge(email_tree(data), ours, field_decode)
    COUNTS[verdict] += 1
    if verdict == "documented":
        ROWS[why] += 1
    theirs = parse(tcllib_interp(), data, "string")
    COUNTS["tcllib same tree" if theirs == ours else
           "tcllib error" if isinstance(theirs, str) else "tcllib other tree"] += 1
    assert verdict != "unexplained", (why, data)


@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(trees, headers, st.sampled_from(MUTATIONS))
def test_generated_messages_parse_as_python_email_does(tmp_path_factory, tree, hdrs, how):
    try:
        msg = build(tree, hdrs)
        data = msg.as_bytes(policy=email.policy.SMTP)
    except (ValueError, TypeError, KeyError, UnicodeError, AttributeError):
        assume(False)  # a combination EmailMessage refuses (7bit for 8-bit text...)
    data = mutate(data, how)
    COUNTS["mutation " + how] += 1
    check(data, str(tmp_path_factory.getbasetemp()))


def test_report_counts(capsys):
    """Prints the differential's counts; 0 unexplained."""
    if not COUNTS["inputs"]:
        pytest.skip("the differential did not run in this session")
    with capsys.disabled():
        print("\nparse differential vs Python email: inputs %d, agree %d, documented %d (%s), "
              "unexplained %d; tcllib 1.21: same tree %d, error %d, other tree %d"
              % (COUNTS["inputs"], COUNTS["agree"], COUNTS["documented"],
                 ", ".join("%s %d" % kv for kv in sorted(ROWS.items())), COUNTS["unexplained"],
                 COUNTS["tcllib same tree"], COUNTS["tcllib error"], COUNTS["tcllib other tree"]))
    assert COUNTS["unexplained"] == 0
    assert COUNTS["agree"] + COUNTS["documented"] == COUNTS["inputs"]
