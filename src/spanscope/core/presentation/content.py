"""Qt-free helpers for showing a span's content: what shape a payload has, how much of a large
text to show first, flattened attributes, retrieved documents and web links.

The desktop app's detail panel renders with these; keeping them here lets them be tested headless.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson

from spanscope.core.conventions import adk
from spanscope.core.model import Span, is_messages
from spanscope.core.presentation import display
from spanscope.core.pricing.prices import PriceBook

#: The most text any one widget is given at once; the rest waits for "Show all".
PREVIEW_CHARS = 200_000
#: A run of this many non-space characters (base64, minified JSON) makes word wrapping quadratic.
LONG_TOKEN = 200
_LONG_TOKEN_RE = re.compile(rf"\S{{{LONG_TOKEN}}}")


class PayloadKind(Enum):
    EMPTY = "empty"
    MESSAGES = "messages"
    DOCUMENTS = "documents"
    JSON = "json"
    TEXT = "text"


# --- sizes and prefixes ------------------------------------------------------------------------


def human_bytes(size: int) -> str:
    """`850 B`, `195 KB`, `12.3 MB` (powers of 1000, like file managers)."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    if size < 1_000_000_000:
        return f"{size / 1e6:.1f} MB"
    return f"{size / 1e9:.1f} GB"


def utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def head(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The first `limit` characters, cut at a line break when one is near the end."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", limit * 3 // 4, limit)
    return text[: cut + 1] if cut >= 0 else text[:limit]


def has_long_token(text: str) -> bool:
    """True when `text` holds a word too long for word wrapping to lay out quickly."""
    return _LONG_TOKEN_RE.search(text) is not None


@dataclass(slots=True)
class TextBudget:
    """Hands out at most `limit` characters over several pieces of one rendering, and remembers
    what it held back so the view can offer "Show all (size)". `limit=None` gives everything."""

    limit: int | None = PREVIEW_CHARS
    used: int = 0
    shown_bytes: int = 0
    total_bytes: int = 0
    truncated: bool = False
    long_tokens: bool = False

    @property
    def exhausted(self) -> bool:
        """True once something was held back: renderers then only `skip` what is left."""
        return self.truncated or (self.limit is not None and self.used >= self.limit)

    def take(self, text: str) -> str:
        self.total_bytes += utf8_size(text)
        if self.limit is None:
            shown = text
        else:
            shown = "" if self.exhausted else head(text, self.limit - self.used)
            self.truncated = self.truncated or len(shown) < len(text)
        self.used += len(shown)
        self.shown_bytes += utf8_size(shown)
        self.long_tokens = self.long_tokens or has_long_token(shown)
        return shown

    def skip(self, value: Any) -> None:
        """Count a whole item that is not rendered (its JSON size stands in for its text)."""
        self.total_bytes += utf8_size(compact(value))
        self.truncated = True


# --- JSON values -------------------------------------------------------------------------------


def parse_json(text: str) -> Any:
    """The object or array `text` holds, or None when it is not a JSON container."""
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict | list) else None


def pretty(value: Any) -> str:
    """Indented JSON for containers (and text holding one); other text as is."""
    if isinstance(value, str):
        parsed = parse_json(value)
        if parsed is None:
            return value
        value = parsed
    if isinstance(value, dict | list):
        return _json(value, indent=True)
    return compact(value)


def compact(value: Any) -> str:
    """A one-value rendering: text as is, JSON for everything else."""
    if isinstance(value, str):
        return value
    return _json(value, indent=False)


def _json(value: Any, *, indent: bool) -> str:
    """JSON by orjson; a value orjson refuses (nested past its 255 levels, which parsing allows up to
    1,024, or an integer past 64 bits) by _json_by_stack instead of an exception."""
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    try:
        return orjson.dumps(value, option=option, default=str).decode()
    except orjson.JSONEncodeError:
        return _json_by_stack(value, indent)


class _Written(str):
    """Text already rendered, waiting on _json_by_stack's stack."""


def _json_by_stack(value: Any, indent: bool) -> str:
    """JSON written from an explicit stack, as orjson would (two-space indentation when `indent`),
    at any depth; integers of any size as their digits."""
    out: list[str] = []
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, _Written):
            out.append(item)
        elif isinstance(item, dict | list) and item:
            pairs = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            inner = "\n" + "  " * (level + 1) if indent else ""
            todo: list[tuple[Any, int]] = []
            for n, (key, child) in enumerate(pairs):
                name = "" if key is None else orjson.dumps(str(key)).decode() + (": " if indent else ":")
                todo += [(_Written(("," if n else "") + inner + name), 0), (child, level + 1)]
            brackets = "{}" if isinstance(item, dict) else "[]"
            todo.append((_Written(("\n" + "  " * level if indent else "") + brackets[1]), 0))
            out.append(brackets[0])
            stack += reversed(todo)
        elif isinstance(item, int) and not isinstance(item, bool):
            out.append(str(item))
        else:
            out.append(orjson.dumps(item, default=str).decode())
    return "".join(out)


def preview(text: str, limit: int = 300) -> str:
    """One line for a table cell: the start of `text` with line breaks shown as ⏎."""
    short = text[:limit].replace("\r\n", "\n").replace("\n", " ⏎ ")
    return short + "…" if len(text) > limit else short


def tooltip(text: str, limit: int = 1000) -> str:
    """A cell's tooltip: the full text when it is short, else its size and how to see it."""
    return text if len(text) <= limit else f"{human_bytes(utf8_size(text))}: double-click to show it all"


def container_summary(value: dict | list) -> str:
    if isinstance(value, dict):
        return f"{{{len(value)} {'key' if len(value) == 1 else 'keys'}}}"
    return f"[{len(value)} {'item' if len(value) == 1 else 'items'}]"


def shape(value: Any) -> tuple[PayloadKind, Any]:
    """How a span input or output is best shown, and the value to show (text holding JSON parsed)."""
    if value is None or value == "" or value == [] or value == {}:
        return PayloadKind.EMPTY, value
    if is_messages(value):
        return PayloadKind.MESSAGES, value
    if is_documents(value):
        return PayloadKind.DOCUMENTS, value
    if isinstance(value, dict | list):
        return PayloadKind.JSON, value
    text = value if isinstance(value, str) else compact(value)
    parsed = parse_json(text) if len(text) <= PREVIEW_CHARS else None
    return (PayloadKind.TEXT, text) if parsed is None else (PayloadKind.JSON, parsed)


# --- attributes --------------------------------------------------------------------------------


def flatten(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """Nested maps and lists as dotted keys (`a.b.0`), leaves as they are; empty ones kept. From an
    explicit stack, so a value nested past Python's recursion limit flattens too."""
    stack = [(prefix, value)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, dict) and item:
            stack += reversed([(f"{key}.{k}", v) for k, v in item.items()])
        elif isinstance(item, list) and item and any(isinstance(v, dict | list) for v in item):
            stack += reversed([(f"{key}.{n}", v) for n, v in enumerate(item)])
        else:
            yield key, item


def attribute_rows(span: Span) -> list[tuple[str, Any]]:
    """Every attribute of the span, then its links (`link.N.…`), its resource's (`resource.…`) and
    scope (`scope.…`)."""
    rows = [row for key, value in span.attributes.items() for row in flatten(value, key)]
    rows += [row for n, link in enumerate(span.links) for row in flatten(link, f"link.{n}")]
    rows += [row for key, value in span.resource.items() for row in flatten(value, f"resource.{key}")]
    rows += [row for key, value in span.scope.items() for row in flatten(value, f"scope.{key}")]
    return rows


def graph_step(span: Span) -> str | None:
    """Where in a LangGraph graph the span ran, e.g. `node agent, step 3`: LangGraph puts its node and
    step into the run metadata, which OpenInference writes as the `metadata` JSON attribute."""
    metadata = span.attributes.get("metadata")
    if isinstance(metadata, str) and "langgraph_node" in metadata:
        metadata = parse_json(metadata)
    if not isinstance(metadata, dict):
        return None
    node, step = metadata.get("langgraph_node"), metadata.get("langgraph_step")
    if type(node) is not str:
        return None
    return f"node {node}, step {step}" if type(step) is int else f"node {node}"


def missing_content_note(span: Span) -> str | None:
    """Why a model call shows no messages, when its attributes tell (an app that left content
    capture off); None otherwise."""
    if not span.is_model_call:
        return None
    return adk.content_note(span.attributes, span.scope.get("name"))


# --- retrieved documents -----------------------------------------------------------------------

_DOCUMENT_TEXT_KEYS = ("content", "page_content", "text")
_DOCUMENT_FIELDS = frozenset({"id", "score", "metadata", "type", *_DOCUMENT_TEXT_KEYS})


@dataclass(slots=True)
class Document:
    id: str | None
    score: float | None
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _document_text(item: dict[str, Any]) -> Any:
    return next((item[k] for k in _DOCUMENT_TEXT_KEYS if item.get(k) is not None), None)


def is_documents(value: Any) -> bool:
    """True for a list of retrieved documents (dicts with content and no chat role)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(d, dict) and "role" not in d and ("content" in d or "page_content" in d or "text" in d)
            for d in value
        )
    )


def document(item: dict[str, Any]) -> Document:
    """One document, its extra fields (e.g. a top-level `source`) folded into its metadata."""
    metadata = item.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    metadata.update({k: v for k, v in item.items() if k not in _DOCUMENT_FIELDS})
    text = _document_text(item)
    score = item.get("score")
    numeric = isinstance(score, int | float) and not isinstance(score, bool)
    return Document(
        id=None if item.get("id") is None else str(item["id"]),
        score=float(score) if numeric else None,
        content="" if text is None else compact(text),
        metadata=metadata,
    )


# --- chat messages -----------------------------------------------------------------------------


def message_parts(content: Any) -> list[dict[str, Any]]:
    """A message's content as a list of parts: text becomes one {type: text} part."""
    if content is None or content == "":
        return []
    if isinstance(content, list):
        return [
            part if isinstance(part, dict) else {"type": "text", "text": compact(part)} for part in content
        ]
    return [{"type": "text", "text": compact(content)}]


def tool_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Tool call id -> tool name, so a tool result can say which call it answers."""
    return {
        call["id"]: call.get("name") or "tool"
        for m in messages
        for call in m.get("tool_calls") or ()
        if isinstance(call, dict) and call.get("id")
    }


#: A tool call or a JSON value fits on one line up to this many characters.
ONE_LINE_CHARS = 120


def one_line(value: Any, limit: int = ONE_LINE_CHARS) -> str | None:
    """A flat JSON object or array (no nested containers) on one line, spaced for reading, when it
    fits in `limit` characters; else None."""
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    if items is None or any(isinstance(item, dict | list) for item in items):
        return None
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else None


def call_signature(name: str, arguments: Any, limit: int = ONE_LINE_CHARS) -> str | None:
    """A tool call as `name(key="value", n=2)` when its arguments are a flat object (or JSON text of
    one, or none) that fits in `limit` characters; else None."""
    if isinstance(arguments, str):
        arguments = parse_json(arguments) if arguments.strip() else None
    if arguments is None or arguments == {}:
        return f"{name}()"
    if not isinstance(arguments, dict) or one_line(arguments, limit) is None:
        return None
    listed = ", ".join(
        f"{key}={json.dumps(item, ensure_ascii=False, default=str)}" for key, item in arguments.items()
    )
    text = f"{name}({listed})"
    return text if len(text) <= limit else None


def is_web_url(url: str | None) -> bool:
    return bool(url) and url.lower().startswith(("http://", "https://"))


# --- times and cost ----------------------------------------------------------------------------


def offset(time_ns: int | None, start_ns: int) -> str:
    """Time since the span started, e.g. `+380 ms` (`-2 ms` when a clock put it before)."""
    if time_ns is None:
        return ""
    delta = time_ns - start_ns
    return ("-" if delta < 0 else "+") + display.duration(abs(delta))


def cost_text(span: Span, book: PriceBook) -> str:
    """The span's cost and how it was obtained (reported, computed from which price, or unknown and
    why); never a silent zero. Spans that are not model calls have no cost of their own."""
    if span.cost_usd is None and not span.is_model_call:
        return "none of its own (not a model call)"
    cost = book.cost(span)
    shown = display.cost(cost.usd, computed=cost.source == "computed")
    return cost.detail if cost.usd is None else f"{shown} ({cost.detail})"
