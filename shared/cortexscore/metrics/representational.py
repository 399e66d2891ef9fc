"""Representational similarity: RDM (RSA) and CKA, computed over stimuli sorted by ``stimulus_id``.

- ``rdm``: RDM = 1 - Pearson r between stimuli over neuroids; the score is the
  Spearman r of the two RDMs' strict upper triangles. All neuroids are pooled
  into one RDM, as Brain-Score does, whatever coordinates the target has;
  ``subject_coord='subject'`` instead averages the per-subject scores.
- ``rdm_cv``: the same on 10 splits that each evaluate 90% of the stimuli
  (nothing is fitted), stratified on ``object_name`` when an assembly has it
  (Brain-Score's default); mean over splits, error = std / sqrt(splits).
- ``cka``: unbiased linear CKA (Song et al. 2012 HSIC estimator, n >= 4),
  HSIC(X,Y) / (sqrt(HSIC(X,X) HSIC(Y,Y)) + 1e-12) as Brain-Score computes it;
  ``cka_biased``: HSIC = sum(HKH * HLH).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.stats
import xarray as xr

from cortexscore.metrics._assembly import (
    DEFAULT_STRATIFICATION, SourceRows, _describe, center_gram, check_same_stimuli, gram_matrix, make_splits,
    pearson_columns, prepare_source, prepare_target, stratification_labels, stratification_used,
)
from cortexscore.score import Score


def _aligned(source: xr.DataArray, target: xr.DataArray) -> tuple[np.ndarray, SourceRows, np.ndarray]:
    source_ids, source_rows = prepare_source(source)
    target_ids, target_values = prepare_target(target)
    check_same_stimuli(source_ids, target_ids)
    return target_ids, source_rows, target_values


def rdm(values: np.ndarray | SourceRows, ids: np.ndarray | None = None, role: str = "assembly") -> np.ndarray:
    """Representational dissimilarity matrix: 1 - Pearson r between the rows (stimuli) over the columns.

    Computed from the Gram matrix, so a wide source is never copied or centred whole.

    Examples
    --------
    >>> rdm(np.array([[1., 2., 3.], [3., 2., 1.], [2., 4., 6.]])).round(6)
    array([[0., 2., 0.],
           [2., 0., 2.],
           [0., 2., 0.]])
    """
    rows = values if isinstance(values, SourceRows) else SourceRows(values, np.arange(len(values)))
    constant = rows.row_is_constant()
    if constant.any():
        labels = np.arange(len(constant)) if ids is None else ids
        raise ValueError(
            f"The {role} has stimuli with the same value on every neuroid, so their RDM row is undefined: "
            f"{_describe(np.asarray(labels)[constant])}. Drop those stimuli or add neuroids.")
    means = rows.row_sums() / rows.n_features
    covariance = rows.gram() / rows.n_features - np.outer(means, means)
    scale = np.sqrt(np.diag(covariance))
    dissimilarity = 1 - covariance / np.outer(scale, scale)
    np.fill_diagonal(dissimilarity, 0.0)
    return dissimilarity


def rdm_similarity(rdm1: np.ndarray, rdm2: np.ndarray) -> float:
    """Spearman r between the strict upper triangles (k=1) of two RDMs in the same stimulus order.

    Examples
    --------
    >>> first = rdm(np.random.default_rng(0).normal(size=(6, 4)))
    >>> rdm_similarity(first, 2 * first + 1)
    1.0
    """
    upper = np.triu_indices(len(rdm1), k=1)
    ranks = [scipy.stats.rankdata(matrix[upper])[:, None] for matrix in (rdm1, rdm2)]
    return float(pearson_columns(*ranks)[0])


def _subject_groups(target: xr.DataArray, subject_coord: str | None) -> dict[str, np.ndarray]:
    """Neuroid indices per subject (sorted), or one group of all neuroids without a subject coordinate."""
    if subject_coord is None or subject_coord not in target.coords or target[subject_coord].dims != ("neuroid",):
        return {"all": np.arange(target.sizes["neuroid"])}
    subjects = np.asarray(target[subject_coord].values).astype(str)
    return {subject: np.flatnonzero(subjects == subject) for subject in np.unique(subjects)}


class RDMSimilarity:
    """RSA: Spearman r between the source's and the target's RDM upper triangles.

    Parameters
    ----------
    subject_coord : str or None
        None (the default, Brain-Score's behaviour): one RDM over all the
        target's neuroids. A ``neuroid`` coordinate naming subjects (e.g.
        ``'subject'``): the score is the mean over subjects of the per-subject
        similarity, and the error their standard error.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> values = np.random.default_rng(0).normal(size=(20, 5))
    >>> assembly = xr.DataArray(values, dims=("presentation", "neuroid"),
    ...                         coords={"stimulus_id": ("presentation", [f"s{i:02d}" for i in range(20)])})
    >>> float(RDMSimilarity()(assembly, assembly))
    1.0
    """

    def __init__(self, *, subject_coord: str | None = None):
        self.options = dict(subject_coord=subject_coord)

    def __repr__(self) -> str:
        return f"RDMSimilarity(subject_coord={self.options['subject_coord']!r})"

    @staticmethod
    def _rdms(ids, source_rows, target_values, groups) -> tuple[np.ndarray, list[np.ndarray]]:
        return rdm(source_rows, ids, "source"), [rdm(target_values[:, neuroids], ids, f"target ({subject})")
                                                 for subject, neuroids in groups.items()]

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        ids, source_rows, target_values = _aligned(source, target)
        groups = _subject_groups(target, self.options["subject_coord"])
        source_rdm, target_rdms = self._rdms(ids, source_rows, target_values, groups)
        per_subject = np.array([rdm_similarity(source_rdm, target_rdm) for target_rdm in target_rdms])
        return Score(value=float(per_subject.mean()), error=float(per_subject.std() / math.sqrt(len(per_subject))),
                     per_split=np.array([per_subject.mean()]),
                     attrs=dict(metric="rdm", options=self.options, subjects=list(groups), per_subject=per_subject,
                                n_stimuli=len(ids)))


class RDMSimilarityCrossValidated(RDMSimilarity):
    """RSA on 10 splits, each evaluating ``test_size`` (90%) of the stimuli; nothing is fitted.

    Parameters
    ----------
    splits : int
    test_size : float
        Fraction of stimuli each split evaluates (0.9).
    stratification_coord : str or None
        A ``presentation`` coordinate to stratify on (None: plain shuffle
        splits). The default, ``object_name``, is Brain-Score's; when neither
        assembly has it the splits are plain and ``attrs['stratification']``
        is None.
    random_state : int
    subject_coord : str or None

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> values = np.random.default_rng(0).normal(size=(40, 5))
    >>> assembly = xr.DataArray(values, dims=("presentation", "neuroid"),
    ...                         coords={"stimulus_id": ("presentation", [f"s{i:02d}" for i in range(40)])})
    >>> score = RDMSimilarityCrossValidated()(assembly, assembly)
    >>> float(score), len(score.per_split)
    (1.0, 10)
    """

    def __init__(self, *, splits: int = 10, test_size: float = 0.9,
                 stratification_coord: str | None = DEFAULT_STRATIFICATION, random_state: int = 1,
                 subject_coord: str | None = None):
        super().__init__(subject_coord=subject_coord)
        self.options.update(splits=splits, test_size=test_size, stratification_coord=stratification_coord,
                            random_state=random_state)

    def __repr__(self) -> str:
        return "RDMSimilarityCrossValidated(" + ", ".join(f"{k}={v!r}" for k, v in self.options.items()) + ")"

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        ids, source_rows, target_values = _aligned(source, target)
        groups = _subject_groups(target, self.options["subject_coord"])
        # A stimulus pair's dissimilarity does not depend on the other stimuli: each split takes a sub-block.
        source_rdm, target_rdms = self._rdms(ids, source_rows, target_values, groups)
        labels = stratification_labels(source, target, ids, self.options["stratification_coord"])
        split_indices = make_splits(
            len(ids), splits=self.options["splits"], test_size=self.options["test_size"],
            random_state=self.options["random_state"], minimum=1, stratification=labels)
        per_split_per_subject = np.array([
            [rdm_similarity(source_rdm[np.ix_(test, test)], target_rdm[np.ix_(test, test)]) for target_rdm in target_rdms]
            for _, test in split_indices])
        per_split = per_split_per_subject.mean(axis=1)
        return Score(value=float(per_split.mean()), error=float(per_split.std() / math.sqrt(len(per_split))),
                     per_split=per_split,
                     attrs=dict(metric="rdm_cv", options=self.options, random_state=self.options["random_state"],
                                subjects=list(groups), per_split_per_subject=per_split_per_subject,
                                n_stimuli=len(ids),
                                stratification=stratification_used(self.options["stratification_coord"], labels)))


# Added to the unbiased CKA's denominator, as brainscore-vision's unbiased_linear_CKA does.
UNBIASED_CKA_EPS = 1e-12


def _unbiased_hsic(gram1: np.ndarray, gram2: np.ndarray) -> float:
    """Unbiased HSIC of two (uncentred) linear-kernel Gram matrices."""
    n = len(gram1)
    gram1, gram2 = gram1.copy(), gram2.copy()
    np.fill_diagonal(gram1, 0.0)
    np.fill_diagonal(gram2, 0.0)
    row_sums1, row_sums2 = gram1.sum(axis=1), gram2.sum(axis=1)
    return float(((gram1 * gram2).sum() + row_sums1.sum() * row_sums2.sum() / ((n - 1) * (n - 2))
                  - 2 * (row_sums1 @ row_sums2) / (n - 2)) / (n * (n - 3)))


def _biased_hsic(gram1: np.ndarray, gram2: np.ndarray) -> float:
    """sum(HKH * HLH) for the centring matrix H."""
    everything = np.arange(len(gram1))
    return float((center_gram(gram1, everything, everything) * center_gram(gram2, everything, everything)).sum())


def cka(source: np.ndarray | SourceRows, target: np.ndarray | SourceRows, *, unbiased: bool = True) -> float:
    """Linear CKA between two stimulus x feature matrices with rows in the same order.

    Returns 0 when HSIC(X,X) * HSIC(Y,Y) <= 0 (possible for the unbiased estimator). The unbiased
    estimator's denominator is sqrt(HSIC(X,X) HSIC(Y,Y)) + 1e-12, as in Brain-Score.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(30, 6))
    >>> rotation, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    >>> round(cka(x, 3 * x @ rotation), 10)
    1.0
    """
    gram1, gram2 = (rows.gram() if isinstance(rows, SourceRows) else gram_matrix(rows) for rows in (source, target))
    if len(gram1) < 4:
        raise ValueError(f"CKA needs at least 4 stimuli, got {len(gram1)}.")
    hsic = _unbiased_hsic if unbiased else _biased_hsic
    denominator = hsic(gram1, gram1) * hsic(gram2, gram2)
    if denominator <= 0:
        return 0.0
    return hsic(gram1, gram2) / (math.sqrt(denominator) + (UNBIASED_CKA_EPS if unbiased else 0.0))


class CKA:
    """Centered kernel alignment (linear kernel) between source and target.

    Parameters
    ----------
    unbiased : bool
        The unbiased HSIC estimator (``cka``) or the biased one (``cka_biased``).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> values = np.random.default_rng(0).normal(size=(20, 5))
    >>> assembly = xr.DataArray(values, dims=("presentation", "neuroid"),
    ...                         coords={"stimulus_id": ("presentation", [f"s{i:02d}" for i in range(20)])})
    >>> round(float(CKA()(assembly, 2 * assembly)), 10)
    1.0
    """

    def __init__(self, *, unbiased: bool = True):
        self.options = dict(unbiased=unbiased)

    def __repr__(self) -> str:
        return f"CKA(unbiased={self.options['unbiased']!r})"

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        ids, source_rows, target_values = _aligned(source, target)
        value = cka(source_rows, target_values, unbiased=self.options["unbiased"])
        return Score(value=value, error=0.0, per_split=np.array([value]),
                     attrs=dict(metric="cka" if self.options["unbiased"] else "cka_biased", options=self.options,
                                n_stimuli=len(ids),
                                error_note="CKA is computed once on all stimuli, so it has no split error (0)."))
