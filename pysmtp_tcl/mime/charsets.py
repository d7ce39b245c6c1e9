"""Tcl encoding names <-> MIME charset names, as tcllib's ``mime`` maps them.

``mapencoding`` / ``reversemapencoding`` follow tcllib 1.21's ``encList`` and
``encAliasList`` tables (IANA charset names and aliases; RFC 2978): the
mapping decides ``getbody -decode`` and RFC 2047 words, so it must be the
same table, including its gaps (``cp874`` has no MIME name, etc.).
"""
from __future__ import annotations

import codecs

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs every process ~4 ms
    from typing import Dict, Optional, Tuple

__all__ = ["mapencoding", "reversemapencoding", "ENCODINGS", "text_codec"]

#: (Tcl encoding, preferred MIME charset or "" when tcllib knows none)
_ENC_LIST: Tuple[Tuple[str, str], ...] = (
    ('ascii', 'US-ASCII'), ('big5', 'Big5'), ('cp1250', 'Windows-1250'),
    ('cp1251', 'Windows-1251'), ('cp1252', 'Windows-1252'), ('cp1253', 'Windows-1253'),
    ('cp1254', 'Windows-1254'), ('cp1255', 'Windows-1255'), ('cp1256', 'Windows-1256'),
    ('cp1257', 'Windows-1257'), ('cp1258', 'Windows-1258'), ('cp437', 'IBM437'),
    ('cp737', ''), ('cp775', 'IBM775'), ('cp850', 'IBM850'), ('cp852', 'IBM852'),
    ('cp855', 'IBM855'), ('cp857', 'IBM857'), ('cp860', 'IBM860'), ('cp861', 'IBM861'),
    ('cp862', 'IBM862'), ('cp863', 'IBM863'), ('cp864', 'IBM864'), ('cp865', 'IBM865'),
    ('cp866', 'IBM866'), ('cp869', 'IBM869'), ('cp874', ''), ('cp932', ''),
    ('cp936', 'GBK'), ('cp949', ''), ('cp950', ''), ('dingbats', ''), ('ebcdic', ''),
    ('euc-cn', 'EUC-CN'), ('euc-jp', 'EUC-JP'), ('euc-kr', 'EUC-KR'),
    ('gb12345', 'GB12345'), ('gb1988', 'GB1988'), ('gb2312', 'GB2312'),
    ('iso2022', 'ISO-2022'), ('iso2022-jp', 'ISO-2022-JP'),
    ('iso2022-kr', 'ISO-2022-KR'), ('iso8859-1', 'ISO-8859-1'),
    ('iso8859-2', 'ISO-8859-2'), ('iso8859-3', 'ISO-8859-3'),
    ('iso8859-4', 'ISO-8859-4'), ('iso8859-5', 'ISO-8859-5'),
    ('iso8859-6', 'ISO-8859-6'), ('iso8859-7', 'ISO-8859-7'),
    ('iso8859-8', 'ISO-8859-8'), ('iso8859-9', 'ISO-8859-9'),
    ('iso8859-10', 'ISO-8859-10'), ('iso8859-13', 'ISO-8859-13'),
    ('iso8859-14', 'ISO-8859-14'), ('iso8859-15', 'ISO-8859-15'),
    ('iso8859-16', 'ISO-8859-16'), ('jis0201', 'JIS_X0201'),
    ('jis0208', 'JIS_C6226-1983'), ('jis0212', 'JIS_X0212-1990'), ('koi8-r', 'KOI8-R'),
    ('koi8-u', 'KOI8-U'), ('ksc5601', 'KS_C_5601-1987'), ('macCentEuro', ''),
    ('macCroatian', ''), ('macCyrillic', ''), ('macDingbats', ''), ('macGreek', ''),
    ('macIceland', ''), ('macJapan', ''), ('macRoman', ''), ('macRomania', ''),
    ('macThai', ''), ('macTurkish', ''), ('macUkraine', ''), ('shiftjis', 'Shift_JIS'),
    ('symbol', ''), ('tis-620', 'TIS-620'), ('unicode', ''), ('utf-8', 'UTF-8'),
)

#: (Tcl encoding, further MIME alias)
_ALIASES: Tuple[Tuple[str, str], ...] = (
    ('ascii', 'ANSI_X3.4-1968'), ('ascii', 'iso-ir-6'), ('ascii', 'ANSI_X3.4-1986'),
    ('ascii', 'ISO_646.irv:1991'), ('ascii', 'ASCII'), ('ascii', 'ISO646-US'),
    ('ascii', 'us'), ('ascii', 'IBM367'), ('ascii', 'cp367'), ('cp437', 'cp437'),
    ('cp437', '437'), ('cp775', 'cp775'), ('cp850', 'cp850'), ('cp850', '850'),
    ('cp852', 'cp852'), ('cp852', '852'), ('cp855', 'cp855'), ('cp855', '855'),
    ('cp857', 'cp857'), ('cp857', '857'), ('cp860', 'cp860'), ('cp860', '860'),
    ('cp861', 'cp861'), ('cp861', '861'), ('cp861', 'cp-is'), ('cp862', 'cp862'),
    ('cp862', '862'), ('cp863', 'cp863'), ('cp863', '863'), ('cp864', 'cp864'),
    ('cp865', 'cp865'), ('cp865', '865'), ('cp866', 'cp866'), ('cp866', '866'),
    ('cp869', 'cp869'), ('cp869', '869'), ('cp869', 'cp-gr'), ('cp936', 'CP936'),
    ('cp936', 'MS936'), ('cp936', 'Windows-936'), ('iso8859-1', 'ISO_8859-1:1987'),
    ('iso8859-1', 'iso-ir-100'), ('iso8859-1', 'ISO_8859-1'), ('iso8859-1', 'latin1'),
    ('iso8859-1', 'l1'), ('iso8859-1', 'IBM819'), ('iso8859-1', 'CP819'),
    ('iso8859-2', 'ISO_8859-2:1987'), ('iso8859-2', 'iso-ir-101'),
    ('iso8859-2', 'ISO_8859-2'), ('iso8859-2', 'latin2'), ('iso8859-2', 'l2'),
    ('iso8859-3', 'ISO_8859-3:1988'), ('iso8859-3', 'iso-ir-109'),
    ('iso8859-3', 'ISO_8859-3'), ('iso8859-3', 'latin3'), ('iso8859-3', 'l3'),
    ('iso8859-4', 'ISO_8859-4:1988'), ('iso8859-4', 'iso-ir-110'),
    ('iso8859-4', 'ISO_8859-4'), ('iso8859-4', 'latin4'), ('iso8859-4', 'l4'),
    ('iso8859-5', 'ISO_8859-5:1988'), ('iso8859-5', 'iso-ir-144'),
    ('iso8859-5', 'ISO_8859-5'), ('iso8859-5', 'cyrillic'),
    ('iso8859-6', 'ISO_8859-6:1987'), ('iso8859-6', 'iso-ir-127'),
    ('iso8859-6', 'ISO_8859-6'), ('iso8859-6', 'ECMA-114'), ('iso8859-6', 'ASMO-708'),
    ('iso8859-6', 'arabic'), ('iso8859-7', 'ISO_8859-7:1987'),
    ('iso8859-7', 'iso-ir-126'), ('iso8859-7', 'ISO_8859-7'), ('iso8859-7', 'ELOT_928'),
    ('iso8859-7', 'ECMA-118'), ('iso8859-7', 'greek'), ('iso8859-7', 'greek8'),
    ('iso8859-8', 'ISO_8859-8:1988'), ('iso8859-8', 'iso-ir-138'),
    ('iso8859-8', 'ISO_8859-8'), ('iso8859-8', 'hebrew'),
    ('iso8859-9', 'ISO_8859-9:1989'), ('iso8859-9', 'iso-ir-148'),
    ('iso8859-9', 'ISO_8859-9'), ('iso8859-9', 'latin5'), ('iso8859-9', 'l5'),
    ('iso8859-10', 'iso-ir-157'), ('iso8859-10', 'l6'),
    ('iso8859-10', 'ISO_8859-10:1992'), ('iso8859-10', 'latin6'),
    ('iso8859-14', 'iso-ir-199'), ('iso8859-14', 'ISO_8859-14:1998'),
    ('iso8859-14', 'ISO_8859-14'), ('iso8859-14', 'latin8'),
    ('iso8859-14', 'iso-celtic'), ('iso8859-14', 'l8'), ('iso8859-15', 'ISO_8859-15'),
    ('iso8859-15', 'Latin-9'), ('iso8859-16', 'iso-ir-226'),
    ('iso8859-16', 'ISO_8859-16:2001'), ('iso8859-16', 'ISO_8859-16'),
    ('iso8859-16', 'latin10'), ('iso8859-16', 'l10'), ('jis0201', 'X0201'),
    ('jis0208', 'iso-ir-87'), ('jis0208', 'x0208'), ('jis0208', 'JIS_X0208-1983'),
    ('jis0212', 'x0212'), ('jis0212', 'iso-ir-159'), ('ksc5601', 'iso-ir-149'),
    ('ksc5601', 'KS_C_5601-1989'), ('ksc5601', 'KSC5601'), ('ksc5601', 'korean'),
    ('shiftjis', 'MS_Kanji'), ('utf-8', 'UTF8'),
)

#: Tcl encoding -> MIME charset ("" = known encoding without a MIME name).
ENCODINGS: Dict[str, str] = dict(_ENC_LIST)

_REVERSE: Dict[str, str] = {}
for _enc, _mime in _ENC_LIST:
    if _mime:
        _REVERSE[_mime.lower()] = _enc
for _enc, _mime in _ALIASES:
    _REVERSE[_mime.lower()] = _enc
del _enc, _mime


def mapencoding(enc: str) -> str:
    """MIME charset name for Tcl encoding ``enc`` (case-sensitive, as
    tcllib's array lookup), or ``""`` when unknown."""
    return ENCODINGS.get(enc, "")


def reversemapencoding(charset: str) -> str:
    """Tcl encoding name for MIME ``charset`` (case-insensitive), or ``""``."""
    return _REVERSE.get(charset.lower(), "")


#: Python text codecs that are no charsets: their names come from a sender,
#: and what they do with octets differs between Python releases (3.13's
#: ``punycode`` decodes ``ab\xffAc`` where 3.11 raises).
_NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode_escape",
                           "raw_unicode_escape", "mbcs", "oem"})


def text_codec(charset: str) -> Optional[str]:
    """Python's codec name for the MIME ``charset`` (a label from a message
    or a script), or ``None`` when Python has no text codec for it.

    Not charsets, hence ``None``: Python's bytes-to-bytes codecs (``base64``,
    ``rot13``, ``zlib``, ``hex``, ``uu``, ``bz2``, ``quopri``, which
    ``str.encode`` refuses) and its codecs of Python's own (``idna``,
    ``punycode``, ``undefined``, ``unicode_escape``, ...).
    """
    try:
        info = codecs.lookup(charset)
    except (LookupError, UnicodeError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name
