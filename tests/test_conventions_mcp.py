"""MCP client and server captures (the mcp SDK's own tracing with OpenInference, and OpenLLMetry's
MCP instrumentation) imported end to end, checked against the raw files read here: figures, tool
calls on both sides, the server's spans under the client's call in one trace, and a client call
shown failed when the server's span of it failed (also when client and server come in either order)."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

import pytest

import otlp
from old_stores import before_root_service
from raw_models import raw_model
from raw_otlp import Capture, RawSpan, captured, check_figures, tokens
from spanscope.core import conventions
from spanscope.core.model import Kind, Span, Status
from spanscope.core.search.find import search
from spanscope.core.search.index import BATCH_SPANS, RANK_SQL, build_index
from spanscope.core.search.texts import span_texts
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import iter_spans, list_traces
from spanscope.core.store.search_index import IndexWriter

BASES = ["mcp/travel-mcp-native", "mcp/travel-mcp-traceloop"]
SUFFIXES = [".otlp-requests", ".otlp.jsonl", ".otlp.json"]


def is_model_call(s: RawSpan) -> bool:
    return s.attrs.get("openinference.span.kind") == "LLM" or s.attrs.get("gen_ai.operation.name") == "chat"


def usage(s: RawSpan) -> tuple[str | None, int | None, int | None]:
    a = s.attrs
    if "openinference.span.kind" in a:
        used = (a.get("llm.token_count.prompt"), a.get("llm.token_count.completion"))
        return raw_model(a), tokens(used[0]), tokens(used[1])
    return (
        raw_model(a),
        tokens(a.get("gen_ai.usage.input_tokens")),
        tokens(a.get("gen_ai.usage.output_tokens")),
    )


def is_tool_call(s: RawSpan) -> bool:
    """A tools/call request on either side: the SDK's method attribute, or OpenLLMetry's tool span."""
    return s.attrs.get("mcp.method.name") == "tools/call" or s.attrs.get("traceloop.span.kind") == "tool"


@pytest.fixture(params=[base + suffix for base in BASES for suffix in SUFFIXES])
def capture(request, fixtures_dir: Path, tmp_path: Path) -> Capture:
    return captured(fixtures_dir / request.param, tmp_path)


def failed_on_server(raw: list[RawSpan]) -> dict[str, RawSpan]:
    """The raw client `tools/call` spans without a status of their own whose server span (a child
    with the same method and request id) is ERROR, each with that server span."""
    by_id = {s.span_id: s for s in raw}
    found = {}
    for server in raw:
        client = by_id.get(server.parent_id or "")
        if (
            server.status == 2
            and client is not None
            and client.status == 0
            and server.attrs.get("mcp.method.name") == client.attrs.get("mcp.method.name") == "tools/call"
            and server.attrs.get("jsonrpc.request.id") == client.attrs.get("jsonrpc.request.id")
        ):
            found[client.span_id] = server
    return found


def test_figures(capture) -> None:
    """Errors are the raw file's failed spans plus the client calls whose server span failed."""
    shown_failed = failed_on_server(capture.raw)
    check_figures(capture, is_model_call, usage, lambda s: s.status == 2 or s.span_id in shown_failed)


def test_client_call_fails_with_its_server_span(capture, request) -> None:
    raw, spans, _ = capture
    shown_failed = failed_on_server(raw)
    if "native" in request.node.callspec.params["capture"]:
        assert [spans[c].name for c in shown_failed] == ["MCP send tools/call lookup_order"]
    for client, server in shown_failed.items():
        message = spans[client].status_message
        assert spans[client].status == Status.ERROR
        assert f'"{server.name}"' in message and "tool call failed" in message
        assert f"error.type {server.attrs['error.type']}" in message


def test_tool_calls_on_both_sides_are_tools(capture) -> None:
    raw, spans, _ = capture
    tools = {s.span_id for s in raw if is_tool_call(s)}
    assert len(tools) >= 2
    assert {s.span_id for s in spans.values() if s.kind == Kind.TOOL} == tools
    for s in raw:
        if s.attrs.get("traceloop.span.kind") == "tool":
            given = json.loads(s.attrs["traceloop.entity.input"])
            assert spans[s.span_id].input == given
            assert spans[s.span_id].input["tool_name"] == s.attrs["traceloop.entity.name"]
        if "mcp.response.value" in s.attrs:
            assert spans[s.span_id].output == json.loads(s.attrs["mcp.response.value"])


def test_server_spans_sit_under_the_client_call(capture) -> None:
    """Both processes' spans share the trace: each server span's parent is the client's request span."""
    raw, spans, _ = capture
    by_id = {s.span_id: s for s in raw}
    servers = [s for s in raw if s.parent_id in by_id and by_id[s.parent_id].trace_id == s.trace_id]
    assert all(not span.orphan for span in spans.values())
    native = [s for s in raw if s.attrs.get("gen_ai.operation.name") == "execute_tool"]
    for server in native:
        client = by_id[server.parent_id]
        assert client.name == f"MCP send {server.name}"
        assert spans[server.span_id].parent_id == client.span_id
    assert len(servers) == sum(1 for s in raw if s.parent_id)


def test_failed_tools_are_failed(capture) -> None:
    raw, spans, _ = capture
    failed = [s for s in raw if is_tool_call(s) and s.attrs.get("error.type") == "tool_error"]
    assert failed
    for s in failed:
        assert spans[s.span_id].status == Status.ERROR


def test_session_and_client_method() -> None:
    span = Span("t", "s", None, "MCP send tools/call f", 0, attributes={"mcp.method.name": "tools/call"})
    span.attributes["mcp.session.id"] = "sess-1"
    conventions.apply_fields(span)
    assert (span.kind, span.session_id) == (Kind.TOOL, "sess-1")
    listing = Span("t", "s", None, "MCP send tools/list", 0, attributes={"mcp.method.name": "tools/list"})
    conventions.apply_fields(listing)
    assert listing.kind == Kind.SPAN


def _mcp_call(span_id: str, parent: str | None, name: str, kind: int, request: str, **kw) -> dict:
    attrs = {"mcp.method.name": "tools/call", "jsonrpc.request.id": request, **kw.pop("attrs", {})}
    span = otlp.span(span_id, parent, name=name, attrs=attrs, **kw)
    span["kind"] = kind
    return span


CLIENT, SERVER = 3, 2
TOOL_ERROR = "order 42 not found"


def _client_and_server_files(tmp_path: Path, client_status: dict | None = None) -> tuple[Path, Path]:
    """Two processes' files: a client's two tool calls (request 7 failing on the server, 8 not) and
    the server's spans under them, in the client's trace."""
    calls = [
        _mcp_call("00000000000000c7", "00000000000000a1", "MCP send tools/call lookup", CLIENT, "7"),
        _mcp_call("00000000000000c8", "00000000000000a1", "MCP send tools/call weather", CLIENT, "8"),
    ]
    if client_status is not None:
        calls[0]["status"] = client_status
    client = otlp.request(otlp.span("00000000000000a1", name="agent"), *calls, service="client")
    server = otlp.request(
        _mcp_call("00000000000000d7", "00000000000000c7", "tools/call lookup", SERVER, "7", error=TOOL_ERROR),
        _mcp_call("00000000000000d8", "00000000000000c8", "tools/call weather", SERVER, "8"),
        service="server",
    )
    return (
        otlp.write_jsonl(tmp_path / "client.otlp.jsonl", client),
        otlp.write_jsonl(tmp_path / "server.otlp.jsonl", server),
    )


@pytest.mark.parametrize("server_first", [False, True])
def test_client_call_fails_whichever_side_comes_first(tmp_path: Path, server_first: bool) -> None:
    client_file, server_file = _client_and_server_files(tmp_path)
    db_path = tmp_path / "store.db"
    for path in (server_file, client_file) if server_first else (client_file, server_file):
        assert import_file(db_path, path).outcome is Outcome.IMPORTED
    db = connect(db_path)
    spans = {s.span_id: s for s in iter_spans(db)}
    assert spans["00000000000000c7"].status == Status.ERROR
    assert spans["00000000000000c7"].status_message == (
        f'the MCP server\'s tool call failed (server span "tools/call lookup"): {TOOL_ERROR}'
    )
    assert spans["00000000000000c8"].status == Status.UNSET
    assert [t.error_count for t in list_traces(db)] == [2]


def _service_names(path: Path) -> list[str | None]:
    """The service.name of each span of an OTLP JSON lines file, in order: read from the raw file."""
    names = []
    for line in path.read_text().splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            attributes = {a["key"]: a["value"] for a in resource["resource"]["attributes"]}
            name = attributes.get("service.name", {}).get("stringValue")
            names += [name for scope in resource["scopeSpans"] for _ in scope["spans"]]
    return names


@pytest.mark.parametrize("server_first", [False, True])
def test_the_trace_is_its_root_service(tmp_path: Path, server_first: bool) -> None:
    """A client's trace with the server's spans under it is the client's project, though the
    server's service sorts after it, and whichever file comes first."""
    client_file, server_file = _client_and_server_files(tmp_path)
    client, server = _service_names(client_file)[0], _service_names(server_file)[0]
    assert server > client
    db_path = tmp_path / "store.db"
    for path in (server_file, client_file) if server_first else (client_file, server_file):
        import_file(db_path, path)
    assert [t.service for t in list_traces(connect(db_path))] == [client]


def test_a_root_without_service_takes_the_most_common(tmp_path: Path) -> None:
    """A root naming no service: the trace is the service most of its spans name."""
    root = otlp.request(otlp.span("00000000000000a1", name="agent"))
    root["resourceSpans"][0]["resource"]["attributes"] = []
    path = otlp.write_jsonl(
        tmp_path / "mixed.otlp.jsonl",
        root,
        otlp.request(otlp.span("00000000000000b1", "00000000000000a1"), service="zeta"),
        otlp.request(
            otlp.span("00000000000000b2", "00000000000000a1"),
            otlp.span("00000000000000b3", "00000000000000a1"),
            service="alpha",
        ),
    )
    names = _service_names(path)
    assert names[0] is None
    common = max(set(names) - {None}, key=names.count)
    assert common != max(set(names) - {None})
    import_file(tmp_path / "store.db", path)
    assert [t.service for t in list_traces(connect(tmp_path / "store.db"))] == [common]


def test_an_older_store_takes_its_root_service(tmp_path: Path) -> None:
    """Traces rolled up by an older Spanscope (the highest-sorting service) are the root's once opened."""
    db_path = tmp_path / "store.db"
    for path in _client_and_server_files(tmp_path):
        import_file(db_path, path)
    before_root_service(db_path)
    assert sqlite3.connect(db_path).execute("SELECT service FROM traces").fetchall() == [("server",)]
    assert [t.service for t in list_traces(connect(db_path))] == ["client"]


@pytest.mark.parametrize("status", [{"code": 1}, {"code": 2, "message": "client gave up"}])
def test_a_status_of_its_own_is_kept(tmp_path: Path, status: dict) -> None:
    """An OK call stays OK; a failed one keeps its own message."""
    client_file, server_file = _client_and_server_files(tmp_path, status)
    db_path = tmp_path / "store.db"
    for path in (client_file, server_file):
        import_file(db_path, path)
    client = next(s for s in iter_spans(connect(db_path)) if s.span_id == "00000000000000c7")
    assert (client.status, client.status_message) == (
        (Status.OK, None) if status["code"] == 1 else (Status.ERROR, "client gave up")
    )


def test_only_the_call_of_the_same_request_fails(tmp_path: Path) -> None:
    """A failed server span of another request id, or a failed tool span that is no MCP server
    span, leaves the call above it as it was."""
    db_path = tmp_path / "store.db"
    body = otlp.request(
        _mcp_call("00000000000000c1", None, "MCP send tools/call a", CLIENT, "1"),
        _mcp_call("00000000000000d1", "00000000000000c1", "tools/call a", SERVER, "2", error="no"),
        _mcp_call("00000000000000c2", None, "MCP send tools/call b", CLIENT, "3"),
        otlp.span(
            "00000000000000d2", "00000000000000c2", attrs={"openinference.span.kind": "TOOL"}, error="no"
        ),
    )
    import_file(db_path, otlp.write_jsonl(tmp_path / "mixed.otlp.jsonl", body))
    spans = {s.span_id: s for s in iter_spans(connect(db_path))}
    assert spans["00000000000000c1"].status == spans["00000000000000c2"].status == Status.UNSET


def test_server_spans_received_live_fail_the_imported_call(served, tmp_path: Path) -> None:
    """The server's spans may come live, after the client's file was imported."""
    receiver, _, store = served
    client_file, server_file = _client_and_server_files(tmp_path)
    assert import_file(store, client_file).outcome is Outcome.IMPORTED
    answer = urllib.request.urlopen(
        urllib.request.Request(
            f"http://127.0.0.1:{receiver.port}/v1/traces",
            server_file.read_bytes().strip(),
            {"Content-Type": "application/json"},
        ),
        timeout=10,
    )
    assert answer.status == 200
    db = connect(store, readonly=True)
    assert next(s for s in iter_spans(db) if s.span_id == "00000000000000c7").status == Status.ERROR
    assert [t.error_count for t in list_traces(db)] == [2]


def test_search_finds_a_client_call_failed_after_it_was_indexed(tmp_path: Path) -> None:
    """The client's trace is imported and indexed first; when the server's spans arrive, the client
    call's new status message is indexed too, and the index stays consistent (a contentless index
    forgets a row only given the exact text it was indexed with)."""
    client_file, server_file = _client_and_server_files(tmp_path)
    db_path = tmp_path / "store.db"
    import_file(db_path, client_file)
    build_index(db_path)
    failure = '"MCP server\'s tool call failed"'
    assert search(connect(db_path), failure).hits == []
    import_file(db_path, server_file)
    build_index(db_path)
    db = connect(db_path)
    assert {hit.span_id for hit in search(db, failure).hits} == {"00000000000000c7"}
    assert db.execute("SELECT count(*) FROM search_restatus").fetchone()[0] == 0
    db.execute("INSERT INTO search_fts (search_fts) VALUES ('integrity-check')")
    assert {hit.span_id for hit in search(db, "lookup").hits} >= {"00000000000000c7", "00000000000000d7"}


def test_a_batch_read_before_its_status_changed_is_read_again(tmp_path: Path) -> None:
    """The indexer reads a batch, the server's spans are imported (finalizing changes a status
    message of that batch), then the indexer commits: the batch is refused and read again."""
    client_file, server_file = _client_and_server_files(tmp_path)
    db_path = tmp_path / "store.db"
    import_file(db_path, client_file)
    index = IndexWriter(db_path, lambda: False)
    try:
        index.ensure(RANK_SQL)
        last, _, spans = index.pending(BATCH_SPANS)
        rows = [(s.id, *span_texts(s.name, s.status_message, s.doc, s.logs, s.parent)) for s in spans]
        import_file(db_path, server_file)
        assert not index.add(last, spans, rows, [], [])
    finally:
        index.close()
    build_index(db_path)
    assert {hit.span_id for hit in search(connect(db_path), "tool call failed").hits} == {"00000000000000c7"}
