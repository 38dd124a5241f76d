"""Which models a chart shows apart: dated snapshots under the model they are a snapshot of, and the
models past the busiest few as one "other", so a chart of 2 models and one of 40 both stay legible.

`shown_as` maps each model to the key it is charted under; the series classes merge their columns by
that map (`UsageSeries.merged`, `LatencyStats.merged`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

#: The key of the models folded together past the top ones. Parenthesized like "(no model)": no
#: provider names a model so.
OTHER = "(other models)"
#: At most this many keys are charted apart (the categorical palette's size); with more models the
#: busiest MAX_SHOWN - 1 are kept and the rest become OTHER.
MAX_SHOWN = 12

#: A snapshot's date (and Bedrock's version) at the end of a name: `-2024-08-06`, `-20241022`,
#: `@20250514`, `-0613` (OpenAI's MMDD), `-05-20` (Gemini previews), or the `-latest` alias.
_SNAPSHOT = re.compile(r"(?:[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{2}-\d{2})(?:-v\d+(?::\d+)?)?|-latest)$")


def family(model: str | None) -> str | None:
    """`gpt-4o-2024-08-06` -> `gpt-4o`, `claude-3-5-sonnet-20241022` -> `claude-3-5-sonnet`; a name
    with no snapshot suffix is its own family."""
    if model is None:
        return None
    base = _SNAPSHOT.sub("", model)
    return base or model


@dataclass(frozen=True)
class ModelView:
    """How models are charted: snapshots under their family (or apart), and how many keys at most."""

    families: bool = True
    max_shown: int = MAX_SHOWN


def shown_as(calls: Mapping[str | None, int], view: ModelView = ModelView()) -> dict[str | None, str | None]:
    """Each model of `calls` (model -> calls) -> the key it is charted under: its family (or itself),
    or OTHER when that key is not among the busiest."""
    named = {m: family(m) if view.families else m for m in calls}
    totals: Counter[str | None] = Counter()
    for model, n in calls.items():
        totals[named[model]] += n
    ranked = sorted(totals, key=lambda key: (-totals[key], str(key)))
    kept = set(ranked if len(ranked) <= view.max_shown else ranked[: view.max_shown - 1])
    return {m: key if key in kept else OTHER for m, key in named.items()}


def members(keys: Mapping[str | None, str | None]) -> dict[str | None, list[str | None]]:
    """Key -> the models charted under it, for hover text and labels."""
    found: dict[str | None, list[str | None]] = {}
    for model, key in keys.items():
        found.setdefault(key, []).append(model)
    return found


def ordered_keys(calls: Mapping[str | None, int]) -> list[str | None]:
    """Keys by calls, most first, OTHER last whatever its size: the busiest models keep the first
    colours, and "other" always sits at the end of a key or a bar chart."""
    return sorted(calls, key=lambda key: (key == OTHER, -calls[key], str(key)))
