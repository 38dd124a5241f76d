"""Mutation fuzz over every reader's real fixtures: one value given the wrong type or an absurd
size (numbers as text and text as numbers, integers past 64 bits, negative times, null, deep
nesting, lone surrogates), a protobuf field set out of range, a SQLite cell replaced, or the file
cut short. Each mutated file is imported into a real store.

What must hold: no traceback ever (no internal error, no write failure), and a single bad value
never drops the whole file: the import succeeds and keeps all records but the one it spoiled
(ids, parents and times may change which records a reader can pair up, so one record's worth of
loss is allowed, never the file's).

The default run stays within about a minute; `-m slow` runs a soak twenty times as long.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mutations as m
from spanscope.core.formats.registry import registry
from spanscope.core.store.ingest import FileResult, Outcome, import_file

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
#: Files of scores only are imported after the spans they rate.
SPANS_FIRST = {"langsmith-runs/capture-batch/feedback.jsonl": "langsmith-runs/capture-batch/runs.jsonl"}
#: Examples per kind of mutation in the default run (each is one import into a fresh store).
EXAMPLES = {"text": 120, "proto": 30, "sqlite": 30, "zip": 15, "truncated": 40}
SCALES = [1, pytest.param(20, marks=pytest.mark.slow, id="soak")]

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures not found")


def imported(path: Path) -> tuple[FileResult, FileResult | None]:
    """Import `path` into a fresh store (after the spans it rates, for a file of scores): its result,
    and that of the spans imported first."""
    relative = next((r for r in SPANS_FIRST if path.name == Path(r).name), None)
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store.db"
        first = import_file(store, FIXTURES / SPANS_FIRST[relative]) if relative else None
        return import_file(store, path), first


def kept(result: FileResult) -> int:
    """The records kept: spans, or for a file of none, its log records or scores (a span's scores go
    with it, and one changed id may part a span from its scores)."""
    return result.spans_added or result.logs_added + result.scores_added


@functools.cache
def unmutated(relative: str) -> int:
    result, _ = imported(FIXTURES / relative)
    assert result.outcome is Outcome.IMPORTED, result.error
    return kept(result)


def check(relative: str, path: Path, *, one_value: bool, what: str) -> None:
    result, _ = imported(path)
    error = result.error or ""
    assert "internal error" not in error and "could not store" not in error, f"{what}: {error}"
    if result.outcome is not Outcome.IMPORTED:
        assert result.outcome is Outcome.FAILED and error.startswith(str(path)), f"{what}: {error}"
    if one_value:
        assert result.outcome is Outcome.IMPORTED, f"{what}: the whole file was dropped: {error}"
        assert kept(result) >= unmutated(relative) - 1, (
            f"{what}: {kept(result)} of {unmutated(relative)} kept"
        )


def fuzz(kind: str, scale: int):
    """The decorator running a test body on `EXAMPLES[kind] * scale` generated examples, the same
    ones each run (CI runs the soak too: a failure there is a finding to reproduce, never luck)."""
    return settings(
        max_examples=EXAMPLES[kind] * scale,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_every_reader_is_fuzzed() -> None:
    """A new format gets a fixture in mutations.py, or this fails."""
    from spanscope.core.formats import Source
    from spanscope.core.formats.registry import detect

    fuzzed = {detect(Source(FIXTURES / relative)).name for relative in m.ALL_FIXTURES}
    assert fuzzed == {spec.name for spec in registry()}


@pytest.mark.parametrize("scale", SCALES)
def test_one_bad_value_in_a_text_file_costs_at_most_its_record(scale: int) -> None:
    @fuzz("text", scale)
    @given(
        relative=st.sampled_from(m.TEXT_FIXTURES),
        place=st.integers(min_value=0, max_value=1 << 20),
        value=st.sampled_from((*m.REPLACEMENTS, None)),
    )
    def run(relative: str, place: int, value: str | None) -> None:
        source = FIXTURES / relative
        mutation = m.TextMutation(place, value)
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / source.name
            m.write_text_mutation(source, target, mutation)
            check(relative, target, one_value=True, what=f"{relative} {mutation}")

    run()


@pytest.mark.parametrize("scale", SCALES)
def test_one_out_of_range_protobuf_field_costs_at_most_its_record(scale: int) -> None:
    @fuzz("proto", scale)
    @given(
        relative=st.sampled_from(m.PROTO_FIXTURES),
        place=st.integers(min_value=0, max_value=10_000),
        field=st.sampled_from(m.PROTO_FIELDS),
    )
    def run(relative: str, place: int, field: tuple[str, object]) -> None:
        source = FIXTURES / relative
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / source.name
            m.write_proto_mutation(source, target, place, *field)
            check(relative, target, one_value=True, what=f"{relative} {field} at {place}")

    run()


@pytest.mark.parametrize("scale", SCALES)
def test_one_bad_cell_in_a_sqlite_store_costs_at_most_its_record(scale: int) -> None:
    @fuzz("sqlite", scale)
    @given(
        relative=st.sampled_from(m.SQLITE_FIXTURES),
        row=st.integers(min_value=0, max_value=1_000),
        column=st.integers(min_value=0, max_value=100),
        value=st.sampled_from(m.SQLITE_VALUES),
    )
    def run(relative: str, row: int, column: int, value: object) -> None:
        source = FIXTURES / relative
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / source.name
            if m.write_sqlite_mutation(source, target, row, column, value):
                check(
                    relative, target, one_value=True, what=f"{relative} row {row} column {column} = {value!r}"
                )

    run()


@pytest.mark.parametrize("scale", SCALES)
def test_one_bad_value_in_an_eval_zip_member_costs_at_most_its_record(scale: int) -> None:
    @fuzz("zip", scale)
    @given(
        relative=st.sampled_from(m.ZIP_FIXTURES),
        member=st.integers(min_value=0, max_value=100),
        place=st.integers(min_value=0, max_value=1 << 16),
        value=st.sampled_from((*m.REPLACEMENTS, None)),
    )
    def run(relative: str, member: int, place: int, value: str | None) -> None:
        source = FIXTURES / relative
        mutation = m.TextMutation(place, value)
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / source.name
            m.write_zip_mutation(source, target, member, mutation)
            check(relative, target, one_value=True, what=f"{relative} member {member} {mutation}")

    run()


@pytest.mark.parametrize("scale", SCALES)
def test_a_file_cut_short_or_with_a_byte_changed_never_raises(scale: int) -> None:
    @fuzz("truncated", scale)
    @given(
        relative=st.sampled_from(m.ALL_FIXTURES),
        fraction=st.floats(min_value=0.0, max_value=1.0),
        byte=st.one_of(st.none(), st.integers(min_value=0, max_value=255)),
    )
    def run(relative: str, fraction: float, byte: int | None) -> None:
        source = FIXTURES / relative
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / source.name
            if byte is None:
                m.write_truncated(source, target, fraction)
            else:
                m.write_byte_flip(source, target, int(fraction * source.stat().st_size), byte)
            check(relative, target, one_value=False, what=f"{relative} cut at {fraction:.3f} / byte {byte}")

    run()


def test_a_foreign_store_with_a_byte_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    """Found by the soak: a Phoenix store whose schema text holds a byte 0x80 raised
    UnicodeDecodeError while sniffing; text of other tools' stores is decoded with replacement."""
    source = FIXTURES / "phoenix-sqlite" / "phoenix.db"
    target = tmp_path / "phoenix.db"
    m.write_byte_flip(source, target, int(0.18408960471353944 * source.stat().st_size), 0x80)
    check("phoenix-sqlite/phoenix.db", target, one_value=False, what="phoenix.db with a byte 0x80")
