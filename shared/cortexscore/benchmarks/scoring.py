"""The registry of scoring procedures: each turns a model's activations on a benchmark's stimuli into a result.

A benchmark names its procedure in ``BenchmarkSpec.scoring``. The scorer runs
the model once per stimulus set for the layers the procedure asks for, then
calls :func:`score_activations` in the trusted process.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol

import numpy as np
import pandas as pd
import scipy.linalg  # noqa: F401  (loads scipy's own BLAS now, so that the thread limit below covers it)
import xarray as xr
from threadpoolctl import threadpool_limits

from cortexscore import code_version
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.conventions import ceil_score
from cortexscore.models.commitment import LayerCommitments

if TYPE_CHECKING:
    from cortexscore.benchmarks.commitment import CommitmentData
from cortexscore.score import BenchmarkScore, Score


def mean_score(values, **attrs) -> Score:
    """The mean of per-split (or per-subject) values, with the standard error over them (ddof 0).

    >>> mean_score(np.array([0.2, 0.4])).value
    0.30000000000000004
    """
    values = np.asarray(values, dtype=float)
    return Score(value=float(values.mean()), error=float(values.std() / np.sqrt(len(values))), per_split=values,
                 attrs=attrs)


def ceiled_result(spec: BenchmarkSpec, raw: Score, ceiling: Score, layer: str | None, **provenance) -> BenchmarkScore:
    """Normalise ``raw`` by ``ceiling`` with the benchmark's convention and keep every number apart."""
    ceiled = ceil_score(raw, ceiling, spec.convention)
    return BenchmarkScore(
        raw=float(raw), error=raw.error, ceiling=float(ceiling), ceiling_error=ceiling.error,
        ceiled=float(ceiled), convention=spec.convention, layer=layer, region=spec.region,
        provenance={"per_split": np.asarray(raw.per_split, dtype=float),
                    "region_layer_map": {spec.region: layer}, **provenance},
    )


class ScoringProcedure(Protocol):
    def __call__(self, spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame,
                 layer_features: dict[str, np.ndarray], ceiling: Score | None,
                 log: Callable[[str], None]) -> BenchmarkScore: ...


@dataclass(frozen=True)
class Procedure:
    score: ScoringProcedure
    # "candidates": every layer the model offers for commitment; "logits": the model's last leaf module only.
    layers: str = "candidates"
    # Whether it scores the region's committed layer, and so takes ``commitments`` (the search shared across
    # benchmarks), ``commitment`` (the region's commitment data) and ``region_layer_map`` (the user's layers).
    commits_region: bool = False


PROCEDURES: dict[str, Procedure] = {}


def register(name: str, layers: str = "candidates", commits_region: bool = False):
    """Decorator that registers a scoring procedure under ``name``."""
    def decorate(function: ScoringProcedure) -> ScoringProcedure:
        PROCEDURES[name] = Procedure(function, layers, commits_region)
        return function
    return decorate


def procedure(spec: BenchmarkSpec) -> Procedure:
    _load_builtin_procedures()
    if spec.scoring not in PROCEDURES:
        raise ValueError(f"benchmark {spec.identifier} uses the scoring procedure {spec.scoring!r}, which this "
                         f"version of cortexscore does not have; known: {sorted(PROCEDURES)}")
    return PROCEDURES[spec.scoring]


def score_activations(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame,
                      layer_features: dict[str, np.ndarray], ceiling: Score | None = None,
                      log: Callable[[str], None] = print,
                      commitments: LayerCommitments | None = None,
                      commitment: CommitmentData | None = None,
                      region_layer_map: dict | None = None) -> BenchmarkScore:
    """Score ``layer_features`` (each (n_stimuli, n_features) in the row order of ``stimuli``) on ``spec``.

    Whatever the procedure, the result's provenance names the benchmark version and the code that scored it.
    For neural benchmarks the layer is the region's: the one ``region_layer_map`` (the submission's own
    commitment) names, else the best on ``commitment``, the region's commitment data with the same model's
    activations (see :mod:`cortexscore.benchmarks.commitment`); a benchmark that provides its region's
    commitment data uses its own public split when ``commitment`` is None. ``commitments`` holds the layers
    these activations committed to, so benchmarks of a region share one search
    (:class:`cortexscore.models.commitment.LayerCommitments`).

    BLAS runs on one thread here. Scoring is hundreds of small products and solves (n_stimuli is at most a
    few thousand): a second BLAS thread gains little on them, and when the machine is busy (one scorer per
    core, or other work) every call waits for that thread to be scheduled. On 2 loaded cores this made
    scoring the two synthetic benchmarks 4x slower (27s against 6.4s; see bench/activations.py).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        chosen = procedure(spec)
        shared = {"commitments": commitments, "commitment": commitment,
                  "region_layer_map": region_layer_map} if chosen.commits_region else {}
        result = chosen.score(spec, assembly, stimuli, layer_features, ceiling, log, **shared)
    return result.with_provenance(
        benchmark=spec.identifier, benchmark_version=spec.version, kind=spec.kind, scoring=spec.scoring,
        metric=spec.metric, ceiling_method=spec.ceiling_method, convention=result.convention,
        visual_degrees=spec.visual_degrees, leaderboard=spec.leaderboard, code_version=code_version(),
    )


def _load_builtin_procedures() -> None:
    # Importing the modules registers their procedures; kept lazy to avoid import cycles.
    import importlib
    import pkgutil

    import cortexscore.benchmarks as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in ("scoring", "spec"):
            importlib.import_module(f"{package.__name__}.{module.name}")
