"""Chat messages as a readable conversation: coloured roles, markdown rendered (or text as written,
as the reader chooses), long messages folded to their first lines with "Show all", tool calls as
compact cards (`calls get_weather(city="Paris")`), tool results naming the call they answer, images
as thumbnails (click for full size), remote images as their address with "Load image", audio as its
format, length, "Play" and "Save audio…"."""

from __future__ import annotations

from typing import Any

from spanscope.core.model import Kind
from spanscope.core.presentation.content import (
    ONE_LINE_CHARS,
    PREVIEW_CHARS,
    TextBudget,
    call_signature,
    is_web_url,
    message_parts,
    one_line,
    parse_json,
    pretty,
    tool_names,
)
from spanscope.core.presentation.markdown import looks_like_markdown
from spanscope.core.presentation.media import Audio, audio_part, data_url, shorten
from spanscope.ui.detail.html import (
    Reading,
    Rendered,
    card,
    code_block,
    coloured,
    esc,
    muted,
    within_budget,
)
from spanscope.ui.detail.prose import Prose
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
#: A tool call, and a tool's short result: tinted in the tool colour.
TINT = "background-color: rgba(22, 160, 133, 0.16)"


class _Writer:
    """Renders one transcript; tool calls get numbered anchors so results can link back.

    Long texts are folded to their first lines, except in the last message (the one the reader came
    for: the output, or the latest turn); each folded text has a key (`message.part`) the reader's
    `Reading` names when they open it."""

    def __init__(self, messages: list[dict[str, Any]], budget: TextBudget, reading: Reading) -> None:
        self.messages = messages
        self.out = Rendered("", budget)
        self.names = tool_names(messages)
        self.anchors = {call_id: f"call-{n}" for n, call_id in enumerate(self.names)}
        self.prose = Prose(self.out, reading)

    def render(self) -> Rendered:
        self.out.html = within_budget(self.messages, self.out.budget, self.message)
        return self.out

    def message(self, position: int, message: dict[str, Any]) -> str:
        role = str(message.get("role") or "unknown")
        color = ROLE_COLORS.get(role.lower(), OTHER_ROLE_COLOR)
        title = coloured(role.upper(), color)
        call_id = message.get("tool_call_id")
        if call_id:
            title += " " + self.result_of(str(call_id))
        inline = self.inline(message)
        if inline is not None:
            return card(f"{title} {inline}", "", color, hanging=True)
        foldable = position != len(self.messages) - 1
        parts = "".join(
            self.part(f"{position}.{n}", part, foldable)
            for n, part in enumerate(message_parts(message.get("content")))
        )
        calls = "".join(
            self.tool_call(f"{position}.call{n}", call, foldable)
            for n, call in enumerate(message.get("tool_calls") or ())
            if isinstance(call, dict)
        )
        if not parts and not calls:
            parts = muted("(no content)")
        return card(title, parts + calls, color)

    def inline(self, message: dict[str, Any]) -> str | None:
        """What fits on the title line: the only tool call of a message that says nothing else, when
        its arguments fit on one line; a tool's result when it is one short line."""
        parts = message_parts(message.get("content"))
        calls = [c for c in message.get("tool_calls") or () if isinstance(c, dict)]
        if not parts and len(calls) == 1:
            signature = call_signature(str(calls[0].get("name") or "tool"), calls[0].get("arguments"))
            return None if signature is None else self.call_line(calls[0], signature)
        if calls or len(parts) != 1 or parts[0].get("type") != "text" or not message.get("tool_call_id"):
            return None
        text = parts[0].get("text")
        parsed = parse_json(text) if isinstance(text, str) else text
        line = one_line(parsed) if parsed is not None else text
        if (
            not isinstance(line, str)
            or "\n" in line
            or len(line) > ONE_LINE_CHARS
            or looks_like_markdown(line)
        ):
            return None
        shown = esc(self.out.budget.take(line))
        return f'<code style="{TINT}">{shown}</code>' if parsed is not None else shown

    def result_of(self, call_id: str) -> str:
        name = self.names.get(call_id)
        if name is None:
            return muted(f"· result of call {call_id}")
        return f'{muted("· result of")} <a href="#{self.anchors[call_id]}">{esc(name)}</a>{muted(":")}'

    def part(self, key: str, part: dict[str, Any], foldable: bool) -> str:
        kind = part.get("type")
        if kind == "text":
            return self.text(key, part.get("text"), foldable)
        if kind == "image":
            return self.image(part.get("url"))
        if kind == "reasoning":
            label = f'<p style="margin: 2px 0">{muted("Reasoning")}</p>'
            return label + self.text(key, part.get("text"), foldable, quiet=True)
        audio = audio_part(part)
        if audio is not None:
            return self.audio(audio)
        return code_block(self.out.budget.take(shorten(pretty(part))))

    def text(self, key: str, value: Any, foldable: bool, *, quiet: bool = False) -> str:
        """Text as written or as markdown; JSON (a structured value, or text holding one) on one line
        when it is short and flat, else indented."""
        if not isinstance(value, str):
            structured = value
        else:
            structured = parse_json(value) if len(value) <= PREVIEW_CHARS else None
        if isinstance(value, str) and structured is None:
            block = self.prose.folded(key, value, foldable, code=False)
        elif (line := one_line(structured)) is not None:
            block = code_block(self.out.budget.take(line))
        else:
            block = self.prose.folded(key, pretty(structured), foldable, code=True)
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

    def tool_call(self, key: str, call: dict[str, Any], foldable: bool) -> str:
        """A compact card: `calls name(key="value")` on one line when the arguments allow, else the
        name over the indented arguments."""
        name = str(call.get("name") or "tool")
        arguments = call.get("arguments")
        signature = call_signature(name, arguments)
        if signature is not None:
            return f'<p style="margin: 3px 0">{self.call_line(call, signature)}</p>'
        header = f'<p style="margin: 3px 0 0 0">{self.call_line(call, name)}</p>'
        return header + self.prose.folded(key, pretty(arguments), foldable, code=True)

    def call_line(self, call: dict[str, Any], signature: str) -> str:
        """`calls get_weather(city="Paris")`, the target of its result's link."""
        call_id = call.get("id")
        anchor = f'<a name="{self.anchors[call_id]}"></a>' if call_id in self.anchors else ""
        shown = esc(self.out.budget.take(signature))
        return f'{anchor}{muted("calls")} <code style="{TINT}">{shown}</code>'


def conversation_html(
    messages: list[dict[str, Any]], budget: TextBudget, reading: Reading | None = None
) -> Rendered:
    return _Writer(messages, budget, reading or Reading()).render()
