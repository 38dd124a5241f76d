"""Human-readable renderings of durations, counts, costs and times, shared by the CLI and the UI,
and the text-table rules of the CLI (terminal-safe text, display widths)."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime


def duration(ns: int | None) -> str:
    """`1.23 s`, `456 ms`, `12 µs`; an unknown (running) duration is `running`."""
    if ns is None:
        return "running"
    if ns >= 60_000_000_000:
        minutes, seconds = divmod(ns / 1e9, 60)
        return f"{int(minutes)} min {seconds:.0f} s"
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.0f} ms"
    return f"{ns / 1e3:.0f} µs"


def count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def cost(usd: float | None, *, computed: bool = False, unknown: bool = False, sign: str = "") -> str:
    """Money as every view and command shows it: `$0.0123` reported, `~$0.0123` when (some of) it
    was computed from token counts and prices, `?` unknown, a trailing `+?` when some calls of a sum
    have no price; "" when there is no cost at all (not a model call). Never a silent zero. A change
    of cost has its `sign` after the mark: `~−$0.00102`."""
    if usd is None or not math.isfinite(usd):
        return "?" if unknown or usd is not None else ""
    text = ("~" if computed else "") + sign + _dollars(usd)
    return f"{text} +?" if unknown else text


#: Below this a cost is shown as less than it (a billionth of a dollar is a hundredth of a token
#: of the cheapest model): a hostile 1e-300 is not written out to 300 places.
SMALLEST_SHOWN_USD = 1e-9


def _dollars(usd: float) -> str:
    """`$1,234.56` from a dollar up; under a dollar to the hundredth of a cent and at least three
    significant digits (`$0.5005`, `$0.50`, `$0.0123`, `$0.000018`), so a cheap call's cost reads as
    what it is, not `$0.0000`."""
    if usd < 0:
        return "-" + _dollars(-usd)
    if usd == 0:
        return "$0"
    if usd < SMALLEST_SHOWN_USD:
        return f"<${SMALLEST_SHOWN_USD:.9f}"
    if usd >= 1:
        return f"${usd:,.2f}"
    decimals = max(4, 2 - math.floor(math.log10(usd)))
    whole, _, cents = f"{usd:.{decimals}f}".partition(".")
    return f"${whole}.{cents.rstrip('0').ljust(2, '0')}"


def timestamp(ns: int | None) -> str:
    """UTC wall time with milliseconds, e.g. `2026-11-27 04:51:14.047`."""
    if ns is None:
        return ""
    moment = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{ns // 1_000_000 % 1000:03d}"


# --- text for a terminal -----------------------------------------------------------------------

#: What a terminal would act on rather than show: C0 controls (ESC starts escape sequences that
#: retitle windows and clear screens, BEL rings, CR and LF break lines), DEL, C1 controls (8-bit CSI),
#: the line and paragraph separators, and the bidirectional overrides that reorder what is shown.
_TERMINAL_ACTS_ON = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_TERMINAL_ACTS_ON}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: The same, but with line breaks and tabs kept: for multi-line text (an input, a report's lines).
_CONTROL_IN_LINES = re.compile(f"\r(?!\n)|(?![\n\t\r])[{_TERMINAL_ACTS_ON}]")


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """`text` safe to write to a terminal: every control character shown as its escape (`\\x1b`,
    `\\x07`, `\\n`, `\\r`), so trace data can neither drive the terminal nor break a line of a table
    or tree. `lines`: the text is meant to span lines (an input or output, a report), so line breaks
    and tabs stay and only a CR that ends no line (one that would overwrite it) is shown."""
    pattern = _CONTROL_IN_LINES if lines else _CONTROL
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escaped, text)


def width(text: str) -> int:
    """Columns `text` takes on a terminal: East Asian wide and full-width characters take two,
    combining marks and zero-width characters none (what wcwidth does for the characters trace
    names hold, without the dependency)."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


@functools.lru_cache(maxsize=8192)
def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def table_lines(table: Sequence[Sequence[str]]) -> Iterator[str]:
    """Rows as aligned text columns (two spaces apart, trailing blanks dropped), measured in
    terminal columns so CJK names line up, each cell made `printable`."""
    if not table:
        return
    # A row is looked at whole first: most rows hold no control character and only ASCII.
    rows = [row if _CONTROL.search("".join(row)) is None else [printable(c) for c in row] for row in table]
    sizes = [list(map(len, row)) if "".join(row).isascii() else list(map(width, row)) for row in rows]
    widths = [max(column) for column in zip(*sizes, strict=True)]
    for row, size in zip(rows, sizes, strict=True):
        padded = [cell.ljust(w - s + len(cell)) for cell, s, w in zip(row, size, widths, strict=True)]
        yield "  ".join(padded).rstrip()
