"""Human review in the app: the Review tab (review mode), the Review menu, and the annotate and
label set dialogs, sharing one reviewer."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QWidget

from spanscope.ui.context import QtTraceContext, View
from spanscope.ui.review.annotate_dialog import open_annotate_dialog
from spanscope.ui.review.menu import QtReviewMenu
from spanscope.ui.review.review_tab import ListState, QtReviewTab
from spanscope.ui.review.reviewer import QtReviewer
from spanscope.ui.trace_list import QtTraceListPanel


class QtReview(QObject):
    """Builds `menu` for the window's menu bar, and the Review tab once the trace list it reviews
    exists (`make_tab`)."""

    def __init__(self, context: QtTraceContext, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self.context = context
        self._window = window
        self.reviewer = QtReviewer(context, settings, self)
        self.menu = QtReviewMenu(self.reviewer, self.start, window)
        self.trace_list: QtTraceListPanel | None = None
        self.tab: QtReviewTab | None = None

    def make_tab(self, trace_list: QtTraceListPanel) -> QtReviewTab:
        """The Review tab, reviewing what `trace_list` shows."""
        self.trace_list = trace_list
        self.tab = QtReviewTab(self.context, self.reviewer, self.list_state)
        self.tab.open_trace.connect(self.context.show_trace)
        return self.tab

    def list_state(self) -> ListState:
        assert self.trace_list is not None, "make_tab comes first"
        model = self.trace_list.model
        order_by, descending = model.sort_order()
        return model.trace_filter, order_by, descending, self.context.trace_id, model.rowids()

    def start(self) -> None:
        """Start review mode on what the trace list shows now, on its own tab."""
        assert self.tab is not None, "make_tab comes first"
        self.tab.start()
        self.context.show_view(View.REVIEW)

    def annotate(self, trace_id: str, span_id: str) -> None:
        """Open the annotate dialog for a span, or for the whole trace (span_id WHOLE_TRACE)."""
        open_annotate_dialog(self.reviewer, trace_id, span_id, self._window)
