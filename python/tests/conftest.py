"""Shared pytest setup for the bindings' tests: the repository root, the golden cases,
and UTC as the local zone (the golden inputs' naive timestamps were read in UTC)."""

import os
import time
from pathlib import Path

os.environ["TZ"] = "UTC"
time.tzset()

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
DATASETS = ROOT / "datasets"
