"""Error-consistency ceiling: the error consistency between every pair of human subjects.

The aggregate is the metric's: |mean over pairs of the mean over conditions
of Cohen's kappa|, error = std over (pair, condition), computed on the stimuli
both subjects of a pair saw in each condition. See
:mod:`cortexscore.metrics.behaviour` for the trial format.
"""
from __future__ import annotations

import xarray as xr

from cortexscore.metrics.behaviour import human_pair_kappas
from cortexscore.score import Score


class ErrorConsistencyCeiling:
    """Human-pair error consistency of behavioural trials with a ``subject`` coordinate.

    Examples
    --------
    >>> import xarray as xr
    >>> trials = xr.DataArray(["cat", "dog", "cat", "cat"] * 2, dims="presentation", coords={
    ...     "stimulus_id": ("presentation", ["a", "b", "c", "d"] * 2), "truth": ("presentation", ["cat"] * 8),
    ...     "condition": ("presentation", ["noise"] * 8), "subject": ("presentation", ["s1"] * 4 + ["s2"] * 4)})
    >>> float(ErrorConsistencyCeiling()(trials))
    1.0
    """

    def __repr__(self) -> str:
        return "ErrorConsistencyCeiling()"

    def __call__(self, assembly: xr.DataArray) -> Score:
        score = human_pair_kappas(assembly)
        score.attrs["ceiling"] = "error_consistency"
        return score
