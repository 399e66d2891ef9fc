"""RSA against published dissimilarity matrices: the target is one RDM per (subject, session), not responses.

Datasets such as Kriegeskorte et al. 2008 publish RDMs rather than responses,
so the target assembly holds matrices: dims ``matrix`` x ``presentation`` x
``stimulus_column``, with ``stimulus_id`` on both stimulus dims and
``subject`` / ``session`` on ``matrix``. Sessions of a subject are averaged.

The comparison is the library's RSA (:func:`cortexscore.metrics.representational.rdm`
and :func:`~cortexscore.metrics.representational.rdm_similarity`): Spearman r
of the strict upper triangles, the mean over subjects, ordered by
``stimulus_id``. The stimuli are split in halves stratified on category: the
public half is the IT region's commitment data (the monkey benchmark provides
it), the private half gives the score, by the cross-validated variant, 10
(stratified) splits that each evaluate ``test_size`` (Kriegeskorte2008: 85%) of the private stimuli, with the
region's committed layer.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from cortexscore.benchmarks.scoring import ceiled_result, mean_score, register
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.metrics._assembly import make_splits
from cortexscore.metrics.representational import rdm, rdm_similarity
from cortexscore.models.commitment import LayerCommitments
from cortexscore.score import BenchmarkScore, Score

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
        raise ValueError(f"the RDM subject ceiling needs at least 2 subjects, got {len(names)} ({names})")
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


def restrict_matrices(assembly: xr.DataArray, stimulus_ids) -> xr.DataArray:
    """The matrices on ``stimulus_ids`` only (rows and columns)."""
    keep = np.isin(np.asarray(assembly["stimulus_id"].values).astype(str), np.asarray(stimulus_ids).astype(str))
    return assembly.isel(presentation=keep, stimulus_column=keep)


def scored_stimuli(stimuli: pd.DataFrame) -> pd.DataFrame:
    """The rows a score is computed on: the private split, or every row without a split."""
    if "split" not in stimuli.columns:
        return stimuli
    return stimuli[stimuli["split"].to_numpy() == "private"]


@register("rsa_matrices", commits_region=True)
def score_rsa_matrices(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame,
                       layer_features: dict[str, np.ndarray], ceiling: Score | None = None,
                       log: Callable[[str], None] = print, commitments: LayerCommitments | None = None,
                       commitment=None, region_layer_map: dict | None = None) -> BenchmarkScore:
    """Score the region's committed layer against the subjects' RDMs on 10 splits of the private stimuli."""
    from cortexscore.benchmarks.commitment import choose_layer, commitment_data

    scored = scored_stimuli(stimuli)
    if commitment is None and spec.commits_region and "split" in stimuli.columns:
        commitment = commitment_data(spec, stimuli, assembly, layer_features)
    layer, selection = choose_layer(spec, scored, list(layer_features), commitment=commitment,
                                    region_layer_map=region_layer_map, commitments=commitments, log=log)
    target = restrict_matrices(assembly, scored["stimulus_id"].astype(str))
    ids, names, subject_rdms = subject_matrices(target)
    table_ids = stimuli["stimulus_id"].astype(str).to_numpy()
    missing = np.setdiff1d(ids, table_ids)
    if len(missing):
        raise ValueError(f"the stimulus table lacks the target's stimuli {missing[:5].tolist()}")
    # Put the model's rows in the target's (sorted stimulus_id) order.
    rows_in_table = pd.Index(table_ids).get_indexer(ids)
    features = np.asarray(layer_features[layer])[rows_in_table]
    options = {"splits": 10, "test_size": 0.9, "random_state": 1, "stratification_coord": None,
               **spec.metric_options}
    coord = options["stratification_coord"]
    labels = None if coord is None else stimuli[coord].astype(str).to_numpy()[rows_in_table]
    splits = make_splits(len(ids), splits=options["splits"], test_size=options["test_size"],
                         random_state=options["random_state"], minimum=1, stratification=labels)
    per_split_per_subject = np.array([_layer_rdm_similarity(features, np.sort(test), subject_rdms, ids, layer)
                                      for _, test in splits])
    per_split = per_split_per_subject.mean(axis=1)
    raw = mean_score(per_split)
    if ceiling is None and len(names) > 1:
        ceiling = rdm_subjects_ceiling(target)
    elif ceiling is None:
        if spec.ceiling is None:
            raise ValueError(f"{spec.identifier} holds one RDM, so its ceiling cannot be computed from it, and the "
                             "catalogue gives none")
        # One RDM has no between-subject reliability: the catalogue's stand-in ceiling (see its attrs).
        ceiling = Score(spec.ceiling.value, spec.ceiling.error, attrs={"method": spec.ceiling.method})
    return ceiled_result(spec, raw, ceiling, layer, metric_options=options, layer_selection=selection,
                         layer_scores=selection["layer_scores"], scoring_stimuli=len(ids), subjects=names,
                         per_split_per_subject=per_split_per_subject.tolist(),
                         seeds={"cross_validation": options["random_state"]})
