"""Settings > Model prices: the table edits the override file, and saving reprices every view."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from spanscope.core.presentation import display
from spanscope.core.store.queries import list_traces
from spanscope.ui.costs import prices
from spanscope.ui.price_settings import QtPriceSettingsDialog, apply_prices
from spanscope.ui.span_tree import QtSpanTreePanel
from spanscope.ui.span_tree_model import COST
from spanscope.ui.stepping import QtStateStrip, QtStepController
from spanscope.ui.trace_list_model import COLUMNS, QtTraceListModel


@pytest.fixture(autouse=True)
def fresh_prices(user_config_dir):
    """The app-wide book read from this test's config dir, and back to no overrides afterwards."""
    prices().reload()
    yield
    (user_config_dir / "prices.json").unlink(missing_ok=True)
    prices().reload()


@pytest.fixture
def dialog(qtbot, user_config_dir):
    widget = QtPriceSettingsDialog(folder=user_config_dir)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def fill(dialog: QtPriceSettingsDialog, *cells: str) -> None:
    dialog.add_button.click()
    row = dialog.table.rowCount() - 1
    for column, text in enumerate(cells):
        dialog.table.item(row, column).setText(text)


def test_added_rows_are_saved_to_the_file_it_names(qtbot, dialog, user_config_dir):
    assert str(user_config_dir / "prices.json") in dialog.file_label.text()
    fill(dialog, "my-llama-*", "", "0.2", "0.4", "", "")
    fill(dialog, "gpt-4o", "openai", "$1", "2", "0.5", "1.5")
    with qtbot.waitSignal(dialog.saved):
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert json.loads((user_config_dir / "prices.json").read_text())["models"] == {
        "my-llama-*": {"input": 0.2, "output": 0.4},
        "gpt-4o": {
            "provider": "openai",
            "input": 1.0,
            "output": 2.0,
            "cached_input": 0.5,
            "cache_write": 1.5,
        },
    }
    assert dialog.result() == dialog.DialogCode.Accepted


def test_saved_entries_come_back_and_rows_can_be_removed(qtbot, user_config_dir):
    user_config_dir.mkdir(parents=True)
    (user_config_dir / "prices.json").write_text('{"models": {"a": {"input": 1}, "b": {"output": 2}}}')
    dialog = QtPriceSettingsDialog(folder=user_config_dir)
    qtbot.addWidget(dialog)
    assert [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())] == ["a", "b"]
    dialog.table.selectRow(0)
    dialog.remove_button.click()
    dialog.save()
    assert json.loads((user_config_dir / "prices.json").read_text()) == {"models": {"b": {"output": 2.0}}}


def test_bad_cells_are_named_and_nothing_is_written(dialog, user_config_dir):
    fill(dialog, "my-model", "", "cheap", "1", "", "")
    fill(dialog, "", "", "1", "", "", "")
    dialog.save()
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text().splitlines() == [
        "Row 1 (my-model): Input: 'cheap' is not a number",
        "Row 2: the model pattern is empty",
    ]
    assert not (user_config_dir / "prices.json").exists()
    assert dialog.isVisible(), "the dialog stays open to fix the rows"


def test_a_broken_file_is_reported_not_raised(qtbot, user_config_dir):
    user_config_dir.mkdir(parents=True)
    (user_config_dir / "prices.json").write_text("{not json")
    dialog = QtPriceSettingsDialog(folder=user_config_dir)
    qtbot.addWidget(dialog)
    assert "prices.json: cannot read prices" in dialog.error_label.text()
    assert dialog.table.rowCount() == 0


def test_saving_applies_the_prices_to_the_trace_list_and_the_span_tree(qtbot, context, dialog):
    model = QtTraceListModel()
    model.set_db(context.db)
    cost_column = next(i for i, c in enumerate(COLUMNS) if c.key == "cost_usd")
    trace = next(t for t in list_traces(context.db) if t.models == ("gemini-2.5-flash",))
    row = model.row_of(trace.trace_id)
    panel = QtSpanTreePanel(context)
    qtbot.addWidget(panel)
    context.select_trace(trace.trace_id)
    tree = panel.model
    controller = QtStepController(context)
    strip = QtStateStrip(controller)
    qtbot.addWidget(strip)
    controller.to_end()
    assert strip.label.text().endswith(f"cost {model.index(row, cost_column).data()}")
    before = model.index(row, cost_column).data()
    assert before == tree.index(0, COST).data().removeprefix("Σ ")
    context.store_loaded.connect(lambda: model.refresh())
    fill(dialog, "gemini-2.5-flash", "", "1000", "1000", "", "")
    dialog.save()
    with qtbot.waitSignal(prices().changed, timeout=10_000):
        apply_prices(context, lambda _text: None)
    tokens = trace.input_tokens + trace.output_tokens
    expected = f"~{display.cost(tokens * 1000 / 1e6)}"
    assert model.index(row, cost_column).data() == expected != before
    assert tree.index(0, COST).data() == f"Σ {expected}"
    assert strip.label.text().endswith(f"cost {expected}")
    call = next(i for i, kind in enumerate(tree.tree.rows.columns["kind"]) if kind == "LLM")
    tip = tree.reveal(call, COST).data(Qt.ItemDataRole.ToolTipRole)
    assert "computed with gemini-2.5-flash prices of" in tip and "from override" in tip
