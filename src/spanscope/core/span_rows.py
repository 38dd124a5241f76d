"""A trace's spans held column by column: what the store's reads hand out and the span tree builds on.

Neither the SQL layer nor the tree owns this shape, so both import it from here and the tree never
depends on how the store is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

#: A span's token counts; also what a trace sums over its counted model calls.
TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)

#: A span's own scalars, named alike by the store's columns and the tree's rows.
SPAN_SCALARS = (
    "span_id",
    "parent_id",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "status",
    "status_message",
    "model",
    "provider",
    *TOKEN_COLUMNS,
    "cost_usd",
)

#: What the span tree reads of each span: the scalars it shows, links or rolls up.
ROW_COLUMNS = (*SPAN_SCALARS, "price_usd", "counted", "orphan", "clock_skew", "ttft_ns")


class SpanRows:
    """A trace's spans held column by column (ROW_COLUMNS), in start order.

    Reading 100,000 spans as twenty lists is several times faster than as 100,000 rows, and the span
    tree works on columns anyway; indexing or iterating still gives spans as dicts, one at a time.
    """

    __slots__ = ("columns",)

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns

    @classmethod
    def from_dicts(cls, rows: Iterable[Mapping[str, Any]]) -> SpanRows:
        """Rows given one dict per span (missing columns are None), in that order."""
        rows = list(rows)
        return cls({column: [row.get(column) for row in rows] for column in ROW_COLUMNS})

    def __len__(self) -> int:
        return len(self.columns["span_id"])

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {column: values[i] for column, values in self.columns.items()}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = tuple(self.columns)
        return (dict(zip(names, values, strict=True)) for values in zip(*self.columns.values(), strict=True))
