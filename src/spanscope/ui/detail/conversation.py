"""Chat messages as a readable conversation: coloured roles, wrapped text, tool calls with their
arguments, tool results naming the call they answer, images as thumbnails (click for full size),
remote images as their address with "Load image", audio as its format, length, "Play" and "Save audio…"."""

from __future__ import annotations

from typing import Any

from spanscope.core.model import Kind
from spanscope.core.presentation.content import (
    PREVIEW_CHARS,
    TextBudget,
    is_web_url,
    message_parts,
    parse_json,
    pretty,
    tool_names,
)
from spanscope.core.presentation.media import Audio, audio_part, data_url, shorten
from spanscope.ui.detail.html import (
    Rendered,
    card,
    code_block,
    coloured,
    esc,
    muted,
    text_block,
    within_budget,
)
from spanscope.ui.style import KIND_COLORS, MUTED_COLOR

#: Model turns take the LLM kind's colour and tool turns the TOOL kind's, as in the trace tree.
ROLE_COLORS = {
    "system": MUTED_COLOR,
    "developer": MUTED_COLOR,
    "user": KIND_COLORS[Kind.CHAIN],
    "human": KIND_COLORS[Kind.CHAIN],
    "assistant": KIND_COLORS[Kind.LLM],
    "ai": KIND_COLORS[Kind.LLM],
    "model": KIND_COLORS[Kind.LLM],
    "tool": KIND_COLORS[Kind.TOOL],
    "function": KIND_COLORS[Kind.TOOL],
}
OTHER_ROLE_COLOR = KIND_COLORS[Kind.AGENT]


class _Writer:
    """Renders one transcript; tool calls get numbered anchors so results can link back."""

    def __init__(self, messages: list[dict[str, Any]], budget: TextBudget) -> None:
        self.messages = messages
        self.out = Rendered("", budget)
        self.names = tool_names(messages)
        self.anchors = {call_id: f"call-{n}" for n, call_id in enumerate(self.names)}

    def render(self) -> Rendered:
        self.out.html = within_budget(self.messages, self.out.budget, lambda _, m: self.message(m))
        return self.out

    def message(self, message: dict[str, Any]) -> str:
        role = str(message.get("role") or "unknown")
        color = ROLE_COLORS.get(role.lower(), OTHER_ROLE_COLOR)
        title = coloured(role.upper(), color)
        call_id = message.get("tool_call_id")
        if call_id:
            title += " " + self.result_of(str(call_id))
        parts = "".join(self.part(p) for p in message_parts(message.get("content")))
        calls = "".join(self.tool_call(c) for c in message.get("tool_calls") or () if isinstance(c, dict))
        if not parts and not calls:
            parts = muted("(no content)")
        return card(title, parts + calls, color)

    def result_of(self, call_id: str) -> str:
        name = self.names.get(call_id)
        if name is None:
            return muted(f"· result of call {call_id}")
        return f'{muted("· result of")} <a href="#{self.anchors[call_id]}">{esc(name)}</a> {muted(call_id)}'

    def part(self, part: dict[str, Any]) -> str:
        kind = part.get("type")
        if kind == "text":
            return self.text(part.get("text"))
        if kind == "image":
            return self.image(part.get("url"))
        if kind == "reasoning":
            label = f'<p style="margin: 2px 0">{muted("Reasoning")}</p>'
            return label + self.text(part.get("text"), quiet=True)
        audio = audio_part(part)
        if audio is not None:
            return self.audio(audio)
        return code_block(self.out.budget.take(shorten(pretty(part))))

    def text(self, value: Any, *, quiet: bool = False) -> str:
        """Text wrapped as written; JSON (a structured value, or text holding one) indented."""
        structured = not isinstance(value, str) or (
            len(value) <= PREVIEW_CHARS and parse_json(value) is not None
        )
        shown = self.out.budget.take(pretty(value) if structured else value)
        block = code_block(shown) if structured else text_block(shown)
        return f'<div style="color: {MUTED_COLOR}; font-style: italic">{block}</div>' if quiet else block

    def image(self, url: str | None) -> str:
        """A data URL as a thumbnail linking to the full image; a web address as plain text with a
        link to load it (nothing is fetched unless the user asks)."""
        blob = data_url(url)
        if blob is not None:
            name = self.out.add_image(blob)
            about = muted(f"{blob.label()} · click to view")
            return f'<p style="margin: 4px 0"><a href="{name}"><img src="{name}"></a> {about}</p>'
        if is_web_url(url):
            load = f'<a href="{self.out.add_remote(url)}">Load image</a>'
            return f"<p>{muted('image:')} {esc(url)} · {load}</p>"
        return f"<p>{muted('[image not included in the trace]')}</p>"

    def audio(self, audio: Audio) -> str:
        play = f'<a href="{self.out.add_playable(audio)}">Play</a>'
        save = f'<a href="{self.out.add_audio(audio)}">Save audio…</a>'
        return f"<p>{muted('audio:')} {esc(audio.summary())} · {play} · {save}</p>"

    def tool_call(self, call: dict[str, Any]) -> str:
        call_id = call.get("id")
        anchor = f'<a name="{self.anchors[call_id]}"></a>' if call_id in self.anchors else ""
        name = esc(str(call.get("name") or "tool"))
        header = f'<p style="margin: 6px 0 0 0">{anchor}{muted("calls")} <b>{name}</b>'
        header += f" {muted(str(call_id))}</p>" if call_id else "</p>"
        arguments = call.get("arguments")
        if arguments is None or arguments in ("", {}):
            return header + f"<p>{muted('(no arguments)')}</p>"
        return header + code_block(self.out.budget.take(pretty(arguments)))


def conversation_html(messages: list[dict[str, Any]], budget: TextBudget) -> Rendered:
    return _Writer(messages, budget).render()
