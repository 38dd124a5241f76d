"""The Zipkin v2 reader, on Zipkin's own test data (figures read here from the raw JSON with the json
module) and on small hand-made files: shared client/server ids, duplicates, parts, bad records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spanscope.cli import main
from spanscope.core.formats import FormatError, Source, zipkin
from spanscope.core.formats.registry import detect
from spanscope.core.model import Span, Status

FIXTURES = ["zipkin/yelp.json", "zipkin/messaging2.json", "zipkin/skew.json"]


def read(path: Path) -> tuple[list[Span], list[str]]:
    source = Source(path)
    assert detect(source) is zipkin.SPEC
    spans = list(zipkin.read(source, lambda _: None))
    return spans, [f"{p.where}: {p.reason}" for p in source.problems]


def service(raw: dict[str, Any]) -> str | None:
    return raw.get("localEndpoint", {}).get("serviceName")


def expected_parent(raw: dict[str, Any], spans: list[dict[str, Any]]) -> tuple[str, bool] | None:
    """(original id of the parent, whether it is the server half), following Zipkin's own rule; a
    parent id absent from the file is kept (an orphan in the source)."""
    if raw.get("shared") and any(s["id"] == raw["id"] and not s.get("shared") for s in spans):
        return raw["id"], False
    parent = raw.get("parentId")
    if parent is None:
        return None
    halves = [s for s in spans if s["id"] == parent and s.get("shared") and service(s) == service(raw)]
    clients = [s for s in spans if s["id"] == parent and not s.get("shared")]
    return parent, bool(halves and clients)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_spans_match_the_raw_json(fixtures_dir: Path, name: str) -> None:
    raw = json.loads((fixtures_dir / name).read_text())
    spans, problems = read(fixtures_dir / name)
    assert problems == []
    assert len(spans) == len(raw)
    assert len({s.span_id for s in spans}) == len(spans)
    by_id = {s.span_id: s for s in spans}
    for r in raw:
        (span,) = [
            s
            for s in spans
            if (s.start_ns, s.service, s.name) == (r["timestamp"] * 1000, service(r), r["name"])
        ]
        original = span.attributes.get("zipkin.id", span.span_id)
        assert (original, span.trace_id, span.name) == (r["id"], r["traceId"], r["name"])
        assert span.end_ns == (r["timestamp"] + r["duration"]) * 1000
        assert span.source_kind == r.get("kind")
        assert span.status is (Status.ERROR if "error" in r.get("tags", {}) else Status.UNSET)
        assert {k: v for k, v in span.attributes.items() if k in r.get("tags", {})} == r.get("tags", {})
        want = expected_parent(r, raw)
        if want is None:
            assert span.parent_id is None
            continue
        if want[0] not in {s["id"] for s in raw}:
            assert span.parent_id == want[0] and want[0] not in by_id
            continue
        parent = by_id[span.parent_id]
        assert parent.attributes.get("zipkin.id", parent.span_id) == want[0]
        assert ("zipkin.id" in parent.attributes) is want[1]


@pytest.mark.parametrize("name", FIXTURES)
def test_import_end_to_end(fixtures_dir: Path, capsys, name: str) -> None:
    raw = json.loads((fixtures_dir / name).read_text())
    assert main(["export", str(fixtures_dir / name)]) == 0
    spans = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(spans) == len(raw)
    assert len({s["trace_id"] for s in spans}) == len({r["traceId"] for r in raw})
    ids = {r["id"] for r in raw}
    assert sum(s["orphan"] for s in spans) == sum(r.get("parentId") not in ids | {None} for r in raw)
    assert sorted(s["service"] or "" for s in spans) == sorted(service(r) or "" for r in raw)
    assert not any(s["model"] or s["input_tokens"] for s in spans)  # no LLM calls in Zipkin's data
    assert sum(s["status"] == "error" for s in spans) == sum("error" in r.get("tags", {}) for r in raw)


def test_shared_server_half_that_starts_before_its_client_is_flagged(fixtures_dir: Path, capsys) -> None:
    path = fixtures_dir / "zipkin/skew.json"
    assert main(["tree", str(path), "1e223ff1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "trace 1e223ff1f80f1c69: 4 spans",
        "get  [SPAN]  99 ms  #bf396325699c84bf",
        "  post  [SPAN]  95 ms  #74280ae0c10d8062",
        "    post  [SPAN]  94 ms  (clock skew: starts before its parent)  #74280ae0c10d8062-serviceb",
        "      async  [SPAN]  65 ms  #43210ae0c10d1234",
    ]


def test_no_other_fixture_is_taken_for_zipkin(fixtures_dir: Path) -> None:
    for path in sorted(fixtures_dir.rglob("*")):
        if path.is_file() and path.parent.name != "zipkin":
            assert not zipkin.sniff(Source(path).head()), path


# --- hand-made files -----------------------------------------------------------------------------

TRACE = "463ac35c9f6413ad48485a3953bb6124"


def zspan(
    span_id: str, parent: str | None = None, kind: str | None = "CLIENT", **fields: Any
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": TRACE,
        "id": span_id,
        "name": f"op-{span_id[-1]}",
        "timestamp": 1_700_000_000_000_000 + int(span_id[-1], 36),
        "duration": 500,
        "localEndpoint": {"serviceName": "front"},
    }
    if parent:
        span["parentId"] = parent
    if kind:
        span["kind"] = kind
    span.update(fields)
    return span


def write(tmp_path: Path, spans: Any, name: str = "zipkin.json") -> Path:
    path = tmp_path / name
    path.write_text(spans if isinstance(spans, str) else json.dumps(spans, indent=1))
    return path


def tree(spans: list[Span]) -> dict[str, str | None]:
    return {s.span_id: s.parent_id for s in spans}


def test_duplicated_ids(tmp_path: Path) -> None:
    """A client and two servers sharing one id, an exact duplicate, a span sent in two parts, and two
    unrelated spans reusing one id: every span stays visible with a distinct id."""
    root = zspan("0000000000000001", kind="SERVER")
    client = zspan("0000000000000002", "0000000000000001")
    server_a = zspan(
        "0000000000000002", "0000000000000001", "SERVER", shared=True, localEndpoint={"serviceName": "a"}
    )
    server_b = zspan("0000000000000002", "0000000000000001", "SERVER", localEndpoint={"serviceName": "b"})
    in_a = zspan("0000000000000003", "0000000000000002", localEndpoint={"serviceName": "a"})
    in_front = zspan("0000000000000004", "0000000000000002")
    part_1 = {k: v for k, v in zspan("0000000000000005", "0000000000000001").items() if k != "duration"}
    part_2 = {
        "traceId": TRACE,
        "id": "0000000000000005",
        "kind": "CLIENT",
        "localEndpoint": {"serviceName": "front"},
        "duration": 700,
        "tags": {"error": "timeout"},
        "annotations": [{"timestamp": 1, "value": "ws"}],
    }
    reused = zspan("0000000000000001", kind=None, localEndpoint={"serviceName": "batch"})
    spans, problems = read(
        write(tmp_path, [root, client, server_a, root, server_b, in_a, in_front, part_1, part_2, reused])
    )
    assert problems == []
    assert tree(spans) == {
        "0000000000000001": None,
        "0000000000000002": "0000000000000001",
        "0000000000000002-a": "0000000000000002",
        "0000000000000002-b": "0000000000000002",
        "0000000000000003": "0000000000000002-a",
        "0000000000000004": "0000000000000002",
        "0000000000000005": "0000000000000001",
        "0000000000000001-batch": None,
    }
    by_id = {s.span_id: s for s in spans}
    assert by_id["0000000000000002-a"].attributes["zipkin.id"] == "0000000000000002"
    assert (by_id["0000000000000002-b"].service, by_id["0000000000000002-b"].source_kind) == ("b", "SERVER")
    merged = by_id["0000000000000005"]
    assert merged.end_ns - merged.start_ns == 700_000
    assert (merged.status, merged.status_message) == (Status.ERROR, "timeout")
    assert [(e.name, e.time_ns) for e in merged.events] == [("ws", 1000)]


def test_fields_endpoints_and_short_ids(tmp_path: Path) -> None:
    span = zspan(
        "2",
        "1",
        traceId="3ac35c9f6413ad48485a3953bb6124",
        remoteEndpoint={"serviceName": "db", "ipv4": "10.0.0.2", "port": 5432},
        localEndpoint={"serviceName": "api", "ipv6": "::1"},
        tags={"http.path": "/x"},
        annotations=[{"timestamp": 1_700_000_000_000_001, "value": "cs"}],
    )
    ((got,), problems) = read(write(tmp_path, [span]))
    assert problems == []
    assert (got.trace_id, got.span_id, got.parent_id) == (
        "00" + TRACE[2:],
        "0000000000000002",
        "0000000000000001",
    )
    assert got.attributes == {
        "http.path": "/x",
        "peer.service": "db",
        "net.peer.ip": "10.0.0.2",
        "net.peer.port": 5432,
    }
    assert got.resource == {"service.name": "api", "net.host.ip": "::1"} and got.service == "api"
    assert [(e.name, e.time_ns) for e in got.events] == [("cs", 1_700_000_000_000_001_000)]


def test_bad_records_are_skipped_with_their_number_and_reason(tmp_path: Path) -> None:
    spans_in = [
        zspan("0000000000000001"),
        zspan("xyz"),
        {k: v for k, v in zspan("0000000000000003").items() if k != "timestamp"},
        zspan("0000000000000004", duration="long"),
        zspan("0000000000000005"),
    ]
    spans, problems = read(write(tmp_path, spans_in))
    assert [s.span_id for s in spans] == ["0000000000000001", "0000000000000005"]
    assert problems == [
        "span 4: Expected `int | null`, got `str` - at `$.duration`",
        "span 2: bad id 'xyz': not up to 32 hex digits",
        "span 3: no timestamp (and no annotation to take one from)",
    ]


def test_cut_short_file_keeps_the_spans_before_the_cut(tmp_path: Path) -> None:
    text = json.dumps([zspan(f"000000000000000{n}") for n in range(1, 6)], indent=1)
    spans, problems = read(write(tmp_path, text[: len(text) * 3 // 4]))
    assert [s.span_id[-1] for s in spans] == ["1", "2", "3"]
    (problem,) = problems
    assert (
        problem.startswith("span 4 (line ")
        and "malformed JSON" in problem
        and "rest of the file is lost" in problem
    )


def test_empty_and_foreign_arrays_are_not_zipkin(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="not a trace file in any known format"):
        detect(Source(write(tmp_path, "[]")))
    langfuse = [{"id": "a1", "traceId": TRACE, "type": "GENERATION", "startTime": "2025-01-01T00:00:00Z"}]
    assert not zipkin.sniff(json.dumps(langfuse).encode())
    assert zipkin.sniff(json.dumps([zspan("0000000000000001")]).encode())


def test_import_reports_skipped_records_and_keeps_the_rest(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, [zspan("0000000000000001"), zspan("nope")])
    assert main(["import", str(path), "--db", str(tmp_path / "store.db")]) == 1
    err = capsys.readouterr().err
    assert "1 spans (1 new) in 1 traces [zipkin-json]" in err
    assert "zipkin.json:span 2: bad id 'nope': not up to 32 hex digits" in err


def test_an_array_of_traces_as_the_api_returns(fixtures_dir: Path, tmp_path: Path) -> None:
    traces = [json.loads((fixtures_dir / name).read_text()) for name in FIXTURES]
    spans, problems = read(write(tmp_path, traces))
    assert problems == []
    assert len(spans) == sum(map(len, traces))
    assert len({s.trace_id for s in spans}) == len({r["traceId"] for trace in traces for r in trace})
