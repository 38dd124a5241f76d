"""Trace list queries: filters, sort orders and ties, paging, against plain Python over the same rows."""

from __future__ import annotations

import random

import pytest

from spanscope.core.resources import demo_traces
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import TRACE_COLUMNS, TraceRow, list_traces
from spanscope.core.store.schema import MIGRATIONS, VERSION, _add_service_index
from spanscope.core.store.trace_query import (
    SORT_COLUMNS,
    TraceFilter,
    distinct_values,
    fetch_rows,
    filled_columns,
    models_in_store,
    rowid_of,
    sorted_trace_ids,
    time_bounds,
)

DEMO = demo_traces()
_INSERT = f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)}) VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"


def trace(i: int, **values) -> dict:
    """A traces-table row with every column set; `values` overrides."""
    row = dict.fromkeys(TRACE_COLUMNS)
    row.update(
        trace_id=f"{i:032x}",
        root_name=f"root {i}",
        start_ns=1_000 + i,
        end_ns=2_000 + i,
        duration_ns=1_000,
        span_count=1,
        error_count=0,
        models="gpt-4o",
        service="svc",
    )
    row.update(values)
    return row


def insert(db, rows: list[dict]) -> None:
    with db.conn:
        db.conn.execute("BEGIN")
        db.conn.executemany(_INSERT, [tuple(r[c] for c in TRACE_COLUMNS) for r in rows])


@pytest.fixture
def db(tmp_path):
    return connect(tmp_path / "store.db")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    assert import_file(path, DEMO).outcome is Outcome.IMPORTED
    return connect(path, readonly=True)


def random_rows(count: int, seed: int = 3) -> list[dict]:
    """Few distinct values per column, so every sort has long runs of ties, and some NULLs."""
    rng = random.Random(seed)

    def maybe(value):
        return None if rng.random() < 0.15 else value

    return [
        trace(
            i,
            root_name=maybe(rng.choice(["alpha", "Beta", "gamma", "_x%"])),
            start_ns=rng.randrange(5),
            duration_ns=maybe(rng.randrange(4) * 1_000),
            span_count=rng.randrange(3),
            error_count=rng.choice([0, 0, 0, 1, 2]),
            input_tokens=maybe(rng.randrange(3)),
            output_tokens=maybe(rng.randrange(3)),
            cost_usd=maybe(rng.choice([0.0, 0.5, 1.25])),
            models=maybe(",".join(rng.sample(["gpt-4o", "gpt-4o-mini", "claude"], rng.randrange(1, 3)))),
            session_id=maybe(rng.choice(["s1", "s2"])),
            user_id=maybe(rng.choice(["u1", "u2", "U3"])),
            service=maybe(rng.choice(["rag-app", "agent-app", "Agent-app"])),
        )
        for i in range(1, 301)
    ]


def python_order(db, rows: list[dict], order_by: str, descending: bool, keep=lambda r: True) -> list[int]:
    """Rowids in the order SQLite must give: NULLs smallest, ties by rowid, all reversed for DESC."""
    rowids = {r["trace_id"]: rowid_of(db, r["trace_id"]) for r in rows}
    kept = [r for r in rows if keep(r)]
    kept.sort(key=lambda r: (r[order_by] is not None, r[order_by], rowids[r["trace_id"]]), reverse=descending)
    return [rowids[r["trace_id"]] for r in kept]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("order_by", sorted(SORT_COLUMNS))
def test_every_sort_order_matches_python_with_ties_and_nulls(db, order_by, descending):
    rows = random_rows(300)
    insert(db, rows)
    got = sorted_trace_ids(db, TraceFilter(), order_by, descending)
    assert list(got) == python_order(db, rows, order_by, descending)


@pytest.mark.parametrize("order_by", ["duration_ns", "root_name", "cost_usd"])
def test_filtered_sorts_match_python(db, order_by):
    rows = random_rows(300)
    insert(db, rows)
    trace_filter = TraceFilter(errors_only=True, model="gpt-4o")

    def keep(r):
        return r["error_count"] > 0 and "gpt-4o" in (r["models"] or "").split(",")

    for descending in (False, True):
        got = sorted_trace_ids(db, trace_filter, order_by, descending)
        assert list(got) == python_order(db, rows, order_by, descending, keep)


def test_pages_concatenate_to_the_whole_sorted_list(db):
    rows = random_rows(300)
    insert(db, rows)
    rowids = sorted_trace_ids(db, TraceFilter(), "duration_ns", True)
    paged: list[TraceRow | None] = []
    for start in range(0, len(rowids), 37):
        paged += fetch_rows(db, rowids[start : start + 37])
    by_rowid = {rowid_of(db, r["trace_id"]): r["trace_id"] for r in rows}
    expected = [by_rowid[rowid] for rowid in python_order(db, rows, "duration_ns", True)]
    assert [t.trace_id for t in paged if t is not None] == expected


def test_demo_store_sorted_like_list_traces(demo_db):
    for order_by, descending in [("start_ns", False), ("duration_ns", True), ("span_count", False)]:
        rowids = sorted_trace_ids(demo_db, TraceFilter(), order_by, descending)
        assert fetch_rows(demo_db, rowids) == list_traces(demo_db, order_by=order_by, descending=descending)


def test_demo_rows_read_back_whole(demo_db):
    [first] = fetch_rows(demo_db, sorted_trace_ids(demo_db, TraceFilter(), "start_ns", False)[:1])
    assert first.root_name == "answer_question"
    assert first.models == ("gpt-4o-mini-2024-07-18", "text-embedding-3-small")
    assert (first.session_id, first.user_id, first.service) == ("sess-demo-17", "user-2291", "support-bot")


def names(db, trace_filter: TraceFilter) -> list[str]:
    return [t.root_name for t in fetch_rows(db, sorted_trace_ids(db, trace_filter, "start_ns", False))]


def test_text_matches_any_text_column_in_any_case(db):
    insert(
        db,
        [
            trace(1, root_name="Answer Question"),
            trace(2, session_id="SESS-42"),
            trace(3, user_id="user-77"),
            trace(4, service="Travel-Agent"),
            trace(5, models="claude-sonnet,gpt-4o"),
            trace(6),
        ],
    )
    assert names(db, TraceFilter(text="answer")) == ["Answer Question"]
    assert names(db, TraceFilter(text="sess-42")) == ["root 2"]
    assert names(db, TraceFilter(text="USER-77")) == ["root 3"]
    assert names(db, TraceFilter(text="travel")) == ["root 4"]
    assert names(db, TraceFilter(text="SONNET")) == ["root 5"]
    assert len(names(db, TraceFilter(text="  "))) == 6


def test_text_words_must_all_match(db):
    insert(db, [trace(1, root_name="support turn", user_id="u1"), trace(2, root_name="support turn")])
    assert names(db, TraceFilter(text="support u1")) == ["support turn"]
    assert names(db, TraceFilter(text="support nobody")) == []


def test_text_matches_trace_id_prefix_only(db):
    insert(db, [trace(1, trace_id="ab12" + "0" * 28), trace(2, trace_id="00ab12" + "0" * 26)])
    assert names(db, TraceFilter(text="ab12")) == ["root 1"]
    assert names(db, TraceFilter(text="0xAB12")) == ["root 1"]


def test_like_wildcards_in_text_are_literal(db):
    insert(db, [trace(1, root_name="100% done"), trace(2, root_name="100 done"), trace(3, root_name="a_b")])
    assert names(db, TraceFilter(text="100%")) == ["100% done"]
    assert names(db, TraceFilter(text="a_b")) == ["a_b"]
    assert names(db, TraceFilter(text="%")) == ["100% done"]
    insert(db, [trace(4, root_name="C:\\temp"), trace(5, root_name="C:temp")])
    assert names(db, TraceFilter(text="c:\\t")) == ["C:\\temp"]


def test_errors_only(db):
    insert(db, [trace(1, error_count=0), trace(2, error_count=3), trace(3, error_count=None)])
    assert names(db, TraceFilter(errors_only=True)) == ["root 2"]


def test_model_filter_matches_whole_names(db):
    insert(
        db,
        [
            trace(1, models="gpt-4o"),
            trace(2, models="gpt-4o-mini"),
            trace(3, models="claude,gpt-4o"),
            trace(4, models=None),
        ],
    )
    assert names(db, TraceFilter(model="gpt-4o")) == ["root 1", "root 3"]
    assert names(db, TraceFilter(model="gpt-4o-mini")) == ["root 2"]
    assert names(db, TraceFilter(model="gpt")) == []


def test_time_range_is_half_open(db):
    insert(db, [trace(i, start_ns=i * 10) for i in range(1, 6)])
    assert names(db, TraceFilter(start_ns=20, end_ns=40)) == ["root 2", "root 3"]
    assert names(db, TraceFilter(start_ns=41)) == ["root 5"]
    assert names(db, TraceFilter(end_ns=11)) == ["root 1"]


def test_filters_combine(demo_db):
    # "support" is also the service of triage_ticket, which used gpt-4o and failed.
    support_with_gpt4o = TraceFilter(text="support", model="gpt-4o-2024-08-06")
    assert names(demo_db, support_with_gpt4o) == ["support_turn", "triage_ticket"]
    assert names(demo_db, TraceFilter(text="support", errors_only=True)) == ["triage_ticket"]
    assert names(demo_db, TraceFilter(text="support_turn", errors_only=True)) == []
    assert names(demo_db, TraceFilter(text="travel", errors_only=True)) == [
        "invoke_agent travel_planner",
        "invoke_agent destination_researcher",
    ]


def test_unknown_sort_column_is_refused(db):
    with pytest.raises(ValueError, match="cannot sort"):
        sorted_trace_ids(db, TraceFilter(), "start_ns; DROP TABLE traces", False)


def test_fetch_rows_keeps_order_and_marks_gone_rows(db):
    insert(db, [trace(i) for i in range(1, 4)])
    one, three = rowid_of(db, f"{1:032x}"), rowid_of(db, f"{3:032x}")
    rows = fetch_rows(db, [three, 999, one])
    assert [r and r.trace_id for r in rows] == [f"{3:032x}", None, f"{1:032x}"]
    assert fetch_rows(db, []) == []


def test_models_and_time_bounds(db, demo_db):
    assert models_in_store(db) == []
    assert time_bounds(db) is None
    assert models_in_store(demo_db) == [
        "claude-haiku-4-5-20251001",
        "claude-sonnet-4-5-20250929",
        "gemini-2.5-flash",
        "gpt-4.1-2025-04-14",
        "gpt-4.1-mini-2025-04-14",
        "gpt-4o",  # a failed call: the model it asked for (llm.invocation_parameters)
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-2024-07-18",
        "text-embedding-3-small",
    ]
    traces = list_traces(demo_db)
    assert time_bounds(demo_db) == (traces[0].start_ns, traces[-1].start_ns)


@pytest.mark.parametrize("order_by", sorted(SORT_COLUMNS))
def test_unfiltered_sorts_walk_an_index(db, order_by):
    """A sort of 10^6 traces must never be a sort: the schema has an index for every column."""
    plan = " ".join(
        row[3]
        for row in db.execute(
            f"EXPLAIN QUERY PLAN SELECT rowid FROM traces ORDER BY {order_by} DESC, rowid DESC"
        )
    )
    assert "TEMP B-TREE" not in plan
    assert f"idx_traces_{order_by}" in plan


def test_a_project_filter_keeps_exactly_that_projects_traces(db):
    rows = random_rows(300)
    insert(db, rows)
    assert distinct_values(db, "service") == sorted({r["service"] for r in rows if r["service"]})
    for project in ("rag-app", "Agent-app"):
        got = sorted_trace_ids(db, TraceFilter(service=project, errors_only=True), "start_ns", True)
        kept = python_order(
            db, rows, "start_ns", True, lambda r, p=project: r["service"] == p and r["error_count"]
        )
        assert list(got) == kept and kept


def test_filled_columns_says_which_columns_some_trace_has_a_value_in(db):
    insert(db, [trace(1, session_id="s1", user_id=""), trace(2, scores=None)])
    assert filled_columns(db, ["session_id", "user_id", "scores", "service"]) == {"session_id", "service"}
    with pytest.raises(ValueError):
        filled_columns(db, ["trace_id; DROP TABLE traces"])


def test_a_store_from_before_schema_9_gets_its_project_index(tmp_path):
    store = tmp_path / "old.db"
    old = connect(store)
    insert(old, [trace(1, service="rag-app"), trace(2, service="agent-app")])
    old.execute("DROP INDEX idx_traces_service")
    old.execute(f"PRAGMA user_version = {MIGRATIONS.index(_add_service_index)}")
    old.conn.close()
    db = connect(store)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert distinct_values(db, "service") == ["agent-app", "rag-app"]
    plan = " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN SELECT rowid FROM traces ORDER BY service"))
    assert "idx_traces_service" in plan
