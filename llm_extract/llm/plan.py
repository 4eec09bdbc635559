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
from .cite_schema import CitedExtraction

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
        #: answers cite numbered segments instead of copying quotes (llm/citing.py)
        self.cite = settings.answer_format == "cite"
        if self.cite:
            self.schema = CitedExtraction
        self.prompts = prompts or load_prompts(settings.resolved_prompt_version())
        self.schema_id = hashlib.sha256(json.dumps(self.schema.model_json_schema(), sort_keys=True).encode()).hexdigest()

    def chunks(self, text: str, structure: "Structure") -> list[Chunk]:
        s = self.settings
        return chunk_document(text, structure, max_tokens=s.max_chunk_tokens, route=s.route, model=s.model)

    def requests(self, chunks: list[Chunk], *, keyed: bool = True) -> list[Request]:
        """Every chunk on every pass, pass by pass."""
        return [Request(c, p, self.messages(c, p), self.request_key(c, p) if keyed else None)
                for p in range(1, self.settings.passes + 1) for c in chunks]

    def messages(self, chunk: Chunk, pass_no: int) -> list[dict[str, str]]:
        if self.cite:
            from .citing import cite_messages
            return cite_messages(self.prompts, chunk, pass_no, json_instructions=self.method == "json_mode")
        return self.prompts.messages(chunk.text, chunk.section_path, pass_no=pass_no,
                                     json_instructions=self.method == "json_mode")

    def request_key(self, chunk: Chunk, pass_no: int) -> str:
        """The system prompt and examples are covered by the prompt set's content hash, so the
        variable part of the key is the user message: chunk text, section path, pass."""
        if self.cite:  # the numbered excerpt; the schema id and prompt version differ as well
            from .citing import cite_user
            return self._key(cite_user(self.prompts, chunk, pass_no))
        return self._key(self.prompts.render_user(chunk.text, chunk.section_path, pass_no))

    def reader(self, text: str, structure: "Structure"):
        """What turns this format's answers into items placed in `text` (llm/answers.py)."""
        from .answers import AnswerReader
        from .citing import CiteReader
        return (CiteReader if self.cite else AnswerReader)(text, structure)

    def document_key(self, text: str) -> str:
        """A whole document's key: its text and the settings that shape its chunks and calls."""
        s = self.settings
        key = {"document": hashlib.sha256(text.encode("utf-8")).hexdigest(),
               "route": s.route, "max_chunk_tokens": s.max_chunk_tokens, "passes": s.passes}
        if self.cite:  # quote-format keys stay as they were, so existing caches keep serving
            key["answer_format"] = "cite"
        return self._key(key)

    def _key(self, messages: object) -> str:
        s = self.settings
        return cache_key(
            model=s.model, base_url=s.base_url, method=self.method, temperature=s.temperature,
            prompt_version=f"{self.prompts.version}:{self.prompts.sha256}", schema=self.schema_id,
            messages=messages,
        )
