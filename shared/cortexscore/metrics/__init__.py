"""Metrics that compare a source (model) assembly with a target (brain or behaviour) assembly.

Every metric is built by :func:`load_metric` and called as
``metric(source, target) -> Score``. Higher is better for all of them.

Examples
--------
>>> import numpy as np, xarray as xr
>>> rng = np.random.default_rng(0)
>>> values = rng.normal(size=(100, 30))
>>> assembly = xr.DataArray(values, dims=("presentation", "neuroid"),
...                         coords={"stimulus_id": ("presentation", [f"s{i:03d}" for i in range(100)])})
>>> round(float(load_metric("ridge", alpha=1e-6)(assembly, assembly)), 4)
1.0
"""
from __future__ import annotations

import importlib
from typing import Callable

import xarray as xr

from cortexscore.score import Score

Metric = Callable[[xr.DataArray, xr.DataArray], Score]


# name -> (module, class, fixed keyword arguments); modules are imported on first use.
_METRICS: dict[str, tuple[str, str, dict]] = {
    "pls": ("regression", "RegressionCorrelation", {"regression": "pls"}),
    "ridge": ("regression", "RegressionCorrelation", {"regression": "ridge"}),
    "linear": ("regression", "RegressionCorrelation", {"regression": "linear"}),
    "ridgecv": ("regression", "RegressionCorrelation", {"regression": "ridgecv"}),
    "rdm": ("representational", "RDMSimilarity", {}),
    "rdm_cv": ("representational", "RDMSimilarityCrossValidated", {}),
    "cka": ("representational", "CKA", {"unbiased": True}),
    "cka_biased": ("representational", "CKA", {"unbiased": False}),
    "error_consistency": ("behaviour", "ErrorConsistency", {}),
    "i2n": ("behaviour", "I2n", {}),
}


def metric_names() -> list[str]:
    """The names :func:`load_metric` accepts."""
    return sorted(_METRICS)


def load_metric(name: str, **options) -> Metric:
    """The metric called ``name``, configured with ``options``.

    Parameters
    ----------
    name : str
        One of ``pls``, ``ridge``, ``linear``, ``ridgecv`` (neural predictivity),
        ``rdm``, ``rdm_cv``, ``cka``, ``cka_biased`` (representational
        similarity), ``error_consistency``, ``i2n`` (behaviour).
    **options
        Passed to the metric, e.g. ``splits``, ``train_size``,
        ``stratification_coord``, ``random_state``.

    Returns
    -------
    callable
        ``metric(source, target) -> Score``.

    Examples
    --------
    >>> load_metric("pls")
    RegressionCorrelation(regression='pls', splits=10, train_size=0.9, stratification_coord='object_name', random_state=1)
    >>> load_metric("nope")
    Traceback (most recent call last):
    ...
    ValueError: Unknown metric 'nope'; choose one of: cka, cka_biased, error_consistency, i2n, linear, ...
    """
    if name not in _METRICS:
        raise ValueError(f"Unknown metric {name!r}; choose one of: {', '.join(metric_names())}.")
    module, factory, fixed = _METRICS[name]
    return getattr(importlib.import_module(f"cortexscore.metrics.{module}"), factory)(**fixed, **options)


__all__ = ["load_metric", "metric_names", "Metric"]
