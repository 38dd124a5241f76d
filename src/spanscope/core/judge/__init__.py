"""LLM judges: evaluators read from TOML files (a prompt template over a span's input, output and
reference, and a score schema), run against a model endpoint, each judgement stored as the judge's
own call (a trace linked to the judged span) and a score of the judged span."""
