"""llm-extract: grounded extraction from Chinese performance self-evaluation reports.

Pipeline (one module each): loaders → structure → chunking/backends → grounding → merge → pipeline
→ batch (many files) → evaluation / digest / view.
"""

__version__ = "0.1.0"
