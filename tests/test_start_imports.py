"""Opening the app or running a command that makes no model call never loads the `openai` client or
`keyring` (half a second and more of every start): they are imported when a call is made."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["spanscope.ui.main_window", "spanscope.cli.entry"])
def test_starting_loads_no_model_client(module):
    code = (
        f"import sys, {module}\n"
        "print(','.join(sorted(n for n in ('openai', 'keyring', 'httpx') if n in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
