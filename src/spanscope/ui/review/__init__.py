"""Human review in the app: the Review tab (review mode), the Review menu, and the annotate and
label set dialogs, sharing one reviewer."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QTabWidget, QWidget

from spanscope.ui.context import QtTraceContext
from spanscope.ui.review.annotate_dialog import open_annotate_dialog
from spanscope.ui.review.menu import QtReviewMenu
from spanscope.ui.review.review_tab import ListState, QtReviewTab
from spanscope.ui.review.reviewer import QtReviewer
from spanscope.ui.trace_list import QtTraceListPanel


class QtReview(QObject):
    """Adds a Review tab to `tabs` (whose first tab shows the traces) and builds `menu` for the
    window's menu bar."""

    def __init__(
        self,
        context: QtTraceContext,
        trace_list: QtTraceListPanel,
        settings: QSettings,
        tabs: QTabWidget,
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self.context = context
        self.trace_list = trace_list
        self.tabs = tabs
        self._window = window
        self.reviewer = QtReviewer(context, settings, self)
        self.tab = QtReviewTab(context, self.reviewer, self.list_state)
        tabs.addTab(self.tab, "Review")
        self.tab.open_trace.connect(self._open_trace)
        self.menu = QtReviewMenu(self.reviewer, self.start, window)

    def list_state(self) -> ListState:
        model = self.trace_list.model
        order_by, descending = model.sort_order()
        return model.trace_filter, order_by, descending, self.context.trace_id, model.rowids()

    def start(self) -> None:
        """Start review mode on what the trace list shows now, on its own tab."""
        self.tab.start()
        self.tabs.setCurrentWidget(self.tab)

    def annotate(self, trace_id: str, span_id: str) -> None:
        """Open the annotate dialog for a span, or for the whole trace (span_id WHOLE_TRACE)."""
        open_annotate_dialog(self.reviewer, trace_id, span_id, self._window)

    def _open_trace(self, trace_id: str) -> None:
        self.context.select_trace(trace_id)
        self.tabs.setCurrentIndex(0)
