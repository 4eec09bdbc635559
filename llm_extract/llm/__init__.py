"""The language-model layer: settings, chunking and routing, prompts, the output schema, the chat
client and its HTTP layer, the response cache, token counting, prices and cost estimates, and
placing a model's answers in the source. `backends/openai_backend.py` drives these per document."""
