"""The language-model layer. settings (typed, resolved once per command) → chunking and routing →
plan (requests as data: messages, schema, cache key) → client (the chat model) over transport
(rate limit, retry verdicts, error wording) and http_client; cache, tokens, pricing and estimate
count and price the requests; answers and arbitration place a model's answers in the source.
`backends/openai_backend.py` drives these per document."""
