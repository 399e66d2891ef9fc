"""RSA noise ceiling across subjects (Nili et al. 2014).

Each subject's RDM (1 - Pearson r between stimuli over that subject's
neuroids) is compared by Spearman r of the strict upper triangles:

- upper bound (the value): mean over subjects of r(subject RDM, mean RDM of all subjects);
- lower bound (``attrs['lower_bound']``): mean over subjects of r(subject RDM, mean RDM of the others).

The error is the std over subjects / sqrt(subjects) of the upper-bound terms,
which are also ``per_split``.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

from cortexscore.metrics._assembly import prepare_target
from cortexscore.metrics.representational import rdm, rdm_similarity
from cortexscore.score import Score


class RDMSubjects:
    """Nili upper bound of the RSA ceiling, keeping the leave-one-subject-out lower bound.

    Parameters
    ----------
    subject_coord : str
        The ``neuroid`` coordinate that names subjects ('subject').

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> signal = np.random.default_rng(0).normal(size=(12, 4))
    >>> assembly = xr.DataArray(np.hstack([signal, 2 * signal]), dims=("presentation", "neuroid"), coords={
    ...     "stimulus_id": ("presentation", [f"s{i:02d}" for i in range(12)]),
    ...     "subject": ("neuroid", ["a"] * 4 + ["b"] * 4)})
    >>> score = RDMSubjects()(assembly)
    >>> float(score), float(score.attrs["lower_bound"])
    (1.0, 1.0)
    """

    def __init__(self, *, subject_coord: str = "subject"):
        self.options = dict(subject_coord=subject_coord)

    def __repr__(self) -> str:
        return f"RDMSubjects(subject_coord={self.options['subject_coord']!r})"

    def __call__(self, assembly: xr.DataArray) -> Score:
        subject_coord = self.options["subject_coord"]
        if subject_coord not in assembly.coords or assembly[subject_coord].dims != ("neuroid",):
            raise ValueError(f"The rdm_subjects ceiling needs a {subject_coord!r} coordinate on the 'neuroid' dim.")
        ids, values = prepare_target(assembly)
        subjects = np.asarray(assembly[subject_coord].values).astype(str)
        names = np.unique(subjects)
        if len(names) < 2:
            raise ValueError(f"The rdm_subjects ceiling needs at least 2 subjects, got {names.tolist()}.")
        rdms = np.stack([rdm(values[:, subjects == name], ids, f"assembly (subject {name})") for name in names])
        total = rdms.sum(axis=0)
        upper = np.array([rdm_similarity(subject_rdm, total / len(names)) for subject_rdm in rdms])
        lower = np.array([rdm_similarity(subject_rdm, (total - subject_rdm) / (len(names) - 1))
                          for subject_rdm in rdms])
        return Score(value=float(upper.mean()), error=float(upper.std() / math.sqrt(len(upper))), per_split=upper,
                     attrs=dict(ceiling="rdm_subjects", options=self.options, subjects=names.tolist(),
                                upper_bound=float(upper.mean()), lower_bound=float(lower.mean()),
                                per_subject_upper=upper, per_subject_lower=lower, n_stimuli=len(ids)))
