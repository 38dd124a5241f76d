"""`python -m spanscope.cli`: the same as the `spanscope` command."""

import sys

from spanscope.cli import main

if __name__ == "__main__":
    sys.exit(main())
