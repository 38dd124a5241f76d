"""Replaying recorded model calls against another OpenAI-compatible model, and storing the result."""
