"""Every OTLP-family fixture written by a real library imports end to end into the store.

Expected figures are read from the raw files here with plain json and a few lines per convention,
independently of the readers and of semconv; the store's answers come from `spanscope export` and
`spanscope traces --json`, as a script would see them.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from raw_models import raw_model
from spanscope.cli import main

BASES = {
    "openinference-openai/chain-and-session": "openinference",
    "openinference-langchain/rag-tools-session": "openinference",
    "otel-genai/latest-experimental-span-content": "genai",
    "otel-genai/capture-content-true": "genai",
    "openllmetry/chain-and-session": "genai",
    "langfuse-sdk/chain-and-session": "langfuse",
}
SUFFIXES = (".otlp.jsonl", ".otlp.json", ".otlp-b64ids.json", ".console.txt")


def fixture_files(fixtures_dir: Path) -> list[tuple[Path, str]]:
    """(file, base) for every encoding present of every base."""
    return [
        (fixtures_dir / f"{base}{suffix}", base)
        for base in BASES
        for suffix in SUFFIXES
        if (fixtures_dir / f"{base}{suffix}").exists()
    ]


def raw_spans(base: Path) -> list[dict[str, Any]]:
    """The spans of the base's JSON Lines file, attributes as a plain dict (the reference reading)."""
    spans = []
    for line in base.with_name(base.name + ".otlp.jsonl").read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    attrs = {a["key"]: next(iter(a["value"].values())) for a in s.get("attributes", [])}
                    spans.append({**s, "attrs": attrs})
    return spans


def expected_usage(spans: list[dict[str, Any]], convention: str) -> dict[str, tuple[int, int]]:
    """Input and output tokens per model, from each convention's own model-call attributes."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in spans:
        a = s["attrs"]
        if convention == "openinference":
            if a.get("openinference.span.kind") not in ("LLM", "EMBEDDING"):
                continue
            model = raw_model(a)
            used = (a.get("llm.token_count.prompt"), a.get("llm.token_count.completion"))
        elif convention == "genai":
            if "gen_ai.request.model" not in a and "gen_ai.response.model" not in a:
                continue
            model = raw_model(a)
            used = (a.get("gen_ai.usage.input_tokens"), a.get("gen_ai.usage.output_tokens"))
        else:
            if a.get("langfuse.observation.type") not in ("generation", "embedding"):
                continue
            model = a["langfuse.observation.model.name"]
            usage = json.loads(a.get("langfuse.observation.usage_details", "{}"))
            # A raw OpenAI usage object (chat or Responses API) or Langfuse's own keys.
            used = (
                next((usage[k] for k in ("prompt_tokens", "input_tokens", "input") if k in usage), None),
                next(
                    (usage[k] for k in ("completion_tokens", "output_tokens", "output") if k in usage), None
                ),
            )
        if model is None:  # a call that failed before the model answered
            continue
        totals[model][0] += int(used[0] or 0)
        totals[model][1] += int(used[1] or 0)
    return {m: (i, o) for m, (i, o) in totals.items()}


def expected_texts(spans: list[dict[str, Any]], convention: str) -> dict[str, list[str]]:
    """The input message texts of each span that has chat messages, by span id."""
    texts: dict[str, list[str]] = {}
    for s in spans:
        a = s["attrs"]
        found: list[str] = []
        if convention == "openinference":
            keys = sorted(
                (int(m.group(1)), k)
                for k in a
                if (m := re.fullmatch(r"llm\.input_messages\.(\d+)\.message\.content", k))
            )
            found = [a[k] for _, k in keys]
        elif convention == "genai" and "gen_ai.input.messages" in a:
            for message in json.loads(a["gen_ai.input.messages"]):
                for part in message["parts"]:
                    if part.get("type") == "text":
                        found.append(part["content"])
                    elif part.get("type") == "tool_call_response":
                        found.append(part.get("response", part.get("result")))
        if found:
            texts[s["spanId"]] = found
    return texts


def export(capsys, path: Path) -> list[dict[str, Any]]:
    assert main(["export", str(path)]) == 0
    return [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]


def message_texts(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    out = []
    for m in value:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out += [p.get("text") for p in content if isinstance(p, dict) and p.get("text")]
    return out


def test_every_encoding_of_every_fixture_imports_with_the_right_figures(fixtures_dir, capsys, tmp_path):
    files = fixture_files(fixtures_dir)
    assert len(files) >= 20
    gz = tmp_path / "chain-and-session.otlp.jsonl.gz"
    gz.write_bytes(gzip.compress((fixtures_dir / "openllmetry/chain-and-session.otlp.jsonl").read_bytes()))
    files.append((gz, "openllmetry/chain-and-session"))
    for path, base in files:
        convention = BASES[base]
        raw = raw_spans(fixtures_dir / base)
        spans = export(capsys, path)
        label = path.name
        assert len(spans) == len(raw), label
        assert {(s["trace_id"], s["span_id"]) for s in spans} == {(s["traceId"], s["spanId"]) for s in raw}, (
            label
        )
        parents = {s["span_id"]: s["parent_id"] for s in spans}
        assert parents == {s["spanId"]: s.get("parentSpanId") or None for s in raw}, label
        assert not any(s["orphan"] for s in spans), label
        assert sum(s["status"] == "error" for s in spans) == sum(
            s.get("status", {}).get("code") == 2 for s in raw
        ), label
        usage: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for s in spans:
            if s["kind"] in ("LLM", "EMBEDDING") and s["model"]:
                usage[s["model"]][0] += s["input_tokens"] or 0
                usage[s["model"]][1] += s["output_tokens"] or 0
        assert {m: tuple(v) for m, v in usage.items()} == expected_usage(raw, convention), label
        by_id = {s["span_id"]: s for s in spans}
        for span_id, texts in expected_texts(raw, convention).items():
            assert message_texts(by_id[span_id]["input"]) == texts, (label, span_id)


def test_trace_totals_count_each_model_call_once(fixtures_dir, capsys):
    for base, convention in BASES.items():
        path = fixtures_dir / f"{base}.otlp.jsonl"
        assert main(["traces", str(path), "--json"]) == 0
        traces = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
        expected = expected_usage(raw_spans(fixtures_dir / base), convention)
        assert sum(t["input_tokens"] or 0 for t in traces) == sum(i for i, _ in expected.values()), base
        assert sum(t["output_tokens"] or 0 for t in traces) == sum(o for _, o in expected.values()), base
        models = Counter(m for t in traces for m in t["models"])
        assert models == _traces_per_model(fixtures_dir / base, convention), base


def _traces_per_model(base: Path, convention: str) -> Counter:
    """How many traces use each model."""
    per_trace: dict[str, set[str]] = defaultdict(set)
    for s in raw_spans(base):
        for model in expected_usage([s], convention):
            per_trace[s["traceId"]].add(model)
    return Counter(m for models in per_trace.values() for m in models)


def test_store_copy_of_a_fixture_needs_no_source_file(fixtures_dir, capsys, tmp_path):
    """Once imported, the store alone answers: the source file can go away."""
    source = tmp_path / "run.jsonl"
    shutil.copy(fixtures_dir / "otel-genai/latest-experimental-span-content.otlp.jsonl", source)
    store = tmp_path / "store.db"
    assert main(["import", str(source), "--db", str(store)]) == 0
    source.unlink()
    capsys.readouterr()
    assert len(export(capsys, store)) == 24
