"""Small record classes without :mod:`dataclasses`.

A ``pysmtp-tclsh`` process that sends one message (a cron job) pays for
every import: ``dataclasses`` pulls in ``inspect`` (and ``ast``, ``dis``,
``tokenize``) and generates each class's methods with ``exec`` when the
module loads, about 9 ms of a ~90 ms run (issue 9, ``python -X importtime``).
The send path's records therefore declare ``__slots__`` and write their
``__init__`` out; these bases add what ``@dataclass`` added:

* :class:`Record`: ``==`` over the fields, same class only; unhashable, as
  a mutable dataclass is; ``repr`` of the public fields; :meth:`replace`
  (``dataclasses.replace``).
* :class:`Value`: a record that is not changed after ``__init__``
  (``@dataclass(frozen=True)``), so also hashable.  Not enforced: a
  ``__setattr__`` guard would cost every construction on the hot path.

The fields are ``__slots__`` of the most derived class (no record here
inherits fields).
"""
from __future__ import annotations

from operator import attrgetter

__all__ = ["Record", "Value"]


class Record:
    """Base of a mutable record; see the module docstring."""

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        names = cls.__dict__.get("__slots__", ())
        # What == and hash() compare: the field values as a tuple, made at
        # C speed (commands are hashed for the rendering cache several
        # times per message).  attrgetter gives a tuple only for two or
        # more names, so a single field is taken twice: (v, v) == (w, w)
        # exactly when (v,) == (w,).  (Not namedtuple's _fields: names.)
        if names:
            get = attrgetter(*names) if len(names) >= 2 else attrgetter(names[0], names[0])
        else:
            def get(self: object) -> tuple:
                return ()
        cls._field_key = staticmethod(get)  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._field_key(self) == other._field_key(other)  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join("%s=%r" % (name, getattr(self, name))
                          for name in type(self).__slots__ if not name.startswith("_"))
        return "%s(%s)" % (type(self).__qualname__, shown)

    def replace(self, **changes: object) -> "Record":
        """A copy with ``changes`` (field name -> value) applied, built
        through ``__init__`` as ``dataclasses.replace`` does (so only for a
        record whose ``__init__`` takes every field by its name).

        :raises TypeError: a name that is no field of this record.
        """
        fields = {name: getattr(self, name) for name in type(self).__slots__}
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError("%s has no field %s" % (type(self).__qualname__, ", ".join(sorted(unknown))))
        fields.update(changes)
        return type(self)(**fields)  # type: ignore[call-arg]


class Value(Record):
    """Base of a record not changed after construction: hashable.  The hash
    is worked out once (commands and steps are looked up in caches several
    times per message); ``_hash`` is no field (not compared, not shown)."""

    __slots__ = ("_hash",)

    def __hash__(self) -> int:
        try:
            return self._hash  # type: ignore[no-any-return]
        except AttributeError:
            h = self._hash = hash((self.__class__, self._field_key(self)))  # type: ignore[attr-defined]
            return h
