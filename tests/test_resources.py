"""Bundled files are found inside the spanscope package, never through the source tree's layout."""

from __future__ import annotations

from pathlib import Path

import pytest

import spanscope
from spanscope.core import resources


def test_demo_and_icons_are_inside_the_package():
    package = Path(spanscope.__file__).parent
    assert resources.demo_traces().is_relative_to(package / "resources")
    assert resources.icon_svg().is_relative_to(package / "resources")
    assert all(resources.icon_png(size).is_file() for size in resources.ICON_SIZES)


def test_a_missing_resource_is_an_error_naming_it(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "resource_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match=r"demo\.otlp\.jsonl: missing from the installed Spanscope"):
        resources.demo_traces()
