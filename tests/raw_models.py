"""The model a raw model call is charged to, read from its attributes without the code under test."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Where each convention names the model, in its precedence (response before request).
MODEL_KEYS = ("llm.model_name", "embedding.model_name", "gen_ai.response.model", "gen_ai.request.model")
PARAMETER_KEYS = ("llm.invocation_parameters", "embedding.invocation_parameters")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")


def raw_model(attrs: Mapping[str, Any], keys: tuple[str, ...] = MODEL_KEYS) -> str | None:
    """The first of `keys`, else the `model` the invocation parameters asked for (a failed call has
    no response model); a prefix naming the call's own provider (LiteLLM's `openai/gpt-4o-mini`) is
    not part of the name."""
    model = next((attrs[k] for k in keys if attrs.get(k)), None)
    if model is None:
        parameters = [json.loads(attrs[k]) for k in PARAMETER_KEYS if k in attrs]
        model = next((p["model"] for p in parameters if isinstance(p, dict) and p.get("model")), None)
    provider = next((attrs[k] for k in PROVIDER_KEYS if attrs.get(k)), None)
    if model is not None and provider is not None and model.lower().startswith(provider.lower() + "/"):
        model = model[len(provider) + 1 :]
    return model
