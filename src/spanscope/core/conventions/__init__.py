"""Map the LLM attribute conventions onto the normalized span fields.

A reader fills a span's raw fields (ids, times, OTel status, flat attributes, events, resource);
`apply_fields` then reads the conventions real instrumentations write - OpenInference, OpenTelemetry
GenAI (all versions), OpenLLMetry/Traceloop, the Langfuse OTel SDK, and the attributes of their own
that frameworks add (the Vercel AI SDK, Mastra, MCP, Pydantic AI, Google ADK), one module each - and fills
kind, model, provider, usage, cost, session, user and service. Input and output are not filled at
import: `derived_io` gives them from the attributes and events whenever a span is read (see
core/store/documents.py), so every view shows what the conventions of the running version say.

One span may carry several conventions at once (OpenInference plus gen_ai.*): every field takes the
first value found in the fixed order of `precedence.CONVENTIONS`, and values from different
conventions are never added. Each convention's usage is normalized first, so input_tokens always
include cached tokens and output_tokens include reasoning tokens.

`apply_fields` runs once per span on the ingest hot path. A table built at import time tells, from the
span's keys, which fields have a source at all (memoized per key layout, which repeats across an
instrumentation's spans); only those fields are looked up, with dict.get on fixed keys. Flattened lists
are read through precomputed keys, and JSON is parsed only for attributes known to hold it. Nothing
here raises on attribute content: values of the wrong shape become None.
"""

from spanscope.core.conventions.messages import openai_chat
from spanscope.core.conventions.precedence import DERIVATION, apply_fields, derived_io, inherits_input

__all__ = ["DERIVATION", "apply_fields", "derived_io", "inherits_input", "openai_chat"]
