"""What `spanscope screenshot` selects: ids or unique prefixes as given, else the first error."""

from __future__ import annotations

import pytest

from otlp import TRACE, llm, request, span, write_jsonl
from spanscope.core.store import import_file
from spanscope.core.store.queries import NotFound
from spanscope.ui.screenshot import default_selection

ROOT, CALL, FAILED = "00000000000000a1", "00000000000000c2", "00000000000000b3"


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store.db"
    trace = request(
        span(ROOT, name="answer", end=9_000),
        llm(CALL, ROOT, "gpt-4o", 10, 5),
        span(FAILED, ROOT, name="lookup", error="timed out"),
    )
    import_file(path, write_jsonl(tmp_path / "run.jsonl", trace))
    return path


def test_without_a_choice_the_first_error_of_the_first_trace_with_one(store):
    assert default_selection(store, None, None) == (TRACE, FAILED)


def test_a_span_given_by_a_unique_prefix_is_found_with_its_trace(store):
    assert default_selection(store, None, CALL[:15]) == (TRACE, CALL)
    assert default_selection(store, TRACE[:8], CALL) == (TRACE, CALL)


def test_a_span_that_is_not_there_is_named(store):
    with pytest.raises(NotFound, match="ffff"):
        default_selection(store, None, "ffff")
