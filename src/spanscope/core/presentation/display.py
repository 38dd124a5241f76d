"""Human-readable renderings of durations, counts, costs and times, shared by the CLI and the UI."""

from __future__ import annotations

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


def cost(usd: float | None) -> str:
    if usd is None:
        return ""
    if usd == 0:
        return "$0"
    return f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"


def timestamp(ns: int | None) -> str:
    """UTC wall time with milliseconds, e.g. `2026-11-27 04:51:14.047`."""
    if ns is None:
        return ""
    moment = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{ns // 1_000_000 % 1000:03d}"
