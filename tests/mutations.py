"""Type mutations of real trace files, for the fuzz suite: one value of a file replaced by another
of the wrong type or out of range, or the file cut short.

Text files (JSON, JSON Lines, pretty JSON, the console exporter's output) are mutated token by token:
each scalar value (a string that is not a key, a number, true/false/null) is a place one mutation
can go, so every encoding is mutated the same way without being parsed and written again. Protobuf
bodies are decoded with the protobuf package, a span field or attribute set, and encoded again.
SQLite stores get one cell of their spans table replaced. Inspect's `.eval` zips get one token of
one JSON member replaced.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanscope.core.formats.zip_members import ZipMembers

#: One real file per reader and encoding (paths under the fixtures folder).
TEXT_FIXTURES = (
    "openllmetry/chain-and-session.otlp.json",
    "openllmetry/chain-and-session.otlp.jsonl",
    "openinference-openai/chain-and-session.otlp-b64ids.json",
    "openinference-langchain/rag-tools-session.console.txt",
    "otel-genai-logs/agent-tools-event-only.otlp-logs.jsonl",
    "pydantic-ai/agent-session-v1-logs.otlp-logs.json",
    "vercel-ai-sdk/travel-app.otlp-http.json",
    "zipkin/skew.json",
    "zipkin/yelp.json",
    "jaeger/genaiTestTrace.json",
    "langsmith-runs/capture-batch/runs.jsonl",
    "langsmith-runs/capture-batch/feedback.jsonl",
    "langfuse-export/langgraph-python-2025-08-22.trace.json",
    "openai-agents/travel-desk-native.traces-ingest.json",
    "openai-agents-js/travel-desk-responses.ingest.json",
    "inspect-eval/2026-11-27T04-30-04-00-00_fixture-qa_6TRE8QQmdqaAmyCnqo4jPc.json",
)
PROTO_FIXTURES = (
    "openllmetry/chain-and-session.otlp.binpb",
    "otel-genai-logs/agent-tools-event-only.otlp-logs.binpb",
)
SQLITE_FIXTURES = ("phoenix-sqlite/phoenix.db", "mlflow-sqlite/mlflow.db")
ZIP_FIXTURES = ("inspect-eval/2026-11-27T04-29-52-00-00_fixture-qa_SnEVxhayFbrkpvjoomYVL3.eval",)
ALL_FIXTURES = TEXT_FIXTURES + PROTO_FIXTURES + SQLITE_FIXTURES + ZIP_FIXTURES

#: Values a mutated place may get, as JSON text: huge and negative numbers, numbers as text,
#: the wrong type, null, deep nesting, text no one expects.
REPLACEMENTS = (
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "9223372036854775808",
    "-9223372036854775809",
    '"18446744073709551615"',
    '"99999999999999999999"',
    "-1",
    "-1000000000000000000",
    '"-1"',
    "0",
    "1.5e300",
    "null",
    "true",
    '""',
    '"not a number"',
    "{}",
    "[]",
    '{"a": [1, "b", null]}',
    '["x", 2]',
    "[" * 300 + "1" + "]" * 300,
    '{"a": ' * 300 + "1" + "}" * 300,
    '"\\ud800"',
    '"\\u0000\\u001b[2J"',
)
# A JSON string, or a number or literal outside strings; a string followed by a colon is a key.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"(?!\s*:)|"(?:[^"\\]|\\.)*"\s*:|-?\d[\d.eE+-]*|true|false|null')


@dataclass(frozen=True)
class TextMutation:
    """Replace scalar value number `place` (of those in the file) with `value`, or the same value
    with its type switched (a number quoted, a quoted number bare) when `value` is None."""

    place: int
    value: str | None


def value_places(data: bytes) -> list[re.Match[bytes]]:
    """The scalar values of a JSON text, keys left out."""
    return [m for m in _TOKEN.finditer(data) if not m.group().rstrip().endswith(b":")]


def switched(token: bytes) -> bytes:
    """A number as a string, a string of a number as the number, other strings as a number."""
    if token.startswith(b'"'):
        inner = token[1:-1]
        return inner if re.fullmatch(rb"-?(0|[1-9]\d*)(\.\d+)?", inner) else b"12345"
    return b'"' + token + b'"'


def mutate_text(data: bytes, mutation: TextMutation) -> bytes:
    places = value_places(data)
    match = places[mutation.place % len(places)]
    new = switched(match.group()) if mutation.value is None else mutation.value.encode()
    return data[: match.start()] + new + data[match.end() :]


def write_text_mutation(source: Path, target: Path, mutation: TextMutation) -> None:
    target.write_bytes(mutate_text(source.read_bytes(), mutation))


def write_truncated(source: Path, target: Path, fraction: float) -> None:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])


#: Values given to a protobuf span's fields: (field, value).
PROTO_FIELDS = (
    ("end_time_unix_nano", (1 << 64) - 1),
    ("start_time_unix_nano", (1 << 64) - 1),
    ("start_time_unix_nano", 0),
    ("end_time_unix_nano", 0),
    ("time_unix_nano", (1 << 64) - 1),
    ("observed_time_unix_nano", (1 << 64) - 1),
    ("int_value", (1 << 63) - 1),
    ("int_value", -(1 << 63)),
    ("double_value", float("inf")),
    ("double_value", float("nan")),
    ("string_value", "\x00\x1b]0;title\x07"),
    ("bytes_value", b"\xff\xfe"),
    ("trace_id", b"\x01"),
    ("span_id", b""),
    ("parent_span_id", b"\xff" * 40),
    ("severity_number", 1 << 20),
)


def write_proto_mutation(source: Path, target: Path, place: int, field: str, value: object) -> None:
    """Set `field` to `value` on the `place`-th record (span, log record or attribute value) that has it."""
    data = source.read_bytes()
    logs = "logs" in source.name
    message = ExportLogsServiceRequest() if logs else ExportTraceServiceRequest()
    message.ParseFromString(data)
    holders = [m for m in _messages(message) if field in m.DESCRIPTOR.fields_by_name]
    if holders:
        holder = holders[place % len(holders)]
        setattr(holder, field, value)
    target.write_bytes(message.SerializeToString())


def _messages(message: object):
    yield message
    for descriptor, value in message.ListFields():  # type: ignore[attr-defined]
        if descriptor.type != descriptor.TYPE_MESSAGE:
            continue
        for item in [value] if hasattr(value, "ListFields") else value:
            yield from _messages(item)


def write_byte_flip(source: Path, target: Path, place: int, byte: int) -> None:
    data = bytearray(source.read_bytes())
    data[place % len(data)] = byte
    target.write_bytes(bytes(data))


#: The tables whose cells a SQLite store's mutation may replace.
SQLITE_TABLES = {"phoenix.db": "spans", "mlflow.db": "spans"}
SQLITE_VALUES = (
    1 << 62,
    -(1 << 62),
    "99999999999999999999",
    "not json {",
    '{"a": 18446744073709551616}',
    None,
    b"\xff\x00binary",
    1.5e300,
    "",
    "2262-04-12 00:00:00.000000",
    "0001-01-01 00:00:00",
)


def write_sqlite_mutation(source: Path, target: Path, row: int, column: int, value: object) -> bool:
    """Copy the store and set one cell of its spans table; False when the store refuses the value
    (a column computed from JSON, a strict type)."""
    shutil.copyfile(source, target)
    table = SQLITE_TABLES[source.name]
    with sqlite3.connect(target) as conn:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        rowids = [r[0] for r in conn.execute(f"SELECT rowid FROM {table} ORDER BY rowid")]
        name = columns[column % len(columns)]
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA ignore_check_constraints = ON")
        try:
            conn.execute(
                f'UPDATE {table} SET "{name}" = ? WHERE rowid = ?', (value, rowids[row % len(rowids)])
            )
        except (sqlite3.OperationalError, sqlite3.IntegrityError):
            return False
    conn.close()
    return True


def write_zip_mutation(source: Path, target: Path, member: int, mutation: TextMutation) -> None:
    """The zip again (deflated) with one token of one of its JSON members mutated."""
    with ZipMembers(source, lambda where, reason: None) as archive:
        contents = [(m.name, archive.read(m)) for m in archive.members]
    json_members = [i for i, (name, _) in enumerate(contents) if name.endswith(".json")]
    chosen = json_members[member % len(json_members)]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for i, (name, content) in enumerate(contents):
            out.writestr(name, mutate_text(content or b"", mutation) if i == chosen else content or b"")
