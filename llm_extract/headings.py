"""Recognise heading and enumeration markers in the numbering styles real reports use.

Ranks follow the national style for official documents (GB/T 9704): 一、 > （一） > 1. > （1） > ①;
markdown '#' headings and bare keyword lines ("存在问题") are fitted into that scale.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

CN_NUM = "一二三四五六七八九十百零〇两"

#: Measure words after a number: "1.5万人次", "12 个项目" are figures, not outline numbers.
_UNITS = "万亿千百元人个次家倍项台所名份户例张条起剂场批床辆%％"

#: (style, regex for the marker at the start of a stripped line, rank). Order matters: first match wins.
MARKERS: list[tuple[str, re.Pattern[str], int]] = [
    ("part", re.compile(rf"^第[{CN_NUM}\d]{{1,3}}(?:部分|章|篇|节)\s*[、.．：:]?\s*"), 0),
    ("cn", re.compile(rf"^[{CN_NUM}]{{1,3}}\s*[、.．]\s*"), 1),
    ("pcn", re.compile(rf"^[（(]\s*[{CN_NUM}]{{1,3}}\s*[）)]\s*[.．、]?\s*"), 2),
    # decimal outline numbering: "4.2.1 …", "4.2 存在的问题" (before "num", which refuses "4.2")
    ("dec3", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}(?![\d.])\s*"), 3),
    ("dec2", re.compile(rf"^\d{{1,2}}\.\d{{1,2}}(?![\d.%])\s*(?=[^\d\s%])(?![{_UNITS}])"), 2),
    ("num", re.compile(r"^\d{1,2}\s*(?:[、．]|\.(?!\d)|\.(?=20\d\d\s*年))\s*"), 3),  # "2.2024年度…" too
    ("rpar", re.compile(r"^\d{1,2}\s*[）)]\s*"), 4),
    # "3 绩效评价结论": a bare number, a space, then a CJK title
    ("dec1", re.compile(rf"^\d{{1,2}}[ \t\u3000]+(?=[\u4e00-\u9fff])(?![{_UNITS}])"), 1),
    ("pnum", re.compile(r"^[（(]\s*\d{1,2}\s*[）)]\s*[.．、]?\s*"), 4),
    ("circ", re.compile(r"^[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳]\s*"), 5),
    ("shi", re.compile(rf"^(?:[{CN_NUM}]{{1,3}}|其[{CN_NUM}])是\s*[，,：:]?"), 6),
    ("ord", re.compile(r"^(?:首先|其次|再次|最后|第[一二三四五六七八九十]+)[，,、：:]"), 6),
]

MD_HEADING = re.compile(r"^(#{1,6})\s*")
#: Inline enumeration points inside a paragraph: 一是/二是 (also "三\n是" split by a PDF hard wrap),
#: （1）/(2), ①, 1、/2、 (not decimals), each right after a sentence end, colon or space. The match is that separator character, so `re` can
#: scan for it quickly (ENUM_MARK, opening with the markers, is 4x slower here: numerals are
#: everywhere); the point itself starts at match.end().
ENUM_BREAK = re.compile(
    rf"[。；;！？!?：:\s]"
    rf"(?=[{CN_NUM}]{{1,3}}\n?是|其[{CN_NUM}]是|[（(][{CN_NUM}\d]{{1,2}}[）)]|[①-⑳]|\d{{1,2}}[、．](?!\d)|第[{CN_NUM}]+[，,、])"
)

#: The markers of ENUM_BREAK alone, for short windows (where a quote's point may begin); callers
#: check that the character before a match is one of ENUM_SEPARATORS. Over whole paragraphs
#: ENUM_BREAK is the faster scan.
ENUM_MARK = re.compile(
    rf"[{CN_NUM}]{{1,3}}是|其[{CN_NUM}]是|[（(][{CN_NUM}\d]{{1,2}}[）)]|[①-⑳]|\d{{1,2}}[、．](?!\d)|第[{CN_NUM}]+[，,、]"
)
ENUM_SEPARATORS = frozenset("。；;！？!?：: \t\n\r\u3000\xa0")

SENT_END = "。！？!?；;"
TERMINAL = SENT_END + "：:…”」』）)】"


class Marker(NamedTuple):
    """A NamedTuple: one is built for almost every line of a report, and this is the cheapest record."""

    style: str
    rank: int
    length: int  # characters of the marker itself (incl. trailing spaces/punct)


_ANY_MARKER = re.compile("|".join(f"(?P<{style}>{rx.pattern.lstrip('^')})" for style, rx, _ in MARKERS))
_RANKS = {style: rank for style, _, rank in MARKERS}

#: Characters a marker can start with: one cheap test before trying the marker patterns.
_MARKER_START = set(CN_NUM) | set("（(①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳第首其再最0123456789")


def match_marker(line: str) -> Optional[Marker]:
    """The enumeration/heading marker a stripped line starts with, if any."""
    if not line or line[0] not in _MARKER_START:
        return None
    m = _ANY_MARKER.match(line)  # one pass; alternation order = MARKERS order, so first style wins
    if m is None:
        return None
    style = m.lastgroup
    return Marker(style, _RANKS[style], m.end())


_TITLE_END = re.compile(r"[：:。]")


def split_title(body: str) -> tuple[str, str]:
    """Split 'title：rest' or 'title。rest' into the leading heading phrase and the remainder."""
    m = _TITLE_END.search(body)
    if not m:
        return body, ""
    return body[: m.start()], body[m.end():]
