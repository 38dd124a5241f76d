"""What a judge is sent about one span: its input, output and reference as text, put into the
evaluator's prompt, with the answer's format asked for in words and (where the endpoint takes it) as
a JSON schema."""

from __future__ import annotations

from typing import Any

from spanscope.core.diff.conversation_diff import message_text
from spanscope.core.endpoints.chat import ChatRequest
from spanscope.core.evaluation.reference_metrics import Reference
from spanscope.core.judge.evaluator import Evaluator
from spanscope.core.model import Kind, Span, is_messages
from spanscope.core.presentation.content import compact
from spanscope.core.replay.recorded import recorded_call

SYSTEM = "You are an impartial evaluator of an AI system's work. Judge only what you are shown."
#: Characters of one placeholder's text sent at most (a long document or a 10 MB tool result would
#: only overflow the judge's context): its beginning and end are kept, the middle said left out.
PLACEHOLDER_CHARS = 60_000


def capped(text: str, limit: int = PLACEHOLDER_CHARS) -> str:
    """`text`, or its first and last halves of `limit` with how much was left out between them."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - 2 * half:,} characters left out …]\n{text[-half:]}"


def payload_as_text(value: Any) -> str:
    """A span's input or output as a judge reads it: a conversation as `[role] text` blocks (tool
    calls as name(arguments) lines), anything else as its text or JSON."""
    if value is None:
        return ""
    if is_messages(value):
        return "\n\n".join(f"[{m.get('role') or 'message'}] {message_text(m)}" for m in value)
    if isinstance(value, dict) and is_messages([value]):
        return payload_as_text([value])
    return compact(value)


def tools_text(span: Span) -> str:
    """The tools a model call could call, as recorded (core/replay/recorded.py reads every
    convention's shape): a `- name: description` line each with its parameters' schema."""
    if span.kind != Kind.LLM:
        return ""
    try:
        tools = recorded_call(span, span.model or "recorded").request.tools
    except ValueError:
        return ""
    lines = []
    for tool in tools:
        function = tool["function"]
        about = f": {function['description']}" if function.get("description") else ""
        lines.append(f"- {function['name']}{about}\n  parameters: {compact(function.get('parameters'))}")
    return "\n".join(lines) or "(none recorded)"


def reference_text(reference: Reference | None) -> str | None:
    if reference is None:
        return None
    if len(reference.expected) == 1:
        return reference.expected[0]
    return "Any of these is correct:\n" + "\n".join(f"- {text}" for text in reference.expected)


def judge_request(
    evaluator: Evaluator, model: str, span: Span, reference: Reference | None, *, schema: bool = True
) -> ChatRequest:
    """The call judging one span; `schema`: ask for the answer by response_format json_schema too."""
    tools = tools_text(span) if "tools" in evaluator.placeholders else ""
    reference_given = reference_text(reference)
    prompt = evaluator.render(
        capped(payload_as_text(span.input)),
        capped(payload_as_text(span.output)),
        None if reference_given is None else capped(reference_given),
        capped(tools),
    )
    params: dict[str, Any] = {"temperature": 0}
    if schema:
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "judgement", "strict": True, "schema": evaluator.score.json_schema()},
        }
    return ChatRequest(
        model=model,
        messages=[
            {"role": "system", "content": f"{SYSTEM}\n\n{evaluator.score.instructions()}"},
            {"role": "user", "content": prompt.strip()},
        ],
        params=params,
    )
