"""Ceilings: how well the data predicts itself, the best score a model can be expected to reach.

Every ceiling is built by :func:`load_ceiling` and called as ``ceiling(assembly) -> Score``.
"""
from __future__ import annotations

import importlib
from typing import Callable

import xarray as xr

from cortexscore.score import Score

Ceiling = Callable[[xr.DataArray], Score]


# name -> (module, class); modules are imported on first use.
_CEILINGS: dict[str, tuple[str, str]] = {
    "internal_consistency": ("internal_consistency", "InternalConsistency"),
    "rdm_subjects": ("rdm_subjects", "RDMSubjects"),
    "error_consistency": ("error_consistency", "ErrorConsistencyCeiling"),
}


def ceiling_names() -> list[str]:
    """The names :func:`load_ceiling` accepts."""
    return sorted(_CEILINGS)


def load_ceiling(name: str, **options) -> Ceiling:
    """The ceiling called ``name``, configured with ``options``.

    Parameters
    ----------
    name : str
        ``internal_consistency`` (split-half over a ``repetition`` coordinate),
        ``rdm_subjects`` (Nili upper bound over a ``subject`` coordinate on
        ``neuroid``), ``error_consistency`` (human pairs; trials with a
        ``subject`` coordinate).
    **options
        Passed to the ceiling, e.g. ``splits``, ``train_size``, ``random_state``.

    Returns
    -------
    callable
        ``ceiling(assembly) -> Score``.

    Examples
    --------
    >>> load_ceiling("internal_consistency")
    InternalConsistency(splits=10, train_size=0.5, random_state=1, split_coord='repetition')
    >>> load_ceiling("nope")
    Traceback (most recent call last):
    ...
    ValueError: Unknown ceiling 'nope'; choose one of: error_consistency, internal_consistency, rdm_subjects.
    """
    if name not in _CEILINGS:
        raise ValueError(f"Unknown ceiling {name!r}; choose one of: {', '.join(ceiling_names())}.")
    module, factory = _CEILINGS[name]
    return getattr(importlib.import_module(f"cortexscore.ceilings.{module}"), factory)(**options)


__all__ = ["load_ceiling", "ceiling_names", "Ceiling"]
