"""Split-half internal consistency over repetitions, with the Spearman-Brown correction.

Follows Brain-Score's ``InternalConsistency``: 10 shuffle splits of the unique
repetition values (train 0.5, random_state 1); per split each half is averaged
over its repetitions per stimulus (NaN trials skipped), Pearson r per neuroid
between the halves, Spearman-Brown ``2r / (1 + r)``, median over neuroids;
mean over splits, error = std (ddof 0) / sqrt(splits).
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

from cortexscore.metrics._assembly import (
    _describe, check_assembly, check_observed, group_sums, make_splits, neuroid_ids, pearson_columns, stimulus_ids,
)
from cortexscore.score import Score


def spearman_brown(correlation, n: float = 2):
    """Predicted reliability of ``n`` times as much data from a reliability of ``correlation``.

    Examples
    --------
    >>> spearman_brown(0.5)
    0.6666666666666666
    """
    return n * correlation / (1 + (n - 1) * correlation)


class InternalConsistency:
    """Split-half reliability of an assembly with a ``repetition`` coordinate.

    Parameters
    ----------
    splits : int
        Number of shuffle splits of the unique repetitions (10).
    train_size : float
        Fraction of repetitions in the first half (0.5).
    random_state : int
        Seed of the splits (1).
    split_coord : str
        The ``presentation`` coordinate to split over ('repetition').

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(50, 4))
    >>> trials = np.concatenate([signal + 0.1 * rng.normal(size=signal.shape) for _ in range(4)])
    >>> assembly = xr.DataArray(trials, dims=("presentation", "neuroid"), coords={
    ...     "stimulus_id": ("presentation", np.tile([f"s{i}" for i in range(50)], 4)),
    ...     "repetition": ("presentation", np.repeat(np.arange(4), 50))})
    >>> score = InternalConsistency()(assembly)
    >>> round(float(score), 3), len(score.per_split)
    (0.998, 10)
    """

    def __init__(self, *, splits: int = 10, train_size: float = 0.5, random_state: int = 1,
                 split_coord: str = "repetition"):
        self.options = dict(splits=splits, train_size=train_size, random_state=random_state, split_coord=split_coord)

    def __repr__(self) -> str:
        return "InternalConsistency(" + ", ".join(f"{k}={v!r}" for k, v in self.options.items()) + ")"

    def __call__(self, assembly: xr.DataArray) -> Score:
        split_coord = self.options["split_coord"]
        values = check_assembly(assembly, "assembly", allow_nan=True)
        if split_coord not in assembly.coords or assembly[split_coord].dims != ("presentation",):
            raise ValueError(
                f"The internal-consistency ceiling needs a {split_coord!r} coordinate on 'presentation' holding "
                "the raw (not averaged) trials.")
        ids, stimulus_index = np.unique(stimulus_ids(assembly), return_inverse=True)
        repetitions, repetition_index = np.unique(assembly[split_coord].values, return_inverse=True)
        # Sums and counts per (repetition, stimulus) once; each half then only adds up repetitions.
        sums, counts = group_sums(values, repetition_index * len(ids) + stimulus_index, len(repetitions) * len(ids))
        sums = sums.reshape(len(repetitions), len(ids), -1)
        counts = counts.reshape(len(repetitions), len(ids), -1)
        split_indices = make_splits(len(repetitions), splits=self.options["splits"],
                                    train_size=self.options["train_size"], random_state=self.options["random_state"],
                                    role=f"{split_coord} values", minimum=1)
        neuroids = neuroid_ids(assembly)
        per_split_per_neuroid = np.empty((len(split_indices), values.shape[1]))
        for split, (half, other_half) in enumerate(split_indices):
            means = []
            for repetition_subset in (half, other_half):
                half_counts = counts[repetition_subset].sum(axis=0)
                check_observed(half_counts, ids, f"half of the repetitions {repetitions[repetition_subset].tolist()}")
                means.append(sums[repetition_subset].sum(axis=0) / half_counts)
            correlations = pearson_columns(*means)
            if np.isnan(correlations).any():
                raise ValueError(
                    f"In split {split}, neuroids {_describe(np.asarray(neuroids)[np.isnan(correlations)])} are "
                    "constant across stimuli in one half, so their split-half correlation is undefined; drop them.")
            per_split_per_neuroid[split] = spearman_brown(correlations)
        per_split = np.median(per_split_per_neuroid, axis=1)
        return Score(value=float(per_split.mean()), error=float(per_split.std() / math.sqrt(len(per_split))),
                     per_split=per_split,
                     attrs=dict(ceiling="internal_consistency", options=self.options,
                                random_state=self.options["random_state"],
                                per_split_per_neuroid=per_split_per_neuroid, neuroid_id=np.asarray(neuroids),
                                n_stimuli=len(ids), n_repetitions=len(repetitions)))
