"""Reference implementations that fast paths of the MIME model are checked
against (kept as executable definitions of what the fast code must give)."""
from __future__ import annotations

from pysmtp_tcl.mime import Entity


def ref_derived(e: Entity, pairs, without) -> Entity:
    """``Entity.derived`` as the ``set_header`` calls it stands for: the
    copy without the ``without`` fields, then each pair appended."""
    c = e.shallow_copy()
    for name in without:
        if name in c.headers:
            c.set_header(name, "", "delete")
    for k, v in pairs:
        c.set_header(k, v, "append")
    return c
