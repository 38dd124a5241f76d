"""Guard against Qt bindings that leak or over-release references to None.

PySide6 6.12.0 under Python 3.11 released one reference to None on every Qt call returning
nothing; a long session then aborted with "deallocating None". A binding upgrade must pass this.
"""

import sys

from PySide6.QtGui import QColor


def test_void_qt_calls_keep_none_alive():
    color = QColor()
    before = sys.getrefcount(None)
    for _ in range(1000):
        color.setAlpha(1)
    assert sys.getrefcount(None) - before > -10
