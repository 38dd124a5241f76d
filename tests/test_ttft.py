"""Time to first token on the real captures: each convention's own field in its own unit, the expected
figure worked out here from the raw file (attribute or event, and the span's start), never from our
readers; and values that cannot be a time to first token, which are none."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from old_stores import before_ttft
from spanscope.core import conventions
from spanscope.core.conventions.precedence import MAX_TTFT_NS
from spanscope.core.model import Event, Span
from spanscope.core.store import connect, import_file
from spanscope.core.store.queries import iter_spans, trace_rows
from spanscope.core.store.schema import VERSION
from sqlite_stores import query

#: The first-token event of OpenInference (OpenAI and LlamaIndex instrumentations, Phoenix).
FIRST_TOKEN_EVENT = "First Token Stream Event"
SECONDS, MILLISECONDS = 1_000_000_000, 1_000_000


class Raw(NamedTuple):
    span_id: str
    start_ns: int
    end_ns: int
    attrs: dict[str, Any]
    events: dict[str, int]


def _value(any_value: dict[str, Any]) -> Any:
    for value in any_value.values():
        return value
    return None


def raw_spans(path: Path) -> list[Raw]:
    """Every span of an OTLP/HTTP JSON body, read with plain json."""
    body = json.loads(path.read_text())
    return [
        Raw(
            s["spanId"],
            int(s["startTimeUnixNano"]),
            int(s["endTimeUnixNano"]),
            {a["key"]: _value(a["value"]) for a in s.get("attributes", [])},
            {e["name"]: int(e["timeUnixNano"]) for e in s.get("events", [])},
        )
        for rs in body["resourceSpans"]
        for ss in rs["scopeSpans"]
        for s in ss["spans"]
    ]


def epoch_ns(text: str) -> int:
    moment = datetime.fromisoformat(text)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1_000_000) * 1000


def stored_ttft(path: Path, tmp_path: Path) -> dict[str, int | None]:
    store = tmp_path / "store.db"
    import_file(store, path)
    return {s.span_id: s.ttft_ns for s in iter_spans(connect(store, readonly=True))}


class Case(NamedTuple):
    file: str
    #: The attribute (or event) holding the time to first token.
    key: str
    #: Nanoseconds per unit of its value; None: an absolute ISO time; 0: the key names an event.
    unit: int | None
    #: Spans with a time to first token (a value before the span's start is none).
    expected_count: int


CASES = [
    Case("openinference-openai/chain-and-session.otlp.json", FIRST_TOKEN_EVENT, 0, 2),
    # LlamaIndex ends the span when it hands back the stream: the first token comes after its end.
    Case("llamaindex/rag-agent-openinference.otlp.json", FIRST_TOKEN_EVENT, 0, 3),
    Case(
        "vercel-ai-sdk/travel-app.otlp-http.json", "gen_ai.client.operation.time_to_first_chunk", SECONDS, 1
    ),
    Case("vercel-ai-sdk/travel-app-legacy.otlp-http.json", "ai.response.msToFirstChunk", MILLISECONDS, 1),
    Case("vercel-ai-sdk-v4/packing-advisor.otlp-http.json", "ai.response.msToFirstChunk", MILLISECONDS, 2),
    Case("pydantic-ai/agent-session-v2.otlp.json", "gen_ai.client.operation.time_to_first_chunk", SECONDS, 1),
    Case(
        "pydantic-ai/agent-session-v5-default.otlp.json",
        "gen_ai.client.operation.time_to_first_chunk",
        SECONDS,
        1,
    ),
    Case(
        "strands-agents/travel-agent-default.otlp.json", "gen_ai.server.time_to_first_token", MILLISECONDS, 4
    ),
    Case(
        "strands-agents/travel-agent-latest.otlp.json", "gen_ai.server.time_to_first_token", MILLISECONDS, 4
    ),
    # The second call's completion start repeats the first call's, before its own start: none.
    Case("mastra/city-guide.otlp-http.json", "mastra.completion_start_time", None, 2),
    Case("langfuse-sdk/chain-and-session.otlp.json", "langfuse.observation.completion_start_time", None, 2),
]


def expected_ttft(span: Raw, case: Case) -> int | None:
    if case.unit == 0:
        at = span.events.get(case.key)
        ns = None if at is None else at - span.start_ns
    elif case.key not in span.attrs:
        return None
    elif case.unit is None:
        ns = epoch_ns(
            json.loads(span.attrs[case.key]) if case.key.startswith("langfuse") else span.attrs[case.key]
        )
        ns -= span.start_ns
    else:
        ns = round(float(span.attrs[case.key]) * case.unit)
    return ns if ns is not None and ns >= 0 else None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_time_to_first_token_from_each_conventions_field_and_unit(fixtures_dir, tmp_path, case):
    raw = raw_spans(fixtures_dir / case.file)
    expected = {s.span_id: expected_ttft(s, case) for s in raw}
    assert sum(ns is not None for ns in expected.values()) == case.expected_count
    assert stored_ttft(fixtures_dir / case.file, tmp_path) == expected


def test_figures_in_the_units_the_captures_document(fixtures_dir, tmp_path):
    """One figure per unit, spelled out: 52.993 ms (Vercel v4), 0.0634 s (Vercel 7 GenAI), 249 ms
    (Strands), 77 ms (Mastra: 17:02:34.205 first chunk of a call started at .128)."""
    figures = {}
    for file in (
        "vercel-ai-sdk-v4/packing-advisor.otlp-http.json",
        "vercel-ai-sdk/travel-app.otlp-http.json",
        "strands-agents/travel-agent-latest.otlp.json",
        "mastra/city-guide.otlp-http.json",
    ):
        figures.update(stored_ttft(fixtures_dir / file, tmp_path / file.replace("/", "_")))
    found = sorted(ns for ns in figures.values() if ns is not None)
    for ns in (52_993_285, 63_431_675, 249_000_000, 77_000_000):
        assert ns in found


def test_phoenix_first_token_events(fixtures_dir, tmp_path):
    db = fixtures_dir / "phoenix-sqlite" / "phoenix.db"
    expected = {}
    for span_id, start, events in query(db, "SELECT span_id, start_time, events FROM spans"):
        firsts = [e for e in json.loads(events or "[]") if e["name"] == FIRST_TOKEN_EVENT]
        expected[span_id] = epoch_ns(firsts[0]["timestamp"]) - epoch_ns(start) if firsts else None
    assert sum(ns is not None for ns in expected.values()) == 3
    assert stored_ttft(db, tmp_path) == expected


def test_a_store_from_before_ttft_opens_with_none_and_new_imports_fill_it(fixtures_dir, tmp_path):
    store = tmp_path / "store.db"
    import_file(store, fixtures_dir / "vercel-ai-sdk-v4/packing-advisor.otlp-http.json")
    before_ttft(store)
    assert "ttft_ns" not in {row[1] for row in query(store, "PRAGMA table_info(spans)")}
    db = connect(store)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    old = list(iter_spans(db))
    assert len(old) == 10 and all(s.ttft_ns is None for s in old)
    assert all(ns is None for ns in trace_rows(db, old[0].trace_id).columns["ttft_ns"])
    import_file(store, fixtures_dir / "strands-agents/travel-agent-latest.otlp.json")
    raw = raw_spans(fixtures_dir / "strands-agents/travel-agent-latest.otlp.json")
    key = "gen_ai.server.time_to_first_token"
    expected = {s.span_id: int(s.attrs[key]) * MILLISECONDS for s in raw if key in s.attrs}
    stored = {s.span_id: s.ttft_ns for s in iter_spans(connect(store)) if s.ttft_ns is not None}
    assert stored == expected and len(expected) == 4


# --- values that are no time to first token ------------------------------------------------------


def ttft(
    attributes: dict[str, Any], events: list[Event] | None = None, end_ns: int | None = 2 * 10**9
) -> int | None:
    span = Span("t", "s", None, "chat", 10**9, end_ns, attributes=attributes, events=events or [])
    conventions.apply_fields(span)
    return span.ttft_ns


def test_bad_values_are_none_and_the_next_source_is_read():
    assert ttft({"ai.response.msToFirstChunk": -3}) is None
    assert ttft({"ai.response.msToFirstChunk": "soon"}) is None
    assert ttft({"ai.response.msToFirstChunk": math.nan}) is None
    assert ttft({"ai.response.msToFirstChunk": 1e300}) is None
    assert ttft({"ai.response.msToFirstChunk": True}) is None
    assert ttft({"ai.response.msToFirstChunk": 1500}, end_ns=None) == 1_500_000_000  # still running
    assert ttft({"mastra.completion_start_time": "1970-01-01T00:00:00.5Z"}) is None  # before the start
    assert ttft({"mastra.completion_start_time": ["1970"]}) is None
    assert ttft({"ai.response.msToFirstChunk": "x", "ai.stream.msToFirstChunk": 12}) == 12_000_000
    llm = {"openinference.span.kind": "LLM"}
    early, first = Event(FIRST_TOKEN_EVENT, 10**9 - 1), Event(FIRST_TOKEN_EVENT, 10**9 + 7)
    assert ttft(llm, [early]) is None
    assert ttft(llm, [Event(FIRST_TOKEN_EVENT, None), first]) == 7
    assert ttft({}, [first]) is None  # the event is OpenInference's: looked for on its spans only
    assert ttft({**llm, "gen_ai.client.operation.time_to_first_chunk": 0.25}, [first]) == 250_000_000


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [
            "ai.response.msToFirstChunk",
            "gen_ai.client.operation.time_to_first_chunk",
            "mastra.completion_start_time",
            "langfuse.observation.completion_start_time",
        ]
    ),
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.lists(st.integers())),
)
def test_conventions_never_raise_and_never_give_a_negative_time(key, value):
    found = ttft({key: value})
    assert found is None or (type(found) is int and 0 <= found <= MAX_TTFT_NS)
