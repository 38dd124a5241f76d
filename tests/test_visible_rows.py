"""VisibleRows: the pre-order list of shown spans, and expansion as blocks inserted and removed."""

from __future__ import annotations

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.debugging.visible_rows import VisibleRows
from spanscope.core.span_rows import SpanRows

#: span -> parent, in start order: r0 (a (a1 a2) b) and a second root r1 (c).
SHAPE = {"r0": None, "a": "r0", "a1": "a", "a2": "a", "b": "r0", "r1": None, "c": "r1"}


def tree() -> TraceTree:
    rows = [
        {
            "span_id": s,
            "parent_id": p,
            "name": s,
            "kind": "SPAN",
            "status": "unset",
            "start_ns": n,
            "end_ns": n,
        }
        for n, (s, p) in enumerate(SHAPE.items())
    ]
    return TraceTree.build(SpanRows.from_dicts(rows))


def shown(visible: VisibleRows) -> list[tuple[str, int]]:
    names = visible.tree.rows.columns["span_id"]
    return [(names[i], d) for i, d in zip(visible.rows, visible.depths, strict=True)]


def row(visible: VisibleRows, span_id: str) -> int:
    return visible.tree.index[span_id]


def test_depth_and_all_expanded_walk_in_pre_order():
    assert shown(VisibleRows(tree())) == [("r0", 0), ("r1", 0)]
    assert shown(VisibleRows.to_depth(tree(), 0)) == [("r0", 0), ("a", 1), ("b", 1), ("r1", 0), ("c", 1)]
    full = VisibleRows.all_expanded(tree())
    assert [s for s, _ in shown(full)] == list(SHAPE)
    assert shown(full)[2:4] == [("a1", 2), ("a2", 2)]


def test_collapsing_removes_the_subtree_block_and_expanding_restores_it():
    visible = VisibleRows.all_expanded(tree())
    pos = visible.find(row(visible, "r0"))
    count = visible.closing(pos)
    assert count == 4
    visible.close(pos, count)
    assert shown(visible) == [("r0", 0), ("r1", 0), ("c", 1)]
    block = visible.opening(pos)
    assert len(block[0]) == 4, "a kept its expansion while hidden"
    visible.open(pos, block)
    assert [s for s, _ in shown(visible)] == list(SHAPE)


def test_the_last_subtree_closes_to_the_end_and_hidden_rows_are_not_found():
    visible = VisibleRows.all_expanded(tree())
    pos = visible.find(row(visible, "a"))
    assert visible.closing(pos) == 2
    visible.close(pos, 2)
    assert visible.find(row(visible, "a1")) == -1 and not visible.is_expanded(row(visible, "a"))
    last = visible.find(row(visible, "r1"))
    assert visible.closing(last) == 1


def test_a_filtered_tree_shows_only_the_kept_rows():
    full = tree()
    visible = VisibleRows.all_expanded(full.filtered([full.index["a2"]]))
    assert shown(visible) == [("r0", 0), ("a", 1), ("a2", 2)]
    assert not visible.has_children(row(visible, "b"))
