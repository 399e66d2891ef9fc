"""Coggan2024 fMRI: the reference benchmark's own RSA rules, which differ from the generic RDM metric.

The subjects' 24 x 24 similarity matrices (RSMs) are not symmetric, so every
off-diagonal entry counts, not one triangle. The model RSM is built from units
that pass the reference's selection (drop zero-variance units; keep units whose
mean over conditions exceeds 3.1 x the std of those means in absolute value;
z-score each unit over conditions; Pearson r between conditions). raw = the
mean over subjects of the Pearson r between off-diagonal entries; the ceiling
is the leave-one-subject-out lower bound; ceiled = (raw / ceiling)**2 (the
``legacy_r_over_ceiling_squared`` convention), as the reference computes it.

The target assembly is a matrix assembly (:func:`cortexscore.benchmarks.rsa.matrix_assembly`).
With only 24 stimuli there is no public/private split: the committed layer is
the best on all stimuli.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from cortexscore.benchmarks.rsa import subject_matrices
from cortexscore.benchmarks.scoring import BenchmarkResult, ceiled_result, mean_score, register
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.metrics._assembly import pearson_columns
from cortexscore.models.commitment import select_layer
from cortexscore.score import Score

SELECTION_THRESHOLD = 3.1


def off_diagonal(matrices: np.ndarray) -> np.ndarray:
    """Every off-diagonal entry of (..., n, n) matrices, row-major: (..., n * (n - 1)).

    >>> off_diagonal(np.arange(9.).reshape(3, 3)).tolist()
    [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
    """
    n = matrices.shape[-1]
    return matrices[..., ~np.eye(n, dtype=bool)]


def model_rsm(features: np.ndarray) -> np.ndarray:
    """The reference's model RSM from (n_conditions, n_units) responses, or a ValueError when no unit passes.

    >>> rng = np.random.default_rng(0)
    >>> responses = np.concatenate([rng.normal(size=(6, 40)), 10 + rng.normal(size=(6, 2))], axis=1)
    >>> model_rsm(responses).shape
    (6, 6)
    """
    features = np.asarray(features, dtype=np.float64)
    features = features[:, features.std(axis=0) > 0]
    means = features.mean(axis=0)
    selected = features[:, np.abs(means) > SELECTION_THRESHOLD * means.std()]
    if selected.shape[1] < 2:
        raise ValueError(f"only {selected.shape[1]} of {features.shape[1]} varying units have |mean| > "
                         f"{SELECTION_THRESHOLD} x the std of the unit means, too few for an RSM")
    zscored = (selected - selected.mean(axis=0)) / selected.std(axis=0)
    flat = np.flatnonzero(np.ptp(zscored, axis=1) == 0)
    if len(flat):
        raise ValueError(f"conditions {', '.join(map(str, flat))} have the same response on every selected unit "
                         "after z-scoring, so their correlation with other conditions is undefined")
    return np.corrcoef(zscored)


def _subject_correlations(reference: np.ndarray, subject_rsms: np.ndarray) -> np.ndarray:
    """Pearson r between the off-diagonal entries of ``reference`` and of each subject's RSM."""
    entries = off_diagonal(subject_rsms).T
    return pearson_columns(np.repeat(off_diagonal(reference)[:, None], entries.shape[1], axis=1), entries)


def coggan_ceiling(assembly: xr.DataArray) -> Score:
    """Mean over subjects of r(subject, mean RSM of the other subjects), on all off-diagonal entries.

    >>> from cortexscore.benchmarks.rsa import matrix_assembly
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.normal(size=(5, 5))
    >>> rsms = np.stack([shared + 0.1 * rng.normal(size=(5, 5)) for _ in range(3)])
    >>> assembly = matrix_assembly(rsms, list("abcde"), ["s1", "s2", "s3"], [1, 1, 1],
    ...                            identifier="x", stimulus_set_identifier="y", kind="rsm")
    >>> 0.9 < float(coggan_ceiling(assembly)) <= 1
    True
    """
    _, names, rsms = subject_matrices(assembly)
    if len(names) < 2:
        raise ValueError(f"the leave-one-subject-out ceiling needs at least 2 subjects, got {names}")
    others = (rsms.sum(axis=0) - rsms) / (len(names) - 1)
    per_subject = pearson_columns(off_diagonal(others).T, off_diagonal(rsms).T)
    return mean_score(per_subject, method="leave_one_subject_out", subjects=len(names),
                      n_stimuli=int(rsms.shape[1]))


@register("coggan_rsa")
def score_coggan(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame,
                 layer_features: dict[str, np.ndarray], ceiling: Score | None = None,
                 log: Callable[[str], None] = print) -> BenchmarkResult:
    """Commit the layer whose RSM best matches the subjects', and score it by the reference's rules."""
    ids, names, subject_rsms = subject_matrices(assembly)
    rows = pd.Index(stimuli["stimulus_id"].astype(str)).get_indexer(ids)
    if (rows < 0).any():
        raise ValueError(f"the stimulus table lacks the target's stimuli {ids[rows < 0][:5].tolist()}")
    per_layer: dict[str, np.ndarray] = {}
    layer_scores: dict[str, float] = {}
    for layer, features in layer_features.items():
        started = time.perf_counter()
        try:
            per_layer[layer] = _subject_correlations(model_rsm(np.asarray(features)[rows]), subject_rsms)
            layer_scores[layer] = float(per_layer[layer].mean())
        except ValueError as error:
            layer_scores[layer] = float("nan")
            log(f"layer {layer}: not scorable ({error})")
            continue
        log(f"layer {layer}: r {layer_scores[layer]:.4f} ({time.perf_counter() - started:.1f}s)")
    layer = select_layer(layer_scores)
    log(f"committed layer {layer} for region {spec.region}")
    per_subject = per_layer[layer]
    raw = mean_score(per_subject)
    if ceiling is None:
        ceiling = coggan_ceiling(assembly)
    return ceiled_result(spec, raw, ceiling, layer, layer_scores=layer_scores, selection_stimuli=len(ids),
                         scoring_stimuli=len(ids), subjects=names, unit_selection_threshold=SELECTION_THRESHOLD)
