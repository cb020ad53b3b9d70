"""``python -m ipvs``: the command line."""

from __future__ import annotations

import sys

from ipvs._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
