"""A brain model built from an activations model and candidate layers (Brain-Score's ``ModelCommitment``).

Recording from a region reads the layer committed to it; the scorer commits each region's
layer after scoring every candidate (see :mod:`cortexscore.models.commitment`). The
``probabilities`` and ``label`` tasks fit a :class:`~cortexscore.models.readout.ProbabilitiesReadout`
on the behavioural readout layer, which is the last candidate layer unless one is named.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from os import PathLike

import numpy as np
import xarray as xr

from cortexscore.models.activations import LOGITS, neuroid_ids
from cortexscore.models.brain_model import TASKS, BrainModel, stimulus_table
from cortexscore.models.errors import ModelError
from cortexscore.models.readout import ProbabilitiesReadout

DEFAULT_VISUAL_DEGREES = 8.0
LABEL_COLUMNS = ("image_label", "label")


def _check_commitment(identifier, activations_model, layers, visual_degrees):
    if not isinstance(identifier, str) or not identifier:
        raise ModelError(f"the model identifier must be a non-empty string; got {identifier!r}.")
    if not hasattr(activations_model, "activations"):
        raise ModelError(f"model '{identifier}': the activations model must have an activations(image_paths, "
                         f"layers) method, like PytorchWrapper; got {type(activations_model).__name__}.")
    if isinstance(layers, str) or not layers or not all(isinstance(layer, str) for layer in layers):
        raise ModelError(f"model '{identifier}': layers must be a non-empty list of layer names, e.g. "
                         f"['conv1', 'relu1']; got {layers!r}.")
    if not 0 < visual_degrees < 9000:
        raise ModelError(f"model '{identifier}': visual_degrees must be between 0 and 9000 (8 is usual); "
                         f"got {visual_degrees!r}.")
    if hasattr(activations_model, "get_layer"):
        for layer in layers:
            activations_model.get_layer(layer)


class CommittedModel(BrainModel):
    """A :class:`BrainModel` over layer activations.

    Parameters
    ----------
    identifier : str
        The model's name.
    activations_model : PytorchActivations or compatible
        Anything with ``activations(image_paths, layers, batch_size=..., progress=...)``.
    layers : list of str
        Candidate layers for commitment.
    behavioral_readout_layer : str, optional
        The layer the behavioural readout reads; defaults to the last candidate layer.
    region_layer_map : dict, optional
        Already committed regions, e.g. ``{"IT": "features.12"}``.
    visual_degrees : float
        Degrees of visual angle the model's input covers.

    Examples
    --------
    >>> import functools, tempfile, pathlib, torch
    >>> from PIL import Image
    >>> from cortexscore.models.activations import PytorchActivations
    >>> from cortexscore.models.preprocessing import load_preprocess_images
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> paths = [folder / f"{name}.png" for name in "ab"]
    >>> for shade, path in enumerate(paths):
    ...     Image.new("RGB", (8, 8), (shade * 200,) * 3).save(path)
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.ReLU())
    >>> extractor = PytorchActivations(net, functools.partial(load_preprocess_images, image_size=8), "tiny")
    >>> model = CommittedModel("tiny", extractor, layers=["0", "1"], region_layer_map={"IT": "1"})
    >>> model.start_recording("IT")
    >>> recording = model.look_at(paths)
    >>> recording.dims, recording.shape, str(recording["neuroid_id"].values[0])
    (('presentation', 'neuroid'), (2, 72), 'tiny.1.0')
    """

    def __init__(self, identifier: str, activations_model, layers: Sequence[str],
                 behavioral_readout_layer: str | None = None, region_layer_map: dict | None = None,
                 visual_degrees: float = DEFAULT_VISUAL_DEGREES):
        layers = list(layers) if not isinstance(layers, str) else layers
        _check_commitment(identifier, activations_model, layers, visual_degrees)
        self.identifier = identifier
        self.activations_model = activations_model
        self._layers = layers
        self.behavioral_readout_layer = behavioral_readout_layer or layers[-1]
        self.region_layer_map = dict(region_layer_map or {})
        self._visual_degrees = float(visual_degrees)
        self._task = "passive"
        self._readout = None
        self._recording = None

    @property
    def layers(self) -> list[str]:
        return list(self._layers)

    def visual_degrees(self) -> float:
        return self._visual_degrees

    def commit(self, region: str, layer: str) -> None:
        """Record ``region`` from ``layer`` from now on."""
        if hasattr(self.activations_model, "get_layer"):
            self.activations_model.get_layer(layer)
        self.region_layer_map[region] = layer

    def activations(self, image_paths: Sequence[str | PathLike], layers: Sequence[str], batch_size: int = 64,
                    progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
        return self.activations_model.activations(image_paths, layers, batch_size=batch_size, progress=progress)

    def start_task(self, task: str, fitting_stimuli=None) -> None:
        """``passive``; or ``label``/``probabilities`` with fitting stimuli labelled by ``image_label``.

        ``label`` with ``fitting_stimuli='imagenet'`` reads the argmax of the ``logits`` layer instead.
        """
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}; got {task!r}.")
        self._task, self._readout = task, None
        if task == "passive" or (task == "label" and isinstance(fitting_stimuli, str) and fitting_stimuli == "imagenet"):
            return
        if fitting_stimuli is None:
            raise ValueError(f"task {task!r} needs fitting_stimuli: a table with stimulus_id, image_path and "
                             f"one of the columns {LABEL_COLUMNS}.")
        table = stimulus_table(fitting_stimuli)
        label_column = next((column for column in LABEL_COLUMNS if column in table.columns), None)
        if label_column is None:
            raise ValueError(f"the fitting stimuli need a label column, one of {LABEL_COLUMNS}; "
                             f"columns are {list(table.columns)}.")
        features = self._layer_features(table["image_path"], self.behavioral_readout_layer)
        self._readout = ProbabilitiesReadout().fit(features, table[label_column].to_numpy())

    def start_recording(self, region: str, time_bins=None) -> None:
        if region not in self.region_layer_map:
            raise ModelError(f"model '{self.identifier}' has no layer committed for region '{region}'; "
                             f"commit one with commit('{region}', layer) (candidates: {self._layers}).")
        self._task = None
        self._recording = (region, None if time_bins is None else [tuple(map(float, b)) for b in time_bins])

    def look_at(self, stimuli, number_of_trials: int = 1) -> xr.DataArray:
        """Responses to ``stimuli`` (a stimulus table or a list of image paths), one row per stimulus."""
        table = stimulus_table(stimuli)
        presentation = {column: ("presentation", table[column].to_numpy())
                        for column in table.columns if column != "image_path"}
        if self._task is None:
            return self._record(table, presentation)
        if self._task == "passive":
            raise ValueError("the model is passive: call start_recording(region) or start_task('label' or "
                             "'probabilities', fitting_stimuli) before look_at.")
        if self._readout is None:  # label on ImageNet logits
            logits = self._layer_features(table["image_path"], LOGITS)
            return xr.DataArray(logits.argmax(axis=1), dims=("presentation",), coords=presentation, name="label")
        features = self._layer_features(table["image_path"], self.behavioral_readout_layer)
        if self._task == "label":
            return xr.DataArray(self._readout.predict(features), dims=("presentation",), coords=presentation,
                                name="label")
        return xr.DataArray(self._readout.predict_proba(features), dims=("presentation", "choice"),
                            coords={**presentation, "choice": self._readout.classes}, name="probabilities")

    def _layer_features(self, image_paths, layer: str) -> np.ndarray:
        return self.activations([str(path) for path in image_paths], [layer])[layer]

    def _record(self, table, presentation: dict) -> xr.DataArray:
        region, time_bins = self._recording
        layer = self.region_layer_map[region]
        features = self._layer_features(table["image_path"], layer)
        n_features = features.shape[1]
        coords = {**presentation,
                  "neuroid_id": ("neuroid", neuroid_ids(self.identifier, layer, n_features)),
                  "neuroid_num": ("neuroid", np.arange(n_features)),
                  "layer": ("neuroid", np.full(n_features, layer, dtype=object)),
                  "region": ("neuroid", np.full(n_features, region, dtype=object))}
        if not time_bins or len(time_bins) == 1:
            # One bin (or none): the static response, with the bin kept as scalar coords.
            if time_bins:
                coords.update(time_bin_start=time_bins[0][0], time_bin_end=time_bins[0][1])
            return xr.DataArray(features, dims=("presentation", "neuroid"), coords=coords, name=self.identifier)
        # A feedforward model answers the same in every time bin.
        repeated = np.broadcast_to(features[:, :, None], features.shape + (len(time_bins),))
        coords.update(time_bin_start=("time_bin", [start for start, _ in time_bins]),
                      time_bin_end=("time_bin", [end for _, end in time_bins]))
        return xr.DataArray(repeated, dims=("presentation", "neuroid", "time_bin"), coords=coords,
                            name=self.identifier)
