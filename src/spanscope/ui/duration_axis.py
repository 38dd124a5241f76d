"""A time axis of milliseconds since a start, written in the unit the shown range calls for: µs for a
sub-millisecond call, s for a 110 s agent run, min or h for a long one — with round steps in that
unit (15 s, 5 min), never "ms since start (x0.001)"."""

from __future__ import annotations

import math

import pyqtgraph as pg

#: (name, milliseconds per unit, the least range in ms written in it, round steps in it): a range
#: moves up to a unit once it spans a few of them, so a 1.5 s trace reads 0 ms … 1400 ms, not 0.0 s ….
UNITS = (
    ("µs", 1e-3, 0.0, (1, 2, 5)),
    ("ms", 1.0, 1.0, (1, 2, 5)),
    ("s", 1e3, 2e3, (1, 2, 5)),
    ("min", 6e4, 3 * 6e4, (1, 2, 5, 10, 15, 30)),
    ("h", 3.6e6, 3 * 3.6e6, (1, 2, 3, 6, 12)),
)
#: Pixels between labelled ticks the axis aims for.
TICK_PX = 90


def time_unit(range_ms: float) -> tuple[str, float, tuple[int, ...]]:
    """The unit a range of `range_ms` is written in: the largest whose least range it reaches."""
    name, per, _least, steps = next(u for u in reversed(UNITS) if range_ms >= u[2])
    return name, per, steps


def tick_step(range_ms: float, ticks: float) -> tuple[float, str, float]:
    """(step in ms, unit name, ms per unit) for about `ticks` ticks over `range_ms`: a round step of
    the range's unit (steps of 1, 2, 5 times a power of ten past the unit's own list)."""
    name, per, steps = time_unit(range_ms)
    raw = range_ms / per / max(ticks, 1.0)
    if 1 <= raw <= steps[-1]:
        step = float(next(s for s in steps if s >= raw))
    else:
        scale = 10.0 ** math.floor(math.log10(raw))
        step = next(s * scale for s in (1, 2, 5, 10) if s * scale >= raw)
    return step * per, name, per


def tick_label(value_ms: float, step_ms: float, name: str, per: float) -> str:
    """`value_ms` in the unit, with as many decimals as the step needs: `1.5 s`, `20 ms`."""
    decimals = max(0, -math.floor(math.log10(step_ms / per) + 1e-9))
    return f"{value_ms / per:.{decimals}f} {name}"


class QtDurationAxis(pg.AxisItem):
    """The bottom axis of a plot whose x is milliseconds since a start."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self.enableAutoSIPrefix(False)
        self._unit: tuple[float, str, float] = (1.0, "ms", 1.0)

    def unit(self) -> str:
        """The unit the ticks were last written in."""
        return self._unit[1]

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        span = max(maxVal - minVal, 1e-9)
        self._unit = tick_step(span, size / TICK_PX)
        step = self._unit[0]
        return [(step, 0.0), (step / 5, 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        step, name, per = self._unit
        return [tick_label(v, step, name, per) for v in values]
