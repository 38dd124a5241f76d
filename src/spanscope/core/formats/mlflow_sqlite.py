"""MLflow's tracking store with traces (mlflow.db), read in place and never modified.

A trace is a `trace_info` row (id `tr-<32 hex>`, used as the trace id without its prefix), with
`trace_request_metadata` (user, session, where its spans are) and `trace_tags`. Its spans are rows of
the `spans` table (MLflow >= 3.3), each a JSON span dict in `content`, or, where the trace's
`mlflow.trace.spansLocation` is not the tracking store, the `traces.json` artifact under the trace's
artifact location (where it was recorded, else under the store's own folder from `mlruns/` or
`mlartifacts/` on, for a store moved with its artifacts); a trace whose artifact is not on this
machine is reported by name.

Span dicts come in two versions, both read: OTLP-like (`span_id`, `parent_span_id`,
`start_time_unix_nano`, status `{code}`; ids base64 of the raw bytes, or hex) and the older one
(`context.span_id`, `parent_id`, `start_time`, `status_code`; `0x` hex ids). Attribute values are
JSON-encoded text and are decoded first, so spans MLflow took in over OTLP are read by `semconv` like
any other; MLflow's own keys then fill the fields: `mlflow.spanType` the kind (kept as the source
kind), `mlflow.spanInputs`/`Outputs` input and output (chat messages when they are OpenAI-style
bodies), `mlflow.chat.tokenUsage` the tokens, `mlflow.llm.model` the model, `mlflow.llm.cost` the
cost (MLflow's tracing SDK records it on the span, so it counts as reported by the source).
MLflow's `input_tokens` follow the provider: OpenAI's include cached tokens, Anthropic's do not; the
cache counts are added back for Anthropic message formats, and whenever they exceed input_tokens.

The experiment name becomes the service (and resource `mlflow.experiment.name`); the trace's tags
and request metadata are kept on its root span. Assessments become scores (source = source type,
key = assessment id): feedback as a number (true/false as 1/0 with the label) or a label,
expectations likewise with "expectation" in their source; an assessment on a span goes on that span,
one on the trace is a trace-level score on the root span; a failed judge's error is in the comment.
Assessments MLflow marks invalid (replaced by an override) are left out, as MLflow shows only the
current one.

Tables and columns are checked first; a store lacking what is read (one from before MLflow traced,
or of an unknown schema) is refused naming what is missing. A span whose content cannot be read is
kept from the spans table's own columns and reported; a trace whose rows cannot be read is reported
and skipped.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlparse

import orjson

from spanscope.core import conventions
from spanscope.core.formats.base import (
    RECORD_ERRORS,
    FormatError,
    FormatSpec,
    Progress,
    Source,
    nothing_read,
    record_error,
)
from spanscope.core.formats.ids import normalize_id
from spanscope.core.formats.limits import read_at_most
from spanscope.core.formats.sqlite_store import (
    damaged,
    is_sqlite,
    opened,
    source_schema,
)
from spanscope.core.model import Event, Kind, Score, Span, Status

_REQUIRED = {
    "experiments": ("experiment_id", "name"),
    "trace_info": ("request_id", "experiment_id", "timestamp_ms", "status"),
    "trace_request_metadata": ("request_id", "key", "value"),
    "trace_tags": ("request_id", "key", "value"),
}
_OPTIONAL = {
    "spans": (
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "type",
        "status",
        "start_time_unix_nano",
        "end_time_unix_nano",
        "content",
    ),
    "assessments": (
        "assessment_id",
        "created_timestamp",
        "trace_id",
        "name",
        "assessment_type",
        "value",
        "source_type",
        "span_id",
        "rationale",
    ),
}
_TRACKING_STORE = "TRACKING_STORE"
_KINDS = {
    "LLM": Kind.LLM,
    "CHAT_MODEL": Kind.LLM,
    "CHAIN": Kind.CHAIN,
    "AGENT": Kind.AGENT,
    "TOOL": Kind.TOOL,
    "RETRIEVER": Kind.RETRIEVER,
    "EMBEDDING": Kind.EMBEDDING,
    "RERANKER": Kind.RERANKER,
    "GUARDRAIL": Kind.GUARDRAIL,
    "EVALUATOR": Kind.EVALUATOR,
    "WORKFLOW": Kind.CHAIN,
    "TASK": Kind.CHAIN,
}
_STATUS = {
    "OK": Status.OK,
    "STATUS_CODE_OK": Status.OK,
    "ERROR": Status.ERROR,
    "STATUS_CODE_ERROR": Status.ERROR,
    1: Status.OK,
    2: Status.ERROR,
}
#: Folders MLflow keeps artifacts in; an artifact location is also looked for under the store's folder
#: from the last of these on, so a store moved with its artifacts is still read.
_ARTIFACT_ROOTS = ("mlruns", "mlartifacts")


def sniff(head: bytes) -> bool:
    return is_sqlite(head)


def sniff_source(source: Source) -> bool:
    """MLflow's tables: trace_info, or the experiments and runs of a store from before tracing."""
    tables = source_schema(source).keys()
    return "trace_info" in tables or {"experiments", "runs"} <= tables


def read(source: Source, progress: Progress) -> Iterator[Span]:
    with opened(source, _REQUIRED, _OPTIONAL, "an MLflow store") as (conn, tables, optional):
        yield from _read(conn, tables, optional, source, progress)


def _read(
    conn: sqlite3.Connection,
    tables: dict[str, set[str]],
    optional: set[str],
    source: Source,
    progress: Progress,
) -> Iterator[Span]:
    path = source.path
    plan = _Plan("spans" in optional, _assessments_sql(tables) if "assessments" in optional else None)
    session_column = "session_id" if "session_id" in tables["trace_info"] else "NULL"
    try:
        experiments = {
            str(e): (name, location)
            for e, name, location in conn.execute(
                "SELECT experiment_id, name, "
                f"{'artifact_location' if 'artifact_location' in tables['experiments'] else 'NULL'} "
                "FROM experiments"
            )
        }
        traces = conn.execute(
            f"SELECT request_id, experiment_id, {session_column} FROM trace_info "
            "ORDER BY timestamp_ms, request_id"
        ).fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # SQLite's message may quote damaged text
        raise damaged(path, exc) from exc
    size, count = source.size, 0
    for number, (request_id, experiment_id, session) in enumerate(traces, 1):
        name, location = experiments.get(str(experiment_id), (None, None))
        trace = MlflowTrace(request_id, name, session)
        try:
            spans = _trace_spans(conn, trace, location, plan, source)
        except sqlite3.Error as exc:
            source.skip(f"trace {request_id}", f"cannot be read: {exc}")
            continue
        count += len(spans)
        yield from spans
        progress(size * number // len(traces))
    if not count:
        raise FormatError(nothing_read(source))


class _Plan(NamedTuple):
    """What the store's schema lets the reader take: spans from the table, and how to select a
    trace's assessments (None without an assessments table)."""

    spans_table: bool
    assessments_sql: str | None


def _assessments_sql(tables: dict[str, set[str]]) -> str:
    """Assessments of one trace: overridden ones (valid = 0) left out, the error column where there is one."""
    columns = tables["assessments"]
    error = "error" if "error" in columns else "NULL"
    valid = "AND (valid IS NULL OR valid != 0)" if "valid" in columns else ""
    return (
        f"SELECT assessment_id, name, assessment_type, value, source_type, span_id, rationale, {error} "
        f"FROM assessments WHERE trace_id = ? {valid} ORDER BY created_timestamp, assessment_id"
    )


class MlflowTrace:
    """One trace (a trace_info row, or a server's trace info) and what every span of it shares."""

    __slots__ = ("experiment", "metadata", "request_id", "session", "tags", "trace_id", "user")

    def __init__(self, request_id: str, experiment: str | None, session: str | None) -> None:
        self.request_id, self.experiment, self.session = request_id, experiment, session
        hex_id = request_id[3:] if request_id.startswith("tr-") else request_id
        self.trace_id = hex_id.lower() if len(hex_id) == 32 else request_id
        self.metadata: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.user: str | None = None

    def describe(self, metadata: dict[str, str], tags: dict[str, str]) -> None:
        """The trace's request metadata and tags, and the session and user the metadata names."""
        self.metadata, self.tags = metadata, tags
        self.session = self.session or metadata.get("mlflow.trace.session")
        self.user = metadata.get("mlflow.trace.user")


def trace_root(spans: list[Span], trace: MlflowTrace) -> Span:
    """The trace's root span (else its first), which keeps the trace's tags and metadata."""
    root = next((s for s in spans if s.parent_id is None), spans[0])
    root.attributes["mlflow.trace_tags"] = trace.tags
    root.attributes["mlflow.trace_metadata"] = trace.metadata
    return root


def _trace_spans(
    conn: sqlite3.Connection, trace: MlflowTrace, location: str | None, plan: _Plan, source: Source
) -> list[Span]:
    """The spans of one trace with its shared fields, assessments on the spans they rate."""
    rid = trace.request_id
    trace.describe(
        dict(conn.execute("SELECT key, value FROM trace_request_metadata WHERE request_id = ?", (rid,))),
        dict(conn.execute("SELECT key, value FROM trace_tags WHERE request_id = ?", (rid,))),
    )
    where = trace.metadata.get("mlflow.trace.spansLocation")
    spans: list[Span] = []
    if plan.spans_table and where in (None, _TRACKING_STORE):
        spans = _table_spans(conn, trace, source)
    if not spans and where != _TRACKING_STORE:
        spans = _artifact_spans(trace, location, source)
    if not spans:
        if where == _TRACKING_STORE:
            source.skip(f"trace {rid}", "no spans stored for it (the trace may still be running)")
        return []
    root = trace_root(spans, trace)
    if plan.assessments_sql is not None:
        attach_assessments(conn.execute(plan.assessments_sql, (rid,)), spans, root)
    return spans


def _table_spans(conn: sqlite3.Connection, trace: MlflowTrace, source: Source) -> list[Span]:
    """The trace's rows of the spans table; a row whose content cannot be read is kept from its
    columns (ids, name, type, status, times) and reported."""
    spans = []
    for row in conn.execute(
        "SELECT span_id, parent_span_id, name, type, status, start_time_unix_nano, end_time_unix_nano, "
        "content FROM spans WHERE trace_id = ? ORDER BY start_time_unix_nano",
        (trace.request_id,),
    ):
        where = f"trace {trace.request_id} span {row[0]}"
        try:
            spans.append(span_from_dict(_content(row[7]), trace))
            continue
        except RECORD_ERRORS as exc:
            problem = record_error(exc)
        try:
            spans.append(span_from_dict(_from_columns(row), trace))
        except RECORD_ERRORS as exc:
            source.skip(where, f"content cannot be read ({problem}), nor its columns ({record_error(exc)})")
        else:
            source.skip(where, f"content cannot be read ({problem}); the span is kept from its columns only")
    return spans


def _content(text: Any) -> dict[str, Any]:
    try:
        data = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _from_columns(row: tuple) -> dict[str, Any]:
    """A span dict holding what the spans table's own columns say about the span."""
    span_id, parent_id, name, span_type, status, start, end, _ = row
    return {
        "span_id": span_id,
        "parent_span_id": parent_id,
        "name": name,
        "status": {"code": status},
        "start_time_unix_nano": start,
        "end_time_unix_nano": end,
        "attributes": {"mlflow.spanType": orjson.dumps(span_type).decode()},
    }


def _artifact_spans(trace: MlflowTrace, location: str | None, source: Source) -> list[Span]:
    """Spans from the trace's traces.json artifact, or a problem naming the trace and where it looked."""
    where = f"trace {trace.request_id}"
    uri = trace.metadata.get("mlflow.artifactLocation") or trace.tags.get("mlflow.artifactLocation")
    if uri is None and location:
        uri = f"{location.rstrip('/')}/traces/{trace.request_id}/artifacts"
    if uri is None:
        source.skip(where, "no spans in the store and no artifact location recorded for them")
        return []
    found = _local_artifact(uri, source.path)
    if found is None:
        source.skip(where, f"its spans are in artifact files at {uri}, which are not on this machine")
        return []
    try:
        with found.open("rb") as artifact:
            document = orjson.loads(read_at_most(artifact, f"{found.name}"))
        items = document["spans"]
        if not isinstance(items, list):
            raise ValueError("'spans' is not a list")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        source.skip(where, f"{found} cannot be read: {exc}")
        return []
    spans = []
    for number, data in enumerate(items, 1):
        try:
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            spans.append(span_from_dict(data, trace))
        except RECORD_ERRORS as exc:
            source.skip(f"{where} span {number} in {found.name}", record_error(exc))
    return spans


def _local_artifact(uri: str, store: Path) -> Path | None:
    """The traces.json under an artifact location on this machine: where it says, else under the
    store's folder from the artifact root on (mlruns/..., mlartifacts/...)."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file") and len(parsed.scheme) > 1:  # one letter: a Windows drive
        return None
    folder = Path(unquote(parsed.path) if parsed.scheme == "file" else uri)
    candidates = [folder]
    parts = folder.parts
    for root in _ARTIFACT_ROOTS:
        if root in parts:
            candidates.append(store.resolve().parent.joinpath(*parts[parts.index(root) :]))
    for candidate in candidates:
        if (candidate / "traces.json").is_file():
            return candidate / "traces.json"
    return None


# --- one span ------------------------------------------------------------------------------------


def span_from_dict(data: dict[str, Any], trace: MlflowTrace) -> Span:
    """A span from either version of MLflow's span dict; ValueError says why it cannot be used."""
    context = data.get("context")
    if isinstance(context, dict):  # the older dict: context ids, parent_id, start_time, status_code
        span_id, parent = context.get("span_id"), data.get("parent_id")
        start, end = data.get("start_time"), data.get("end_time")
        status, message = data.get("status_code"), data.get("status_message")
    else:
        span_id, parent = data.get("span_id"), data.get("parent_span_id")
        start, end = data.get("start_time_unix_nano"), data.get("end_time_unix_nano")
        raw_status = data.get("status")
        status, message = (
            (raw_status.get("code"), raw_status.get("message"))
            if isinstance(raw_status, dict)
            else (raw_status, None)
        )
    if not isinstance(span_id, str):
        raise ValueError("span id missing")
    if parent is not None and not isinstance(parent, str):
        raise ValueError(f"span {span_id}: parent id {parent!r} is not text")
    if not isinstance(start, int | str) or not str(start).isdigit():
        raise ValueError(f"span {span_id}: start time missing or not nanoseconds")
    attributes = _decoded(data.get("attributes"))
    span = Span(
        trace_id=trace.trace_id,
        span_id=normalize_id(span_id, 8, "span id"),
        parent_id=normalize_id(parent, 8, "parent span id") if parent else None,
        name=str(data.get("name") or ""),
        start_ns=int(start),
        end_ns=int(end) if isinstance(end, int | str) and str(end).isdigit() else None,
        status=_STATUS.get(status, Status.UNSET),
        status_message=message or None,
        attributes=attributes,
        events=_events(data.get("events")),
        service=trace.experiment,
        session_id=trace.session,
        user_id=trace.user,
    )
    if trace.experiment is not None:
        span.resource = {"mlflow.experiment.name": trace.experiment}
    conventions.apply_fields(span)
    _apply_mlflow(span, attributes)
    return span


def _decoded(raw: Any) -> dict[str, Any]:
    """Attribute values are JSON text; one that is not is kept as the text it is."""
    if not isinstance(raw, dict):
        return {}
    out = {}
    for key, value in raw.items():
        if isinstance(value, str):
            with contextlib.suppress(orjson.JSONDecodeError):
                value = orjson.loads(value)
        out[str(key)] = value
    return out


def _events(raw: Any) -> list[Event]:
    events = []
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, dict):
            stamp = item.get("time_unix_nano", item.get("timestamp"))
            attributes = item.get("attributes")
            events.append(
                Event(
                    str(item.get("name") or ""),
                    int(stamp) if isinstance(stamp, int | str) and str(stamp).isdigit() else None,
                    attributes if isinstance(attributes, dict) else {},
                )
            )
    return events


def _apply_mlflow(span: Span, attributes: dict[str, Any]) -> None:
    """MLflow's own attributes, which take precedence over any other convention on the span."""
    span_type = attributes.get("mlflow.spanType")
    if isinstance(span_type, str):
        span.source_kind = span_type
        span.kind = _KINDS.get(span_type.upper(), span.kind)
    model = attributes.get("mlflow.llm.model")
    if isinstance(model, str) and model:
        span.model = model
    provider = attributes.get("mlflow.llm.provider")
    if isinstance(provider, str) and provider:
        span.provider = provider
    usage = attributes.get("mlflow.chat.tokenUsage")
    if isinstance(usage, dict):
        _apply_usage(span, usage, attributes.get("mlflow.message.format"))
    cost = attributes.get("mlflow.llm.cost")
    if isinstance(cost, dict):
        total = _number(cost.get("total_cost"))
        if total is None and (cost.get("input_cost") is not None or cost.get("output_cost") is not None):
            total = (_number(cost.get("input_cost")) or 0.0) + (_number(cost.get("output_cost")) or 0.0)
        if total is not None:
            span.cost_usd = total
    if "mlflow.spanInputs" in attributes:
        inputs = attributes["mlflow.spanInputs"]
        span.input = conventions.openai_chat(inputs, "user") or inputs
    if "mlflow.spanOutputs" in attributes:
        outputs = attributes["mlflow.spanOutputs"]
        span.output = conventions.openai_chat(outputs, "assistant") or outputs


def _apply_usage(span: Span, usage: dict[str, Any], message_format: Any) -> None:
    input_tokens, output_tokens = _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
    cache_read = _count(usage.get("cache_read_input_tokens"))
    cache_write = _count(usage.get("cache_creation_input_tokens"))
    cached = (cache_read or 0) + (cache_write or 0)
    if input_tokens is not None and cached and (message_format == "anthropic" or cached > input_tokens):
        input_tokens += cached
    span.input_tokens, span.output_tokens = input_tokens, output_tokens
    span.cache_read_tokens, span.cache_write_tokens = cache_read, cache_write
    total = _count(usage.get("total_tokens"))
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    span.total_tokens = total


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --- assessments ---------------------------------------------------------------------------------


def attach_assessments(rows: Iterable[tuple], spans: list[Span], root: Span) -> None:
    """Each assessment on the span it names, else on the root span as a trace-level score. A row is
    (assessment_id, name, assessment_type, value as JSON text, source_type, span_id, rationale, error as
    JSON text or None), as the assessments table holds it (a server's assessments are put in that shape)."""
    by_id = {span.span_id: span for span in spans}
    for assessment_id, name, kind, value, source_type, span_id, rationale, error in rows:
        target = by_id.get((span_id or "").lower())
        number, label = _assessment_value(value)
        failed = _error_text(error) if number is None and label is None else None
        score = Score(
            name=name,
            value=number,
            label=label,
            comment="; ".join(t for t in (rationale, failed and f"error: {failed}") if t) or None,
            source=source_type if kind != "expectation" else f"{source_type or ''} expectation".strip(),
            key=assessment_id,
            trace_level=target is None,
        )
        (target or root).scores.append(score)


def _error_text(raw: Any) -> str | None:
    """An assessment's error (a judge that failed): its message, else its code, else the raw text."""
    if not raw:
        return None
    try:
        error = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        return str(raw)
    if isinstance(error, dict):
        return str(error.get("error_message") or error.get("error_code") or raw)
    return str(error)


def _assessment_value(raw: Any) -> tuple[float | None, str | None]:
    """A number, true/false as 1/0 with the word as label, or text; other JSON as its text."""
    try:
        value = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    except orjson.JSONDecodeError:
        return None, raw
    if isinstance(value, bool):
        return float(value), "true" if value else "false"
    if isinstance(value, int | float):
        return float(value), None
    if value is None or isinstance(value, str):
        return None, value
    return None, orjson.dumps(value).decode()


SPEC = FormatSpec(
    name="mlflow-sqlite",
    description="MLflow tracking store with traces (mlflow.db)",
    written_by="MLflow's tracking store with traces (spans from the store or from `traces.json` artifacts, "
    "assessments as scores), opened read-only and never modified: `spanscope tree mlflow.db TRACE_ID`",
    extensions=(".db", ".sqlite", ".sqlite3"),
    sniff=sniff,
    sniff_source=sniff_source,
    read=read,
)
