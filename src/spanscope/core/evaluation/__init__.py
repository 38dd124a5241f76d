"""Judging stored spans: CI assertions, grounding, reference metrics and their reports."""
