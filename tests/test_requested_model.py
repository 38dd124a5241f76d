"""Which model a call is charged to: a failed call, whose response names none, belongs to the model
it asked for; a provider prefix the provider itself repeats (LiteLLM's `openai/gpt-4o-mini`) is not
part of the name. Expected figures come from the raw captures."""

from __future__ import annotations

from collections import Counter

import orjson

from spanscope.core.analysis.analytics import group_stats
from spanscope.core.conventions.precedence import without_provider
from spanscope.core.store import connect, import_files


def raw_spans(path) -> list[tuple[dict, dict]]:
    """(span, attributes) of every span of a pretty OTLP JSON file, attributes as plain values."""
    found = []
    for resource in orjson.loads(path.read_bytes())["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for s in scope["spans"]:
                attrs = {a["key"]: next(iter(a["value"].values()), None) for a in s.get("attributes", [])}
                found.append((s, attrs))
    return found


def failed(s: dict) -> bool:
    return s.get("status", {}).get("code") == 2


def stored_models(tmp_path, fixture) -> dict[str, str | None]:
    store = tmp_path / "store.db"
    import_files(store, [fixture])
    db = connect(store, readonly=True)
    return dict(db.execute("select span_id, model from spans").fetchall())


def test_a_failed_openinference_call_is_charged_to_its_requested_model(tmp_path, fixtures_dir):
    fixture = fixtures_dir / "multimodal" / "image-audio-openinference.otlp.json"
    expected = {}
    for s, attrs in raw_spans(fixture):
        if failed(s) and "llm.model_name" not in attrs and "llm.invocation_parameters" in attrs:
            expected[s["spanId"]] = orjson.loads(attrs["llm.invocation_parameters"])["model"]
    assert expected, "the capture holds a failed call with its model only in llm.invocation_parameters"
    models = stored_models(tmp_path, fixture)
    for span_id, model in expected.items():
        assert models[span_id] == model
    assert None not in {models[s["spanId"]] for s, a in raw_spans(fixture) if "llm.model_name" in a}


def test_an_adk_litellm_failure_groups_with_its_model(tmp_path, fixtures_dir):
    fixture = fixtures_dir / "google-adk" / "travel-agent-v2-default.otlp.json"
    prefixed = [
        (s, attrs)
        for s, attrs in raw_spans(fixture)
        if failed(s)
        and "/" in str(attrs.get("gen_ai.request.model"))
        and "gen_ai.response.model" not in attrs
    ]
    assert prefixed, "the capture holds a failed LiteLLM call named provider/model"
    models = stored_models(tmp_path, fixture)
    for s, attrs in prefixed:
        provider, bare = attrs["gen_ai.request.model"].split("/", 1)
        assert provider == attrs["gen_ai.provider.name"]
        assert models[s["spanId"]] == bare

    store = tmp_path / "store.db"
    groups = {g.group: g for g in group_stats(connect(store, readonly=True), "model")}
    assert not any("/" in str(name) for name in groups)
    failures = Counter(attrs["gen_ai.request.model"].split("/", 1)[1] for _, attrs in prefixed)
    for model, n in failures.items():
        assert groups[model].errors >= n


def test_only_the_providers_own_prefix_is_dropped():
    assert without_provider("openai/gpt-4o-mini", "openai") == "gpt-4o-mini"
    assert without_provider("OpenAI/gpt-4o", "openai") == "gpt-4o"
    assert without_provider("openai/gpt-4o", "openrouter") == "openai/gpt-4o"
    assert without_provider("meta-llama/Llama-3-8b", "together") == "meta-llama/Llama-3-8b"
    assert without_provider("openai/", "openai") == "openai/"
