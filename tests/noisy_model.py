"""A noisy model for the mock server: the oracle's answer with the mistakes real models make.

Each kind of mistake is applied independently at `rate` (5–10 % is realistic), drawn from a
generator seeded by (seed, the request's user message), so a run is reproducible whatever order
the concurrent requests arrive in, and a second pass (its user message carries a pass note) makes
different mistakes from the first:

- drop: an item is left out;
- truncate: a quote stops early (40–80 % of it);
- merge: an item and the next one, of another category, returned as one quote (first category);
- split: an item returned as two, cut at a sentence or clause end near its middle;
- slip: one copy slip — a character changed, punctuation width folded, a numeral rewritten
  (3 ↔ 三), or whitespace dropped/added;
- ellipsis: the middle of a long quote replaced by "……";
- flip: the category changed (mostly to its neighbour: goal↔achievement, problem↔measure);
- hallucinate: a quote that is not in the text is added;
- heading: the heading line above an item copied into its quote;
- omission: an item and the first one after the "……" omission line returned as one quote;
- marker: the point's enumeration marker ("一是", "（2）") left off the quote.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, replace
from typing import Iterable, Optional

from llm_extract.llm.chunking import PART_SEPARATOR
from llm_extract.headings import match_marker

KINDS = ("drop", "truncate", "merge", "split", "slip", "ellipsis", "flip", "hallucinate", "heading",
         "omission", "marker")
DEFAULT_RATE = 0.07
_CATS = ("goal", "achievement", "problem", "measure")
_NEIGHBOUR = {"goal": "achievement", "achievement": "goal", "problem": "measure", "measure": "problem"}
_HALF = str.maketrans({"，": ",", "。": ".", "；": ";", "：": ":", "（": "(", "）": ")", "、": ","})
_CN = "零一二三四五六七八九十"
_SLIP_POOL = "的了和在是有为与对等中年度工作进行开展情况"
_CUT = re.compile(r"[。；;！？]|[，,]")
_HALLUCINATED = (
    "进一步提高了资金使用效益，群众满意度显著提升。",
    "部分项目资金支付进度偏慢，绩效目标设定不够细化。",
    "下一步将健全全过程预算绩效管理链条，强化结果运用。",
    "全年各项工作任务圆满完成，取得了良好的社会效益。",
)


@dataclass(frozen=True)
class _It:
    start: int  # in the excerpt (-1: not from it)
    end: int
    category: str
    quote: str


class NoisyModel:
    def __init__(self, oracle, *, rate: float = DEFAULT_RATE, seed: int = 0, kinds: Iterable[str] = KINDS):
        self.oracle = oracle
        self.rate = rate
        self.seed = seed
        self.kinds = frozenset(kinds)
        unknown = self.kinds - set(KINDS)
        if unknown:
            raise ValueError(f"unknown noise kinds: {sorted(unknown)}")

    def answer(self, excerpt: str, key: str = "") -> dict:
        rng = random.Random(hashlib.sha256(f"{self.seed}\0{key or excerpt}".encode()).digest())
        items = [_It(p, p + len(q), c, q) if excerpt[p:p + len(q)] == q else _It(-1, -1, c, q)
                 for p, c, q in self.oracle.located(excerpt)]
        items = self._joins(items, excerpt, rng)
        out: list[_It] = []
        for it in items:
            out.extend(self._item(it, excerpt, rng))
        return {"items": [{"category": i.category, "quote": i.quote} for i in out if i.quote.strip()]}

    def _hit(self, kind: str, rng: random.Random) -> bool:
        # always draw, so turning one kind off leaves the others' choices unchanged
        return rng.random() < self.rate and kind in self.kinds

    def _joins(self, items: list[_It], excerpt: str, rng: random.Random) -> list[_It]:
        """Merges across categories and across the omission line: a quote running from one item
        to the end of the next."""
        out: list[_It] = []
        i = 0
        while i < len(items):
            a = items[i]
            b = items[i + 1] if i + 1 < len(items) else None
            merge, omit = self._hit("merge", rng), self._hit("omission", rng)
            if b is not None and a.start >= 0 and b.start >= a.end:
                between = excerpt[a.end:b.start]
                across = PART_SEPARATOR.strip() in between
                if (omit and across) or (merge and not across and b.category != a.category):
                    out.append(_It(a.start, b.end, a.category, excerpt[a.start:b.end]))
                    i += 2
                    continue
            out.append(a)
            i += 1
        return out

    def _item(self, it: _It, excerpt: str, rng: random.Random) -> list[_It]:
        hits = {k: self._hit(k, rng) for k in KINDS if k not in ("merge", "omission")}
        if hits["drop"]:
            return []
        if hits["flip"]:
            cat = _NEIGHBOUR[it.category] if rng.random() < 0.7 else rng.choice(
                [c for c in _CATS if c != it.category])
            it = replace(it, category=cat)
        if hits["heading"] and it.start > 0:
            head = _heading_above(excerpt, it.start)
            if head is not None:
                it = replace(it, start=head, quote=excerpt[head:it.start] + it.quote)
        if hits["marker"]:
            mk = match_marker(it.quote)
            if mk is not None and mk.length < len(it.quote) - 4:
                it = replace(it, quote=it.quote[mk.length:].lstrip())
        parts = [it]
        if hits["split"]:
            parts = _split(it, rng)
        out = []
        for p in parts:
            q = p.quote
            if hits["truncate"] and len(q) >= 12:
                q = q[: max(6, int(len(q) * rng.uniform(0.4, 0.8)))]
            if hits["ellipsis"] and len(q) >= 60:
                h, t = rng.randint(12, 24), rng.randint(12, 24)
                q = q[:h] + "……" + q[-t:]
            if hits["slip"]:
                q = _slip(q, rng)
            out.append(replace(p, quote=q))
        if hits["hallucinate"]:
            out.append(_It(-1, -1, it.category, _hallucinate(it.quote, rng)))
        return out


def _heading_above(excerpt: str, start: int) -> Optional[int]:
    """Start of the heading line just above `start` when the item opens its line and that line is
    heading-like (short, not ending a sentence); None otherwise."""
    if excerpt[start - 1] != "\n":
        return None
    j = start - 1
    while j > 0 and excerpt[j - 1] in " \t\n":
        j -= 1
    i = excerpt.rfind("\n", 0, j) + 1
    line = excerpt[i:j].strip()
    if not line or len(line) > 30 or line[-1] in "。；;，," or line == "……":
        return None
    return i


def _split(it: _It, rng: random.Random) -> list[_It]:
    q = it.quote
    cuts = [m.end() for m in _CUT.finditer(q) if 6 <= m.end() <= len(q) - 6]
    if not cuts:
        return [it]
    mid = len(q) / 2
    cut = min(cuts, key=lambda c: abs(c - mid) + rng.random())
    second = q[cut:].lstrip()
    at = it.start + cut + (len(q[cut:]) - len(second)) if it.start >= 0 else -1
    return [replace(it, end=it.start + cut if it.start >= 0 else -1, quote=q[:cut]),
            replace(it, start=at, quote=second)]


def _slip(q: str, rng: random.Random) -> str:
    how = rng.choice(("char", "width", "numeral", "space"))
    if how == "width":
        folded = q.translate(_HALF)
        if folded != q:
            return folded
        return re.sub(r"\d", lambda m: chr(ord(m.group()) + 0xFEE0), q, count=1)
    if how == "numeral":
        m = re.search(r"(?<![\d.])([1-9])(?![\d.%])", q)
        if m:
            return q[: m.start()] + _CN[int(m.group(1))] + q[m.end():]
        m = re.search(r"[一二三四五六七八九](?=[个项家次名所条])", q)
        if m:
            return q[: m.start()] + str(_CN.index(m.group())) + q[m.end():]
    if how == "space":
        if re.search(r"\s", q):
            return re.sub(r"\s+", "", q)
        k = rng.randrange(1, len(q)) if len(q) > 1 else 0
        return q[:k] + " " + q[k:]
    cjk = [i for i, ch in enumerate(q) if "\u4e00" <= ch <= "\u9fff"]
    if not cjk:
        return q
    i = rng.choice(cjk)
    return q[:i] + rng.choice([c for c in _SLIP_POOL if c != q[i]]) + q[i + 1:]


def _hallucinate(q: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(_HALLUCINATED)
    head = re.sub(r"\s+", "", q)[:6]
    return f"通过{head}等举措，有效提升了服务质量和群众获得感。"
