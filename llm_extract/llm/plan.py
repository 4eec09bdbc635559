"""Routed chunks × passes → requests as data: the messages to send, the output schema, and the
response-cache key of each. The openai backend sends these requests, `estimate` counts them, and a
batch path can write them out, so all three ask for exactly the same thing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from .cache import cache_key
from .chunking import Chunk, chunk_document
from .prompts import PromptSet, load_prompts
from .schema import Extraction

if TYPE_CHECKING:
    from ..structure import Structure
    from .settings import LLMSettings


@dataclass(frozen=True)
class Request:
    """One model call: `messages` for `chunk` on pass `pass_no`; `key` its response-cache key
    (None when planned without one)."""

    chunk: Chunk
    pass_no: int
    messages: list[dict[str, str]]
    key: Optional[str] = None


class Planner:
    """What a run with these settings asks the model, per document."""

    schema = Extraction

    def __init__(self, settings: "LLMSettings", prompts: Optional[PromptSet] = None):
        self.settings = settings
        self.method = settings.resolved_method()
        self.prompts = prompts or load_prompts(settings.prompt_version)
        self.schema_id = hashlib.sha256(json.dumps(self.schema.model_json_schema(), sort_keys=True).encode()).hexdigest()

    def chunks(self, text: str, structure: "Structure") -> list[Chunk]:
        s = self.settings
        return chunk_document(text, structure, max_tokens=s.max_chunk_tokens, route=s.route, model=s.model)

    def requests(self, chunks: list[Chunk], *, keyed: bool = True) -> list[Request]:
        """Every chunk on every pass, pass by pass."""
        return [Request(c, p, self.messages(c, p), self.request_key(c, p) if keyed else None)
                for p in range(1, self.settings.passes + 1) for c in chunks]

    def messages(self, chunk: Chunk, pass_no: int) -> list[dict[str, str]]:
        return self.prompts.messages(chunk.text, chunk.section_path, pass_no=pass_no,
                                     json_instructions=self.method == "json_mode")

    def request_key(self, chunk: Chunk, pass_no: int) -> str:
        """The system prompt and examples are covered by the prompt set's content hash, so the
        variable part of the key is the user message: chunk text, section path, pass."""
        return self._key(self.prompts.render_user(chunk.text, chunk.section_path, pass_no))

    def document_key(self, text: str) -> str:
        """A whole document's key: its text and the settings that shape its chunks and calls."""
        s = self.settings
        return self._key({"document": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                          "route": s.route, "max_chunk_tokens": s.max_chunk_tokens, "passes": s.passes})

    def _key(self, messages: object) -> str:
        s = self.settings
        return cache_key(
            model=s.model, base_url=s.base_url, method=self.method, temperature=s.temperature,
            prompt_version=f"{self.prompts.version}:{self.prompts.sha256}", schema=self.schema_id,
            messages=messages,
        )
