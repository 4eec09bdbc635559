"""Problem/measure themes: an editable taxonomy, keyword rules (offline default) and an LLM option.

The taxonomy lives in a TOML data file (llm_extract/data/themes.toml) so a user can adapt it to
their domain without touching code. Keyword rules are deterministic and explainable; the LLM path
takes any LangChain-style chat model (duck-typed: `.with_structured_output(schema).invoke(msgs)`)
and falls back to the keywords for anything it cannot answer.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Sequence

from pydantic import BaseModel, Field, ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Bumped whenever the digest prompts below change, so cached/recorded answers can be told apart.
PROMPT_VERSION = "digest-themes-1"


class TaxonomyError(ValueError):
    """The taxonomy file is missing, unreadable or inconsistent (message names the problem)."""


class Theme(BaseModel):
    id: str
    name: str
    name_en: str = ""
    keywords: list[str] = Field(default_factory=list)
    fallback: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} ({self.name_en})" if self.name_en else self.name


@dataclass(frozen=True)
class Taxonomy:
    themes: tuple[Theme, ...]

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    @property
    def fallback(self) -> Theme:
        return next(t for t in self.themes if t.fallback)

    def get(self, theme_id: str) -> Optional[Theme]:
        return next((t for t in self.themes if t.id == theme_id), None)

    @cached_property
    def matcher(self) -> tuple[Optional[re.Pattern[str]], dict[str, list[str]]]:
        """One regex over every keyword (longest first) and keyword → theme ids."""
        owners: dict[str, list[str]] = {}
        for t in self.themes:
            for k in t.keywords:
                if k.strip():
                    owners.setdefault(k.strip().upper(), []).append(t.id)
        if not owners:
            return None, owners
        rx = re.compile("|".join(re.escape(k) for k in sorted(owners, key=len, reverse=True)))
        return rx, owners

    def resolve(self, name: str) -> Optional[Theme]:
        """A theme by id, Chinese name or English name (case-insensitive), as a user would type it."""
        key = name.strip().lower()
        for t in self.themes:
            if key in (t.id.lower(), t.name.lower(), t.name_en.lower()):
                return t
        return None


def default_taxonomy_path() -> Path:
    return Path(str(resources.files("llm_extract") / "data" / "themes.toml"))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and check a taxonomy TOML file (the built-in one when `path` is None)."""
    if path is None:
        return _builtin_taxonomy()
    return _read_taxonomy(Path(path))


@lru_cache(maxsize=1)
def _builtin_taxonomy() -> Taxonomy:
    return _read_taxonomy(default_taxonomy_path())


def _read_taxonomy(p: Path) -> Taxonomy:
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaxonomyError(f"taxonomy file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TaxonomyError(f"cannot read taxonomy file {p}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise TaxonomyError(f"taxonomy file {p} is not valid TOML: {e}") from None
    raw = data.get("themes")
    if not isinstance(raw, list) or not raw:
        raise TaxonomyError(f"taxonomy file {p} has no [[themes]] entries")
    try:
        themes = tuple(Theme.model_validate(t) for t in raw)
    except ValidationError as e:
        raise TaxonomyError(f"taxonomy file {p}: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from None
    ids = [t.id for t in themes]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise TaxonomyError(f"taxonomy file {p}: duplicate theme id(s) {', '.join(sorted(dup))}")
    n_fallback = sum(t.fallback for t in themes)
    if n_fallback != 1:
        raise TaxonomyError(f"taxonomy file {p}: exactly one theme needs `fallback = true` (found {n_fallback})")
    return Taxonomy(themes)


# --------------------------------------------------------------------------- keyword rules


#: Extra weight of keywords in an item's title phrase ("（三）基层卫生人才短缺问题依然突出。…"):
#: the words before the first 。 or ： say what the item is about, the rest gives figures and causes.
TITLE_WEIGHT = 1
_TITLE_END = re.compile(r"[。：:]")
_SPACE = re.compile(r"\s+")


def keyword_scores(text: str, taxonomy: Taxonomy) -> dict[str, int]:
    """Per theme: sum over its keyword occurrences of the keyword's length; only themes that score.

    Where keywords overlap in the text ("空编" in "空编率") the longest one counts. Whitespace is
    ignored (a PDF line break can fall inside a word), and keywords in the item's title phrase
    count TITLE_WEIGHT times more."""
    rx, owners = taxonomy.matcher
    scores: dict[str, int] = {}
    if rx is None:
        return scores
    compact = _SPACE.sub("", text).upper()
    end = _TITLE_END.search(compact)
    title_end = end.start() if end and end.end() < len(compact) else 0
    for m in rx.finditer(compact):
        k = m.group()
        weight = len(k) * (1 + TITLE_WEIGHT if m.end() <= title_end else 1)
        for tid in owners[k]:
            scores[tid] = scores.get(tid, 0) + weight
    return scores


def keyword_themes(text: str, taxonomy: Taxonomy) -> list[str]:
    """Matching theme ids, best first (ties: taxonomy order); [fallback] when nothing matches."""
    scores = keyword_scores(text, taxonomy)
    if not scores:
        return [taxonomy.fallback.id]
    order = {tid: i for i, tid in enumerate(taxonomy.ids)}
    return sorted(scores, key=lambda tid: (-scores[tid], order[tid]))


def item_themes(text: str, stated: Optional[str], taxonomy: Taxonomy) -> tuple[list[str], str]:
    """An item's themes, primary first, and where the primary came from: the theme the result file
    states (`stated`, when the taxonomy knows it: "report") ahead of the keyword themes, else the
    keyword themes alone ("keywords")."""
    kw = keyword_themes(text, taxonomy)
    if stated and taxonomy.get(stated):
        return [stated, *[t for t in kw if t != stated and t != taxonomy.fallback.id]], "report"
    return kw, "keywords"


# --------------------------------------------------------------------------- LLM option


class ThemeChoice(BaseModel):
    index: int = Field(description="Number of the item in the list given.")
    theme: str = Field(description="One theme id from the taxonomy.")


class ThemeChoices(BaseModel):
    """Structured answer for theme assignment: one choice per numbered item."""

    assignments: list[ThemeChoice]


class ThemeSummaryAnswer(BaseModel):
    """Structured answer for a theme summary: the text and the numbers of the problems it draws on."""

    summary: str = Field(description="2-3 sentences in Chinese, only facts stated in the cited problems.")
    cited: list[int] = Field(description="Numbers of the problems the summary is based on.")


_ASSIGN_PROMPT = """你是财政绩效评价报告的分析员。请为下列每一条（问题或改进措施）从主题表中选一个最贴切的主题 id。
只能使用主题表中的 id；无法归类的用 "{fallback}"。

主题表：
{themes}

条目：
{items}

以 JSON 返回：{{"assignments": [{{"index": 条目编号, "theme": "主题 id"}}, ...]}}，每个条目一项。"""

_SUMMARY_PROMPT = """下面是多份部门整体支出绩效自评报告中归入主题「{theme}」的问题（原文）。
请用 2-3 句中文概括这些报告共同反映的问题，只写原文中有的事实，不要推测或给建议，
并在 cited 中列出你概括所依据的问题编号。

问题：
{items}

以 JSON 返回：{{"summary": "概括", "cited": [问题编号, ...]}}。"""


def _theme_table(taxonomy: Taxonomy) -> str:
    return "\n".join(
        f"- {t.id}: {t.name}" + (f" / {t.name_en}" if t.name_en else "") + (f"（如：{'、'.join(t.keywords[:6])}）" if t.keywords else "")
        for t in taxonomy.themes
    )


def _numbered(texts: Sequence[str], limit: int = 400) -> str:
    return "\n".join(f"[{i}] {' '.join(t.split())[:limit]}" for i, t in enumerate(texts, 1))


class LLMCallError(Exception):
    """A failed model call whose message is already fit to show (the CLI's model raises it with
    secrets masked)."""


def _why(e: Exception) -> str:
    return str(e) if isinstance(e, LLMCallError) else f"{type(e).__name__}: {e}"


def _ask(model: Any, schema: type[BaseModel], prompt: str) -> BaseModel:
    """One structured call; accepts a schema instance or a dict back (LangChain returns either)."""
    answer = model.with_structured_output(schema).invoke([("human", prompt)])
    if isinstance(answer, schema):
        return answer
    if isinstance(answer, BaseModel):
        answer = answer.model_dump()
    return schema.model_validate(answer)


def llm_themes(
    texts: Sequence[str], model: Any, taxonomy: Taxonomy, *, batch_size: int = 40
) -> tuple[list[Optional[str]], list[str]]:
    """Theme id per text from a chat model (None where it gave no valid id) and any warnings.

    Invalid ids, missing numbers and failed calls leave None, so the caller keeps its keyword theme.
    """
    out: list[Optional[str]] = [None] * len(texts)
    warnings: list[str] = []
    valid = set(taxonomy.ids)
    for lo in range(0, len(texts), batch_size):
        batch = texts[lo : lo + batch_size]
        prompt = _ASSIGN_PROMPT.format(
            fallback=taxonomy.fallback.id, themes=_theme_table(taxonomy), items=_numbered(batch)
        )
        try:
            answer = _ask(model, ThemeChoices, prompt)
        except Exception as e:  # any provider/validation failure: keep keyword themes for this batch
            warnings.append(f"LLM theme assignment failed for items {lo + 1}-{lo + len(batch)} ({_why(e)}); keyword themes kept")
            continue
        bad = 0
        for choice in answer.assignments:
            tid = choice.theme.strip()
            if 1 <= choice.index <= len(batch) and tid in valid:
                out[lo + choice.index - 1] = tid
            else:
                bad += 1
        if bad:
            warnings.append(f"LLM gave {bad} unusable theme answer(s) for items {lo + 1}-{lo + len(batch)}; keyword themes kept for those")
    return out, warnings


def llm_summary(theme: Theme, problems: Sequence[str], model: Any) -> tuple[Optional[str], list[int], Optional[str]]:
    """A short summary of one theme's problems, with the 0-based indices it cites.

    Grounding rule: a summary that cites none of the given problems is discarded (returns None and a
    warning), so every summary shown can be traced back to quotes.
    """
    prompt = _SUMMARY_PROMPT.format(theme=theme.name, items=_numbered(problems))
    try:
        answer = _ask(model, ThemeSummaryAnswer, prompt)
    except Exception as e:
        return None, [], f"LLM summary for theme '{theme.id}' failed ({_why(e)})"
    cited = sorted({i - 1 for i in answer.cited if 1 <= i <= len(problems)})
    text = " ".join(answer.summary.split())
    if not cited or not text:
        return None, [], f"LLM summary for theme '{theme.id}' cited none of its problems; dropped"
    return text, cited, None
