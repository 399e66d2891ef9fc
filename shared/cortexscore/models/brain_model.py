"""The interface every benchmark talks to: a model that looks at stimuli as a brain region or an observer.

A benchmark first sets the model up (``start_task`` for behaviour, ``start_recording`` for a
region), then shows it stimuli with ``look_at``. For speed the scorer also calls
``activations`` directly: all candidate layers in one pass over the images.
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

TASKS = ("passive", "label", "probabilities")


class BrainModel(abc.ABC):
    """What a benchmark needs from a model (Brain-Score's ``BrainModel``).

    Subclasses set ``identifier`` and implement the abstract methods; ``layers`` and
    ``activations`` are optional and let the scorer select layers itself.
    """

    identifier: str = ""
    Task = type("Task", (), {task: task for task in TASKS})

    @abc.abstractmethod
    def visual_degrees(self) -> float:
        """How many degrees of visual angle the model's input covers (8 by default)."""

    @abc.abstractmethod
    def start_task(self, task: str, fitting_stimuli=None) -> None:
        """Switch to ``passive``, ``label`` or ``probabilities`` (fitting a readout if needed)."""

    @abc.abstractmethod
    def start_recording(self, region: str, time_bins=None) -> None:
        """Record from ``region`` (V1, V2, V4, IT) in the given ``(start, end)`` ms time bins."""

    @abc.abstractmethod
    def look_at(self, stimuli, number_of_trials: int = 1):
        """Return presentation x neuroid (recording) or presentation x choice (task) as xarray."""

    @property
    def layers(self) -> list[str]:
        """The candidate layers the model offers for commitment; empty if it chooses itself."""
        return []

    def activations(self, image_paths: Sequence[str | PathLike], layers: Sequence[str], batch_size: int = 64,
                    progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
        """Per-layer float32 features of shape (n_images, n_features), from one pass over the images."""
        raise NotImplementedError(f"{type(self).__name__} does not expose layer activations; "
                                  "benchmarks use look_at instead.")


def stimulus_table(stimuli) -> pd.DataFrame:
    """Normalise what a benchmark passes to ``look_at`` into a table with ``stimulus_id`` and ``image_path``.

    Accepted: a table with ``stimulus_id`` and ``image_path`` (as ``cortexscore.data.load_stimulus_set``
    returns), a Brain-Score ``StimulusSet`` with ``get_stimulus(stimulus_id)``, or a list of image paths
    (whose file stems become the stimulus ids).

    Examples
    --------
    >>> stimulus_table(["/images/a.png", "/images/b.jpg"])
      stimulus_id     image_path
    0           a  /images/a.png
    1           b  /images/b.jpg
    """
    if isinstance(stimuli, pd.DataFrame):
        table = stimuli.copy()
        if "stimulus_id" not in table.columns:
            raise ValueError(f"the stimuli table has no 'stimulus_id' column; columns are {list(table.columns)}.")
        if "image_path" not in table.columns:
            if not hasattr(stimuli, "get_stimulus"):
                raise ValueError("the stimuli table needs an 'image_path' column (or a get_stimulus method) "
                                 "giving each image file on disk.")
            table["image_path"] = [str(stimuli.get_stimulus(sid)) for sid in table["stimulus_id"]]
        table["stimulus_id"] = table["stimulus_id"].astype(str)
        return table.reset_index(drop=True)
    paths = [str(path) for path in stimuli]
    return pd.DataFrame({"stimulus_id": [Path(path).stem for path in paths], "image_path": paths})
