"""The receiver fed by the real OpenTelemetry Python SDK and its OTLP/HTTP protobuf exporter."""

from __future__ import annotations

import http.client
import subprocess
import sys
import textwrap

import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from spanscope.core.store import connect


def run_agent(provider: TracerProvider) -> None:
    """A small agent: a chain, two model calls, a failing tool."""
    tracer = provider.get_tracer("tests.agent")
    with tracer.start_as_current_span("invoke_agent planner") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        for turn in range(2):
            with tracer.start_as_current_span("chat gpt-4o") as call:
                call.set_attribute("gen_ai.operation.name", "chat")
                call.set_attribute("gen_ai.request.model", "gpt-4o")
                call.set_attribute("gen_ai.usage.input_tokens", 100 + turn)
                call.set_attribute("gen_ai.usage.output_tokens", 10)
        with tracer.start_as_current_span("execute_tool search") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.record_exception(ValueError("no results"))
            tool.set_status(StatusCode.ERROR, "no results")


def hex_ids(finished) -> dict[str, str | None]:
    return {f"{s.context.span_id:016x}": f"{s.parent.span_id:016x}" if s.parent else None for s in finished}


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_sdk_spans_arrive_once_each_with_their_parents(served, compression):
    receiver, _, store = served
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "agent-app"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.address, compression=compression))
    )
    run_agent(provider)
    provider.shutdown()
    db = connect(store, readonly=True)
    rows = db.execute(
        "SELECT span_id, parent_id, kind, status, model, input_tokens, service FROM spans"
    ).fetchall()
    assert {r[0]: r[1] for r in rows} == hex_ids(memory.get_finished_spans())
    assert len(rows) == 4
    by_kind = sorted((r[2], r[3], r[4], r[5]) for r in rows)
    assert by_kind == [
        ("AGENT", "unset", None, None),
        ("LLM", "unset", "gpt-4o", 100),
        ("LLM", "unset", "gpt-4o", 101),
        ("TOOL", "error", None, None),
    ]
    assert {r[6] for r in rows} == {"agent-app"}
    assert db.execute("SELECT input_tokens, error_count FROM traces").fetchall() == [(201, 1)]


def test_a_malformed_protobuf_body_gets_400_with_a_status_message(served):
    receiver = served[0]
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("POST", "/v1/traces", b"\x0a\xff\xff\xff", {"Content-Type": "application/x-protobuf"})
    answer = conn.getresponse()
    status = Status.FromString(answer.read())
    assert answer.status == 400 and answer.getheader("Content-Type") == "application/x-protobuf"
    assert status.code == 3 and "not a protobuf ExportTraceServiceRequest" in status.message


SENDER = textwrap.dedent(
    """
    import sys
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint, traces, children = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=endpoint)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=100_000))
    tracer = provider.get_tracer("burst")
    for t in range(traces):
        with tracer.start_as_current_span(f"request {t}"):
            for c in range(children):
                with tracer.start_as_current_span("chat") as span:
                    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                    span.set_attribute("gen_ai.usage.input_tokens", c)
    provider.shutdown()
    """
)


def test_a_burst_from_another_process_loses_nothing(served):
    receiver, _, store = served
    traces, children = 200, 24  # 5,000 spans
    sent = subprocess.run(
        [sys.executable, "-c", SENDER, receiver.address, str(traces), str(children)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    db = connect(store, readonly=True)
    expected = traces * (children + 1)
    assert db.execute("SELECT count(*), count(DISTINCT span_id) FROM spans").fetchone() == (
        expected,
        expected,
    )
    assert db.execute("SELECT count(*) FROM spans WHERE orphan").fetchone() == (0,)
    assert db.execute("SELECT count(*), sum(span_count) FROM traces").fetchone() == (traces, expected)
    assert receiver.stats().spans_accepted == expected
