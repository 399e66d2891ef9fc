"""The classes and functions behind the ``model_tools``/``brainscore`` stand-ins.

They keep the Brain-Score names and signatures that submissions call, and do the work with
:mod:`cortexscore.models`.
"""
from __future__ import annotations

import importlib
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from cortexscore.models.activations import PytorchActivations, last_leaf_module, neuroid_ids
from cortexscore.models.brain_model import stimulus_table
from cortexscore.models.committed_model import CommittedModel
from cortexscore.models.errors import ModelError


class PytorchWrapper(PytorchActivations):
    """``model_tools.activations.pytorch.PytorchWrapper``: an activations model over a torch module.

    Calling it as ``wrapper(stimuli, layers)`` returns a presentation x neuroid assembly of all
    the layers side by side, as Brain-Score's wrapper does.
    """

    def __init__(self, model, preprocessing, identifier=None, forward_kwargs=None, *args, batch_size=64, **kwargs):
        super().__init__(model, preprocessing, identifier=identifier, batch_size=batch_size,
                         forward_kwargs=forward_kwargs)

    @property
    def _model(self):
        return self.model

    def layers(self):
        """(name, module) of every leaf module, as Brain-Score's ``layers()``."""
        for name, module in self.model.named_modules():
            if name and not module._modules:
                yield name, module

    def _output_layer(self):
        return last_leaf_module(self.model)[1]

    def __call__(self, stimuli, layers: Sequence[str], stimuli_identifier=None) -> xr.DataArray:
        table = stimulus_table(stimuli)
        features = self.activations(list(table["image_path"]), layers)
        ids = [nid for layer, values in features.items() for nid in neuroid_ids(self.identifier, layer, values.shape[1])]
        layer_names = np.concatenate([np.full(values.shape[1], layer, dtype=object) for layer, values in features.items()])
        return xr.DataArray(np.concatenate(list(features.values()), axis=1), dims=("presentation", "neuroid"),
                            coords={"stimulus_id": ("presentation", table["stimulus_id"].to_numpy()),
                                    "stimulus_path": ("presentation", table["image_path"].to_numpy()),
                                    "neuroid_id": ("neuroid", ids), "layer": ("neuroid", layer_names)})


class ModelCommitment(CommittedModel):
    """``model_tools.brain_transformation.ModelCommitment``: commit an activations model to a brain model."""

    def __init__(self, identifier, activations_model, layers, behavioral_readout_layer=None,
                 region_layer_map=None, visual_degrees=8):
        super().__init__(identifier, activations_model, layers, behavioral_readout_layer=behavioral_readout_layer,
                         region_layer_map=region_layer_map, visual_degrees=visual_degrees)


def check_base_models(module_name: str) -> None:
    """``model_tools.check_submission.check_models.check_base_models``: the local "ready to submit" run.

    Prints ``Test successful, you are ready to submit!`` when every model passes; raises a
    ``ModelError`` listing every problem otherwise.
    """
    from cortexscore.models.check import SUCCESS_MESSAGE, check_brain_model
    from cortexscore.models.submission import Submission

    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    submission = Submission(Path(getattr(module, "__file__", ".")).resolve().parent.parent, "tutorial", module=module)
    problems = []
    with tempfile.TemporaryDirectory() as workdir:
        for identifier in submission.model_identifiers():
            try:
                problems += check_brain_model(submission.brain_model(identifier), Path(workdir))
            except ModelError as error:
                problems.append(str(error))
    if problems:
        raise ModelError("the submission is not ready:\n- " + "\n- ".join(problems))
    print(SUCCESS_MESSAGE)


def check_brain_models(module_name: str) -> None:
    """Brain-Score's name for the same check on modules that return brain models."""
    check_base_models(module_name)


def score_model(model_identifier: str, benchmark_identifier: str, model):
    """``brainscore.score_model``: score a brain model on a benchmark, here in this process.

    The synthetic benchmarks (``Synthetic2026.IT-pls``, ``Synthetic2026.IT-ridge``) are generated locally and
    scored as the platform scores them (layer chosen on the public split, score on the private one), so the
    result equals the platform's. Other benchmarks need their data: use ``cortexscore score`` or ``cortexscore
    submit``. Returns the ceiled :class:`~cortexscore.score.Score` (its ``error`` is the raw score's standard
    error over splits), with ``raw``, ``ceiling`` and ``layer`` in its ``attrs``.
    """
    from cortexscore.benchmarks import synthetic
    from cortexscore.benchmarks.scoring import procedure, score_activations
    from cortexscore.benchmarks.spec import BenchmarkSpec, DataRef
    from cortexscore.models.placement import place_images
    from cortexscore.score import Score

    variants = {fields["identifier"]: fields for fields in map(synthetic.benchmark_fields, synthetic.METRICS)}
    if benchmark_identifier not in variants:
        raise NotImplementedError(
            f"score_model scores the synthetic benchmarks {sorted(variants)} locally; for "
            f"'{benchmark_identifier}' run `cortexscore score --model <submission folder> --benchmark "
            f"{benchmark_identifier}` (public data) or `cortexscore submit`.")
    if not all(hasattr(model, name) for name in ("activations", "layers", "visual_degrees")):
        raise ModelError(f"score_model needs a brain model built with ModelCommitment (or CommittedModel); "
                         f"got {type(model).__name__} for '{model_identifier}'.")
    refs = {name: DataRef(identifier=identifier, version=synthetic.VERSION, files={}) for name, identifier in
            (("stimulus_set", synthetic.STIMULUS_SET_IDENTIFIER), ("assembly", synthetic.ASSEMBLY_IDENTIFIER))}
    spec = BenchmarkSpec(**refs, **variants[benchmark_identifier])
    with tempfile.TemporaryDirectory() as workdir:
        stimuli, image_dir, assembly = synthetic.generate(Path(workdir))
        placed = place_images([image_dir / name for name in stimuli["filename"]], Path(workdir) / "placed",
                              model.visual_degrees(), spec.visual_degrees)
        layers = ["logits"] if procedure(spec).layers == "logits" else list(model.layers)
        result = score_activations(spec, assembly, stimuli, model.activations([str(path) for path in placed], layers))
    # A BenchmarkScore's missing number is null; a Score's, as Brain-Score's, is NaN.
    ceiled, error = (float("nan") if number is None else number for number in (result.ceiled, result.error))
    return Score(ceiled, error,
                 attrs={"raw": result.raw, "ceiling": result.ceiling, "layer": result.layer,
                        "model_identifier": model_identifier, "benchmark": benchmark_identifier})
