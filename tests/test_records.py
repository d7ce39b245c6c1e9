"""The send path's records (pysmtp_tcl/records.py) behave as the
dataclasses they replaced: equality within a class over every field,
hashable only when frozen, ``replace`` through ``__init__``."""
from __future__ import annotations

import pytest

from pysmtp_tcl.records import Record, Value
from pysmtp_tcl.smtp import commands as cmds
from pysmtp_tcl.smtp.replies import Reply
from pysmtp_tcl.smtp.session import SessionOptions


def test_values_compare_and_hash_by_class_and_fields():
    assert cmds.Mail("a@b.test") == cmds.Mail("a@b.test", ())
    assert hash(cmds.Mail("a@b.test")) == hash(cmds.Mail("a@b.test", ()))
    assert cmds.Mail("a@b.test") != cmds.Rcpt("a@b.test")  # same fields, another class
    assert cmds.Mail("a@b.test") != cmds.Mail("a@b.test", (("SIZE", "10"),))
    assert cmds.Verb("DATA") == cmds.DATA and cmds.DATA != cmds.QUIT
    assert cmds.DataEnd() == cmds.DataEnd() and len({cmds.DataEnd(), cmds.DataEnd()}) == 1
    assert cmds.Ehlo("x.test") != cmds.Helo("x.test")
    assert (cmds.Verb("DATA") == "DATA") is False


def test_mutable_records_are_unhashable_and_compare_every_field():
    assert Reply(250, "ok", lines=["250 ok"]) == Reply(250, "ok", lines=["250 ok"])
    assert Reply(250, "ok") != Reply(250, "ok", local=True)
    assert Reply(250).args == [] and Reply(250).args is not Reply(250).args  # a list each
    with pytest.raises(TypeError):
        hash(Reply(250))


def test_replace_builds_through_init_and_refuses_unknown_fields():
    opts = SessionOptions(servers=("a.test",), maxsecs=5)
    changed = opts.replace(multiple=True)
    assert changed.multiple is True and changed.servers == ("a.test",) and changed.maxsecs == 5
    assert opts.multiple is False and changed != opts and changed.replace(multiple=False) == opts
    with pytest.raises(TypeError, match="no field nosuch"):
        opts.replace(nosuch=1)
    with pytest.raises(TypeError):
        SessionOptions("a.test")  # keyword-only, as every caller passes them


def test_repr_names_the_public_fields():
    assert repr(cmds.Mail("a@b.test")) == "Mail(path='a@b.test', params=())"
    assert repr(Reply(250)) == ("Reply(code=250, diagnostic='', args=[], lines=[], local=False, "
                                "keys=('diagnostic', 'args', 'code'))")


def test_a_new_record_class_gets_its_own_fields():
    class Pair(Value):
        __slots__ = ("a", "b")

        def __init__(self, a: int, b: int) -> None:
            self.a, self.b = a, b

    class Box(Record):
        __slots__ = ("x",)

        def __init__(self, x: object) -> None:
            self.x = x

    assert Pair(1, 2) == Pair(1, 2) != Pair(2, 1)
    assert hash(Pair(1, 2)) == hash(Pair(1, 2))
    assert Box([1]) == Box([1]) != Box([2])
    assert Pair(1, 2).replace(b=3) == Pair(1, 3)


def test_a_values_hash_is_remembered_and_is_no_field():
    m = cmds.Mail("a@b.test", (("SIZE", "10"),))
    first = hash(m)
    assert first == hash((cmds.Mail, ("a@b.test", (("SIZE", "10"),)))) == hash(m)  # the same, twice
    twin = cmds.Mail("a@b.test", (("SIZE", "10"),))
    assert twin == m and hash(twin) == first  # a hashed and an unhashed value still compare equal
    assert "_hash" not in repr(m) and m.replace() == m and hash(m.replace()) == first
    assert {m: 1}[twin] == 1


def test_ehlo_values_are_kept_per_name():
    assert cmds.ehlo("client.test") is cmds.ehlo("client.test") == cmds.Ehlo("client.test")
    assert cmds.render(cmds.ehlo("client.test")) == cmds.render(cmds.Ehlo("client.test")) == b"EHLO client.test\r\n"
