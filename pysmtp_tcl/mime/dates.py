"""RFC 822/5322 date-times, as tcllib 1.21's ``mime::parsedatetime``.

Public names:

- :func:`parsedatetime` ``(value, prop, clock=None) -> int | str``;
- :data:`PROPERTIES` (the known property names);
- :class:`Clock` (the time-zone dependent work: ``now``, ``scan``,
  ``format``) and :class:`PythonClock`, its default on Python's ``time``
  module.  tcllib does this with Tcl's ``clock``, which follows the
  *script's* ``::env(TZ)`` (invisible to ``os.environ``): the bridge passes
  a :class:`Clock` backed by Tcl's ``clock scan`` / ``clock format``, so
  results and ``clock scan`` error texts are tcllib's;
- :exc:`DateError` (``ValueError``; message is tcllib's text).

Deliberate differences from tcllib (COMPATIBILITY.md):

- ``zone`` works for numeric zones (``+hhmm``/``-hhmm``, any hour 00-99,
  RFC 5322 §3.3; ``-0000`` is 0) and skips trailing comments
  (``-0500 (CDT)``, §3.2.2).  tcllib looks for the zone in the value it
  already stripped the numeric zone off, so it fails for every numeric zone
  (shared case 18); named zones are unchanged;
- ``lmonth`` of September is ``September`` (tcllib: ``Sepember``);
- an RFC 5322 date-time (obsolete forms of §4.3 included) is computed from
  its fields: two-digit years 00-49 are 2000-2049 (Tcl: 39-49 are
  1939-1949), three-digit years are 1900 + N (Tcl: the year N), second 60
  is the next minute's first second (Tcl's scan is a day off), military
  zones are -0000 and ``Z`` is +0000 (Tcl applies the military offsets;
  tcllib's ``zone`` fails for both).  Other shapes, years before 1900 and
  zones outside RFC 5322's list go to the clock as in tcllib.
"""
from __future__ import annotations

import re
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Protocol, Union
else:  # a plain base class at run time (nothing checks it there)
    Protocol = object

__all__ = ["parsedatetime", "PROPERTIES", "Clock", "PythonClock", "DateError"]

PROPERTIES = ("clock", "hour", "lmonth", "lweekday", "mday", "min", "mon", "month",
              "proper", "rclock", "sec", "wday", "weekday", "yday", "year", "zone")

_WDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_WDAYS_LONG = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS_LONG = ("", "January", "February", "March", "April", "May", "June", "July",
                "August", "September", "October", "November", "December")
# RFC 822 §5 / RFC 5322 §4.3 zone names tcllib knows, hours east of UTC.
_NAMED_ZONES = {"UT": 0, "GMT": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
                "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}
# Tcl 8.6's default `string trim` set.
_TCL_WS = ("\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004"
           "\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f"
           "\u2060\u3000\ufeff")
# tcllib strips a final " +hhmm" and scans the rest as UTC.  (This and the
# other date patterns are sources for re's own cache, compiled when a date is
# first parsed: a send only writes "now".)
_NUMERIC_ZONE = r"(?s)(.*) ([+-])([0-9][0-9])([0-9][0-9])"


class DateError(ValueError):
    """An error with tcllib's / Tcl's exact message (``str(e)``)."""


class Clock(Protocol):
    """Time-zone dependent operations, as Tcl's ``clock`` command.

    - ``now() -> int``: ``clock seconds``;
    - ``scan(text, gmt) -> int``: ``clock scan text ?-gmt 1?`` (free-form
      date); raises :exc:`DateError` with the message to report;
    - ``format(seconds, fmt, gmt) -> str``: ``clock format`` with the
      ``%Y %m %d %H %M %S %w %j`` conversions.
    """

    def now(self) -> int: ...

    def scan(self, text: str, gmt: bool) -> int: ...

    def format(self, seconds: int, fmt: str, gmt: bool) -> str: ...


_ISO = r"\s*(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?\s*"


class PythonClock:
    """:class:`Clock` on Python's ``time`` (zone: ``os.environ['TZ']``).

    ``scan`` understands RFC 5322 date-times (obsolete forms and zone names
    included, via :func:`email.utils.parsedate_tz`) and ``YYYY-MM-DD
    ?HH:MM:SS?``; Tcl's free-form scanner accepts more (relative dates...).
    """

    def now(self) -> int:
        return int(time.time())

    def scan(self, text: str, gmt: bool) -> int:
        import calendar  # here, not at start-up: only date parsing needs them
        import email.utils

        m = re.fullmatch(_ISO, text)
        if m:
            y, mo, d, hh, mm, ss = (int(g or 0) for g in m.groups())
            fields, offset = (y, mo, d, hh, mm, ss, 0, 1, -1), None
        else:
            parsed = email.utils.parsedate_tz(text)
            if parsed is None:
                raise DateError('unable to convert date-time string "%s": syntax error' % text)
            fields, offset = parsed[:9], parsed[9]
            if offset == 0 and not re.search(r"\b(UTC?|GMT|Z|[+-]0000)\b", text):
                offset = None  # parsedate_tz says 0 for no/unknown zone
        if offset is not None:
            return calendar.timegm(fields[:6] + (0, 0, 0)) - offset
        if gmt:
            return calendar.timegm(fields[:6] + (0, 0, 0))
        return int(time.mktime(fields[:6] + (0, 0, -1)))

    def format(self, seconds: int, fmt: str, gmt: bool) -> str:
        tm = time.gmtime(seconds) if gmt else time.localtime(seconds)
        values = {"Y": "%04d" % tm.tm_year, "m": "%02d" % tm.tm_mon, "d": "%02d" % tm.tm_mday,
                  "H": "%02d" % tm.tm_hour, "M": "%02d" % tm.tm_min, "S": "%02d" % tm.tm_sec,
                  "w": str((tm.tm_wday + 1) % 7), "j": "%03d" % tm.tm_yday, "%": "%"}
        return re.sub(r"%(.)", lambda m: values.get(m.group(1), m.group(0)), fmt)


_DEFAULT_CLOCK = PythonClock()


def _strip_comments(value: str) -> str:
    # Drop trailing RFC 5322 comments: "... -0500 (CDT)" -> "... -0500".
    # (One backward pass: cutting the string at each comment copied it
    # once per comment, quadratic for "()()()...".)
    end = len(value)
    while end and value[end - 1] == ")":
        depth, i = 0, end - 1
        while i >= 0:
            if value[i] == ")":
                depth += 1
            elif value[i] == "(":
                depth -= 1
                if depth == 0:
                    break
            i -= 1
        if i < 0:
            break
        end = i
        while end and value[end - 1] in _TCL_WS:
            end -= 1
    return value[:end]


# RFC 5322 §3.3 date-time with the obsolete forms of §4.3 (CFWS anywhere,
# comments removed first; 2- and 3-digit years; optional seconds; any
# letters for the day name, which is ignored as receivers must).
_RFC_DATE = r"""(?x)
    (?:[A-Za-z]+\s*,\s*)?
    (?P<day>\d{1,2})\s+(?P<mon>[A-Za-z]{3})\s+(?P<year>\d{2,4})\s+
    (?P<hh>\d{1,2})\s*:\s*(?P<mm>\d{1,2})(?:\s*:\s*(?P<ss>\d{1,2}))?
    (?:\s*(?P<zone>[+-]\d{4}|[A-Za-z]+))?"""
_MONTH_NUM = {m.lower(): i for i, m in enumerate(_MONTHS) if m}
# RFC 5322 §4.3: military zones other than "Z" are "-0000" (RFC 822 had
# their signs reversed), so are unknown; "J" is not a zone.
_MILITARY = frozenset("ABCDEFGHIKLMNOPQRSTUVWXY")


def _uncomment(value: str) -> str:
    """``value`` with every (nested) comment replaced by a space
    (RFC 5322 §3.2.2); an unterminated comment runs to the end."""
    out, depth, i = [], 0, 0
    while i < len(value):
        c = value[i]
        if depth and c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
            if depth == 1:
                out.append(" ")
        elif c == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(c)
        i += 1
    return "".join(out)


def _zone_minutes(zone: str):
    """Minutes east of UTC for an RFC 5322 zone, ``None`` if unknown."""
    if zone[0] in "+-":
        hh, mm = int(zone[1:3]), int(zone[3:5])
        if mm > 59:
            return None
        return (hh * 60 + mm) * (-1 if zone[0] == "-" else 1)
    name = zone.upper()
    if name == "Z" or name in _MILITARY:
        return 0
    if name in _NAMED_ZONES:
        return _NAMED_ZONES[name] * 60
    return None


def _rfc5322_seconds(value: str, clock: "Clock"):
    """Seconds since the epoch for an RFC 5322 date-time (obsolete forms
    included), or ``None`` to let tcllib's ``clock scan`` path decide
    (other shapes, years before 1900, impossible dates).

    Two-digit years are 2000-2049 / 1950-1999 and three-digit years are
    1900 + N (§4.3; Tcl's scanner makes 39-49 into 1939-1949 and 100 into
    the year 100); seconds 60 (a leap second, §3.3) are the next minute's
    first second (Tcl's scanner is a day off); military zones are -0000
    (§4.3; Tcl applies them).  A zone Tcl may know (``CEST``) or no zone
    at all (local time) is scanned by the clock, with the year fixed.
    """
    m = re.fullmatch(_RFC_DATE, _uncomment(value).strip(_TCL_WS))
    if m is None or m["mon"].lower() not in _MONTH_NUM:
        return None
    import calendar  # here, not at start-up: only date parsing needs it

    digits = m["year"]
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 50 else 1900
    elif len(digits) == 3:
        year += 1900
    mon, day = _MONTH_NUM[m["mon"].lower()], int(m["day"])
    hh, mm, ss = int(m["hh"]), int(m["mm"]), int(m["ss"] or 0)
    if year < 1900 or not (1 <= day <= calendar.monthrange(year, mon)[1]) \
            or hh > 23 or mm > 59 or ss > 60:
        return None
    zone = m["zone"]
    offset = _zone_minutes(zone) if zone else None
    if offset is not None:
        return calendar.timegm((year, mon, day, hh, mm, 0, 0, 0, 0)) + ss - offset * 60
    if len(digits) == 4 and ss < 60:
        return None  # nothing to fix: tcllib's path, its texts and errors
    text = "%02d %s %04d %02d:%02d:%02d" % (day, _MONTHS[mon], year, hh, mm, min(ss, 59))
    if zone:
        text += " " + zone
    try:
        return clock.scan(text, False) + (ss == 60)
    except DateError:
        return None


def _zone(value: str) -> int:
    value = _strip_comments(value.replace("\t", " ").strip(_TCL_WS))
    x = value.rfind(" ")
    if x < 0:
        return 0  # also "-now", as tcllib
    value = value[x + 1:]
    if value[:1] in ("+", "-"):
        digits = value[1:].strip(_TCL_WS)
        if not re.fullmatch(r"[0-9]{4}", digits) or int(digits[2:]) > 59:
            raise DateError("malformed timezone-specification: %s" % digits)
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        return -minutes if value[0] == "-" else minutes
    name = value.upper()
    if name == "Z" or name in _MILITARY:
        return 0  # RFC 5322 §4.3 (tcllib: unrecognized timezone-mnemonic)
    if name not in _NAMED_ZONES:
        raise DateError("unrecognized timezone-mnemonic: %s" % name)
    return _NAMED_ZONES[name] * 60


#: how far either side of an instant the C library's offset must stay the
#: same for :func:`proper_localtime` (tcllib's offset derivation looks at
#: most 14 hours away; zone transitions are months apart)
_STEADY = 2 * 86400


def proper_localtime(seconds: int) -> "str | None":
    """``-now proper`` for ``seconds`` in the C library's local time zone
    (``time.localtime``), or ``None`` near a change of UTC offset.

    The same text as :func:`parsedatetime` with a :class:`Clock` whose zone
    is the C library's (Tcl's clock with neither ``TCL_TZ`` nor ``TZ``,
    which reads the same ``/etc/localtime``): tcllib derives the offset by
    scanning the UTC wall time back as local time, which gives the offset
    at ``seconds`` whenever the offset is the same for
    :data:`_STEADY` seconds either side.  Near a transition the answer
    depends on how the clock resolves skipped and repeated local times, so
    the caller asks the clock itself.
    """
    here = time.localtime(seconds)
    off = here.tm_gmtoff
    if off is None or any(time.localtime(t).tm_gmtoff != off
                          for t in (seconds - _STEADY, seconds + _STEADY)):
        return None
    diff = off // 60
    sign = "-" if diff < 0 else "+"
    diff = abs(diff)
    return "%s, %02d %s %04d %02d:%02d:%02d %s%02d%02d" % (
        _WDAYS[(here.tm_wday + 1) % 7], here.tm_mday, _MONTHS[here.tm_mon], here.tm_year,
        here.tm_hour, here.tm_min, here.tm_sec, sign, diff // 60, diff % 60)


def parsedatetime(value: str, prop: str, clock: "Clock | None" = None) -> Union[int, str]:
    """``mime::parsedatetime value property``.

    :param value: an RFC 822 date-time, or ``-now`` for the current time.
        A final `` +hhmm``/`` -hhmm`` is applied by us (the rest is scanned
        as UTC); otherwise the clock's free-form scanner (local time unless
        the text names a zone) decides.
    :param prop: ``clock`` (seconds since the epoch, int), ``rclock``
        (seconds from then to now, int), ``proper`` (RFC 822 form in the
        local zone), ``zone`` (minutes east of UTC), ``hour min sec mday
        mon yday year wday`` (numbers as str, no leading zeros), ``month
        weekday`` (``Jan``, ``Sun``), ``lmonth lweekday`` (full names).
    :param clock: a :class:`Clock` (default :class:`PythonClock`).
    :raises DateError: the date does not scan (the clock's message, checked
        before the property), ``unknown property NAME``,
        ``malformed timezone-specification: X``,
        ``unrecognized timezone-mnemonic: X``.
    """
    clock = clock or _DEFAULT_CLOCK
    if value == "-now":
        seconds = clock.now()
    elif (rfc := _rfc5322_seconds(value, clock)) is not None:
        seconds = rfc
    else:
        m = re.fullmatch(_NUMERIC_ZONE, value)
        if m:
            rest, sign, hh, mm = m.groups()
            offset = 60 * (int(mm) + 60 * int(hh))
            seconds = clock.scan(rest, True) + (-offset if sign == "+" else offset)
        else:
            seconds = clock.scan(value, False)

    def field(fmt: str) -> str:
        return clock.format(seconds, fmt, False)

    def number(fmt: str) -> str:
        return field(fmt).lstrip("0") or "0"

    if prop == "clock":
        return seconds
    if prop == "rclock":
        return 0 if value == "-now" else clock.now() - seconds
    if prop in ("hour", "min", "sec", "mday", "mon", "yday", "year"):
        fmt = {"hour": "%H", "min": "%M", "sec": "%S", "mday": "%d", "mon": "%m",
               "yday": "%j", "year": "%Y"}[prop]
        return number(fmt)
    if prop == "wday":
        return field("%w")
    if prop == "weekday":
        return _WDAYS[int(field("%w"))]
    if prop == "lweekday":
        return _WDAYS_LONG[int(field("%w"))]
    if prop == "month":
        return _MONTHS[int(field("%m"))]
    if prop == "lmonth":
        return _MONTHS_LONG[int(field("%m"))]
    if prop == "proper":
        # The local offset exactly as tcllib derives it: format the instant
        # as UTC wall time and scan that back as local time.
        gmt = clock.format(seconds, "%Y-%m-%d %H:%M:%S", True)
        diff = (seconds - clock.scan(gmt, False)) // 60
        sign = "-" if diff < 0 else "+"
        diff = abs(diff)
        zone = "%s%02d%02d" % (sign, diff // 60, diff % 60)
        return field("%s, %%d %s %%Y %%H:%%M:%%S %s" % (
            _WDAYS[int(field("%w"))], _MONTHS[int(field("%m"))], zone))
    if prop == "zone":
        return str(_zone(value))
    raise DateError("unknown property %s" % prop)
