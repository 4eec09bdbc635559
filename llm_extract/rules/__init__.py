"""Deterministic extraction rules: cue phrases, paragraph items, table items, metadata."""
