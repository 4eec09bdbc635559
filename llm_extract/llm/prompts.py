"""Versioned prompt sets shipped inside the package (`llm_extract/prompts_data/<version>/`).

Each version is a folder of plain files — system.md, user.md, examples.json, json_format.md,
pass_note.md — read with importlib.resources, so an installed wheel finds them exactly as a
checkout does (`prompts/README.md` at the top of the repository explains the layout). A user can
also point `--prompt-version` at a folder of their own with the same files, to compare a new
prompt against v1 on their labelled reports. Every prompt set has a content hash, so editing a
version's files invalidates cached responses made with the old text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from ..categories import CATEGORIES

DEFAULT_VERSION = "v2"
PACKAGED_DIR = "prompts_data"  # inside the llm_extract package
EXCERPT_OPEN, EXCERPT_CLOSE = "<report_excerpt>", "</report_excerpt>"
_FILES = ("system.md", "user.md", "examples.json", "json_format.md", "pass_note.md")


class PromptError(ValueError):
    """Unknown prompt version or a broken prompt file."""


@dataclass(frozen=True)
class Example:
    section_path: str
    text: str
    items: tuple[tuple[str, str], ...]  # (category, quote)


@dataclass(frozen=True)
class PromptSet:
    version: str
    system: str
    user_template: str
    json_format: str
    pass_note: str
    examples: tuple[Example, ...]
    sha256: str

    def render_user(self, text: str, section_path: str = "", pass_no: int = 1) -> str:
        """The user message for one excerpt. The excerpt is fenced; a closing fence inside it is
        defused so document text cannot end the data block early."""
        body = text.strip("\n").replace(EXCERPT_CLOSE, EXCERPT_CLOSE.replace("/", "\\/"))
        note = self.pass_note.replace("{{pass}}", str(pass_no)).strip() + "\n" if pass_no > 1 else ""
        return (
            self.user_template.replace("{{section_path}}", section_path or "(document start)")
            .replace("{{pass_note}}\n", note)
            .replace("{{pass_note}}", note)
            .replace("{{text}}", body)
        )

    def messages(self, text: str, section_path: str = "", *, pass_no: int = 1,
                 json_instructions: bool = False) -> list[dict[str, str]]:
        """Chat messages (OpenAI roles): system, few-shot pairs, then the excerpt.
        `json_instructions` appends the output shape to the system prompt (json_mode has no schema)."""
        system = self.system.strip()
        if json_instructions:
            system += "\n\n" + self.json_format.strip()
        msgs = [{"role": "system", "content": system}]
        for ex in self.examples:
            msgs.append({"role": "user", "content": self.render_user(ex.text, ex.section_path)})
            answer = {"items": [{"category": c, "quote": q} for c, q in ex.items]}
            msgs.append({"role": "assistant", "content": json.dumps(answer, ensure_ascii=False)})
        msgs.append({"role": "user", "content": self.render_user(text, section_path, pass_no)})
        return msgs


def _packaged_root() -> Traversable:
    return resources.files("llm_extract") / PACKAGED_DIR


def available_versions() -> list[str]:
    root = _packaged_root()
    return sorted(c.name for c in root.iterdir() if c.is_dir() and (c / "system.md").is_file())


@lru_cache(maxsize=16)
def load_prompts(version: str = DEFAULT_VERSION) -> PromptSet:
    """The packaged prompt set `version` (e.g. "v1"), or the prompt folder at path `version`.
    PromptError names the packaged versions when neither exists."""
    d = _packaged_root() / version
    if "/" not in version and "\\" not in version and d.is_dir() and (d / "system.md").is_file():
        return _read(version, d)
    path = Path(version).expanduser()
    if path.is_dir():
        return _read(version, path)
    known = ", ".join(available_versions()) or "none found"
    raise PromptError(f"unknown prompt version '{version}' (packaged: {known}; or give a folder with "
                      f"{', '.join(_FILES)})")


def _read(version: str, d) -> PromptSet:
    raw: dict[str, str] = {}
    for name in _FILES:
        f = d / name
        if not f.is_file():
            raise PromptError(f"prompt version '{version}' lacks {name}")
        raw[name] = f.read_text(encoding="utf-8")
    try:
        ex_data = json.loads(raw["examples.json"])
        examples = tuple(
            Example(
                section_path=e.get("section_path", ""),
                text=e["text"],
                items=tuple((it["category"], it["quote"]) for it in e["items"]),
            )
            for e in ex_data["examples"]
        )
    except (ValueError, KeyError, TypeError) as e:
        raise PromptError(f"prompt version '{version}': bad examples.json ({e})") from None
    unknown = sorted({c for ex in examples for c, _ in ex.items} - set(CATEGORIES))
    if unknown:
        raise PromptError(f"prompt version '{version}': examples.json uses unknown categories {unknown} "
                          f"(use {', '.join(CATEGORIES)})")
    h = hashlib.sha256()
    for name in _FILES:
        h.update(name.encode() + b"\0" + raw[name].encode("utf-8") + b"\0")
    return PromptSet(
        version=version,
        system=raw["system.md"],
        user_template=raw["user.md"],
        json_format=raw["json_format.md"],
        pass_note=raw["pass_note.md"],
        examples=examples,
        sha256=h.hexdigest(),
    )
