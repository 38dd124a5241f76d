"""A span's stored document (its large fields, kept in compressed chunks) and the one rule for the
input and output a span shows.

The rule is `shown_io`: a document's native input or output - what the source itself recorded as such
(LangSmith inputs/outputs, Inspect messages, a Langfuse export's input/output, MLflow span inputs and
outputs) - where it has one, else what the attribute conventions derive from its attributes and events,
and then from its OTLP log records (joined by trace and span id, stored apart: store/logs.py), and
for a span whose convention takes a missing input from the parent (Mastra's model call, whose prompt
is on its step: `conventions.inherits_input`), from its parent's attributes, read from the parent's
document (`ChunkReader.parent`) whichever of the two was stored first.
Every reader of payloads goes through it: the span read (and so the detail panel and exports), the
search index and its snippets, assertions, stepping and the trace diff, so they cannot disagree.

Derive on read rather than store the derivation: a stored derivation would freeze each span at the
rules of the release that imported it, so a store would show old spans one way and new ones another,
and every view would have to be re-derived on upgrade anyway to stay in step. Derived on read, every
view of every span follows the running version's conventions; the only thing kept from a derivation is
the search index, which records `conventions.DERIVATION` and is rebuilt when it changes. Each document
records the DERIVATION it was imported under (VERSION_KEY), which tells its input and output keys hold
native values only.

Documents without VERSION_KEY were written by releases that stored the import-time derivation of
some readers (Phoenix, MLflow, Langfuse) as if it were native. Native and derived values cannot be told
apart there, so such a document shows what that release showed everywhere: its stored input and output
when it has either key (both as stored), else the derivation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from spanscope.core import conventions
from spanscope.core.model import Event, LogRecord, Span
from spanscope.core.store import payload

__all__ = ["VERSION_KEY", "ChunkReader", "document", "needs_parent", "shown_io", "span_fields"]

#: The document key holding the DERIVATION a document was imported under.
VERSION_KEY = "v"


def document(span: Span) -> dict[str, Any]:
    """The span's large fields, ready to be serialized with its chunk; input and output only where
    the reader set them natively (they are never derived at import)."""
    doc = {
        VERSION_KEY: conventions.DERIVATION,
        "attributes": span.attributes,
        "events": [e.to_json() for e in span.events] if span.events else [],
        "resource": span.resource,
        "scope": span.scope,
        "source_kind": span.source_kind,
    }
    if span.input is not None:
        doc["input"] = span.input
    if span.output is not None:
        doc["output"] = span.output
    if span.links:
        doc["links"] = span.links
    return doc


def _events(doc: dict[str, Any]) -> list[Event]:
    return [Event.from_json(e) for e in doc.get("events") or ()]


def needs_parent(doc: dict[str, Any]) -> bool:
    """Whether the span's shown input may be its parent's: it has no native one and its convention
    says so. Readers read the parent's document only then."""
    return doc.get("input") is None and conventions.inherits_input(doc.get("attributes") or {})


def shown_io(
    doc: dict[str, Any],
    events: list[Event] | None = None,
    logs: Sequence[LogRecord] = (),
    parent: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """The (input, output) a span shows: native where its document has them, else derived from its
    attributes and events (`events`: the document's, already decoded, if the caller has them), then
    from its log records `logs`, in time order, then (input only) from the attributes of its parent's
    document `parent`, given when `needs_parent` says it may be used."""
    inputs, outputs = doc.get("input"), doc.get("output")
    if VERSION_KEY not in doc and ("input" in doc or "output" in doc):
        return inputs, outputs
    if inputs is None or outputs is None:
        derived_inputs, derived_outputs = conventions.derived_io(
            doc.get("attributes") or {},
            _events(doc) if events is None else events,
            logs,
            None if parent is None else parent.get("attributes") or {},
        )
        inputs = derived_inputs if inputs is None else inputs
        outputs = derived_outputs if outputs is None else outputs
    return inputs, outputs


def span_fields(
    doc: dict[str, Any], logs: Sequence[LogRecord] = (), parent: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A document's fields as Span keyword arguments: events as Event objects, input and output as
    `shown_io` gives them (with the span's log records `logs` and its parent's document `parent`)."""
    events = _events(doc)
    inputs, outputs = shown_io(doc, events, logs, parent)
    return {
        "attributes": doc.get("attributes") or {},
        "events": events,
        "input": inputs,
        "output": outputs,
        "resource": doc.get("resource") or {},
        "scope": doc.get("scope") or {},
        "source_kind": doc.get("source_kind"),
        "links": doc.get("links") or [],
    }


class ChunkReader:
    """Reads span documents by (payload_chunk, payload_index), decompressing each chunk once while it
    is among the last few read: a trace's spans, and a run of spans in id order, mostly share chunks.
    """

    KEEP = 8

    def __init__(self, db: sqlite_utils.Database | sqlite3.Connection) -> None:
        self.db = db
        self.recent: dict[int, list[dict[str, Any]]] = {}

    def document(self, chunk_id: int | None, index: int | None) -> dict[str, Any] | None:
        if chunk_id is None or index is None:
            return None
        docs = self.recent.get(chunk_id)
        if docs is None:
            row = self.db.execute("SELECT data FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
            docs = payload.unpack(row[0]) if row else []
            if len(self.recent) >= self.KEEP:
                del self.recent[next(iter(self.recent))]
            self.recent[chunk_id] = docs
        return docs[index] if index < len(docs) else None

    def parent(
        self, doc: dict[str, Any] | None, trace_id: str, parent_id: str | None
    ) -> dict[str, Any] | None:
        """The document of the parent `parent_id` of the span whose document is `doc`, if the span
        `needs_parent` and the parent is stored; else None (nothing read)."""
        if parent_id is None or not doc or not needs_parent(doc):
            return None
        row = self.db.execute(
            "SELECT payload_chunk, payload_index FROM spans WHERE trace_id = ? AND span_id = ?",
            (trace_id, parent_id),
        ).fetchone()
        return self.document(*row) if row else None
