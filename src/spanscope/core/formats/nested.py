"""Nested JSON attributes, as Phoenix stores them, back to the flat dotted keys OpenTelemetry uses.

Phoenix splits each attribute key on dots into nested objects, turns numbered parts into arrays when
objects follow them (`llm.input_messages.0.message.role` -> `{"llm": {"input_messages": [{"message":
{"role": ...}}]}}`), and parses the OpenInference attributes that hold JSON text (`metadata`,
`tool.parameters`, document metadata, prompt template variables) into objects. `flatten` undoes all
three, so the flat-key conventions in `semconv` read the result as they read a span from a trace file.
"""

from __future__ import annotations

from typing import Any

import orjson

#: OpenInference attributes whose value is JSON text; a key ending in one of them is kept whole.
JSON_TEXT_KEYS = ("metadata", "tool.parameters", "llm.prompt_template.variables")


def flatten(tree: dict[str, Any], json_text_keys: tuple[str, ...] = JSON_TEXT_KEYS) -> dict[str, Any]:
    """Dotted keys of every leaf; arrays of objects numbered, arrays of plain values kept as lists."""
    flat: dict[str, Any] = {}
    suffixes = tuple("." + key for key in json_text_keys)
    for key, value in tree.items():
        _walk(value, str(key), flat, json_text_keys, suffixes)
    return flat


def _walk(
    value: Any, key: str, flat: dict[str, Any], whole: tuple[str, ...], suffixes: tuple[str, ...]
) -> None:
    if isinstance(value, dict):
        if key in whole or key.endswith(suffixes):
            flat[key] = orjson.dumps(value).decode()
            return
        for name, item in value.items():
            _walk(item, f"{key}.{name}", flat, whole, suffixes)
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        for index, item in enumerate(value):
            _walk(item, f"{key}.{index}", flat, whole, suffixes)
    elif value is not None:
        flat[key] = value
