"""Shared validation and numerics for metrics and ceilings.

One validator, :func:`check_assembly`, turns an ``xarray.DataArray`` into a
``presentation x neuroid`` numpy matrix (in its own dtype, without copying),
and raises a ``ValueError`` that says exactly what is wrong. Everything
numeric after that works on plain numpy arrays, in float64. A source may also be
a layer kept on disk (:class:`cortexscore.stored.StoredMatrix`): it is read a block
of columns or a row at a time, and its Gram matrix, row sums and constant rows are the
same numbers as the in-memory layer's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from cortexscore.stored import StoredMatrix, column_blocks, iter_rows

PRESENTATION, NEUROID = "presentation", "neuroid"

# Columns of a wide source are cast to float64 this many at a time, so a float32
# 3200 x 100k source never needs a full float64 copy.
GRAM_CHUNK_FEATURES = 8192
# Where gram_matrix multiplies: None for numpy on the CPU, or a torch device (see use_gram_device).
GRAM_DEVICE: str | None = None


def _describe(values: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return f"{shown}{', ...' if len(values) > limit else ''} ({len(values)} in total)"


def check_assembly(assembly: xr.DataArray, role: str, *, allow_nan: bool = False) -> np.ndarray:
    """Return ``assembly`` as a ``presentation x neuroid`` float array, or raise a ValueError saying why not.

    Parameters
    ----------
    assembly : xarray.DataArray
        Dims ``presentation`` and ``neuroid`` (in any order) and a
        ``stimulus_id`` coordinate on ``presentation``. Its data may be a
        :class:`~cortexscore.stored.StoredMatrix`, which is returned unread.
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
    data = assembly.transpose(PRESENTATION, NEUROID).data
    values = data if isinstance(data, StoredMatrix) else np.asarray(data)
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"The {role} must hold numbers, got dtype {values.dtype}.")
    if 0 in values.shape:
        raise ValueError(f"The {role} is empty: shape {values.shape} (presentation, neuroid).")
    # One pass finds whether anything is off; only then do the passes that say what.
    if not _rows_where(values, lambda block: ~np.isfinite(block)).any():
        return values
    infinite = _rows_where(values, np.isinf)
    if infinite.any():
        raise ValueError(f"The {role} contains infinite values at presentations with stimulus_id "
                         f"{_describe(stimulus_ids(assembly)[infinite])}; remove or clip them.")
    if not allow_nan:
        missing = _rows_where(values, np.isnan)
        if missing.any():
            raise ValueError(
                f"The {role} contains NaN values at presentations with stimulus_id "
                f"{_describe(stimulus_ids(assembly)[missing])}; drop or impute them first.")
    return values


def _rows_where(values: np.ndarray, test) -> np.ndarray:
    """Rows where ``test`` holds for any column, checked a chunk of features (or a stored row) at a time."""
    if isinstance(values, StoredMatrix):
        return np.array([bool(test(row).any()) for row in iter_rows(values)])
    rows = np.zeros(values.shape[0], dtype=bool)
    for _, block in column_blocks(values, GRAM_CHUNK_FEATURES):
        rows |= test(block).any(axis=1)
    return rows


def stimulus_ids(assembly: xr.DataArray) -> np.ndarray:
    """The stimulus ids; numbers stay numbers so they sort as the reference sorts them (2 before 10)."""
    ids = np.asarray(assembly["stimulus_id"].values)
    return ids if ids.dtype.kind in "iuf" else ids.astype(str)


def neuroid_ids(assembly: xr.DataArray) -> np.ndarray:
    if "neuroid_id" in assembly.coords:
        return np.asarray(assembly["neuroid_id"].values)
    return np.arange(assembly.sizes[NEUROID])


def group_sums(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the sum of the non-NaN rows and how many there were, shape (n_groups, n_columns).

    Examples
    --------
    >>> sums, counts = group_sums(np.array([[1.], [np.nan], [3.]]), np.array([2, 0, 2]), 3)
    >>> sums.ravel().tolist(), counts.ravel().tolist()
    ([0.0, 0.0, 4.0], [0, 0, 2])
    """
    order = np.argsort(groups, kind="stable")
    present, starts = np.unique(groups[order], return_index=True)
    ordered = np.asarray(values[order], dtype=np.float64)  # one copy, zeroed at the NaNs in place
    observed = ~np.isnan(ordered)
    ordered[~observed] = 0.0
    if len(present) == len(groups):  # one row per group (e.g. per repetition and stimulus): nothing to add up
        present_sums, present_counts = ordered, observed.astype(np.int32)
    else:
        present_sums = np.add.reduceat(ordered, starts, axis=0)
        present_counts = np.add.reduceat(observed, starts, axis=0, dtype=np.int32)
    if len(present) == n_groups:
        return present_sums, present_counts
    sums = np.zeros((n_groups, values.shape[1]))
    counts = np.zeros((n_groups, values.shape[1]), dtype=np.int32)
    sums[present], counts[present] = present_sums, present_counts
    return sums, counts


def check_observed(counts: np.ndarray, ids: np.ndarray, role: str) -> None:
    """Raise if some stimulus x neuroid has no non-NaN trial to average."""
    if (counts == 0).any():
        stimulus, neuroid = np.nonzero(counts == 0)
        raise ValueError(
            f"The {role} has no non-NaN trial for stimulus_id {_describe(ids[np.unique(stimulus)])} "
            f"at neuroid index {_describe(np.unique(neuroid))}; drop those stimuli or neuroids.")


def average_by_stimulus(values: np.ndarray, ids: np.ndarray, role: str) -> tuple[np.ndarray, np.ndarray]:
    """Average rows that share a stimulus id, skipping NaN trials; return (sorted ids, means).

    Examples
    --------
    >>> ids, means = average_by_stimulus(np.array([[1.], [3.], [np.nan], [5.]]), np.array(["b", "b", "a", "a"]), "target")
    >>> ids.tolist(), means.ravel().tolist()
    (['a', 'b'], [5.0, 2.0])
    """
    unique_ids, group = np.unique(ids, return_inverse=True)
    sums, counts = group_sums(values, group, len(unique_ids))
    check_observed(counts, unique_ids, role)
    return unique_ids, sums / counts


def prepare_target(target: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Target averaged over repetitions per stimulus, sorted by stimulus_id: (ids, values)."""
    return average_by_stimulus(check_assembly(target, "target", allow_nan=True), stimulus_ids(target), "target")


@dataclass
class SourceRows:
    """A source's values in their original row order, with the permutation that sorts them by stimulus_id.

    Rows are gathered only on demand and the Gram matrix is permuted instead
    of the data, so a wide source (3200 x 100k) is never copied whole. ``values``
    may be a :class:`~cortexscore.stored.StoredMatrix`: the Gram matrix is then
    read a block of columns at a time and the row statistics a row at a time, in the
    same float64 arithmetic, and :meth:`rows` refuses a selection too large to hold.
    """

    values: np.ndarray | StoredMatrix
    order: np.ndarray

    @property
    def n_features(self) -> int:
        return self.values.shape[1]

    def rows(self, index=slice(None)) -> np.ndarray:
        """Sorted-order rows ``index`` as float64."""
        return np.asarray(self.values[self.order[index]], dtype=np.float64)

    def gram(self) -> np.ndarray:
        """The Gram matrix of the sorted rows."""
        return gram_matrix(self.values)[np.ix_(self.order, self.order)]

    def row_sums(self) -> np.ndarray:
        """Sum over features of each sorted row, accumulated in float64."""
        if isinstance(self.values, StoredMatrix):
            # Row by row, as numpy sums each row of a 2-D array: the same float64 sums.
            return np.array([row.sum(dtype=np.float64) for row in iter_rows(self.values)])[self.order]
        return self.values.sum(axis=1, dtype=np.float64)[self.order]

    def row_is_constant(self) -> np.ndarray:
        if isinstance(self.values, StoredMatrix):
            return np.array([row.min() == row.max() for row in iter_rows(self.values)])[self.order]
        return (np.ptp(self.values, axis=1) == 0)[self.order]


def prepare_source(source: xr.DataArray, role: str = "source") -> tuple[np.ndarray, SourceRows]:
    """Sorted stimulus ids of a source with one row per stimulus, and its rows in that order."""
    values = check_assembly(source, role)
    ids = stimulus_ids(source)
    unique_ids, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"The {role} has repeated stimulus_id values {_describe(unique_ids[counts > 1])}; "
            f"a {role} needs exactly one row per stimulus (average the repetitions first).")
    order = np.argsort(ids, kind="stable")
    return ids[order], SourceRows(values, order)


def check_same_stimuli(source_ids: np.ndarray, target_ids: np.ndarray) -> None:
    """Raise unless the sorted unique stimulus ids of source and target are identical."""
    if (source_ids.dtype.kind == "U") != (target_ids.dtype.kind == "U"):
        raise ValueError(f"The source's stimulus_id values are {source_ids.dtype} but the target's are "
                         f"{target_ids.dtype}; use the same type (e.g. strings) in both.")
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
    with np.errstate(invalid="ignore", divide="ignore"):  # constant columns give NaN; callers raise on them
        return (a_centered * b_centered).sum(axis=0) / norms


def make_splits(n_samples: int, *, splits: int, random_state: int, train_size: float | None = None,
                test_size: float | None = None, stratification: np.ndarray | None = None, role: str = "stimuli",
                minimum: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffle splits (stratified when labels are given), exactly as sklearn draws them.

    Examples
    --------
    >>> [len(part) for part in make_splits(10, splits=3, train_size=0.9, random_state=1, minimum=1)[0]]
    [9, 1]
    >>> make_splits(10, splits=3, train_size=0.9, random_state=1)
    Traceback (most recent call last):
    ...
    ValueError: Too few stimuli for the splits: 10 stimuli with train_size=0.9 leave 9 for training and 1 for testing; ...
    """
    n_test = int(np.ceil(test_size * n_samples)) if test_size is not None else None
    n_train = int(np.floor(train_size * n_samples)) if train_size is not None else n_samples - n_test
    n_test = n_samples - n_train if n_test is None else n_test
    if n_train < minimum or n_test < minimum or n_train + n_test > n_samples:
        sizes = f"train_size={train_size}" if test_size is None else f"test_size={test_size}"
        raise ValueError(
            f"Too few {role} for the splits: {n_samples} {role} with {sizes} leave "
            f"{n_train} for training and {n_test} for testing; at least {minimum} of each are needed.")
    kwargs = dict(n_splits=splits, train_size=train_size, test_size=test_size, random_state=random_state)
    if stratification is None:
        return list(ShuffleSplit(**kwargs).split(np.zeros(n_samples)))
    try:
        return list(StratifiedShuffleSplit(**kwargs).split(np.zeros(n_samples), stratification))
    except ValueError as error:
        raise ValueError(f"Cannot stratify the splits on the given coordinate: {error}") from error


def gram_matrix(values: np.ndarray) -> np.ndarray:
    """``values @ values.T`` in float64, computed over chunks of features to bound memory.

    ``values`` is a numpy array or a :class:`~cortexscore.stored.StoredMatrix`; both are cast and multiplied
    in the same chunks, so a stored layer's Gram matrix is the in-memory layer's to the last bit.

    >>> gram_matrix(np.array([[1., 2.], [3., 4.]]))
    array([[ 5., 11.],
           [11., 25.]])
    """
    gram = np.zeros((values.shape[0], values.shape[0]))
    for _, block in column_blocks(values, GRAM_CHUNK_FEATURES):
        chunk = np.asarray(block, dtype=np.float64)
        gram += chunk @ chunk.T if GRAM_DEVICE is None else _gram_on_device(chunk)
    return gram


def use_gram_device(device: str | None) -> None:
    """Compute Gram products with torch on ``device`` (e.g. ``"cuda:0"``), or with numpy (None, the default).

    Still float64, but a GPU sums in another order than the CPU's BLAS: scores then differ from the CPU's
    at about 1e-13 relative, which is why the CPU stays the default (``SCORER_GRAM_ON_GPU`` turns it on).
    """
    global GRAM_DEVICE
    GRAM_DEVICE = device


def _gram_on_device(chunk: np.ndarray) -> np.ndarray:
    import torch

    on_device = torch.from_numpy(chunk).to(GRAM_DEVICE)
    return (on_device @ on_device.T).cpu().numpy()


def center_gram(gram: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Block of the Gram matrix after centring the features by their mean over the ``columns`` stimuli.

    For X with (symmetric) Gram G, returns (X[rows] - m)(X[columns] - m)^T with m the mean of X[columns]:
    G[rows, columns] - G[rows] w - (G[columns] w)^T + w^T G w, with w the averaging weights of ``columns``.
    Only the block itself is allocated.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(5, 3))
    >>> centred = x[[0, 1]] - x[[2, 3, 4]].mean(axis=0)
    >>> bool(np.allclose(center_gram(x @ x.T, np.array([0, 1]), np.array([2, 3, 4])),
    ...                  centred @ (x[[2, 3, 4]] - x[[2, 3, 4]].mean(axis=0)).T))
    True
    """
    weights = np.zeros(len(gram))
    weights[columns] = 1.0 / len(columns)
    means = gram @ weights  # each stimulus' mean inner product with the columns' stimuli
    block = gram[np.ix_(rows, columns)]
    block -= means[rows, None]
    block -= means[columns]
    block += means[columns].mean()
    return block


def centred_rank(gram: np.ndarray, n_features: int) -> int:
    """Rank of the source after centring its features, from its Gram matrix.

    The eigenvalues of the centred Gram matrix (the squared singular values) are known to about
    ``n * eps * lambda_max``; those below ``max(n_stimuli, n_features) * eps * lambda_max`` count as zero, and
    the rank is at most ``min(n_features, n_stimuli - 1)``. The tolerance is relative, so the rank does not
    change when the source is rescaled or its columns permuted.

    >>> x = np.random.default_rng(0).normal(size=(30, 3)) @ np.ones((3, 40))
    >>> centred_rank(x @ x.T, 40), centred_rank(np.zeros((5, 5)), 2)
    (1, 0)
    """
    everything = np.arange(len(gram))
    eigenvalues = np.linalg.eigvalsh(center_gram(gram, everything, everything))
    largest = eigenvalues.max(initial=0.0)
    if largest <= 0:
        return 0
    rank = int((eigenvalues > largest * max(len(gram), n_features) * np.finfo(float).eps).sum())
    return min(rank, n_features, len(gram) - 1)


# Brain-Score's default stratification coordinate for its cross-validated metrics.
DEFAULT_STRATIFICATION = "object_name"


def stratification_labels(source: xr.DataArray, target: xr.DataArray, sorted_ids: np.ndarray,
                           coord: str | None) -> np.ndarray | None:
    """One stratification label per stimulus, in ``sorted_ids`` order, from the target (else the source).

    ``coord`` = ``'object_name'`` (Brain-Score's default) falls back to plain shuffle splits when neither
    assembly has that coordinate; the metric records it (see :func:`stratification_used`). Any other
    coordinate must exist.
    """
    if coord is None:
        return None
    holder = target if coord in target.coords else source if coord in source.coords else None
    if holder is None and coord == DEFAULT_STRATIFICATION:
        return None
    if holder is None or holder[coord].dims != ("presentation",):
        raise ValueError(
            f"stratification_coord={coord!r} is not a 'presentation' coordinate of the target or the source; "
            "pass stratification_coord=None for plain shuffle splits.")
    ids = stimulus_ids(holder)
    labels = np.asarray(holder[coord].values)
    first = {stimulus: label for stimulus, label in zip(ids[::-1], labels[::-1])}
    if len({(stimulus, label) for stimulus, label in zip(ids, labels)}) != len(first):
        raise ValueError(f"Some stimuli have more than one {coord!r} value; each stimulus needs exactly one.")
    return np.array([first[stimulus] for stimulus in sorted_ids])


def stratification_used(coord: str | None, labels: np.ndarray | None) -> str | None:
    """What the splits were stratified on, for a score's attrs: the coordinate, or None for plain splits.

    >>> stratification_used("object_name", None) is None
    True
    """
    return None if labels is None else coord
