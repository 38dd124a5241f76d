"""The window's table of panels: every tab, dock and part of the Traces tab, how each is made and
where it goes. The main window builds itself from it (RenderDoc-style: a new panel is one entry)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from spanscope.ui.context import View
from spanscope.ui.dashboard.compare_tab import QtCompareTab
from spanscope.ui.dashboard.dashboard_tab import QtDashboardTab
from spanscope.ui.detail import QtDetailPanel
from spanscope.ui.problems import QtProblemsPanel
from spanscope.ui.search import QtSearchPanel
from spanscope.ui.span_tree import QtSpanTreePanel
from spanscope.ui.stepping import QtBreakpointsPanel, QtConversationDiffView
from spanscope.ui.timeline import QtTimelinePanel
from spanscope.ui.trace_list import QtTraceListPanel


@dataclass(frozen=True)
class Area:
    """A part of the Traces tab: the trace list on top, the span tree and step detail below."""

    where: Literal["top", "lower left", "lower right"]


@dataclass(frozen=True)
class Tab:
    """A tab of the window, brought forward by `view`; `action` and `shortcut` put it in the View
    menu, which brings it forward with the keyboard focus."""

    title: str
    view: View
    action: str | None = None
    shortcut: str | None = None


@dataclass(frozen=True)
class Dock:
    """A dock: where it starts, whether it shows at first, whether the stepping toolbar toggles
    it, and the dock it shares its place with (as a tab)."""

    title: str
    area: Qt.DockWidgetArea
    shown: bool = True
    on_toolbar: bool = False
    tabbed_with: str | None = None


@dataclass(frozen=True)
class Panel:
    """One entry of the window's table: the attribute holding the panel, how it is made (panels
    register with the context themselves), where it goes."""

    name: str
    make: Callable[[Any], QWidget]  # from the QtMainWindow (which imports this table)
    place: Area | Tab | Dock


BOTTOM, RIGHT = Qt.DockWidgetArea.BottomDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea

#: Every panel of the window, in the order its tabs, docks and menu entries appear.
PANELS: tuple[Panel, ...] = (
    Panel("trace_list", lambda w: QtTraceListPanel(w.context, settings=w.settings), Area("top")),
    Panel("span_tree", lambda w: QtSpanTreePanel(w.context), Area("lower left")),
    Panel("detail", lambda w: QtDetailPanel(w.context, settings=w.settings), Area("lower right")),
    Panel("traces", lambda w: w.traces_tab(), Tab("Traces", View.TRACES)),
    Panel("dashboard", lambda w: QtDashboardTab(w.context), Tab("Dashboard", View.DASHBOARD)),
    Panel("compare", lambda w: QtCompareTab(w.context), Tab("Compare models", View.COMPARE)),
    Panel("review_tab", lambda w: w.review.make_tab(w.trace_list), Tab("Review", View.REVIEW)),
    Panel(
        "search",
        lambda w: QtSearchPanel(w.context),
        Tab("Search", View.SEARCH, "&Search All Spans…", "Ctrl+Shift+F"),
    ),
    Panel("timeline", lambda w: QtTimelinePanel(w.context), Dock("Timeline", BOTTOM)),
    Panel(
        "breakpoints",
        lambda w: QtBreakpointsPanel(w.stepping),
        Dock("Breakpoints", RIGHT, shown=False, on_toolbar=True),
    ),
    Panel(
        "changes",
        lambda w: QtConversationDiffView(w.stepping),
        Dock("Conversation changes", RIGHT, shown=False, on_toolbar=True, tabbed_with="breakpoints"),
    ),
    Panel(
        "problems",
        lambda w: QtProblemsPanel(),
        Dock("Problems", BOTTOM, shown=False, tabbed_with="timeline"),
    ),
)
