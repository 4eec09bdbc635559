"""Wording similarity for Chinese items: near-duplicate folding and problem→measure matching.

No whitespace tokenisation (Chinese has none): near-duplicates compare whole normalised strings
with rapidfuzz's Indel ratio; problem/measure wording compares character bigrams weighted by how
rare they are in the digest, so domain words every item shares (医疗, 卫生, 推进) count little.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable, Sequence

from rapidfuzz import fuzz, process

from .headings import match_marker

_DIGITS = re.compile(r"\d+(?:\.\d+)?")
#: Anything but letters, digits and CJK (what is_content_char keeps), in one C-speed pass.
_NON_CONTENT = re.compile(r"[\W_]+")


def match_key(text: str) -> str:
    """Text reduced for comparison: no enumeration marker, only letters/digits/CJK, figures as '0'."""
    t = text.strip()
    m = match_marker(t)
    if m:
        t = t[m.length :]
    t = _NON_CONTENT.sub("", t).upper()
    return _DIGITS.sub("0", t)


def fold_near_duplicates(keys: Sequence[str], *, threshold: float = 80.0) -> list[int]:
    """Leader clustering: for each key, the index of the first earlier key it nearly duplicates.

    Returns `leader[i]` (== i for a new cluster). Exact keys are matched by hash; the rest are
    compared with rapidfuzz only against cluster leaders, so heavily repeated wording stays cheap.
    """
    leader: list[int] = []
    exact: dict[str, int] = {}
    leaders: list[str] = []
    leader_idx: list[int] = []
    for i, key in enumerate(keys):
        if key in exact:
            leader.append(exact[key])
            continue
        hit = None
        if key and leaders:
            hit = process.extractOne(key, leaders, scorer=fuzz.ratio, score_cutoff=threshold)
        if hit is not None:
            j = leader_idx[hit[2]]
        else:
            j = i
            leaders.append(key)
            leader_idx.append(i)
        exact[key] = j
        leader.append(j)
    return leader


def bigrams(key: str) -> set[str]:
    if len(key) < 2:
        return {key} if key else set()
    return {key[i : i + 2] for i in range(len(key) - 1)}


class BigramWeights:
    """Inverse document frequency of bigrams over a set of texts (the digest's items)."""

    def __init__(self, grams: Iterable[set[str]]):
        df: Counter[str] = Counter()
        n = 0
        for g in grams:
            df.update(g)
            n += 1
        self.n = max(n, 1)
        # smoothed idf (as scikit-learn's): a bigram in every text still weighs 1, a rare one ~1+ln(n)
        self._w = {g: math.log((1 + self.n) / (1 + c)) + 1.0 for g, c in df.items()}
        self._unseen = math.log(1 + self.n) + 1.0

    def weight(self, gram: str) -> float:
        return self._w.get(gram, self._unseen)

    def total(self, grams: set[str]) -> float:
        w, u = self._w, self._unseen
        return sum(w.get(g, u) for g in grams)

    def similarity(self, a: set[str], b: set[str], ta: float | None = None, tb: float | None = None) -> float:
        """Weighted overlap in [0, 1]: shared rare bigrams over the smaller side's total weight.

        `ta`/`tb` are the sides' precomputed totals (`total()`), when comparing one set many times."""
        if not a or not b:
            return 0.0
        shared = self.total(a & b)
        denom = min(self.total(a) if ta is None else ta, self.total(b) if tb is None else tb)
        return shared / denom if denom else 0.0
