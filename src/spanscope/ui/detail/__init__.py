"""The step detail panel: input/output, attributes, events and usage of the selected span."""

from spanscope.ui.detail.panel import QtDetailPanel

__all__ = ["QtDetailPanel"]
