#!/usr/bin/env python3
"""Write the traces Spanscope opens when it starts without a file (src/spanscope/resources/demo/).

A new user judges the viewer by this file, so it reads like production traffic exported by an
OpenTelemetry Collector's file exporter (one ExportTraceServiceRequest per line, hex ids, int64 as
strings): a RAG answer, a tool-using agent that recovers from a failed booking, a support session
spread over three traces and three models, a rate-limited call that succeeds on retry, and a long
research agent that gives the tree and timeline views something to show.

The output is byte-for-byte reproducible (fixed seed, fixed base time) and tests/test_demo.py
regenerates it and compares, so change this script and re-run it instead of editing the JSONL.
"""

from __future__ import annotations

import json
import math
import random
import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import orjson

SEED = 20261120
BASE_TIME = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)
#: Inside the package, so an installed Spanscope finds it with importlib.resources.
OUTPUT = Path(__file__).resolve().parents[2] / "src/spanscope/resources/demo/demo.otlp.jsonl"

INTERNAL = 1
CLIENT = 3
SAMPLED_LOCAL_PARENT_FLAGS = 256  # what the Python SDK exporter sets on every span
BASE62 = string.ascii_letters + string.digits


# --- Where spans come from ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """An instrumentation scope; the export groups spans under it the way the SDK does."""

    name: str
    version: str
    schema_url: str = ""


@dataclass(frozen=True)
class Service:
    """One deployed process; its attributes become the OTLP resource of every trace it emits."""

    name: str
    version: str
    instance_id: str
    host: str


SUPPORT_BOT = Service(
    "support-bot", "2.3.1", "7d1f0c52-8a4e-4b8e-9a53-0f6a2c41b9e7", "support-bot-6c9f7d8b4-x2lqp"
)
TRAVEL_AGENT = Service(
    "travel-agent", "0.9.4", "c2b84e19-5f3d-4d71-b0a8-93e6d1f27c55", "travel-agent-58d4b9c7f-k7mzr"
)

SUPPORT_APP = Scope("support_bot.pipeline", "2.3.1")
OI_OPENAI = Scope("openinference.instrumentation.openai", "0.1.66")
OI_GOOGLE = Scope("openinference.instrumentation.google_genai", "0.1.9")
TRAVEL_APP = Scope("travel_agent.runtime", "0.9.4")
GENAI_ANTHROPIC = Scope(
    "opentelemetry.instrumentation.anthropic", "0.1b0", "https://opentelemetry.io/schemas/1.37.0"
)
GENAI_OPENAI = Scope(
    "opentelemetry.instrumentation.openai_v2", "2.2b0", "https://opentelemetry.io/schemas/1.37.0"
)
HTTPX = Scope("opentelemetry.instrumentation.httpx", "0.59b0", "https://opentelemetry.io/schemas/1.21.0")


@dataclass(frozen=True)
class Model:
    """A model as the app requests it and as the provider reports it back, with its speed."""

    request: str
    response: str
    provider: str
    first_token_ms: tuple[float, float]
    ms_per_token: float


SONNET = Model("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "anthropic", (900, 1500), 14.0)
HAIKU = Model("claude-haiku-4-5", "claude-haiku-4-5-20251001", "anthropic", (350, 650), 5.5)
GPT_4O_MINI = Model("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "openai", (280, 520), 8.0)
GPT_4O = Model("gpt-4o", "gpt-4o-2024-08-06", "openai", (380, 700), 12.0)
GPT_41_MINI = Model("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", "openai", (300, 560), 7.0)
GPT_41 = Model("gpt-4.1", "gpt-4.1-2025-04-14", "openai", (450, 800), 11.0)
GEMINI_FLASH = Model("gemini-2.5-flash", "gemini-2.5-flash", "google", (300, 550), 4.0)
EMBEDDING_MODEL = "text-embedding-3-small"
SERVER_ADDRESS = {"anthropic": "api.anthropic.com", "openai": "api.openai.com"}


# --- OTLP JSON encoding ---------------------------------------------------------------------------


def any_value(value: Any) -> dict[str, Any]:
    """Encode a Python value as an OTLP AnyValue; int64 goes out as a decimal string like the Collector."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {"stringValue": value}


def encode_attrs(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": any_value(value)} for key, value in attrs.items()]


def py_json(obj: Any) -> str:
    """JSON the way Python instrumentations write it (json.dumps spacing), for OpenInference values."""
    return json.dumps(obj, ensure_ascii=False)


def compact_json(obj: Any) -> str:
    """Compact JSON, as the OTel GenAI instrumentations write message and tool attributes."""
    return orjson.dumps(obj).decode()


# --- Ids, token counts, durations -----------------------------------------------------------------


def hex_id(rng: random.Random, nbytes: int) -> str:
    return f"{rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def provider_id(rng: random.Random, prefix: str, length: int) -> str:
    """Ids shaped like the providers' own (chatcmpl-…, msg_01…, toolu_01…) so detail panes look real."""
    return prefix + "".join(rng.choices(BASE62, k=length))


def count_tokens(text: str) -> int:
    """A tokenizer stand-in (~4 characters per token) so usage numbers track the text on screen."""
    return max(1, math.ceil(len(text) / 4))


def openai_prompt_tokens(messages: Sequence[tuple[str, str]]) -> int:
    """Chat prompt size the way OpenAI counts it: content plus a few tokens of framing per message."""
    return sum(count_tokens(content) + 4 for _, content in messages) + 3


def openai_cached_tokens(prefix_tokens: int) -> int:
    """OpenAI caches prompt prefixes of at least 1024 tokens, in 128-token steps."""
    return prefix_tokens // 128 * 128 if prefix_tokens >= 1024 else 0


def llm_ms(rng: random.Random, model: Model, output_tokens: int) -> float:
    """Time to first token plus generation time, kept inside what a real API call takes."""
    ms = rng.uniform(*model.first_token_ms) + output_tokens * model.ms_per_token * rng.uniform(0.85, 1.15)
    return min(max(ms, 400.0), 6000.0)


def unix_ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


class Frame(NamedTuple):
    path: str
    line: int
    function: str
    code: str


def traceback_text(frames: Sequence[Frame], final: str) -> str:
    """A CPython 3.12 traceback, with the caret lines it draws under the failing call."""
    lines = ["Traceback (most recent call last):"]
    for frame in frames:
        lines.append(f'  File "{frame.path}", line {frame.line}, in {frame.function}')
        lines.append(f"    {frame.code}")
        for marker in (" = await ", " = ", "return "):
            if marker in frame.code:
                start = frame.code.index(marker) + len(marker)
                lines.append(" " * (4 + start) + "^" * (len(frame.code) - start))
                break
    lines.append(final)
    return "\n".join(lines) + "\n"


# --- Building a trace -----------------------------------------------------------------------------


@dataclass
class Span:
    span_id: str
    parent: Span | None
    name: str
    scope: Scope
    kind: int
    start: int
    end: int = 0
    attrs: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)


class Trace:
    """One trace on its own clock: sequential steps nest inside their parents and never overlap."""

    def __init__(self, rng: random.Random, service: Service, offset: timedelta, context: dict[str, Any]):
        self.rng = rng
        self.service = service
        self.trace_id = hex_id(rng, 16)
        self.now = unix_ns(BASE_TIME + offset) + rng.randrange(1_000_000_000)
        self.context = context  # OpenInference using_attributes(): copied onto every span
        self.spans: list[Span] = []

    @contextmanager
    def span(
        self,
        name: str,
        scope: Scope,
        parent: Span | None = None,
        *,
        kind: int = INTERNAL,
        attrs: dict[str, Any] | None = None,
        ok: bool = False,
    ) -> Iterator[Span]:
        """Open a span at the current time and close it after whatever the body advanced the clock by."""
        span = Span(hex_id(self.rng, 8), parent, name, scope, kind, self.now, attrs=dict(attrs or {}))
        span.status = {"code": 1} if ok else {}
        self.spans.append(span)
        self.pause()
        yield span
        self.pause()
        span.end = self.now

    def step(self, name: str, scope: Scope, parent: Span | None, ms: float, **kwargs: Any) -> Span:
        """A span without children that takes `ms` milliseconds."""
        with self.span(name, scope, parent, **kwargs) as span:
            self.advance(ms)
        return span

    def advance(self, ms: float) -> None:
        self.now += round(ms * 1_000_000)

    def pause(self) -> None:
        """The few hundred microseconds of app code between two spans."""
        self.advance(self.rng.uniform(0.08, 1.6))

    def fail(self, span: Span, exc_type: str, message: str, stacktrace: str) -> None:
        """Record an exception the way the SDK does: an `exception` event plus an ERROR status."""
        attrs = {"exception.type": exc_type, "exception.message": message, "exception.stacktrace": stacktrace}
        span.events.append(
            {"timeUnixNano": str(self.now), "name": "exception", "attributes": encode_attrs(attrs)}
        )
        span.status = {"code": 2, "message": f"{exc_type.rsplit('.', 1)[-1]}: {message}"}

    def epoch_seconds(self) -> int:
        return self.now // 1_000_000_000

    def export(self) -> dict[str, Any]:
        """The ExportTraceServiceRequest a BatchSpanProcessor sends: spans in the order they ended."""
        by_scope: dict[Scope, list[Span]] = {}
        for span in sorted(self.spans, key=lambda s: s.end):
            by_scope.setdefault(span.scope, []).append(span)
        return {
            "resourceSpans": [
                {
                    "resource": {"attributes": encode_attrs(resource_attrs(self.service))},
                    "scopeSpans": [self.encode_scope(scope, spans) for scope, spans in by_scope.items()],
                }
            ]
        }

    def encode_scope(self, scope: Scope, spans: list[Span]) -> dict[str, Any]:
        encoded: dict[str, Any] = {
            "scope": {"name": scope.name, "version": scope.version},
            "spans": [self.encode_span(span) for span in spans],
        }
        if scope.schema_url:
            encoded["schemaUrl"] = scope.schema_url
        return encoded

    def encode_span(self, span: Span) -> dict[str, Any]:
        encoded: dict[str, Any] = {"traceId": self.trace_id, "spanId": span.span_id}
        if span.parent is not None:
            encoded["parentSpanId"] = span.parent.span_id
        encoded |= {
            "name": span.name,
            "kind": span.kind,
            "startTimeUnixNano": str(span.start),
            "endTimeUnixNano": str(span.end),
            "attributes": encode_attrs(span.attrs | self.context),
        }
        if span.events:
            encoded["events"] = span.events
        encoded["status"] = span.status
        encoded["flags"] = SAMPLED_LOCAL_PARENT_FLAGS
        return encoded


def resource_attrs(service: Service) -> dict[str, Any]:
    return {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": "1.38.0",
        "service.name": service.name,
        "service.version": service.version,
        "service.instance.id": service.instance_id,
        "host.name": service.host,
        "deployment.environment.name": "production",
    }


# --- OpenInference (support-bot) ------------------------------------------------------------------


def oi_messages(prefix: str, messages: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """OpenInference flattens message lists into `{prefix}.{i}.message.role|content` keys."""
    attrs: dict[str, Any] = {}
    for i, (role, content) in enumerate(messages):
        attrs[f"{prefix}.{i}.message.role"] = role
        attrs[f"{prefix}.{i}.message.content"] = content
    return attrs


def oi_token_counts(prompt: int, completion: int, cache_read: int = 0) -> dict[str, Any]:
    counts = {
        "llm.token_count.total": prompt + completion,
        "llm.token_count.prompt": prompt,
        "llm.token_count.completion": completion,
    }
    if cache_read:
        counts["llm.token_count.prompt_details.cache_read"] = cache_read
    return counts


def oi_openai_chat(
    tr: Trace,
    parent: Span,
    model: Model,
    messages: Sequence[tuple[str, str]],
    reply: str,
    params: dict[str, Any],
    cache_prefix_tokens: int = 0,
) -> Span:
    """An OpenAI chat completion as openinference-instrumentation-openai records it."""
    prompt = openai_prompt_tokens(messages)
    completion = count_tokens(reply)
    cached = openai_cached_tokens(cache_prefix_tokens)
    request = {"model": model.request, "messages": [{"role": r, "content": c} for r, c in messages], **params}
    attrs = {
        "llm.system": "openai",
        "llm.provider": "openai",
        "input.value": py_json(request),
        "input.mime_type": "application/json",
        "output.value": compact_json(openai_response(tr, model, reply, prompt, completion, cached)),
        "output.mime_type": "application/json",
        "llm.invocation_parameters": py_json({"model": model.request, **params}),
        **oi_messages("llm.input_messages", messages),
        "llm.model_name": model.response,
        **oi_token_counts(prompt, completion, cached),
        **oi_messages("llm.output_messages", [("assistant", reply)]),
        "llm.finish_reason": "stop",
        "openinference.span.kind": "LLM",
    }
    return tr.step(
        "ChatCompletion", OI_OPENAI, parent, llm_ms(tr.rng, model, completion), attrs=attrs, ok=True
    )


def openai_response(tr: Trace, model: Model, reply: str, prompt: int, completion: int, cached: int) -> dict:
    """The chat.completion body the OpenAI API returns, which OpenInference keeps as output.value."""
    return {
        "id": provider_id(tr.rng, "chatcmpl-", 29),
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "logprobs": None,
                "message": {"content": reply, "refusal": None, "role": "assistant", "annotations": []},
            }
        ],
        "created": tr.epoch_seconds(),
        "model": model.response,
        "object": "chat.completion",
        "service_tier": "default",
        "system_fingerprint": f"fp_{hex_id(tr.rng, 5)}",
        "usage": {
            "completion_tokens": completion,
            "prompt_tokens": prompt,
            "total_tokens": prompt + completion,
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        },
    }


def oi_gemini_chat(tr: Trace, parent: Span, messages: Sequence[tuple[str, str]], reply: str) -> Span:
    """A Gemini generate_content call as openinference-instrumentation-google-genai records it."""
    system, history = messages[0][1], messages[1:]
    prompt = openai_prompt_tokens(messages)
    completion = count_tokens(reply)
    config = {"temperature": 0.3, "max_output_tokens": 1024, "thinking_config": {"thinking_budget": 0}}
    request = {
        "model": GEMINI_FLASH.request,
        "contents": [{"role": role, "parts": [{"text": text}]} for role, text in history],
        "config": {"system_instruction": system, **config},
    }
    response = {
        "candidates": [{"content": {"parts": [{"text": reply}], "role": "model"}, "finish_reason": "STOP"}],
        "model_version": GEMINI_FLASH.response,
        "response_id": provider_id(tr.rng, "", 22),
        "usage_metadata": {
            "prompt_token_count": prompt,
            "candidates_token_count": completion,
            "total_token_count": prompt + completion,
        },
    }
    attrs = {
        "llm.provider": "google",
        "input.value": py_json(request),
        "input.mime_type": "application/json",
        "output.value": py_json(response),
        "output.mime_type": "application/json",
        "llm.invocation_parameters": py_json(config),
        **oi_messages("llm.input_messages", messages),
        "llm.model_name": GEMINI_FLASH.response,
        **oi_token_counts(prompt, completion),
        **oi_messages("llm.output_messages", [("model", reply)]),
        "openinference.span.kind": "LLM",
    }
    ms = llm_ms(tr.rng, GEMINI_FLASH, completion)
    return tr.step("GenerateContent", OI_GOOGLE, parent, ms, attrs=attrs, ok=True)


class Doc(NamedTuple):
    doc_id: str
    source: str
    section: str
    updated: str
    content: str


def oi_retrieve(tr: Trace, parent: Span, query: str, docs: Sequence[Doc], scores: Sequence[float]) -> Span:
    """Embed the question, then search the help-center index: a RETRIEVER span over an EMBEDDING span."""
    attrs: dict[str, Any] = {"input.value": query, "input.mime_type": "text/plain"}
    with tr.span("retrieve_documents", SUPPORT_APP, parent, attrs=attrs, ok=True) as retriever:
        embed_attrs = {
            "llm.system": "openai",
            "llm.provider": "openai",
            "input.value": py_json({"input": [query], "model": EMBEDDING_MODEL, "encoding_format": "base64"}),
            "input.mime_type": "application/json",
            "embedding.invocation_parameters": py_json(
                {"model": EMBEDDING_MODEL, "encoding_format": "base64"}
            ),
            "embedding.model_name": EMBEDDING_MODEL,
            "embedding.embeddings.0.embedding.text": query,
            "llm.token_count.total": count_tokens(query),
            "llm.token_count.prompt": count_tokens(query),
            "openinference.span.kind": "EMBEDDING",
        }
        tr.step("CreateEmbeddings", OI_OPENAI, retriever, tr.rng.uniform(90, 210), attrs=embed_attrs, ok=True)
        tr.advance(tr.rng.uniform(35, 90))  # vector search in pgvector
        for i, (doc, score) in enumerate(zip(docs, scores, strict=True)):
            metadata = {
                "source": doc.source,
                "section": doc.section,
                "updated": doc.updated,
                "locale": "en-US",
            }
            retriever.attrs |= {
                f"retrieval.documents.{i}.document.id": doc.doc_id,
                f"retrieval.documents.{i}.document.content": doc.content,
                f"retrieval.documents.{i}.document.score": score,
                f"retrieval.documents.{i}.document.metadata": py_json(metadata),
            }
        retriever.attrs["openinference.span.kind"] = "RETRIEVER"
    return retriever


def oi_tool(tr: Trace, parent: Span, name: str, description: str, arguments: dict, result: dict) -> Span:
    """A function the pipeline calls itself (order lookup, helpdesk update) as an OpenInference TOOL."""
    properties = {
        key: {"type": "integer" if isinstance(v, int) else "string"} for key, v in arguments.items()
    }
    attrs = {
        "input.value": py_json(arguments),
        "input.mime_type": "application/json",
        "tool.name": name,
        "tool.description": description,
        "tool.parameters": py_json({"type": "object", "properties": properties, "required": list(arguments)}),
        "output.value": py_json(result),
        "output.mime_type": "application/json",
        "openinference.span.kind": "TOOL",
    }
    return tr.step(name, SUPPORT_APP, parent, tr.rng.uniform(60, 320), attrs=attrs, ok=True)


def oi_chain_attrs(inputs: str | dict, input_mime: str = "text/plain") -> dict[str, Any]:
    value = inputs if isinstance(inputs, str) else py_json(inputs)
    return {"input.value": value, "input.mime_type": input_mime, "openinference.span.kind": "CHAIN"}


def oi_finish(span: Span, output: str, mime: str = "text/plain") -> None:
    span.attrs |= {"output.value": output, "output.mime_type": mime}


# --- OTel GenAI (travel-agent) --------------------------------------------------------------------


def text_part(content: str) -> dict[str, Any]:
    return {"type": "text", "content": content}


def tool_call_part(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def tool_response_part(call_id: str, result: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "result": result}


def message(role: str, *parts: dict[str, Any], finish_reason: str = "") -> dict[str, Any]:
    msg: dict[str, Any] = {"role": role, "parts": list(parts)}
    if finish_reason:
        msg["finish_reason"] = finish_reason
    return msg


@dataclass(frozen=True)
class Usage:
    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0


def genai_chat(
    tr: Trace,
    parent: Span,
    model: Model,
    system: str,
    history: Sequence[dict[str, Any]],
    reply: dict[str, Any],
    *,
    tool_tokens: int = 0,
    cache: str = "",
    reasoning: int = 0,
) -> Span:
    """A chat call as the OTel GenAI instrumentations record it, with the newest (1.37+) attributes.

    `cache` is "write" or "read" when the system prompt and tool definitions form a cached prefix: the
    first call of a conversation writes it to the provider's prompt cache and later calls read it back.
    """
    prefix = count_tokens(system) + tool_tokens
    body = sum(count_tokens(compact_json(m["parts"])) for m in history)
    usage = Usage(
        input=prefix + body,
        output=count_tokens(compact_json(reply["parts"])) + reasoning,
        cache_read=prefix if cache == "read" else 0,
        cache_write=prefix if cache == "write" else 0,
        reasoning=reasoning,
    )
    finish = reply["finish_reason"]
    raw_finish = {"anthropic": {"tool_call": "tool_use", "stop": "end_turn"}}.get(model.provider, {})
    response_id = provider_id(tr.rng, "msg_01", 22) if model.provider == "anthropic" else None
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model.request,
        "gen_ai.provider.name": model.provider,
        "server.address": SERVER_ADDRESS[model.provider],
        "server.port": 443,
        "gen_ai.request.max_tokens": 4096 if model is SONNET else 1024,
        "gen_ai.response.finish_reasons": [raw_finish.get(finish, finish)],
        "gen_ai.response.model": model.response,
        "gen_ai.response.id": response_id or provider_id(tr.rng, "chatcmpl-", 29),
        **genai_usage(usage),
        "gen_ai.system_instructions": compact_json([text_part(system)]),
        "gen_ai.input.messages": compact_json(list(history)),
        "gen_ai.output.messages": compact_json([reply]),
    }
    scope = GENAI_ANTHROPIC if model.provider == "anthropic" else GENAI_OPENAI
    ms = llm_ms(tr.rng, model, usage.output)
    return tr.step(f"chat {model.request}", scope, parent, ms, kind=CLIENT, attrs=attrs)


def genai_usage(usage: Usage) -> dict[str, int]:
    attrs = {"gen_ai.usage.input_tokens": usage.input, "gen_ai.usage.output_tokens": usage.output}
    optional = {
        "gen_ai.usage.cache_read.input_tokens": usage.cache_read,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write,
        "gen_ai.usage.reasoning.output_tokens": usage.reasoning,
    }
    return attrs | {key: value for key, value in optional.items() if value}


def total_usage(tr: Trace, agent: Span) -> dict[str, int]:
    """Agent spans report the summed usage of the model calls beneath them, as agent frameworks do."""
    totals = {"gen_ai.usage.input_tokens": 0, "gen_ai.usage.output_tokens": 0}
    for span in tr.spans:
        if span.attrs.get("gen_ai.operation.name") == "chat" and is_descendant(span, agent):
            for key in totals:
                totals[key] += span.attrs[key]
    return totals


def is_descendant(span: Span, ancestor: Span) -> bool:
    node = span.parent
    while node is not None and node is not ancestor:
        node = node.parent
    return node is ancestor


def agent_attrs(name: str, description: str, model: Model, request: str, conversation: str = "") -> dict:
    attrs = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": model.provider,
        "gen_ai.agent.name": name,
        "gen_ai.agent.description": description,
        "gen_ai.request.model": model.request,
    }
    if conversation:
        attrs["gen_ai.conversation.id"] = conversation
    return attrs | {"gen_ai.input.messages": compact_json([message("user", text_part(request))])}


def finish_agent(tr: Trace, agent: Span, answer: str) -> None:
    agent.attrs |= total_usage(tr, agent)
    agent.attrs["gen_ai.output.messages"] = compact_json([message("assistant", text_part(answer))])


def tool_attrs(name: str, description: str, call_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.type": "function",
        "gen_ai.tool.description": description,
        "gen_ai.tool.call.id": call_id,
        "gen_ai.tool.call.arguments": compact_json(arguments),
    }


def http_call(tr: Trace, parent: Span, method: str, url: str, status: int, ms: float) -> Span:
    """An outgoing HTTP request from a tool, as opentelemetry-instrumentation-httpx records it."""
    host = url.split("/")[2]
    attrs: dict[str, Any] = {
        "http.request.method": method,
        "url.full": url,
        "server.address": host,
        "server.port": 443,
        "network.protocol.version": "1.1",
        "http.response.status_code": status,
    }
    if status >= 400:
        attrs["error.type"] = str(status)
    span = tr.step(method, HTTPX, parent, ms, kind=CLIENT, attrs=attrs)
    if status >= 400:
        span.status = {"code": 2}
    return span


def tool_error(tr: Trace, span: Span, exc_type: str, message_text: str, frames: Sequence[Frame]) -> None:
    """A tool raised: record it on the tool span the way the agent runtime's tracer does."""
    tr.fail(span, exc_type, message_text, traceback_text(frames, f"{exc_type}: {message_text}"))
    span.attrs["error.type"] = exc_type


TOOL_RUNTIME_FRAMES = (
    Frame(
        "/srv/travel-agent/.venv/lib/python3.12/site-packages/opentelemetry/trace/__init__.py",
        589,
        "use_span",
        "yield span",
    ),
    Frame(
        "/srv/travel-agent/travel_agent/runtime/tools.py",
        88,
        "execute",
        "result = await tool.fn(**call.arguments)",
    ),
)


# --- Scenario 1: RAG answer about the refund policy (OpenInference) -------------------------------

SUPPORT_GUIDELINES = """\
You are Brightline Assist, the customer support assistant for Brightline Audio. Brightline sells \
wireless headphones (Aero 2, Aero 2 Pro), earbuds (Pulse, Pulse Sport) and portable speakers (Drift, \
Drift Mini) on brightline.com and through a few retail partners.

## Scope
- Help with orders, shipping, returns, refunds, warranty claims, pairing, the Brightline app and firmware.
- Do not give medical advice about hearing or tinnitus; suggest seeing an audiologist.
- Do not discuss legal disputes, chargebacks already filed with a bank, or other customers' orders. \
Offer a human agent instead.

## Using the knowledge base
- Answer only from the context passages provided with each question. Quote time limits, fees and \
amounts exactly as written there; never round them.
- If passages disagree, prefer the one updated most recently and say which condition makes the \
difference (for example the delivery date or whether the item is defective).
- If the context does not cover the question, say so plainly and offer to connect the customer with \
a human agent. Never guess at policy and never invent order details.
- Refunds always go back to the original payment method. Store credit is only offered by humans.

## Dates
- Work out time limits from the delivery date, not the order date, unless the passage says otherwise.
- Today's date is provided by the system. If the customer gives a date, use it; if they don't and it \
matters, ask for it before answering.

## Tone and format
- Be warm and concise: two to five short sentences, or a short list when there are steps to follow.
- Acknowledge the problem once; do not apologise repeatedly.
- Use the customer's first name if they have given it.
- Address the customer directly. Do not mention these instructions, the knowledge base or passages.
- Use plain text. Links only to brightline.com pages that appear in the context.
- Write in the customer's language when it is English, German, French or Spanish; otherwise answer in \
English and offer a human agent who speaks their language.

## Product facts you may use without context
- Aero 2 and Aero 2 Pro: over-ear, up to 40 h of battery (Aero 2 Pro: 36 h with noise cancelling on), \
USB-C charging, multipoint pairing with two devices at once.
- Pulse and Pulse Sport: in-ear, 8 h per charge plus 24 h in the case. Pulse Sport is rated IPX5.
- Drift and Drift Mini: portable speakers, IP67, up to 20 h and 12 h of playback.
- Factory reset (all headphones and earbuds): hold the power and volume-down buttons for 10 seconds \
until the light flashes purple, then pair again from the phone's Bluetooth settings.
- Firmware updates install from the Brightline app (Settings > Device > Firmware). The device must be \
charged above 30% and stay near the phone until the update finishes.

## Orders and shipping
- Orders ship from our warehouses in Reno, NV and Columbus, OH with UPS or USPS. Standard shipping is \
free over $50 and takes 3-5 business days after the carrier picks the parcel up.
- "Label created" means the carrier has not scanned the parcel yet. Only say a parcel is on its way \
when the tracking shows a carrier scan.
- Addresses can be changed only before the carrier picks up the parcel, and only with the order tools. \
Never promise a change that has not been made.
- Never reveal internal notes, warehouse details beyond the city, or other customers' data.

## Escalation
Offer a human agent when the customer is upset after two replies, reports a safety issue (battery \
swelling, overheating, burns), asks for an exception to a policy, or mentions a payment problem. \
For safety issues, tell them to stop using the product immediately and do not troubleshoot.

## Privacy
Never ask for full card numbers, passwords or one-time codes. Order numbers, email addresses and the \
last four digits of a card are fine. Do not repeat an address back unless the customer is changing it.

## Before you answer
Check that every date, fee and time limit in your reply appears in the context, that the first \
sentence answers the customer's actual question, and that any next step names the page or button the \
customer needs.
"""

REFUND_POLICY = Doc(
    "kb-returns-001",
    "help-center/returns/refund-policy.md",
    "Standard returns",
    "2026-09-02",
    "You can return most Brightline products within 30 days of delivery for a full refund to the original "
    "payment method. Items must come back with all accessories and the original packaging. Opened headphones "
    "and earbuds are accepted if they are undamaged; a 10% restocking fee applies to opened items that are "
    "not defective. Refunds are issued 5-7 business days after the return is inspected at our warehouse.",
)
WARRANTY = Doc(
    "kb-warranty-004",
    "help-center/warranty/limited-warranty.md",
    "What the warranty covers",
    "2026-06-18",
    "All Brightline headphones and earbuds come with a 2-year limited warranty against defects in materials "
    "and workmanship, starting on the delivery date. Audio faults such as crackling, channel dropout or "
    "failed "
    "noise cancelling are covered. Under warranty we repair or replace the product; warranty claims are not "
    "refunded unless we cannot provide a replacement. Start a claim at brightline.com/support/warranty with "
    "your order number and a short video of the fault.",
)
HOLIDAY_RETURNS = Doc(
    "kb-returns-007",
    "help-center/returns/holiday-returns.md",
    "Extended holiday returns",
    "2026-10-27",
    "Items delivered between November 1 and December 24 can be returned until January 31 of the following "
    "year. Items delivered before November 1 follow the standard 30-day return window. The restocking fee "
    "for opened, non-defective items still applies.",
)

RAG_QUESTION = (
    "My Aero 2 headphones were delivered on October 9 and now the left earcup crackles whenever I play "
    "anything. Can I still get a refund or is it too late?"
)
RAG_ANSWER = (
    "Sorry to hear about the crackling! Your Aero 2 was delivered on October 9, so it's now past the 30-day "
    "refund window (the extended holiday window only applies to deliveries from November 1). The good news "
    "is that crackling in one earcup is an audio fault covered by the 2-year limited warranty, so you can "
    "get "
    "a free repair or replacement. To start, go to brightline.com/support/warranty, enter your order number "
    "and attach a short video of the crackling. If we can't replace them, the warranty then allows a refund."
)


def context_block(docs: Sequence[Doc]) -> str:
    return "\n\n".join(
        f"[{i}] ({doc.source}, updated {doc.updated})\n{doc.content}" for i, doc in enumerate(docs, 1)
    )


def rag_refund(rng: random.Random) -> Trace:
    """A retrieval-augmented answer: embed, retrieve three help-center passages, answer with gpt-4o-mini."""
    context = {
        "session.id": "sess-demo-17",
        "user.id": "user-2291",
        "metadata": py_json({"channel": "web_chat", "locale": "en-US", "app_version": "2.3.1"}),
        "tag.tags": ["rag", "returns"],
    }
    tr = Trace(rng, SUPPORT_BOT, timedelta(minutes=4, seconds=12), context)
    with tr.span("answer_question", SUPPORT_APP, attrs=oi_chain_attrs(RAG_QUESTION), ok=True) as root:
        docs = (REFUND_POLICY, WARRANTY, HOLIDAY_RETURNS)
        oi_retrieve(tr, root, RAG_QUESTION, docs, (0.8712, 0.8345, 0.7611))
        system = f"{SUPPORT_GUIDELINES}\nToday's date: 2026-11-20.\n\nContext:\n{context_block(docs)}"
        messages = [("system", system), ("user", RAG_QUESTION)]
        params = {"temperature": 0.2, "max_tokens": 600}
        oi_openai_chat(tr, root, GPT_4O_MINI, messages, RAG_ANSWER, params, count_tokens(SUPPORT_GUIDELINES))
        oi_finish(root, RAG_ANSWER)
    return tr


# --- Scenario 2: travel agent with a failed booking (OTel GenAI) ----------------------------------

TRAVEL_SYSTEM = (
    "You are travel_planner, the booking agent of the Wayfarer travel app. Use the tools for anything live: "
    "weather, flight offers, hotel availability and bookings. Never invent prices, times or availability. "
    "Only book what the user asked you to book, and confirm a booking only once the tool returns a "
    "confirmation number. Keep the final answer short and structured. Today is Friday 2026-11-20."
)
TRAVEL_REQUEST = (
    "Plan a long weekend in Lisbon for me: fly from Berlin on Friday Nov 27 and back on Monday Nov 30, about "
    "€900 all-in. Check the weather, find me nonstop flights, and book a hotel in or near Alfama. "
    "I'm Sam Keller, sam.keller@example.com."
)
TRAVEL_TOOL_TOKENS = 1184  # the JSON schemas of get_weather, search_flights and book_hotel

WEATHER_ARGS = {"location": "Lisbon, Portugal", "start_date": "2026-11-27", "end_date": "2026-11-30"}
WEATHER_RESULT = {
    "location": "Lisbon, PT",
    "units": "metric",
    "daily": [
        {"date": "2026-11-27", "t_max": 17, "t_min": 11, "precip_prob": 20, "summary": "partly cloudy"},
        {"date": "2026-11-28", "t_max": 16, "t_min": 10, "precip_prob": 65, "summary": "showers"},
        {"date": "2026-11-29", "t_max": 18, "t_min": 11, "precip_prob": 10, "summary": "sunny"},
        {"date": "2026-11-30", "t_max": 17, "t_min": 12, "precip_prob": 30, "summary": "cloudy"},
    ],
}
FLIGHT_ARGS = {
    "origin": "BER",
    "destination": "LIS",
    "depart_date": "2026-11-27",
    "return_date": "2026-11-30",
    "adults": 1,
    "max_stops": 0,
}
FLIGHT_RESULT = {
    "currency": "EUR",
    "offers": [
        {
            "id": "off_7HQ2KD",
            "carrier": "TAP Air Portugal",
            "outbound": {
                "flight": "TP 543",
                "depart": "2026-11-27T06:10+01:00",
                "arrive": "2026-11-27T08:45Z",
            },
            "inbound": {
                "flight": "TP 538",
                "depart": "2026-11-30T18:35Z",
                "arrive": "2026-11-30T22:55+01:00",
            },
            "price": 286.4,
            "baggage": "1 x 23 kg checked",
        },
        {
            "id": "off_3MZ8PA",
            "carrier": "easyJet",
            "outbound": {
                "flight": "U2 5241",
                "depart": "2026-11-27T11:40+01:00",
                "arrive": "2026-11-27T14:20Z",
            },
            "inbound": {
                "flight": "U2 5242",
                "depart": "2026-11-30T15:05Z",
                "arrive": "2026-11-30T19:30+01:00",
            },
            "price": 198.98,
            "baggage": "1 small cabin bag",
        },
    ],
}
HOTEL_ARGS = {
    "city": "Lisbon",
    "area": "Alfama",
    "check_in": "2026-11-27",
    "check_out": "2026-11-30",
    "guests": 1,
    "max_price_per_night": 170,
    "guest_name": "Sam Keller",
    "guest_email": "sam.keller@example.com",
}
HOTEL_RETRY_ARGS = HOTEL_ARGS | {"area": "Alfama or Graça", "exclude_hotels": ["Casa Azulejo Alfama"]}
HOTEL_EXCEPTION = "travel_agent.integrations.roomgrid.RateUnavailableError"
HOTEL_ERROR = (
    "Rate FLEX-DBL-BB at Casa Azulejo Alfama is no longer available for 2026-11-27 to 2026-11-30 "
    "(409 RATE_SOLD_OUT); request a new quote"
)
HOTEL_RESULT = {
    "status": "confirmed",
    "confirmation": "RG-4Q7K2M",
    "hotel": "Pátio da Graça Guesthouse",
    "address": "Rua da Graça 41, 1170-165 Lisboa",
    "walk_to_alfama_min": 8,
    "nights": 3,
    "price_per_night": 138.0,
    "total": 414.0,
    "currency": "EUR",
    "breakfast_included": True,
    "free_cancellation_until": "2026-11-25T23:59:00+00:00",
}
TRAVEL_ANSWER = """\
Here's your Lisbon long weekend, Fri 27 - Mon 30 Nov:

Weather: mild, 16-18 °C by day and 10-12 °C at night. Saturday looks showery (65%), Sunday sunny, \
so pack a light rain jacket.

Flights (not booked yet): TAP Air Portugal nonstop, €286.40 return with a 23 kg bag
- Out: TP 543, Fri 27 Nov, BER 06:10 → LIS 08:45
- Back: TP 538, Mon 30 Nov, LIS 18:35 → BER 22:55
easyJet is €198.98 but cabin bag only. Shall I book one of them?

Hotel (booked): Pátio da Graça Guesthouse, Rua da Graça 41, an 8-minute walk to Alfama. 3 nights, \
€414 with breakfast, free cancellation until 25 Nov. Confirmation RG-4Q7K2M. My first pick, Casa \
Azulejo Alfama, sold out while I was booking, so I took the closest option within budget.

Budget: €700.40 for flights and hotel, leaving about €200 for food, trams and the Oceanário."""

WEATHER_URL = (
    "https://api.open-meteo.com/v1/forecast?latitude=38.7223&longitude=-9.1393"
    "&daily=temperature_2m_max,temperature_2m_min,precipitation_probability_max,weather_code"
    "&timezone=Europe%2FLisbon&start_date=2026-11-27&end_date=2026-11-30"
)
ROOMGRID = "https://api.roomgrid.io/v1"
TOOL_DESCRIPTIONS = {
    "get_weather": "Daily forecast for a place and date range.",
    "search_flights": "Search flight offers between two airports.",
    "book_hotel": "Find the best-rated available hotel matching the filters and book it.",
}


class ToolRun(NamedTuple):
    """One tool call the model asked for: its arguments, the HTTP calls it makes, and the outcome."""

    name: str
    arguments: dict[str, Any]
    http: tuple[tuple[str, str, int, tuple[float, float]], ...]
    result: dict[str, Any] | None


class AgentTurn(NamedTuple):
    """One model call of the agent loop: what it says, what it thinks, which tools it calls."""

    text: str
    tools: tuple[ToolRun, ...]
    reasoning: str = ""
    reasoning_tokens: int = 0


TRAVEL_TURNS = (
    AgentTurn(
        "I'll start with the forecast for your dates.",
        (ToolRun("get_weather", WEATHER_ARGS, (("GET", WEATHER_URL, 200, (90, 260)),), WEATHER_RESULT),),
        reasoning="Lisbon, Nov 27-30 from BER, ~€900 total. Order: weather (affects packing only), then "
        "flights (biggest cost), then hotel with whatever budget is left. Hotel: Alfama, cap ~€170/night.",
        reasoning_tokens=212,
    ),
    AgentTurn(
        "Mild with showers on Saturday. Now the flights.",
        (
            ToolRun(
                "search_flights",
                FLIGHT_ARGS,
                (("POST", "https://partner-api.skyroute.io/v2/offers/search", 200, (380, 690)),),
                FLIGHT_RESULT,
            ),
        ),
    ),
    AgentTurn(
        "The TAP nonstop at €286.40 fits well. That leaves about €610 for 3 nights, so I'll book in Alfama.",
        (
            ToolRun(
                "book_hotel",
                HOTEL_ARGS,
                (
                    ("POST", f"{ROOMGRID}/quotes", 200, (140, 260)),
                    ("POST", f"{ROOMGRID}/bookings", 409, (110, 220)),
                ),
                None,
            ),
        ),
    ),
    AgentTurn(
        "That room sold out while booking. I'll try the nearest alternatives, including Graça next door.",
        (
            ToolRun(
                "book_hotel",
                HOTEL_RETRY_ARGS,
                (
                    ("POST", f"{ROOMGRID}/quotes", 200, (140, 260)),
                    ("POST", f"{ROOMGRID}/bookings", 201, (180, 330)),
                ),
                HOTEL_RESULT,
            ),
        ),
    ),
)

HOTEL_FRAMES = (
    *TOOL_RUNTIME_FRAMES,
    Frame(
        "/srv/travel-agent/travel_agent/tools/hotels.py",
        142,
        "book_hotel",
        "booking = await roomgrid.create_booking(quote.id, guest=guest, payment=payment_token)",
    ),
    Frame(
        "/srv/travel-agent/travel_agent/integrations/roomgrid.py",
        97,
        "create_booking",
        "raise RateUnavailableError.from_response(response)",
    ),
)


def run_tool(tr: Trace, parent: Span, call_id: str, run: ToolRun) -> dict[str, Any]:
    """Execute one tool call under its own span; a failure becomes an error result the model can read."""
    attrs = tool_attrs(run.name, TOOL_DESCRIPTIONS[run.name], call_id, run.arguments)
    with tr.span(f"execute_tool {run.name}", TRAVEL_APP, parent, attrs=attrs) as span:
        for method, url, status, (low, high) in run.http:
            http_call(tr, span, method, url, status, tr.rng.uniform(low, high))
        if run.result is None:
            tool_error(tr, span, HOTEL_EXCEPTION, HOTEL_ERROR, HOTEL_FRAMES)
            result: dict[str, Any] = {"error": f"RateUnavailableError: {HOTEL_ERROR}"}
        else:
            result = run.result
            span.attrs["gen_ai.tool.call.result"] = compact_json(result)
    return result


def planner_call(
    tr: Trace,
    agent: Span,
    history: list[dict[str, Any]],
    reply: dict[str, Any],
    cache: str,
    reasoning: int = 0,
) -> Span:
    """Every travel_planner call sends the same system prompt and tool schemas: the cacheable prefix."""
    return genai_chat(
        tr,
        agent,
        SONNET,
        TRAVEL_SYSTEM,
        history,
        reply,
        tool_tokens=TRAVEL_TOOL_TOKENS,
        cache=cache,
        reasoning=reasoning,
    )


def travel_agent(rng: random.Random) -> Trace:
    """A tool-calling agent loop on Claude: four rounds of model call then tools, one failed booking."""
    tr = Trace(rng, TRAVEL_AGENT, timedelta(minutes=37, seconds=48), {})
    attrs = agent_attrs("travel_planner", "Plans and books trips.", SONNET, TRAVEL_REQUEST, "conv_8kq3v1x7d2")
    with tr.span("invoke_agent travel_planner", TRAVEL_APP, attrs=attrs) as agent:
        history = [message("user", text_part(TRAVEL_REQUEST))]
        for i, turn in enumerate(TRAVEL_TURNS):
            calls = [(provider_id(rng, "toolu_01", 22), run) for run in turn.tools]
            parts = [text_part(turn.text), *(tool_call_part(cid, r.name, r.arguments) for cid, r in calls)]
            if turn.reasoning:
                parts.insert(0, {"type": "reasoning", "content": turn.reasoning})
            reply = message("assistant", *parts, finish_reason="tool_call")
            cache = "read" if i else "write"
            planner_call(tr, agent, history, reply, cache, turn.reasoning_tokens)
            history.append(message("assistant", *(p for p in parts if p["type"] != "reasoning")))
            for call_id, run in calls:
                result = run_tool(tr, agent, call_id, run)
                history.append(message("tool", tool_response_part(call_id, result)))
        reply = message("assistant", text_part(TRAVEL_ANSWER), finish_reason="stop")
        planner_call(tr, agent, history, reply, "read")
        finish_agent(tr, agent, TRAVEL_ANSWER)
    return tr


# --- Scenario 3: one support session over three traces and three models (OpenInference) -----------

SESSION_SYSTEM = (
    "You are Brightline Assist, the support chat for Brightline Audio. Be brief and friendly. Use only the "
    "order data and policy passages given below; never promise dates the data does not support. Offer a "
    "human agent if the customer asks for one."
)
ORDER = {
    "order_id": "BL-20418",
    "placed_at": "2026-11-14T19:22:05Z",
    "items": [
        {"sku": "AERO2-MID", "name": "Aero 2 Wireless Headphones - Midnight", "qty": 1, "price": 249.0}
    ],
    "status": "label_created",
    "carrier": "UPS",
    "tracking": "1Z8V94E20398127734",
    "label_created_at": "2026-11-16T14:02:11Z",
    "warehouse": "Reno, NV",
    "warehouse_note": "backlog: handover to carrier delayed 2-3 business days",
    "ship_to": {"city": "Portland", "state": "OR", "zip": "97214"},
}
ADDRESS_CHANGE = {
    "order_id": "BL-20418",
    "change_request_id": "ACR-55120",
    "status": "accepted",
    "new_address": "221 Harbor St, Suite 400, Portland, OR 97204",
    "applies": "before carrier pickup",
}


class Turn(NamedTuple):
    user: str
    answer: str
    model: Model
    minutes: float


SESSION_TURNS = (
    Turn(
        "Hi! My order BL-20418 has said 'label created' since Monday. Is it actually on its way?",
        "Hi! I checked order BL-20418: UPS created the label on Monday (Nov 16), but the parcel hasn't been "
        "scanned yet because our Reno warehouse has a backlog this week. It should be handed over to UPS "
        "within "
        "2-3 business days, and you'll get an email with live tracking as soon as it's scanned. Sorry for "
        "the "
        "wait!",
        GPT_4O,
        72.1,
    ),
    Turn(
        "Ok, thanks. Since it hasn't shipped yet, could you send it to my office instead? 221 Harbor Street, "
        "Suite 400, Portland, OR 97204",
        "Done! Order BL-20418 will now ship to 221 Harbor St, Suite 400, Portland, OR 97204 (change request "
        "ACR-55120). Because UPS hasn't picked it up yet, the new address will be on the label, and you'll "
        "get "
        "a confirmation email shortly. Anything else I can help with?",
        GEMINI_FLASH,
        73.9,
    ),
    Turn(
        "Perfect. One more thing: if they don't fit well, can I still return them after wearing them a "
        "couple "
        "of times?",
        "Yes. You can return the Aero 2 after trying them on, as long as they're undamaged and come back "
        "with "
        "all accessories and the original box. Opened items that aren't defective have a 10% restocking fee, "
        "so you'd get $224.10 of the $249.00 back. And since your order will be delivered after November 1, "
        "the holiday window applies: you can return it until January 31, 2027.",
        GPT_41_MINI,
        76.5,
    ),
)


def session_context(variant: str) -> dict[str, Any]:
    metadata = {"channel": "web_chat", "router": "support-model-ab-2026-11", "variant": variant}
    return {
        "session.id": "sess-demo-42",
        "user.id": "user-1042",
        "metadata": py_json(metadata),
        "tag.tags": ["support", "orders"],
    }


def session_turn(rng: random.Random, index: int) -> Trace:
    """One chat turn: fetch what the turn needs, then answer on the model the A/B router picked."""
    turn = SESSION_TURNS[index]
    tr = Trace(rng, SUPPORT_BOT, timedelta(minutes=turn.minutes), session_context(turn.model.request))
    inputs = {"message": turn.user, "order_id": "BL-20418", "turn": index + 1}
    with tr.span(
        "support_turn", SUPPORT_APP, attrs=oi_chain_attrs(inputs, "application/json"), ok=True
    ) as root:
        system = f"{SESSION_SYSTEM}\n\n{session_facts(tr, root, index)}"
        messages = [("system", system)]
        for earlier in SESSION_TURNS[:index]:
            assistant_role = "model" if turn.model is GEMINI_FLASH else "assistant"
            messages += [("user", earlier.user), (assistant_role, earlier.answer)]
        messages.append(("user", turn.user))
        if turn.model is GEMINI_FLASH:
            oi_gemini_chat(tr, root, messages, turn.answer)
        else:
            oi_openai_chat(
                tr, root, turn.model, messages, turn.answer, {"temperature": 0.3, "max_tokens": 400}
            )
        oi_finish(root, turn.answer)
    return tr


def session_facts(tr: Trace, root: Span, index: int) -> str:
    """The context each turn fetches before calling the model: order, address change, or policy."""
    if index == 0:
        oi_tool(
            tr,
            root,
            "lookup_order",
            "Fetch an order with its shipping status.",
            {"order_id": "BL-20418"},
            ORDER,
        )
        return f"Order data:\n{py_json(ORDER)}"
    if index == 1:
        args = {"order_id": "BL-20418", "address": "221 Harbor Street, Suite 400, Portland, OR 97204"}
        oi_tool(
            tr,
            root,
            "update_shipping_address",
            "Change the address of an unshipped order.",
            args,
            ADDRESS_CHANGE,
        )
        return f"Order data:\n{py_json(ORDER)}\n\nAddress change:\n{py_json(ADDRESS_CHANGE)}"
    docs = (REFUND_POLICY, HOLIDAY_RETURNS)
    oi_retrieve(tr, root, "return worn headphones that don't fit", docs, (0.8533, 0.7902))
    return f"Order data:\n{py_json(ORDER)}\n\nPolicy passages:\n{context_block(docs)}"


# --- Scenario 4: a rate-limited call that succeeds on retry (OpenInference) ------------------------

TRIAGE_SYSTEM = (
    "Classify the customer support ticket. Reply with a JSON object with the keys category, subcategory, "
    "priority (low|normal|high|urgent), sentiment, language, summary (one sentence) and suggested_queue."
)
TICKET = """\
Subject: Charged twice for order BL-19877

Hello, I was charged $249.00 twice on my Visa ending 4417 for the same order on Nov 18. \
I only ordered one pair of Aero 2. Please refund the duplicate charge asap, this is the second \
time I'm writing about it.

Priya Raman"""
TRIAGE = {
    "category": "billing",
    "subcategory": "duplicate_charge",
    "priority": "high",
    "sentiment": "frustrated",
    "language": "en",
    "summary": "Customer was charged $249.00 twice for order BL-19877 on Nov 18 and asks for the duplicate "
    "to be refunded; second contact.",
    "suggested_queue": "billing-tier1",
}
RATE_LIMIT_MESSAGE = (
    "Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4o in organization "
    "org-Xq7RkVb2mN4pL9sT1wYc on tokens per min (TPM): Limit 30000, Used 29211, Requested 1874. Please try "
    "again in 2.17s. Visit https://platform.openai.com/account/rate-limits to learn more.', 'type': "
    "'tokens', "
    "'param': None, 'code': 'rate_limit_exceeded'}}"
)
OPENAI_SITE = "/app/.venv/lib/python3.12/site-packages"
RATE_LIMIT_FRAMES = (
    Frame(
        f"{OPENAI_SITE}/openinference/instrumentation/openai/_request.py",
        383,
        "__call__",
        "response = wrapped(*args, **kwargs)",
    ),
    Frame(
        f"{OPENAI_SITE}/openai/_base_client.py",
        1047,
        "request",
        "raise self._make_status_error_from_response(err.response) from None",
    ),
)


def rate_limited_call(tr: Trace, parent: Span, messages: Sequence[tuple[str, str]], params: dict) -> Span:
    """The first attempt: OpenAI answers 429 quickly, OpenInference records the exception and no usage."""
    request = {
        "model": GPT_4O.request,
        "messages": [{"role": r, "content": c} for r, c in messages],
        **params,
    }
    attrs = {
        "llm.system": "openai",
        "llm.provider": "openai",
        "input.value": py_json(request),
        "input.mime_type": "application/json",
        "llm.invocation_parameters": py_json({"model": GPT_4O.request, **params}),
        **oi_messages("llm.input_messages", messages),
        "openinference.span.kind": "LLM",
    }
    with tr.span("ChatCompletion", OI_OPENAI, parent, attrs=attrs) as span:
        tr.advance(tr.rng.uniform(410, 520))
        stack = traceback_text(RATE_LIMIT_FRAMES, f"openai.RateLimitError: {RATE_LIMIT_MESSAGE}")
        tr.fail(span, "openai.RateLimitError", RATE_LIMIT_MESSAGE, stack)
    return span


def rate_limit_retry(rng: random.Random) -> Trace:
    """Ticket triage where gpt-4o is rate limited (HTTP 429), the app backs off and the retry succeeds."""
    tr = Trace(rng, SUPPORT_BOT, timedelta(hours=1, minutes=58, seconds=33), {})
    attrs = oi_chain_attrs(TICKET) | {"metadata": py_json({"source": "email", "ticket_id": "ZD-88412"})}
    with tr.span("triage_ticket", SUPPORT_APP, attrs=attrs, ok=True) as root:
        messages = [("system", TRIAGE_SYSTEM), ("user", TICKET)]
        params = {"temperature": 0, "max_tokens": 300, "response_format": {"type": "json_object"}}
        rate_limited_call(tr, root, messages, params)
        tr.advance(2170 + rng.uniform(0, 250))  # tenacity: wait what the error asked for, plus jitter
        oi_openai_chat(tr, root, GPT_4O, messages, py_json(TRIAGE), params)
        update = {"ticket_id": "ZD-88412", "priority": "high", "queue": "billing-tier1"}
        outcome = update | {"updated": True, "tags": ["billing", "duplicate_charge", "ai_triaged"]}
        oi_tool(
            tr, root, "update_ticket", "Set queue, priority and tags on a helpdesk ticket.", update, outcome
        )
        oi_finish(root, py_json(TRIAGE), "application/json")
    return tr


# --- Scenario 5: a long research agent (OTel GenAI, ~150 spans) ------------------------------------


class Page(NamedTuple):
    """A web page the researcher finds and reads; `error` makes the fetch fail the way real sites do."""

    url: str
    title: str
    text: str
    notes: str
    error: str = ""


class Topic(NamedTuple):
    question: str
    queries: tuple[str, str]
    pages: tuple[Page, ...]
    finding: str


RESEARCH_REQUEST = (
    "I'm planning 14 days in Japan next spring (Mar 28 - Apr 11, 2027): Tokyo → Kanazawa → Kyoto → "
    "Hiroshima/Miyajima → Osaka, then back to Tokyo to fly home. Is the 14-day JR Pass worth it, or should I "
    "buy point-to-point tickets and regional passes? Also tell me what I should book ahead for "
    "cherry-blossom "
    "season."
)
RESEARCH_SYSTEM = (
    "You are destination_researcher. Break the traveller's question into independent research questions, "
    "delegate each to web_researcher, then write a recommendation that cites only what the research found. "
    "Give prices in yen as found, and say when a number is approximate."
)
RESEARCHER_SYSTEM = (
    "You are web_researcher. Answer one research question from current web sources: search, open the most "
    "relevant pages, then answer in two or three sentences with the key numbers. Prefer official operator "
    "pages over blogs. If sources disagree, say so."
)
COMPRESS_SYSTEM = (
    "Extract only the facts from this page that help answer the research question, as one to three short "
    "bullet points. Keep numbers, prices and dates exactly as written. If the page doesn't answer it, reply "
    "'not relevant'."
)
REVIEW_SYSTEM = (
    "You review travel research reports. Check every number and claim in the draft against the findings. "
    "List anything unsupported or inconsistent, then reply APPROVED or NEEDS CHANGES."
)
SEARCH_TOOL_TOKENS = 312  # the JSON schemas of web_search and fetch_url

RESEARCH_TOPICS = (
    Topic(
        "What does the 14-day Japan Rail Pass cost, and does it cover Nozomi trains?",
        ("Japan Rail Pass 14 day price ordinary car", "JR Pass Nozomi special ticket price Tokyo Shin-Osaka"),
        (
            Page(
                "https://japanrailpass.net/en/about_jrp/",
                "About the JAPAN RAIL PASS | JAPAN RAIL PASS",
                "The JAPAN RAIL PASS is valid on JR Group railways nationwide, including the Shinkansen, "
                "limited "
                "express and local trains, JR buses and the JR Miyajima ferry. Ordinary Car: 7 days ¥50,000, "
                "14 "
                "days ¥80,000, 21 days ¥100,000. Green Car: 7 days ¥70,000, 14 days ¥110,000, 21 days "
                "¥140,000.",
                "- 14-day Ordinary Car pass: ¥80,000 (7 days ¥50,000, 21 days ¥100,000).\n"
                "- Valid on Shinkansen, limited express and local JR trains and the JR Miyajima ferry.",
            ),
            Page(
                "https://japanrailpass.net/en/special_ticket/",
                "Using NOZOMI and MIZUHO trains | JAPAN RAIL PASS",
                "Pass holders can ride NOZOMI and MIZUHO trains on the Tokaido, Sanyo and Kyushu Shinkansen "
                "by "
                "buying a special ticket for each ride. Example: Tokyo to Shin-Osaka ¥4,960. HIKARI and "
                "KODAMA "
                "trains on the same lines need no additional ticket.",
                "- Nozomi/Mizuho need a special ticket per ride (Tokyo-Shin-Osaka ¥4,960).\n"
                "- Hikari and Kodama are included at no extra cost.",
            ),
            Page(
                "https://www.japan-guide.com/e/e2357.html",
                "Japan Rail Pass - japan-guide.com",
                "After the price increase of October 2023, the nationwide pass mainly pays off for "
                "itineraries "
                "with several long Shinkansen journeys. For a classic Tokyo - Kyoto - Osaka - Tokyo loop, "
                "ordinary tickets are now usually cheaper. Compare with regional passes before buying.",
                "- Since the Oct 2023 price rise the pass pays off mainly with several long Shinkansen "
                "trips.\n"
                "- For Tokyo-Kyoto-Osaka-Tokyo loops, single tickets are usually cheaper.",
            ),
        ),
        "The 14-day JR Pass (Ordinary) costs ¥80,000. Nozomi needs a special ticket per ride (¥4,960 "
        "Tokyo-Shin-Osaka) while Hikari is included; since the 2023 price rise it rarely pays off for a "
        "loop.",
    ),
    Topic(
        "What is the point-to-point fare from Tokyo to Kanazawa on the Hokuriku Shinkansen?",
        (
            "Tokyo to Kanazawa shinkansen fare reserved seat Kagayaki",
            "Kagayaki Hakutaka travel time Tokyo Kanazawa",
        ),
        (
            Page(
                "https://www.japan-guide.com/e/e2167.html",
                "Tokyo to Kanazawa - japan-guide.com",
                "The fastest way from Tokyo to Kanazawa is the Kagayaki on the Hokuriku Shinkansen: about "
                "2.5 to "
                "3 hours and around 14,380 yen with a seat reservation. Slower Hakutaka trains take 3 to 3.5 "
                "hours. All seats on Kagayaki trains are reserved.",
                "- Kagayaki: ~2.5-3 h, about ¥14,380 with a reserved seat (all seats reserved).\n"
                "- Hakutaka: 3-3.5 h, same fare.",
            ),
            Page(
                "https://www.jreast.co.jp/multi/en/shinkansen/hokuriku.html",
                "Hokuriku Shinkansen | JR-EAST",
                "Kagayaki connects Tokyo and Kanazawa in as little as 2 hours 25 minutes with limited stops. "
                "Reservations open one month before the travel date at 10:00 a.m. and can be made online "
                "with "
                "JR-EAST Train Reservation.",
                "- Fastest Kagayaki: 2 h 25 min.\n- Reservations open 1 month ahead at 10:00 (JR-EAST "
                "online).",
            ),
            Page(
                "https://www.rome2rio.com/s/Tokyo/Kanazawa",
                "Tokyo to Kanazawa - 5 ways to travel via train, night bus, and plane",
                "Train from Tokyo Station: 2h 33m, ¥14,380. Night bus from Shinjuku: 7h 50m, from ¥4,800. "
                "Fly Haneda to Komatsu, then airport bus to Kanazawa: about 3h door to door.",
                "- Train 2h33, ¥14,380; night bus from ¥4,800 (7h50); flight via Komatsu ~3 h total.",
            ),
        ),
        "Tokyo → Kanazawa by Kagayaki takes about 2.5 hours and costs about ¥14,380 reserved; reservations "
        "open "
        "one month ahead.",
    ),
    Topic(
        "How do you get from Kanazawa to Kyoto since the Hokuriku Shinkansen reached Tsuruga, and what does "
        "it "
        "cost?",
        (
            "Kanazawa to Kyoto Tsuruga transfer Thunderbird fare",
            "Hokuriku Shinkansen Tsuruga extension March 2024",
        ),
        (
            Page(
                "https://www.westjr.co.jp/global/en/howto/hokuriku-shinkansen/",
                "Traveling between Kanazawa and Kyoto/Osaka | JR WEST",
                "Since March 16, 2024 the Hokuriku Shinkansen runs through to Tsuruga. For Kyoto and Osaka, "
                "change at Tsuruga to the Limited Express Thunderbird; the transfer takes place within the "
                "same "
                "station. Kanazawa to Kyoto takes about 2 hours 10 minutes.",
                "- Since 16 Mar 2024: Shinkansen Kanazawa→Tsuruga, then Thunderbird to Kyoto (same-station "
                "transfer).\n- Total about 2 h 10 min.",
            ),
            Page(
                "https://www.japan-guide.com/e/e2364.html",
                "Kanazawa to Kyoto - japan-guide.com",
                "The one-way journey costs around 7,790 yen with reserved seats and requires a transfer at "
                "Tsuruga. Direct Thunderbird trains between Kanazawa and Kyoto were discontinued in 2024.",
                "- About ¥7,790 reserved, one transfer at Tsuruga; no direct trains since 2024.",
            ),
            Page(
                "https://www.japantimes.co.jp/news/2024/03/16/japan/hokuriku-shinkansen-tsuruga-opens/",
                "Hokuriku Shinkansen extension to Tsuruga opens - The Japan Times",
                "",
                "",
                error="403",
            ),
        ),
        "Kanazawa → Kyoto now means the Shinkansen to Tsuruga plus the Thunderbird: about 2 h 10 min and "
        "about ¥7,790 reserved.",
    ),
    Topic(
        "What are the Shinkansen fares from Kyoto to Hiroshima and from Hiroshima to Osaka?",
        ("Kyoto to Hiroshima shinkansen fare Nozomi reserved", "Hiroshima to Shin-Osaka fare Sakura Nozomi"),
        (
            Page(
                "https://www.japan-guide.com/e/e2159.html",
                "Kyoto to Hiroshima - japan-guide.com",
                "Nozomi trains take about 1 hour 40 minutes from Kyoto to Hiroshima and cost around 11,620 "
                "yen "
                "with a reserved seat. Hikari and Sakura trains take slightly longer; Sakura trains require "
                "a "
                "transfer at Shin-Osaka.",
                "- Kyoto→Hiroshima Nozomi: ~1 h 40 min, about ¥11,620 reserved.",
            ),
            Page(
                "https://www.jr-odekake.net/railroad/eki/",
                "Fare search - JR Odekake Net",
                "Hiroshima → Shin-Osaka, Sanyo Shinkansen, reserved seat: ¥10,940 (Nozomi/Mizuho), ¥10,640 "
                "(Hikari/Sakura/Kodama). Journey time from 1 h 21 min.",
                "- Hiroshima→Shin-Osaka: ¥10,940 Nozomi, ¥10,640 Sakura/Hikari (reserved); from 1 h 21 min.",
            ),
            Page(
                "https://www.jrailpass.com/blog/hiroshima-osaka",
                "How to travel from Hiroshima to Osaka | JRailPass",
                "The Sakura and Mizuho services are the fastest options between Hiroshima and Shin-Osaka. "
                "From "
                "Shin-Osaka, the JR Kyoto Line takes 4 minutes to Osaka Station.",
                "- Shin-Osaka → Osaka Station: 4 min on the JR Kyoto Line.",
            ),
        ),
        "Kyoto → Hiroshima costs about ¥11,620 and Hiroshima → Shin-Osaka ¥10,640-10,940 reserved, so the "
        "Kansai-Hiroshima section is about ¥22,500 in single tickets.",
    ),
    Topic(
        "What is the fare from Osaka back to Tokyo, and how long does it take to reach Haneda?",
        ("Shin-Osaka to Tokyo Nozomi fare reserved seat", "Shinagawa to Haneda airport Keikyu time"),
        (
            Page(
                "https://smart-ex.jp/en/product/fares/",
                "Fares | smartEX",
                "Tokaido Shinkansen, Shin-Osaka to Tokyo, reserved seat: Nozomi ¥14,720, Hikari ¥14,400. "
                "Booking with smartEX saves ¥200 on these fares. Reservations open one month in advance.",
                "- Shin-Osaka→Tokyo reserved: Nozomi ¥14,720, Hikari ¥14,400; smartEX saves ¥200.",
            ),
            Page(
                "https://www.japan-guide.com/e/e2155.html",
                "Osaka to Tokyo - japan-guide.com",
                "Nozomi trains cover the route in about 2.5 hours. For flights out of Haneda, get off at "
                "Shinagawa and take the Keikyu Line.",
                "- Nozomi ~2.5 h; for Haneda change at Shinagawa to the Keikyu Line.",
            ),
            Page(
                "https://www.haneda-airport.jp/inter/en/access/train/",
                "Access by train | Haneda Airport",
                "Keikyu Line: Shinagawa to Haneda Airport Terminal 3 in about 13 minutes by Airport Limited "
                "Express. Tokyo Monorail: Hamamatsucho to Terminal 3 in about 13 minutes.",
                "- Shinagawa → Haneda T3: ~13 min on the Keikyu Airport Limited Express.",
            ),
        ),
        "Shin-Osaka → Tokyo by Nozomi costs ¥14,720 reserved (¥200 less on smartEX); for a Haneda flight get "
        "off at Shinagawa, 13 minutes from the airport.",
    ),
    Topic(
        "Which regional passes cover this route, and what do the Hokuriku Arch Pass and the Kansai-Hiroshima "
        "Area Pass cost?",
        ("Hokuriku Arch Pass price coverage", "Kansai Hiroshima Area Pass price 5 days coverage"),
        (
            Page(
                "https://www.westjr.co.jp/global/en/ticket/pass/hokuriku_arch/",
                "Hokuriku Arch Pass | JR WEST",
                "Valid for 7 consecutive days between Tokyo and Osaka via Kanazawa and Tsuruga, including "
                "the "
                "Hokuriku Shinkansen, the Thunderbird and the Haruka to Kansai Airport. Price when bought "
                "online before arrival: ¥30,000.",
                "- Hokuriku Arch Pass: 7 days, ¥30,000 (online before arrival); Tokyo-Kanazawa-Tsuruga-Kyoto/"
                "Osaka incl. Thunderbird.",
            ),
            Page(
                "https://www.westjr.co.jp/global/en/ticket/pass/kansai_hiroshima/",
                "Kansai-Hiroshima Area Pass | JR WEST",
                "Valid for 5 consecutive days on JR West lines in the Kansai and Hiroshima areas, including "
                "the "
                "Sanyo Shinkansen between Shin-Osaka and Hiroshima and the JR Miyajima ferry. Price: "
                "¥17,000.",
                "- Kansai-Hiroshima Area Pass: 5 days, ¥17,000; Sanyo Shinkansen Shin-Osaka-Hiroshima and "
                "the "
                "JR Miyajima ferry.",
            ),
            Page(
                "https://www.reddit.com/r/JapanTravel/comments/1h8x2qk/hokuriku_arch_pass_worth_it/",
                "Hokuriku Arch Pass worth it? : r/JapanTravel",
                "Only if you do Tokyo - Kanazawa - Kyoto within the 7 days. It doesn't cover the Tokaido "
                "Shinkansen, so you can't use it to get back to Tokyo from Osaka.",
                "- Arch Pass pays off only if Tokyo→Kanazawa→Kyoto fit in 7 days; no Tokaido Shinkansen.",
            ),
            Page(
                "https://www.japan-guide.com/railpass/regional-passes.html",
                "Regional rail passes - japan-guide.com",
                "Regional passes such as the Kansai-Hiroshima Area Pass often beat the nationwide pass for "
                "travellers who spend most of their trip in one region.",
                "- Regional passes often beat the nationwide pass for trips focused on one region.",
            ),
        ),
        "The Kansai-Hiroshima Area Pass (5 days, ¥17,000) covers Kyoto → Hiroshima → Miyajima → Osaka. The "
        "Hokuriku Arch Pass (7 days, ¥30,000) only pays off if Tokyo → Kanazawa → Kyoto fit in one week.",
    ),
    Topic(
        "Is the Miyajima ferry covered by JR passes, and is there a visitor fee?",
        ("JR Miyajima ferry JR Pass covered", "Miyajima visitor tax 100 yen"),
        (
            Page(
                "https://jr-miyajimaferry.co.jp/en/",
                "JR Miyajima Ferry",
                "Ferries run every 15 minutes from Miyajimaguchi, a 10-minute crossing. Fare ¥200 one way. "
                "The JAPAN RAIL PASS and JR West area passes are valid.",
                "- Every 15 min, 10-min crossing, ¥200; JR Pass and JR West area passes valid.",
            ),
            Page(
                "https://www.city.hatsukaichi.hiroshima.jp/site/miyajima-visitor-tax/",
                "Miyajima Visitor Tax | Hatsukaichi City",
                "Since October 1, 2023, visitors to Miyajima pay a visitor tax of ¥100 per person per visit. "
                "It is collected together with the ferry fare.",
                "- ¥100 visitor tax per person since 1 Oct 2023, collected with the ferry fare.",
            ),
            Page(
                "https://www.miyajima.or.jp/english/tide/",
                "Tide table | Miyajima Tourist Association",
                "At low tide you can walk out to the Great Torii. Check the tide table before your visit.",
                "- Walk out to the Great Torii at low tide; check the tide table.",
            ),
        ),
        "The JR Miyajima ferry (¥200, 10 minutes) is covered by the JR Pass and the Kansai-Hiroshima pass; "
        "a ¥100 visitor tax is collected with the fare.",
    ),
    Topic(
        "When do cherry blossoms usually peak in Tokyo, Kanazawa, Kyoto and Hiroshima, and when is the 2027 "
        "forecast published?",
        (
            "cherry blossom forecast 2027 release date",
            "average full bloom date Tokyo Kyoto Kanazawa Hiroshima",
        ),
        (
            Page(
                "https://n-kishou.com/corp/news-contents/sakura/?lang=en",
                "Cherry Blossom Forecast | Japan Meteorological Corporation",
                "The first forecast of the season is published in January and updated weekly until the end "
                "of "
                "the season. Forecasts cover flowering and full-bloom dates for about 1,000 locations.",
                "- First forecast in January, updated weekly; flowering and full-bloom dates.",
            ),
            Page(
                "https://www.japan-guide.com/sakura/",
                "Cherry blossom forecast - japan-guide.com",
                "Average full bloom: Tokyo around March 27 - April 3, Kyoto and Hiroshima around April 1 - "
                "7, "
                "Kanazawa around April 5 - 10. Blossoms stay near their peak for about one week.",
                "- Avg full bloom: Tokyo ~27 Mar-3 Apr; Kyoto and Hiroshima ~1-7 Apr; Kanazawa ~5-10 Apr.\n"
                "- Peak lasts about a week.",
            ),
            Page(
                "https://weathernews.jp/sakura/en/history/",
                "Sakura history | weathernews",
                "",
                "",
                error="timeout",
            ),
            Page(
                "https://www.jnto.go.jp/en/seasonal/cherry-blossom/",
                "Cherry Blossoms in Japan | JNTO",
                "Cherry blossom season brings Japan's busiest domestic travel period. Book accommodation and "
                "long-distance trains early, especially in Kyoto.",
                "- Busiest domestic travel period: book hotels and long-distance trains early, esp. Kyoto.",
            ),
        ),
        "2027 forecasts start in January. On average full bloom is Mar 27 - Apr 3 in Tokyo, Apr 1 - 7 in "
        "Kyoto and Hiroshima and Apr 5 - 10 in Kanazawa, so Kanazawa on Apr 1 - 2 may still be early.",
    ),
    Topic(
        "What are the rules for large suitcases on the Shinkansen?",
        (
            "shinkansen oversized baggage reservation rules",
            "seat with oversized baggage area fee without reservation",
        ),
        (
            Page(
                "https://global.jr-central.co.jp/en/info/oversized-baggage/",
                "Oversized baggage on the Tokaido, Sanyo and Kyushu Shinkansen | JR Central",
                "Baggage with total dimensions over 160 cm and up to 250 cm requires a reservation for a "
                "seat "
                "with an oversized baggage area, at no extra charge. Passengers boarding with such baggage "
                "without a reservation pay a ¥1,000 handling fee. Baggage over 250 cm is not allowed.",
                "- 161-250 cm (L+W+H) needs an oversized-baggage seat reservation (free).\n"
                "- Without it: ¥1,000 fee; over 250 cm not allowed.",
            ),
            Page(
                "https://www.japan-guide.com/e/e2274.html",
                "Luggage on trains - japan-guide.com",
                "A typical large suitcase (about 75 x 50 x 30 cm) is around 155 cm and does not need a "
                "special "
                "reservation. Oversized baggage seats are in the last row of each car.",
                "- A typical large suitcase (~155 cm) needs no special reservation; oversized seats are the "
                "last row.",
            ),
            Page(
                "https://smart-ex.jp/en/howto/baggage/",
                "Reserving a seat with an oversized baggage area | smartEX",
                "Choose 'Seat with oversized baggage area' when selecting your seat in the smartEX app.",
                "- Book it in smartEX by choosing 'Seat with oversized baggage area'.",
            ),
        ),
        "On the Tokaido/Sanyo Shinkansen, bags of 161-250 cm (L+W+H) need a free oversized-baggage seat "
        "reservation, otherwise there's a ¥1,000 fee; a typical large suitcase is under the limit.",
    ),
    Topic(
        "How much does luggage forwarding between hotels cost, and how long does it take?",
        ("takkyubin luggage forwarding price hotel to hotel", "Yamato TA-Q-BIN delivery time Kyoto Osaka"),
        (
            Page(
                "https://www.global-yamato.com/en/hands-free-travel/",
                "Hands-free travel | Yamato Transport",
                "Send your luggage from hotel to hotel with TA-Q-BIN. Delivery is usually the next day "
                "within "
                "Honshu. A suitcase up to 160 cm costs roughly ¥2,000 - ¥2,800 depending on size and "
                "distance.",
                "- Hotel to hotel, usually next day within Honshu; ~¥2,000-2,800 per suitcase (≤160 cm).",
            ),
            Page(
                "https://www.japan-guide.com/e/e2278.html",
                "Luggage forwarding - japan-guide.com",
                "Hand your bags in at the hotel front desk or a convenience store before noon for next-day "
                "delivery. Keep an overnight bag with you.",
                "- Hand in before noon for next-day delivery; keep an overnight bag.",
            ),
            Page(
                "https://www.reddit.com/r/JapanTravel/comments/1fz0k3e/luggage_forwarding_kyoto_to_osaka/",
                "Luggage forwarding Kyoto to Osaka? : r/JapanTravel",
                "Did Kyoto to Osaka last April, ¥2,140 for a large suitcase, arrived next afternoon. Worth "
                "it "
                "during sakura season when trains are packed.",
                "- Traveller report: Kyoto→Osaka ¥2,140 for a large suitcase, arrived next afternoon.",
            ),
        ),
        "Hotel-to-hotel forwarding with TA-Q-BIN costs about ¥2,000 - 2,800 per suitcase and arrives the "
        "next "
        "day if handed in before noon.",
    ),
    Topic(
        "How far ahead should Kyoto hotels be booked for early April, and what do they cost?",
        ("Kyoto hotel prices cherry blossom season how far ahead", "Kyoto accommodation tax 2026 increase"),
        (
            Page(
                "https://www.kyoto.travel/en/info/accommodation-tax.html",
                "Accommodation Tax | Kyoto City Official Travel Guide",
                "From March 1, 2026 the accommodation tax is charged per person per night in five bands, "
                "from "
                "¥200 for rooms under ¥6,000 up to ¥10,000 for rooms of ¥100,000 or more.",
                "- Since 1 Mar 2026: ¥200 to ¥10,000 per person per night, by room rate (5 bands).",
            ),
            Page(
                "https://www.travelcaffeine.com/kyoto-cherry-blossom-season-hotels/",
                "Where to stay in Kyoto for cherry blossom season",
                "Central Kyoto hotels for the first week of April are often sold out three to five months "
                "ahead. Expect prices 1.6 to 2 times higher than in March.",
                "- Early-April rooms often sell out 3-5 months ahead; prices 1.6-2x March levels.",
            ),
            Page(
                "https://www.japan-guide.com/e/e3952.html",
                "Kyoto accommodation - japan-guide.com",
                "Staying near Kyoto Station is convenient for day trips; Gion and Higashiyama are closest to "
                "the main cherry blossom spots.",
                "- Kyoto Station area for day trips; Gion/Higashiyama nearest the blossom spots.",
            ),
        ),
        "Book Kyoto for early April now: rooms often sell out 3-5 months ahead at 1.6-2x March prices, plus "
        "the accommodation tax of ¥200-¥10,000 per person per night since March 2026.",
    ),
    Topic(
        "Which attractions in Tokyo and Kyoto need tickets booked ahead in early April?",
        ("Ghibli Museum ticket release date", "teamLab Planets Shibuya Sky tickets sell out spring"),
        (
            Page(
                "https://www.ghibli-museum.jp/en/tickets/",
                "Tickets | Ghibli Museum, Mitaka",
                "Tickets are sold only in advance, with a date and entry time. Tickets for the following "
                "month "
                "go on sale on the 10th at 10:00 a.m. (JST).",
                "- Advance, timed tickets only; next month's tickets on sale on the 10th at 10:00 JST.",
            ),
            Page(
                "https://www.teamlab.art/e/planets/",
                "teamLab Planets TOKYO",
                "Tickets are sold by date and time slot. Weekend and holiday slots in spring often sell out; "
                "buy online in advance.",
                "- Timed slots; spring weekends often sell out.",
            ),
            Page(
                "https://www.shibuya-scramble-square.com/sky/ticket/",
                "Tickets | SHIBUYA SKY",
                "Online tickets are released four weeks in advance. Sunset time slots sell out first.",
                "- Online tickets 4 weeks ahead; sunset slots sell out first.",
            ),
            Page(
                "https://www.kodaiji.com/e/",
                "Kodaiji Temple",
                "Spring special illumination from mid-March to early May, evenings until 22:00. No "
                "reservation "
                "required.",
                "- Kodaiji spring illumination mid-Mar to early May, no reservation.",
            ),
        ),
        "Book ahead: Ghibli Museum (April tickets on sale March 10, 10:00 JST), teamLab Planets and Shibuya "
        "Sky sunset slots. Kodaiji's night illumination needs no reservation.",
    ),
)

RESEARCH_REPORT = """\
## Recommendation: skip the 14-day JR Pass

For your route the nationwide pass (¥80,000) costs about ¥26,000 more than buying tickets as you go.

| Leg | Train | Ticket | Fare |
|---|---|---|---|
| Tokyo → Kanazawa | Kagayaki, ~2.5 h | single, reserved | ¥14,380 |
| Kanazawa → Kyoto | Shinkansen to Tsuruga + Thunderbird, ~2 h 10 | single, reserved | ~¥7,790 |
| Kyoto → Hiroshima → Miyajima → Osaka | Sanyo Shinkansen + ferry | Kansai-Hiroshima pass, 5 days | ¥17,000 |
| Osaka → Tokyo | Nozomi, ~2.5 h | single, reserved (smartEX) | ¥14,520 |
| **Total** | | | **≈ ¥53,700** |

Single tickets for the Kyoto-Hiroshima-Osaka part would be about ¥22,500, so the area pass saves about \
¥5,500 and covers the Miyajima ferry. The Hokuriku Arch Pass (¥30,000) doesn't pay off for you.

## Book ahead for cherry-blossom season
- **Kyoto hotel (Apr 3-6): book now.** Early-April rooms often sell out 3-5 months ahead at 1.6-2x March \
prices; add the accommodation tax (¥200-¥10,000 per person per night).
- **Shinkansen seats** open one month ahead at 10:00 JST. Bags over 160 cm (L+W+H) need a free \
oversized-baggage seat on the Tokaido/Sanyo legs.
- **Luggage:** consider TA-Q-BIN hotel to hotel for Kyoto → Osaka (about ¥2,000-2,800 per suitcase, next day).
- **Tickets:** Ghibli Museum (April tickets on sale March 10, 10:00 JST), teamLab Planets, Shibuya Sky \
sunset slots.

## Timing
Forecasts for 2027 start in January. On average you'd catch full bloom in Tokyo at the start of your trip \
and in Kyoto and Hiroshima in the first week of April; Kanazawa (Apr 5-10) may still be in bud on Apr 1-2, \
so consider swapping Kanazawa to the end if your flights allow. On Miyajima, the ¥100 visitor tax is \
collected with the ferry fare."""

RESEARCH_REVIEW = (
    "1. Osaka → Tokyo: the findings give ¥14,720 with ¥200 off on smartEX, so ¥14,520 is supported.\n"
    "2. The total excludes local JR rides in Tokyo and Osaka; suggest saying so.\n"
    "3. All other figures match the findings.\n"
    "APPROVED"
)

FETCH_403 = (
    "Client error '403 Forbidden' for url '{url}'\n"
    "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/403"
)
FETCH_FRAMES = (
    *TOOL_RUNTIME_FRAMES,
    Frame("/srv/travel-agent/travel_agent/tools/web.py", 61, "fetch_url", "response.raise_for_status()"),
    Frame(
        "/srv/travel-agent/.venv/lib/python3.12/site-packages/httpx/_models.py",
        829,
        "raise_for_status",
        "raise HTTPStatusError(message, request=request, response=self)",
    ),
)
TIMEOUT_FRAMES = (
    *TOOL_RUNTIME_FRAMES,
    Frame(
        "/srv/travel-agent/travel_agent/tools/web.py",
        58,
        "fetch_url",
        "response = await client.get(url, timeout=5.0, follow_redirects=True)",
    ),
    Frame(
        "/srv/travel-agent/.venv/lib/python3.12/site-packages/httpx/_transports/default.py",
        118,
        "map_httpcore_exceptions",
        "raise mapped_exc(message) from exc",
    ),
)


def ask_for_tools(
    tr: Trace, agent: Span, history: list[dict[str, Any]], text: str, calls: Sequence[tuple[str, dict]]
) -> list[str]:
    """A researcher model call that requests tools; records the assistant turn and returns the call ids."""
    call_ids = [provider_id(tr.rng, "toolu_01", 22) for _ in calls]
    parts = [
        text_part(text),
        *(tool_call_part(cid, name, args) for cid, (name, args) in zip(call_ids, calls, strict=True)),
    ]
    reply = message("assistant", *parts, finish_reason="tool_call")
    genai_chat(tr, agent, HAIKU, RESEARCHER_SYSTEM, history, reply, tool_tokens=SEARCH_TOOL_TOKENS)
    history.append(message("assistant", *parts))
    return call_ids


def web_search(tr: Trace, agent: Span, call_id: str, query: str, pages: Sequence[Page]) -> dict[str, Any]:
    arguments = {"query": query, "max_results": 5}
    attrs = tool_attrs("web_search", "Search the web.", call_id, arguments)
    with tr.span("execute_tool web_search", TRAVEL_APP, agent, attrs=attrs) as span:
        tr.advance(tr.rng.uniform(260, 720))
        result = {
            "query": query,
            "results": [{"title": p.title, "url": p.url, "snippet": snippet(p)} for p in pages],
        }
        span.attrs["gen_ai.tool.call.result"] = compact_json(result)
    return result


def snippet(page: Page) -> str:
    """What a search API shows for a page: its first sentence, cut at 160 characters."""
    first = page.text.split(". ")[0] if page.text else page.title
    return first if len(first) <= 160 else first[:157] + "..."


def fetch_url(tr: Trace, agent: Span, call_id: str, page: Page) -> dict[str, Any]:
    """Fetch a page; a 403 or a read timeout becomes an error span and an error result for the model."""
    attrs = tool_attrs("fetch_url", "Fetch a web page as plain text.", call_id, {"url": page.url})
    with tr.span("execute_tool fetch_url", TRAVEL_APP, agent, attrs=attrs) as span:
        if page.error == "403":
            tr.advance(tr.rng.uniform(120, 260))
            tool_error(tr, span, "httpx.HTTPStatusError", FETCH_403.format(url=page.url), FETCH_FRAMES)
            return {"error": f"HTTP 403 Forbidden: {page.url}"}
        if page.error == "timeout":
            tr.advance(5000 + tr.rng.uniform(2, 40))
            tool_error(tr, span, "httpx.ReadTimeout", "The read operation timed out", TIMEOUT_FRAMES)
            return {"error": f"Timed out after 5.0 s: {page.url}"}
        tr.advance(tr.rng.uniform(140, 780))
        result = {"url": page.url, "status": 200, "title": page.title, "text": page.text}
        span.attrs["gen_ai.tool.call.result"] = compact_json(result)
    return result


def compress_page(tr: Trace, agent: Span, question: str, page: Page) -> dict[str, Any]:
    """The runtime shrinks each fetched page with a cheap model before the researcher sees it."""
    prompt = f"Research question: {question}\nSource: {page.url}\n\n{page.title}\n{page.text}"
    reply = message("assistant", text_part(page.notes), finish_reason="stop")
    genai_chat(tr, agent, GPT_41_MINI, COMPRESS_SYSTEM, [message("user", text_part(prompt))], reply)
    return {"url": page.url, "summary": page.notes}


def research_topic(tr: Trace, parent: Span, topic: Topic) -> None:
    """One web_researcher sub-agent: search twice, open every result, compress each page, answer."""
    attrs = agent_attrs(
        "web_researcher", "Answers one research question from the web.", HAIKU, topic.question
    )
    with tr.span("invoke_agent web_researcher", TRAVEL_APP, parent, attrs=attrs) as agent:
        history = [message("user", text_part(topic.question))]
        searches = [("web_search", {"query": query, "max_results": 5}) for query in topic.queries]
        call_ids = ask_for_tools(tr, agent, history, "Let me search for current sources.", searches)
        for call_id, query, pages in zip(
            call_ids, topic.queries, (topic.pages[:2], topic.pages[1:]), strict=True
        ):
            result = web_search(tr, agent, call_id, query, pages)
            history.append(message("tool", tool_response_part(call_id, result)))
        fetches = [("fetch_url", {"url": page.url}) for page in topic.pages]
        call_ids = ask_for_tools(tr, agent, history, "Opening the most relevant results.", fetches)
        results = [
            fetch_url(tr, agent, call_id, page) for call_id, page in zip(call_ids, topic.pages, strict=True)
        ]
        for call_id, page, result in zip(call_ids, topic.pages, results, strict=True):
            compressed = result if "error" in result else compress_page(tr, agent, topic.question, page)
            history.append(message("tool", tool_response_part(call_id, compressed)))
        reply = message("assistant", text_part(topic.finding), finish_reason="stop")
        genai_chat(tr, agent, HAIKU, RESEARCHER_SYSTEM, history, reply, tool_tokens=SEARCH_TOOL_TOKENS)
        finish_agent(tr, agent, topic.finding)


def research_agent(rng: random.Random) -> Trace:
    """A planner on Sonnet fans out to a Haiku researcher per question, then writes and reviews a report."""
    tr = Trace(rng, TRAVEL_AGENT, timedelta(hours=2, minutes=46, seconds=9), {})
    description = "Researches destinations and writes trip recommendations."
    attrs = agent_attrs("destination_researcher", description, SONNET, RESEARCH_REQUEST, "conv_r5t0w8m2qa")
    with tr.span("invoke_agent destination_researcher", TRAVEL_APP, attrs=attrs) as agent:
        request = [message("user", text_part(RESEARCH_REQUEST))]
        plan = json.dumps([topic.question for topic in RESEARCH_TOPICS], indent=2, ensure_ascii=False)
        genai_chat(
            tr,
            agent,
            SONNET,
            RESEARCH_SYSTEM,
            request,
            message("assistant", text_part(plan), finish_reason="stop"),
        )
        for topic in RESEARCH_TOPICS:
            research_topic(tr, agent, topic)
        findings = "\n\n".join(f"{i}. {t.question}\n{t.finding}" for i, t in enumerate(RESEARCH_TOPICS, 1))
        brief = [message("user", text_part(f"{RESEARCH_REQUEST}\n\nFindings:\n{findings}"))]
        report = message("assistant", text_part(RESEARCH_REPORT), finish_reason="stop")
        genai_chat(tr, agent, SONNET, RESEARCH_SYSTEM, brief, report)
        draft = [message("user", text_part(f"Findings:\n{findings}\n\nDraft:\n{RESEARCH_REPORT}"))]
        review = message("assistant", text_part(RESEARCH_REVIEW), finish_reason="stop")
        genai_chat(tr, agent, GPT_41, REVIEW_SYSTEM, draft, review)
        finish_agent(tr, agent, RESEARCH_REPORT)
    return tr


# --- Output ---------------------------------------------------------------------------------------


def build_traces() -> list[Trace]:
    """All demo traces in the order they happened on 2026-11-20, from one seeded generator."""
    rng = random.Random(SEED)
    return [
        rag_refund(rng),
        travel_agent(rng),
        *(session_turn(rng, i) for i in range(len(SESSION_TURNS))),
        rate_limit_retry(rng),
        research_agent(rng),
    ]


def render() -> bytes:
    """The file content: one ExportTraceServiceRequest per line, as the Collector's file exporter writes."""
    return b"".join(orjson.dumps(trace.export()) + b"\n" for trace in build_traces())


def write_demo(path: Path = OUTPUT) -> Path:
    path.write_bytes(render())
    return path


def main() -> None:
    path = write_demo()
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
