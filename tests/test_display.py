"""Money as every view and command shows it: never zero for a cost that is not, the same marks
everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spanscope.core.debugging.tree_costs import CostSum
from spanscope.core.presentation import display


def _amount(text: str) -> float:
    """The dollars a rendering says, marks and thousands separators taken off."""
    return float(text.removeprefix("~").removesuffix(" +?").removeprefix("$").replace(",", ""))


@given(st.floats(min_value=display.SMALLEST_SHOWN_USD, max_value=1e7, allow_nan=False))
def test_money_never_formats_as_zero_for_a_non_zero_cost(usd):
    text = display.cost(usd)
    shown = _amount(text)
    assert shown > 0
    # At least three significant digits under a dollar, cents from a dollar up.
    assert abs(shown - usd) <= (0.005 if usd >= 1 else usd * 5e-3)


@given(st.floats(min_value=5e-324, max_value=display.SMALLEST_SHOWN_USD, exclude_max=True))
def test_a_cost_too_small_to_write_out_is_shown_as_less_than_the_smallest(usd):
    assert display.cost(usd) == "<$0.000000001"


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (0, "$0"),
        (0.000018, "$0.000018"),
        (1.95e-5, "$0.0000195"),
        (0.00106, "$0.00106"),
        (0.0142, "$0.0142"),
        (0.5, "$0.50"),
        (0.5005, "$0.5005"),
        (0.99999, "$1.00"),
        (12529.5, "$12,529.50"),
    ],
)
def test_money_examples(usd, text):
    assert display.cost(usd) == text


def test_the_marks_are_the_same_for_one_call_and_for_sums():
    assert display.cost(0.000018, computed=True) == "~$0.000018"
    assert display.cost(None, unknown=True) == "?"
    assert display.cost(None) == ""
    assert display.cost(0.0123, computed=True, unknown=True) == "~$0.0123 +?"
    assert display.cost(float("nan")) == "?"
    assert CostSum(0.000018, computed=1, unknown=0).text == "~$0.000018"
    assert CostSum(None, computed=0, unknown=2).text == "?"
    assert CostSum(0.0123, computed=0, unknown=1).text == "$0.0123 +?"


def test_a_change_of_cost_has_its_sign_after_the_mark():
    assert display.cost(0.00102, computed=True, sign="−") == "~−$0.00102"
    assert display.cost(0.5, sign="+") == "+$0.50"
