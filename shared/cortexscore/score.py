"""The result type every metric and ceiling returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Score:
    """A scalar score with its uncertainty and everything that produced it.

    Parameters
    ----------
    value : float
        The score itself; ``float(score)`` returns it.
    error : float
        The standard error of ``value`` over cross-validation splits.
    per_split : numpy.ndarray
        One value per split, before the mean.
    attrs : dict
        Everything else: per-neuroid values, the options used, seeds.

    Examples
    --------
    >>> score = Score(value=0.5, error=0.1, per_split=np.array([0.4, 0.6]))
    >>> float(score)
    0.5
    """

    value: float
    error: float = float("nan")
    per_split: np.ndarray = field(default_factory=lambda: np.empty(0))
    attrs: dict[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        return f"Score(value={self.value:.6g}, error={self.error:.3g}, splits={len(self.per_split)})"
