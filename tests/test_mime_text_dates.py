"""RFC 822 date-times: pysmtp_tcl.mime.dates and mime::parsedatetime."""
from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysmtp_tcl.mime.dates import PROPERTIES, DateError, PythonClock, parsedatetime
from test_mime_text_oracle import needs_tclsh, ours, tcllib  # noqa: F401 (fixtures)


@pytest.fixture
def utc():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC0"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


EPOCH_2000 = 946684800


@pytest.mark.parametrize("stamp, date", [  # mime.test 10.x
    (86340, "Sat, 01 Jan 2000 23:59:00 +0000"), (5176620, "Tue, 29 Feb 2000 21:57:00 +0000"),
    (31610520, "Sun, 31 Dec 2000 20:42:00 +0000"), (126218520, "Wed, 31 Dec 2003 20:42:00 +0000")])
def test_clock_and_proper(utc, stamp, date):
    assert parsedatetime(date, "clock") - EPOCH_2000 == stamp
    assert parsedatetime(date, "proper") == date


def test_fields(utc):
    d = "Sun, 09 Sep 2001 01:46:40 +0000"
    got = {p: parsedatetime(d, p) for p in PROPERTIES if p not in ("rclock",)}
    assert got == {
        "clock": 1000000000, "hour": "1", "lmonth": "September", "lweekday": "Sunday",
        "mday": "9", "min": "46", "mon": "9", "month": "Sep", "proper": d, "sec": "40",
        "wday": "0", "weekday": "Sun", "yday": "252", "year": "2001", "zone": "0"}
    assert 0 < parsedatetime(d, "rclock") - (int(time.time()) - 1000000000) + 5 < 10
    assert parsedatetime("-now", "rclock") == 0


def test_proper_follows_local_zone():
    old = os.environ.get("TZ")
    try:
        os.environ["TZ"] = "EST5EDT"
        time.tzset()
        assert parsedatetime("Tue, 29 May 2001 11:03:02 +0000", "proper") == \
            "Tue, 29 May 2001 07:03:02 -0400"
    finally:
        os.environ.pop("TZ") if old is None else os.environ.__setitem__("TZ", old)
        time.tzset()


@pytest.mark.parametrize("date, zone", [  # shared case 18
    ("Tue, 29 May 2001 11:03:02 -0500", "-300"), ("Tue, 29 May 2001 11:03:02 +0530", "330"),
    ("Sun, 17 May 2026 22:15:15 +1200", "720"), ("Mon, 18 May 2026 11:15:15 +1300", "780"),
    ("Tue, 29 May 2001 11:03:02 -0000", "0"), ("Tue, 29 May 2001 11:03:02 -0500 (CDT)", "-300"),
    ("Tue, 29 May 2001 11:03:02 EST", "-300"), ("Tue, 29 May 2001 11:03:02 gmt", "0")])
def test_zone(utc, date, zone):
    assert parsedatetime(date, "zone") == zone


@pytest.mark.parametrize("date, prop, message", [
    ("Tue, 29 May 2001 11:03:02 -0500", "bogus", "unknown property bogus"),
    ("Tue, 29 May 2001 11:03:02 -0500", "date2gmt", "unknown property date2gmt"),
    ("Tue, 29 May 2001 11:03:02 XYZ", "zone", "unrecognized timezone-mnemonic: XYZ"),
    ("Tue, 29 May 2001 11:03:02 +05x0", "zone", "malformed timezone-specification: 05x0"),
    ("garbage", "clock", 'unable to convert date-time string "garbage": syntax error')])
def test_errors(utc, date, prop, message):
    with pytest.raises(DateError) as e:
        parsedatetime(date, prop, PythonClock())
    assert str(e.value) == message


# -- through Tcl, against real tcllib --------------------------------------

DATES = [
    "Tue, 29 May 2001 11:03:02 -0500", "29 May 2001 11:03 +0100", "Sat, 01 Jan 2000 23:59:00 +0000",
    "Tue, 29 May 2001 11:03:02 EST", "Tue, 29 May 2001 11:03:02 PDT", "Tue, 29 May 2001 11:03:02",
    "Tue, 29 May 2001 11:03:02 (CDT)", "29 May 69 11:03:02 GMT", "2001-05-29 11:03:02",
    "Thu, 31 Dec 2037 23:59:59 +0000", "Mon, 29 Feb 1960 12:00:00 +0000", "garbage",
    "Tue, 29 May 2001 11:03:02 +05", "Tue, 29 May 2001 11:03:02 ut",
]
TZS = ["UTC0", "EST5EDT", "Asia/Kolkata", ":Europe/Amsterdam", "Pacific/Chatham"]
# Documented differences: zone of numeric offsets / comments, lmonth September.
def _documented(date: str, prop: str, theirs) -> bool:
    return (prop == "zone" and theirs[0] == 1 and (date[-5:-4] in "+-" or date.endswith(")"))) \
        or (prop == "lmonth" and theirs == (0, "Sepember"))


@needs_tclsh
@pytest.mark.parametrize("tz", TZS)
def test_matches_tcllib(tcllib, ours, tz):
    for side in (tcllib, ours):
        assert side("set", "::env(TZ)", tz)[0] == 0
    for date in DATES:
        for prop in PROPERTIES + ("bogus",):
            if prop == "rclock":
                continue
            theirs, mine = tcllib("mime::parsedatetime", date, prop), ours("mime::parsedatetime", date, prop)
            if _documented(date, prop, theirs):
                continue
            assert mine == theirs, (tz, date, prop)


@needs_tclsh
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(-2**31, 2**32), st.sampled_from(TZS), st.integers(-1439, 1439),
       st.sampled_from(PROPERTIES), st.booleans())
def test_generated_dates_match_tcllib(tcllib, ours, seconds, tz, offset, prop, named):
    if prop == "rclock":
        return
    zone = "%s%02d%02d" % ("-" if offset < 0 else "+", abs(offset) // 60, abs(offset) % 60)
    code, date = tcllib("clock", "format", str(seconds), "-format", "%a, %d %b %Y %H:%M:%S", "-gmt", "1")
    date += " GMT" if named else " " + zone
    for side in (tcllib, ours):
        side("set", "::env(TZ)", tz)
    theirs, mine = tcllib("mime::parsedatetime", date, prop), ours("mime::parsedatetime", date, prop)
    if not _documented(date, prop, theirs):
        assert mine == theirs
    if prop == "zone" and not named:
        assert mine == (0, str(int(zone[0] + "1") * (int(zone[1:3]) * 60 + int(zone[3:]))))


@needs_tclsh
def test_now(tcllib, ours):
    for side in (tcllib, ours):
        side("set", "::env(TZ)", "UTC0")
    assert ours("mime::parsedatetime", "-now", "rclock") == (0, "0")
    assert ours("mime::parsedatetime", "-now", "zone") == tcllib("mime::parsedatetime", "-now", "zone")
    assert abs(int(ours("mime::parsedatetime", "-now", "clock")[1]) - time.time()) < 5
    assert ours("mime::parsedatetime", "-now", "year") == tcllib("mime::parsedatetime", "-now", "year")
