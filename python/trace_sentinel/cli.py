"""The ``trace-sentinel`` console script: the repository's command line (``watch``,
``scan``, ``hud``), run in-process by the native module."""

from __future__ import annotations

import sys
from typing import List, Optional

from . import _native


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``trace-sentinel`` with ``argv`` (default: the process's arguments) and
    return its exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return _native.run_cli(["trace-sentinel", *args])


if __name__ == "__main__":
    raise SystemExit(main())
