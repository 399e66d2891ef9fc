"""Ceiling normalisation conventions: how a raw score and its ceiling become the ceiled score.

=============================== ============================ ==========================================
name                            ceiled                       used for
=============================== ============================ ==========================================
``r2_over_ceiling``             raw**2 / ceiling             neural predictivity (Brain-Score since 2026; default)
``legacy_r_over_ceiling_squared`` (raw / ceiling)**2         neural predictivity on older leaderboards
``r_over_ceiling``              raw / ceiling                RSA, CKA and the generic rule
``clipped_r_over_ceiling``      clip(raw / ceiling, 0, 1)    error consistency
=============================== ============================ ==========================================

As in Brain-Score, the ceiled score keeps the raw score's error; the raw
value, the ceiling, both errors and the convention's name go in ``attrs``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from cortexscore.score import Score

DEFAULT_CONVENTION = "r2_over_ceiling"

CONVENTIONS: dict[str, Callable[[float, float], float]] = {
    "r2_over_ceiling": lambda raw, ceiling: raw ** 2 / ceiling,
    "legacy_r_over_ceiling_squared": lambda raw, ceiling: (raw / ceiling) ** 2,
    "r_over_ceiling": lambda raw, ceiling: raw / ceiling,
    "clipped_r_over_ceiling": lambda raw, ceiling: float(np.clip(raw / ceiling, 0.0, 1.0)),
}


def _check_convention(raw: Score | float, ceiling: Score | float, convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"Unknown ceiling convention {convention!r}; choose one of: {', '.join(CONVENTIONS)}.")
    for role, value in (("raw score", raw), ("ceiling", ceiling)):
        if not np.isfinite(float(value)):
            raise ValueError(f"The {role} is {float(value)}; a ceiled score needs finite numbers.")
    if float(ceiling) <= 0:
        raise ValueError(f"The ceiling is {float(ceiling)}; it must be positive to normalise by it.")


def ceil_score(raw: Score | float, ceiling: Score | float, convention: str = DEFAULT_CONVENTION) -> Score:
    """Normalise ``raw`` by ``ceiling`` with the named convention.

    Parameters
    ----------
    raw, ceiling : Score or float
    convention : str
        One of ``r2_over_ceiling`` (default), ``legacy_r_over_ceiling_squared``,
        ``r_over_ceiling``, ``clipped_r_over_ceiling``.

    Returns
    -------
    Score
        ``value`` is the ceiled score, ``error`` the raw score's error;
        ``attrs`` holds ``raw``, ``ceiling``, ``raw_error``, ``ceiling_error``
        and ``convention``.

    Examples
    --------
    >>> ceil_score(0.5, 0.8).value
    0.3125
    >>> ceil_score(0.5, 0.8, "legacy_r_over_ceiling_squared").value
    0.390625
    >>> ceil_score(0.5, 0.8, "r_over_ceiling").attrs["convention"]
    'r_over_ceiling'
    >>> ceil_score(0.9, 0.8, "clipped_r_over_ceiling").value
    1.0
    """
    _check_convention(raw, ceiling, convention)
    raw_error = float(raw.error) if isinstance(raw, Score) else float("nan")
    ceiling_error = float(ceiling.error) if isinstance(ceiling, Score) else float("nan")
    return Score(
        value=float(CONVENTIONS[convention](float(raw), float(ceiling))),
        error=raw_error,
        per_split=np.asarray(raw.per_split) if isinstance(raw, Score) else np.empty(0),
        attrs=dict(raw=float(raw), ceiling=float(ceiling), raw_error=raw_error, ceiling_error=ceiling_error,
                   convention=convention),
    )


__all__ = ["ceil_score", "CONVENTIONS", "DEFAULT_CONVENTION"]
