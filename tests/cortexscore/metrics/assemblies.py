"""Small deterministic assemblies for the metric and ceiling tests."""
from __future__ import annotations

import numpy as np
import xarray as xr


def stimulus_names(n: int) -> np.ndarray:
    return np.array([f"stim{i:04d}" for i in range(n)])


def neural(values: np.ndarray, ids: np.ndarray | None = None, **presentation_coords) -> xr.DataArray:
    """A presentation x neuroid assembly with stimulus_id (default stim0000...) and neuroid_id coords."""
    ids = stimulus_names(len(values)) if ids is None else ids
    coords = {"stimulus_id": ("presentation", ids),
              "neuroid_id": ("neuroid", [f"n{j}" for j in range(values.shape[1])])}
    coords.update({name: ("presentation", np.asarray(value)) for name, value in presentation_coords.items()})
    return xr.DataArray(values, dims=("presentation", "neuroid"), coords=coords)


def with_repetitions(trials: np.ndarray) -> xr.DataArray:
    """(repetitions, stimuli, neuroids) trials as a presentation x neuroid assembly with a repetition coord."""
    repetitions, stimuli, _ = trials.shape
    return neural(trials.reshape(repetitions * stimuli, -1), np.tile(stimulus_names(stimuli), repetitions),
                  repetition=np.repeat(np.arange(repetitions), stimuli))
