"""Shared validation and numerics for metrics and ceilings.

One validator, :func:`check_assembly`, turns an ``xarray.DataArray`` into a
float64 ``presentation x neuroid`` numpy matrix plus its stimulus ids, and
raises a ``ValueError`` that says exactly what is wrong. Everything numeric
after that works on plain numpy arrays.
"""
from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

PRESENTATION, NEUROID = "presentation", "neuroid"

# Columns of a wide source are cast to float64 this many at a time, so a float32
# 3200 x 100k source never needs a full float64 copy.
GRAM_CHUNK_FEATURES = 8192


def _describe(values: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return f"{shown}{', ...' if len(values) > limit else ''} ({len(values)} in total)"


def check_assembly(assembly: xr.DataArray, role: str, *, allow_nan: bool = False) -> np.ndarray:
    """Return ``assembly`` as a ``presentation x neuroid`` float array, or raise a ValueError saying why not.

    Parameters
    ----------
    assembly : xarray.DataArray
        Dims ``presentation`` and ``neuroid`` (in any order) and a
        ``stimulus_id`` coordinate on ``presentation``.
    role : str
        What the assembly is ("source", "target", ...), used in messages.
    allow_nan : bool
        Missing trials (NaN) are allowed, e.g. before averaging repetitions.
    """
    if not isinstance(assembly, xr.DataArray):
        raise ValueError(f"The {role} must be an xarray.DataArray, got {type(assembly).__name__}.")
    if set(assembly.dims) != {PRESENTATION, NEUROID}:
        raise ValueError(
            f"The {role} must have exactly the dims ('presentation', 'neuroid'), got {assembly.dims}; "
            "select a single time bin (e.g. assembly.squeeze('time_bin')) or rename the dims.")
    if "stimulus_id" not in assembly.coords or assembly["stimulus_id"].dims != (PRESENTATION,):
        raise ValueError(f"The {role} needs a 'stimulus_id' coordinate on the 'presentation' dim.")
    values = np.asarray(assembly.transpose(PRESENTATION, NEUROID).values)
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"The {role} must hold numbers, got dtype {values.dtype}.")
    if 0 in values.shape:
        raise ValueError(f"The {role} is empty: shape {values.shape} (presentation, neuroid).")
    if np.isinf(values).any():
        raise ValueError(f"The {role} contains infinite values; remove or clip them.")
    if not allow_nan and np.isnan(values).any():
        rows = np.flatnonzero(np.isnan(values).any(axis=1))
        raise ValueError(
            f"The {role} contains NaN values at presentations with stimulus_id "
            f"{_describe(stimulus_ids(assembly)[rows])}; drop or impute them first.")
    return values


def stimulus_ids(assembly: xr.DataArray) -> np.ndarray:
    return np.asarray(assembly["stimulus_id"].values).astype(str)


def neuroid_ids(assembly: xr.DataArray) -> np.ndarray:
    if "neuroid_id" in assembly.coords:
        return np.asarray(assembly["neuroid_id"].values)
    return np.arange(assembly.sizes[NEUROID])


def average_by_stimulus(values: np.ndarray, ids: np.ndarray, role: str) -> tuple[np.ndarray, np.ndarray]:
    """Average rows that share a stimulus id, skipping NaN trials; return (sorted ids, means).

    Examples
    --------
    >>> ids, means = average_by_stimulus(np.array([[1.], [3.], [np.nan], [5.]]), np.array(["b", "b", "a", "a"]), "target")
    >>> ids.tolist(), means.ravel().tolist()
    (['a', 'b'], [5.0, 2.0])
    """
    unique_ids, group = np.unique(ids, return_inverse=True)
    present = ~np.isnan(values)
    sums = np.zeros((len(unique_ids), values.shape[1]))
    counts = np.zeros((len(unique_ids), values.shape[1]))
    np.add.at(sums, group, np.where(present, values, 0.0))
    np.add.at(counts, group, present)
    if (counts == 0).any():
        stimulus, neuroid = np.nonzero(counts == 0)
        raise ValueError(
            f"The {role} has no non-NaN trial for stimulus_id {_describe(unique_ids[np.unique(stimulus)])} "
            f"at neuroid index {_describe(np.unique(neuroid))}; drop those stimuli or neuroids.")
    return unique_ids, sums / counts


def prepare_target(target: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Target averaged over repetitions per stimulus, sorted by stimulus_id: (ids, values)."""
    return average_by_stimulus(check_assembly(target, "target", allow_nan=True), stimulus_ids(target), "target")


def prepare_source(source: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Source sorted by stimulus_id, one row per stimulus: (ids, values)."""
    values = check_assembly(source, "source")
    ids = stimulus_ids(source)
    unique_ids, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"The source has repeated stimulus_id values {_describe(unique_ids[counts > 1])}; "
            "a source needs exactly one row per stimulus (average the repetitions first).")
    order = np.argsort(ids, kind="stable")
    return ids[order], values[order]


def check_same_stimuli(source_ids: np.ndarray, target_ids: np.ndarray) -> None:
    """Raise unless the sorted unique stimulus ids of source and target are identical."""
    if len(source_ids) == len(target_ids) and (source_ids == target_ids).all():
        return
    only_source = np.setdiff1d(source_ids, target_ids)
    only_target = np.setdiff1d(target_ids, source_ids)
    parts = []
    if len(only_source):
        parts.append(f"only in source: {_describe(only_source)}")
    if len(only_target):
        parts.append(f"only in target: {_describe(only_target)}")
    raise ValueError(
        "The source and target must hold the same set of stimulus_id values; "
        + "; ".join(parts) + ". Select the benchmark's stimuli from the source before scoring.")


def check_not_constant(values: np.ndarray, labels: np.ndarray, role: str) -> None:
    """Raise if any column of ``values`` is constant, since its correlation is undefined."""
    constant = np.ptp(values, axis=0) == 0
    if constant.any():
        raise ValueError(
            f"The {role} has constant neuroids (zero variance across stimuli), whose correlation is undefined: "
            f"{_describe(np.asarray(labels)[constant])}. Drop them before scoring.")


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between matching columns of ``a`` and ``b``, all columns at once.

    Examples
    --------
    >>> pearson_columns(np.array([[1., 1.], [2., 3.], [3., 2.]]), np.array([[2., 1.], [4., 2.], [6., 3.]]))
    array([1. , 0.5])
    """
    a_centered = a - a.mean(axis=0)
    b_centered = b - b.mean(axis=0)
    norms = np.sqrt((a_centered ** 2).sum(axis=0) * (b_centered ** 2).sum(axis=0))
    return (a_centered * b_centered).sum(axis=0) / norms


def make_splits(n_samples: int, *, splits: int, train_size: float, random_state: int,
                stratification: np.ndarray | None = None, role: str = "stimuli") -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffle splits (stratified when labels are given) exactly as sklearn draws them."""
    n_train = int(np.floor(train_size * n_samples)) if isinstance(train_size, float) else int(train_size)
    if n_train < 2 or n_samples - n_train < 2:
        raise ValueError(
            f"Too few {role} for the splits: {n_samples} {role} with train_size={train_size} leave "
            f"{n_train} to train and {n_samples - n_train} to test; at least 2 of each are needed.")
    if stratification is None:
        splitter = ShuffleSplit(n_splits=splits, train_size=train_size, random_state=random_state)
        return list(splitter.split(np.zeros(n_samples)))
    splitter = StratifiedShuffleSplit(n_splits=splits, train_size=train_size, random_state=random_state)
    try:
        return list(splitter.split(np.zeros(n_samples), stratification))
    except ValueError as error:
        raise ValueError(f"Cannot stratify the splits on the given coordinate: {error}") from error


def gram_matrix(values: np.ndarray) -> np.ndarray:
    """``values @ values.T`` in float64, computed over chunks of features to bound memory."""
    gram = np.zeros((values.shape[0], values.shape[0]))
    for start in range(0, values.shape[1], GRAM_CHUNK_FEATURES):
        chunk = np.asarray(values[:, start:start + GRAM_CHUNK_FEATURES], dtype=np.float64)
        gram += chunk @ chunk.T
    return gram


def center_gram(gram: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Block of the Gram matrix after centering the features by their mean over ``columns``.

    For X with Gram G, returns (X[rows] - m)(X[columns] - m)^T where m is the mean of X[columns].
    """
    block = gram[np.ix_(rows, columns)]
    column_means = gram[np.ix_(columns, columns)].mean(axis=0)
    return block - block.mean(axis=1, keepdims=True) - column_means + column_means.mean()
