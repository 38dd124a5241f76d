"""Fitting columns to a viewport: content widths, one column taking the rest, never below a least."""

from __future__ import annotations

import pytest

from spanscope.ui.column_fit import fit_widths

WANTED, LEAST = [100, 200, 80], [60, 120, 80]


def test_spare_width_goes_to_the_stretch_column():
    assert fit_widths(WANTED, LEAST, 500, stretch=1) == [100, 320, 80]
    assert fit_widths(WANTED, LEAST, 500, stretch=None) == WANTED


def test_too_little_is_taken_from_the_other_columns_first_in_proportion_to_their_slack():
    # 30 px short: only the first column (slack 40) can give, the stretch column keeps its width.
    assert fit_widths(WANTED, LEAST, 350, stretch=1) == [70, 200, 80]
    # 80 px short: the first gives all 40, then the stretch column the other 40.
    assert fit_widths(WANTED, LEAST, 300, stretch=1) == [60, 160, 80]


@pytest.mark.parametrize("available", [0, 100, 259, 260])
def test_never_below_the_least_however_narrow(available):
    widths = fit_widths(WANTED, LEAST, available, stretch=1)
    assert widths == LEAST


def test_a_least_above_the_wanted_width_wins():
    assert fit_widths([10, 10], [50, 40], 200, stretch=0) == [160, 40]
