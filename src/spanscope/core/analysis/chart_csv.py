"""The data behind a chart as a table, written as CSV: what "Export CSV" saves for every chart."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Table:
    """A header and its rows; None is written as an empty cell (unknown, never 0)."""

    header: list[str]
    rows: list[list[Any]]

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows([_cell(v) for v in row] for row in self.rows)
        return out.getvalue()

    def write_csv(self, path: Path) -> None:
        Path(path).write_text(self.csv_text(), encoding="utf-8")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value
