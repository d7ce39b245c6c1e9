"""tcllib 1.21's own test files (mime.test, pop3d_dbox.test, pop3d.test) run
against our package, reported as one pytest item per tcltest test.  On a
Tcl 9 host they run with tcllib 2.0's support modules (compat-suite/run.py).

The suites run once per session, at collection time (the item list *is* the
list of tcltest tests they ran), through ``compat-suite/run.py --impl pysmtp``.
Each ``test_tcltest_case`` item then asserts its own tcltest outcome and shows
tcltest's failure report; ``test_suite_ran`` fails if a file did not run to
its end (setup error, timeout, lost tests).  If the tcllib sources cannot be
fetched the items fail (never skip).

Environment: ``PYSMTP_COMPAT_TIMEOUT`` (seconds per file, default run.py's);
``PYSMTP_COMPAT_IMPL=tcllib`` checks the harness itself against real tcllib.
Deselect with ``-m "not compat"``; that also avoids running the suites at
collection.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.modules import load_file

pytestmark = pytest.mark.compat

_RUN_PY = Path(__file__).resolve().parent.parent / "compat-suite" / "run.py"


compat = load_file("pysmtp_compat_run", _RUN_PY)

# Session cache: file name -> SuiteResult, or the fetch error message.
_RESULTS: dict = {}
_FETCH_ERROR: list[str] = []


def _compat_selected(config) -> bool:
    """False if ``-m`` deselects the compat marker (then skip the slow run)."""
    expr = config.getoption("markexpr", default="") or ""
    if not expr:
        return True
    try:  # pytest's own evaluator; private, hence the fallback
        from _pytest.mark.expression import Expression

        return bool(
            Expression.compile(expr).evaluate(lambda name, **kw: name == "compat")
        )
    except Exception:  # noqa: BLE001 - when unsure, run the suites
        return True


def _results(config) -> dict:
    """Run every suite once per session (all files concurrently)."""
    if not _RESULTS and not _FETCH_ERROR:
        timeout = float(os.environ.get("PYSMTP_COMPAT_TIMEOUT", compat.DEFAULT_TIMEOUT))
        try:
            impl = os.environ.get("PYSMTP_COMPAT_IMPL", "pysmtp")
            for res in compat.run_files(compat.DEFAULT_FILES, impl, timeout):
                _RESULTS[res.file] = res
        except compat.fetch.FetchError as exc:
            _FETCH_ERROR.append(f"cannot obtain tcllib 1.21 sources: {exc}")
    return _RESULTS


def pytest_generate_tests(metafunc):
    """Parametrize over the files, and over the tcltest tests they ran."""
    if not _compat_selected(metafunc.config):
        # Deselected anyway: keep placeholder ids, do not run anything.
        ids = list(compat.DEFAULT_FILES)
        if "tcltest_case" in metafunc.fixturenames:
            metafunc.parametrize("tcltest_case", [(f, None) for f in ids], ids=ids)
        if "suite_file" in metafunc.fixturenames:
            metafunc.parametrize("suite_file", ids, ids=ids)
        return
    results = _results(metafunc.config)
    if "suite_file" in metafunc.fixturenames:
        metafunc.parametrize("suite_file", list(compat.DEFAULT_FILES))
    if "tcltest_case" in metafunc.fixturenames:
        cases = [
            (f, t.name) for f in compat.DEFAULT_FILES if f in results
            for t in results[f].tests
        ]
        if not cases:  # nothing ran at all: still produce a (failing) item
            cases = [(f, None) for f in compat.DEFAULT_FILES]
        metafunc.parametrize(
            "tcltest_case", cases,
            ids=[f"{f}::{n}" if n else f for f, n in cases],
        )


def _check_fetch() -> None:
    if _FETCH_ERROR:
        pytest.fail(_FETCH_ERROR[0], pytrace=False)


def test_suite_ran(suite_file):
    """The file ran to its end with all its tests (no setup error, hang, loss),
    in this host's Tcl with this host's tcllib modules."""
    _check_fetch()
    res = _RESULTS[suite_file]
    if res.errors:
        pytest.fail("\n".join(res.errors), pytrace=False)
    assert res.summary, f"{suite_file}: no tcltest summary"
    assert res.host_tcl == compat.host.tcl_patchlevel()
    assert res.library == ("2.0" if compat.host.tcl9() else "1.21")


def test_every_suite_ran_in_full():
    """The items counted: every file, every test, each passed or failed --
    never a run that passes because fewer tests ran (101 + 46 + 82)."""
    _check_fetch()
    ran = {f: len(_RESULTS[f].tests) for f in compat.DEFAULT_FILES if f in _RESULTS}
    assert ran == compat.EXPECTED_TOTALS
    statuses = {t.status for f in compat.DEFAULT_FILES for t in _RESULTS[f].tests}
    assert statuses <= {"passed", "failed"}, statuses


def test_tcltest_case(tcltest_case):
    """One tcltest test of tcllib's suite passes against pysmtp-tcl."""
    _check_fetch()
    suite_file, name = tcltest_case
    res = _RESULTS[suite_file]
    if name is None:
        pytest.fail(
            f"{suite_file} ran no tests:\n" + "\n".join(res.errors), pytrace=False
        )
    outcome = res.by_name()[name]
    if outcome.status == "skipped":
        pytest.skip(f"tcltest skipped {name} (constraint not met)")
    if not outcome.ok:
        pytest.fail(
            f"{suite_file} {name}: {outcome.status}\n{outcome.report}", pytrace=False
        )
