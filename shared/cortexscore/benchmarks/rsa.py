"""RSA against published dissimilarity matrices: the target is one RDM per (subject, session), not responses.

Datasets such as Kriegeskorte et al. 2008 publish RDMs rather than responses,
so the target assembly holds matrices: dims ``matrix`` x ``presentation`` x
``stimulus_column``, with ``stimulus_id`` on both stimulus dims and
``subject`` / ``session`` on ``matrix``. Sessions of a subject are averaged.

The comparison is the library's RSA (:func:`cortexscore.metrics.representational.rdm`
and :func:`~cortexscore.metrics.representational.rdm_similarity`): Spearman r
of the strict upper triangles, the mean over subjects, ordered by
``stimulus_id``. The committed layer is the best one on all stimuli (too few
for a public/private split); its score is the cross-validated variant, 10
(stratified) splits that each evaluate 90% of the stimuli.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from cortexscore.benchmarks.scoring import BenchmarkResult, ceiled_result, mean_score, register
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.metrics._assembly import make_splits
from cortexscore.metrics.representational import rdm, rdm_similarity
from cortexscore.models.commitment import select_layer
from cortexscore.score import Score

MATRIX_DIMS = ("matrix", "presentation", "stimulus_column")


def matrix_assembly(matrices: np.ndarray, stimulus_ids, subjects, sessions, *, identifier: str,
                    stimulus_set_identifier: str, kind: str) -> xr.DataArray:
    """Package (n_matrices, n_stimuli, n_stimuli) similarity or dissimilarity matrices as an assembly.

    Examples
    --------
    >>> assembly = matrix_assembly(np.zeros((2, 3, 3)), ["a", "b", "c"], ["s1", "s2"], [1, 1],
    ...                            identifier="x", stimulus_set_identifier="y", kind="rdm")
    >>> dict(assembly.sizes)
    {'matrix': 2, 'presentation': 3, 'stimulus_column': 3}
    """
    matrices = np.asarray(matrices, dtype=np.float64)
    if matrices.ndim != 3 or matrices.shape[1] != matrices.shape[2] or matrices.shape[1] != len(stimulus_ids):
        raise ValueError(f"matrices must be (n_matrices, n_stimuli, n_stimuli) with n_stimuli = "
                         f"{len(stimulus_ids)} stimulus ids; got shape {matrices.shape}")
    return xr.DataArray(matrices, dims=MATRIX_DIMS, coords={
        "subject": ("matrix", [str(subject) for subject in subjects]),
        "session": ("matrix", np.asarray(sessions)),
        "stimulus_id": ("presentation", [str(value) for value in stimulus_ids]),
        "column_stimulus_id": ("stimulus_column", [str(value) for value in stimulus_ids]),
    }, attrs={"identifier": identifier, "stimulus_set_identifier": stimulus_set_identifier, "matrix_kind": kind})


def _check_matrix_assembly(assembly: xr.DataArray) -> None:
    if tuple(assembly.dims) != MATRIX_DIMS:
        raise ValueError(f"a matrix target needs the dims {MATRIX_DIMS}, got {assembly.dims}; build it with "
                         "cortexscore.benchmarks.rsa.matrix_assembly")
    rows = np.asarray(assembly["stimulus_id"].values).astype(str)
    if not (rows == np.asarray(assembly["column_stimulus_id"].values).astype(str)).all():
        raise ValueError("the rows and columns of the target matrices list different stimuli")


def subject_matrices(assembly: xr.DataArray) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Sorted stimulus ids, subject names, and each subject's session-averaged matrix in that stimulus order."""
    _check_matrix_assembly(assembly)
    ids = np.asarray(assembly["stimulus_id"].values).astype(str)
    order = np.argsort(ids, kind="stable")
    subjects = np.asarray(assembly["subject"].values).astype(str)
    names = sorted(set(subjects))
    values = np.asarray(assembly.values)[:, order][:, :, order]
    return ids[order], names, np.stack([values[subjects == name].mean(axis=0) for name in names])


def rdm_subjects_ceiling(assembly: xr.DataArray) -> Score:
    """Nili et al. 2014 bounds from per-subject RDMs: value = upper bound, ``attrs['lower_bound']`` kept.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> base = rdm(rng.normal(size=(10, 5)))
    >>> noisy = [base + 0.05 * rng.random((10, 10)) for _ in range(4)]
    >>> assembly = matrix_assembly(np.stack(noisy), [f"s{i}" for i in range(10)], ["a", "b", "c", "d"], [1] * 4,
    ...                            identifier="x", stimulus_set_identifier="y", kind="rdm")
    >>> score = rdm_subjects_ceiling(assembly)
    >>> 0.9 < score.attrs["lower_bound"] <= float(score) <= 1
    True
    """
    ids, names, matrices = subject_matrices(assembly)
    if len(names) < 2:
        raise ValueError(f"the RDM subject ceiling needs at least 2 subjects, got {names}")
    total = matrices.sum(axis=0)
    upper = np.array([rdm_similarity(matrix, total / len(names)) for matrix in matrices])
    lower = np.array([rdm_similarity(matrix, (total - matrix) / (len(names) - 1)) for matrix in matrices])
    return mean_score(upper, method="rdm_subjects", upper_bound=float(upper.mean()), lower_bound=float(lower.mean()),
                      subjects=len(names), matrices=int(assembly.sizes["matrix"]), n_stimuli=len(ids))


def _layer_rdm_similarity(features: np.ndarray, rows: np.ndarray, subject_rdms: np.ndarray, ids: np.ndarray,
                          layer: str) -> np.ndarray:
    """Per-subject Spearman r between the layer's RDM on ``rows`` and each subject's RDM on the same rows."""
    model_rdm = rdm(np.asarray(features[rows], dtype=np.float64), ids[rows], f"layer {layer}")
    return np.array([rdm_similarity(model_rdm, subject_rdm[np.ix_(rows, rows)]) for subject_rdm in subject_rdms])


@register("rsa_matrices")
def score_rsa_matrices(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame,
                       layer_features: dict[str, np.ndarray], ceiling: Score | None = None,
                       log: Callable[[str], None] = print) -> BenchmarkResult:
    """Commit the layer whose RDM best matches the subjects' RDMs, then score it on 10 splits of 90% of stimuli."""
    ids, names, subject_rdms = subject_matrices(assembly)
    table_ids = stimuli["stimulus_id"].astype(str).to_numpy()
    missing = np.setdiff1d(ids, table_ids)
    if len(missing):
        raise ValueError(f"the stimulus table lacks the target's stimuli {missing[:5].tolist()}")
    # Put the model's rows in the target's (sorted stimulus_id) order.
    rows_in_table = pd.Index(table_ids).get_indexer(ids)
    features = {layer: np.asarray(values)[rows_in_table] for layer, values in layer_features.items()}
    everything = np.arange(len(ids))
    layer_scores = {}
    for layer, values in features.items():
        started = time.perf_counter()
        layer_scores[layer] = float(_layer_rdm_similarity(values, everything, subject_rdms, ids, layer).mean())
        log(f"layer {layer}: RSA {layer_scores[layer]:.4f} on {len(ids)} stimuli "
            f"({time.perf_counter() - started:.1f}s)")
    layer = select_layer(layer_scores)
    log(f"committed layer {layer} for region {spec.region}")
    options = {"splits": 10, "test_size": 0.9, "random_state": 1, "stratification_coord": None,
               **spec.metric_options}
    coord = options["stratification_coord"]
    labels = None if coord is None else stimuli[coord].astype(str).to_numpy()[rows_in_table]
    splits = make_splits(len(ids), splits=options["splits"], test_size=options["test_size"],
                         random_state=options["random_state"], minimum=1, stratification=labels)
    per_split_per_subject = np.array([_layer_rdm_similarity(features[layer], np.sort(test), subject_rdms, ids, layer)
                                      for _, test in splits])
    per_split = per_split_per_subject.mean(axis=1)
    raw = mean_score(per_split)
    if ceiling is None:
        ceiling = rdm_subjects_ceiling(assembly)
    return ceiled_result(spec, raw, ceiling, layer, metric_options=options, layer_scores=layer_scores,
                         selection_stimuli=len(ids), scoring_stimuli=len(ids), subjects=names,
                         per_split_per_subject=per_split_per_subject.tolist(),
                         seeds={"cross_validation": options["random_state"]})
