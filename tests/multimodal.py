"""The multimodal capture's spans as the file holds them, read with the standard library only, so
tests take their expected figures from the raw data and not from our readers."""

from __future__ import annotations

import json
from pathlib import Path

CAPTURE = ("multimodal", "image-audio-openinference.otlp.json")


def raw_spans(fixtures_dir: Path) -> dict[str, dict[str, str]]:
    """Span id -> its string attributes."""
    data = json.loads(fixtures_dir.joinpath(*CAPTURE).read_text())
    return {
        span["spanId"]: {
            a["key"]: a["value"]["stringValue"] for a in span["attributes"] if "stringValue" in a["value"]
        }
        for resource in data["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    }
