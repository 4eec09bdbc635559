"""Normalised views of a text that map every character back to its original offset.

Normalising (dropping whitespace and PDF line breaks, folding full-/half-width punctuation) never
replaces Document.text: callers search or read the view and translate hits back with `span()`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Full-width/CJK punctuation folded to one canonical form so "，" matches "," and "（" matches "(".
_PUNCT_FOLD = {
    "，": ",", "、": ",", "。": ".", "．": ".", "；": ";", "：": ":", "？": "?", "！": "!",
    "（": "(", "）": ")", "【": "[", "】": "]", "〔": "[", "〕": "]", "［": "[", "］": "]",
    "“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "『": '"', "』": '"',
    "《": "<", "》": ">", "〈": "<", "〉": ">", "—": "-", "–": "-", "－": "-", "～": "~",
    "％": "%", "＋": "+", "＝": "=", "／": "/", "…": "...", "·": ".", "•": ".",
}


def fold_char(ch: str) -> str:
    """Canonical form of one character: punctuation width folded, full-width ASCII to ASCII."""
    if ch in _PUNCT_FOLD:
        return _PUNCT_FOLD[ch]
    o = ord(ch)
    if 0xFF01 <= o <= 0xFF5E:  # full-width ASCII block
        return chr(o - 0xFEE0)
    if ch == "\u3000":
        return " "
    return ch.lower() if ch.isascii() else ch


def is_content_char(ch: str) -> bool:
    """Letters, digits and CJK: what span scoring counts (no whitespace, no punctuation)."""
    if ch.isspace():
        return False
    cat = unicodedata.category(ch)
    return cat[0] in ("L", "N")


@dataclass(frozen=True)
class TextView:
    """`text` is the normalised string; `index[i]` is the original offset of text[i]."""

    text: str
    index: tuple[int, ...]
    base_len: int

    def span(self, i: int, j: int) -> tuple[int, int]:
        """Original [start, end) covering view characters [i, j)."""
        if j <= i:
            raise ValueError("empty view span")
        return self.index[i], self.index[j - 1] + 1


def make_view(text: str, *, drop_space: bool = True, fold: bool = True, offset: int = 0) -> TextView:
    """View of `text` without whitespace (line breaks, tabs, indent) and with folded punctuation.

    `offset` is added to every mapped index, so a view of a slice maps to whole-document offsets.
    """
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(text):
        if drop_space and (ch.isspace() or ch in "\u200b\ufeff"):
            continue
        f = fold_char(ch) if fold else ch
        for c in f:  # "…" folds to three characters, all mapping to the same original one
            out.append(c)
            idx.append(i + offset)
    return TextView("".join(out), tuple(idx), len(text))


def normalize(text: str) -> str:
    """The normalised string alone (for comparing quotes)."""
    return make_view(text).text


def trim_spans(text: str, spans) -> list[tuple[int, int]]:
    """Each [start, end) narrowed past leading/trailing whitespace; spans left empty are dropped."""
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


#: Word-export artefacts that are not report text: "[bookmark: _GoBack]" (text exports) and
#: pandoc's empty anchors "[]{#_GoBack .anchor}". They are never part of a heading, item or cell.
ARTEFACT = re.compile(r"\[bookmark:[^\]\n]{0,80}\]|\[\]\{#[^}\n]{0,80}\}|\{#_GoBack[^}\n]{0,40}\}")


def has_artefacts(text: str) -> bool:
    """Cheap test before any artefact scan: most texts have none."""
    return "[bookmark:" in text or "{#" in text


def strip_artefacts(s: str) -> str:
    return ARTEFACT.sub("", s).strip() if has_artefacts(s) else s
