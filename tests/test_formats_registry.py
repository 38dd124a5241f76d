"""The registry of formats: found from the modules' SPECs, ordered by their `after`, and the file
dialog's filter made from them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import textwrap
from pathlib import Path

import pytest

from spanscope.core import formats
from spanscope.core.formats import FormatSpec, compression, dialog_filter, readme_table, registry
from spanscope.core.formats.catalog import README_HEADER
from spanscope.core.formats.registry import discover, ordered


def spec(name: str, after: tuple[str, ...] = ()) -> FormatSpec:
    """A format that claims nothing: only its name and `after` matter to the order."""
    return FormatSpec(
        name, f"{name} files", "", (f".{name}",), lambda head: False, lambda s, p: iter(()), after=after
    )


def names(specs: list[FormatSpec]) -> list[str]:
    return [s.name for s in specs]


def test_the_registry_tries_each_format_after_those_its_spec_names() -> None:
    order = names(list(registry()))
    assert len(order) == len(set(order)) >= 10
    for found in registry():
        for earlier in found.after:
            assert order.index(earlier) < order.index(found.name), (found.name, earlier)


def test_every_reader_module_declares_a_spec() -> None:
    """A module with a sniffer is a reader; without a SPEC it would silently never be tried."""
    for info in pkgutil.iter_modules(formats.__path__, "spanscope.core.formats."):
        module = importlib.import_module(info.name)
        if inspect.isfunction(getattr(module, "sniff", None)):
            assert isinstance(getattr(module, "SPEC", None), FormatSpec), info.name
            assert module.SPEC in registry() and module.SPEC.sniff is module.sniff, info.name


def test_order_is_by_name_where_no_after_decides() -> None:
    found = ordered([spec("c"), spec("b", after=("d",)), spec("a"), spec("d")])
    assert names(found) == ["a", "c", "d", "b"]
    assert names(ordered(reversed(found))) == ["a", "c", "d", "b"]


def test_an_after_naming_no_format_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"'b' is to be tried after unknown formats: \['nope'\]"):
        ordered([spec("a"), spec("b", after=("a", "nope"))])


def test_afters_that_make_a_cycle_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"cycle: \['a', 'b', 'c'\]"):
        ordered([spec("a", after=("c",)), spec("b", after=("a",)), spec("c", after=("b",)), spec("d")])
    with pytest.raises(ValueError, match="cycle"):
        ordered([spec("a", after=("a",))])


def test_two_formats_of_one_name_are_an_error() -> None:
    with pytest.raises(ValueError, match="two formats are named 'a'"):
        ordered([spec("a"), spec("a", after=("b",)), spec("b")])


def test_a_module_declaring_a_spec_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "more_formats"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text("def sniff(head):\n    return False\n")
    (package / "toy.py").write_text(
        textwrap.dedent(
            """
            from spanscope.core.formats import FormatSpec

            def sniff(head):
                return head.startswith(b"TOY")

            def read(source, progress):
                return iter(())

            SPEC = FormatSpec("toy", "Toy traces", "a toy", (".toy",), sniff, read)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    (found,) = discover("more_formats")
    assert found.name == "toy" and found.sniff(b"TOY 1")
    assert "*.toy" in dialog_filter([*registry(), found])


def test_the_dialog_filter_lists_every_format_and_compressed_files() -> None:
    first, everything = dialog_filter().split(";;")
    assert everything == "All files (*)"
    patterns = re.fullmatch(r"Trace files and stores \((.*)\)", first)[1].split()
    expected = {f"*{ext}" for found in registry() for ext in found.extensions}
    assert set(patterns) == expected | {f"*{ext}" for ext in compression.EXTENSIONS}
    assert len(patterns) == len(set(patterns))
    before = "*.json *.jsonl *.gz *.zst *.txt *.ndjson *.binpb *.pb *.eval *.db"  # the hand-written one
    assert set(before.split()) <= set(patterns) and {"*.sqlite", "*.sqlite3"} <= set(patterns)


def test_the_readme_lists_the_formats_of_the_registry() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8").splitlines()
    start = readme.index(README_HEADER[0])
    end = next((i for i in range(start, len(readme)) if not readme[i].startswith("|")), len(readme))
    assert "\n".join(readme[start:end]) == readme_table(), (
        "README.md's table of formats differs from the registry: replace it with the output of "
        "`python -c 'from spanscope.core.formats import readme_table; print(readme_table())'`"
    )


def test_the_readme_table_keeps_each_cell_whole() -> None:
    piped = spec("a|b")
    assert readme_table([piped]).splitlines()[-1] == r"| a\|b files | `a\|b` | `.a\|b` |  |"
