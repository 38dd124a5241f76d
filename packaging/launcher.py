"""Entry point of the PyInstaller bundle: the same `spanscope` command as the installed one."""

import sys

from spanscope.cli import main

if __name__ == "__main__":
    sys.exit(main())
