"""``python -m trace_sentinel``: the command line."""

from .cli import main

raise SystemExit(main())
