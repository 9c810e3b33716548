"""Online baselines: streaming estimators of what "normal" looks like.

:class:`RunningStats` (Welford mean/variance), :class:`EWMA` (exponentially weighted,
for drifting streams) and :class:`RollingWindow` (bounded window with median and MAD).
All three are native classes over the engine's own baselines.
"""

from __future__ import annotations

from ._native import EWMA, RollingWindow, RunningStats

__all__ = ["RunningStats", "EWMA", "RollingWindow"]
