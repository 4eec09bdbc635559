"""Help texts of the options several commands share, written once so they cannot drift apart.

`estimate` replays `extract`'s chunking, routing and prompts, and `eval --backend` runs it, so an
option such as --route must read the same in all of them.
"""

from __future__ import annotations

from ..llm.prompts import DEFAULT_VERSION

PATHS_HELP = "Report files (.txt .md .docx .pdf) and/or folders (searched recursively)."
ROUTE_HELP = ("relevant (skip boilerplate/budget sections; read recognised self-evaluation tables by layout "
              "instead of sending them) or all (send everything).")
PASSES_HELP = "Extraction passes per chunk, merged (recall)."
MAX_CHUNK_TOKENS_HELP = "Token budget of report text per LLM call."
PROMPT_VERSION_HELP = f"Prompt set to use: a packaged version or a folder (default {DEFAULT_VERSION})."
ANSWER_FORMAT_HELP = ("How the model answers: quote (copies each item's text; the default) or cite (answers "
                      "with numbered segment ranges: far fewer completion tokens; prompt v3-cite).")
