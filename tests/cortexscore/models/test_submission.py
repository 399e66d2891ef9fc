from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.cortexscore.models.helpers import CUSTOM_EXAMPLE, write_tutorial
from cortexscore.models.errors import ModelError
from cortexscore.models.submission import load_submission

def test_tutorial_custom_model_loads_and_records(image_paths):
    submission = load_submission(CUSTOM_EXAMPLE)
    assert submission.layout == "tutorial"
    assert submission.model_identifiers() == ["my-model"]
    assert submission.bibtex("my-model") == ""
    model = submission.brain_model("my-model")
    assert (model.identifier, model.layers, model.visual_degrees()) == ("my-model", ["conv1", "relu1", "relu2"], 8)
    features = model.activations(image_paths[:2], model.layers)
    assert {layer: values.shape for layer, values in features.items()} == {
        "conv1": (2, 2 * 222 * 222), "relu1": (2, 2 * 222 * 222), "relu2": (2, 1000)}
    model.commit("IT", "relu2")
    model.start_recording("IT", [(70, 170)])
    recording = model.look_at(image_paths[:2])
    assert recording.dims == ("presentation", "neuroid")
    assert list(recording["stimulus_id"].values) == ["image_0", "image_1"]
    assert recording["neuroid_id"].values[0] == "my-model.relu2.0"


def test_root_folder_name_need_not_be_an_identifier(tmp_path, image_paths):
    root = write_tutorial(tmp_path / "my submission-v2.0")
    submission = load_submission(root)
    assert submission.bibtex("tiny") == "@misc{tiny}"
    features = submission.brain_model("tiny").activations(image_paths, ["conv", "relu"])
    assert features["relu"].shape == (5, 2 * 14 * 14) and (features["relu"] >= 0).all()


def test_two_submissions_in_one_process_do_not_mix(tmp_path):
    first = load_submission(write_tutorial(tmp_path / "first"))
    second = load_submission(write_tutorial(tmp_path / "second", layers="['conv']"))
    assert first.module is not second.module
    assert first.brain_model("tiny").layers == ["conv", "relu"]
    assert second.brain_model("tiny").layers == ["conv"]


def test_unknown_layer_fails_when_the_model_is_built(tmp_path):
    submission = load_submission(write_tutorial(tmp_path / "sub", layers="['conv', 'fc7']"))
    with pytest.raises(ModelError, match=r"model 'tiny' has no layer 'fc7'.*conv, relu"):
        submission.brain_model("tiny")


def test_import_error_names_the_file(tmp_path):
    root = write_tutorial(tmp_path / "sub", source="import not_a_real_package\n")
    with pytest.raises(ModelError, match=r"importing sub/models/base_models.py failed with ModuleNotFoundError"):
        load_submission(root)


def test_missing_tutorial_function_is_named(tmp_path):
    root = write_tutorial(tmp_path / "sub", source="def get_model_list():\n    return ['a']\n")
    with pytest.raises(ModelError, match=r"missing: get_model, get_layers, get_bibtex"):
        load_submission(root)


def test_unrecognised_layout_is_explained(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(ModelError, match=r"neither models/base_models.py .* nor models/<name>/__init__.py"):
        load_submission(tmp_path / "sub")


def test_plugin_layout_registers_models(tmp_path, image_paths):
    package = tmp_path / "plugin_sub" / "models" / "tiny_plugin"
    package.mkdir(parents=True)
    (package / "model.py").write_text(textwrap.dedent('''
        import functools
        import torch
        from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper, load_preprocess_images
        BIBTEX = "@misc{plugin}"

        def get_model():
            net = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 3), torch.nn.ReLU())
            return PytorchWrapper(net, functools.partial(load_preprocess_images, image_size=16), identifier='tiny-plugin')
        '''))
    (package / "__init__.py").write_text(textwrap.dedent('''
        from brainscore_vision import model_registry
        from brainscore_vision.model_helpers.brain_transformation import ModelCommitment
        from .model import get_model
        model_registry['tiny-plugin'] = lambda: ModelCommitment(identifier='tiny-plugin', activations_model=get_model(),
                                                                layers=['0', '1'], visual_degrees=6)
        '''))
    submission = load_submission(tmp_path / "plugin_sub")
    assert submission.layout == "plugin"
    assert submission.model_identifiers() == ["tiny-plugin"]
    assert submission.bibtex("tiny-plugin") == "@misc{plugin}"
    model = submission.brain_model("tiny-plugin")
    assert model.visual_degrees() == 6 and model.layers == ["0", "1"]
    assert model.activations(image_paths, ["1"])["1"].shape == (5, 3 * 14 * 14)
    import brainscore_vision

    assert brainscore_vision.load_model("tiny-plugin").identifier == "tiny-plugin"


def test_plugin_that_registers_nothing_is_refused(tmp_path):
    package = tmp_path / "sub" / "models" / "empty"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("x = 1\n")
    with pytest.raises(ModelError, match="no model was registered"):
        load_submission(tmp_path / "sub")


def test_forward_error_in_user_model_names_the_layer(tmp_path, image_paths):
    root = write_tutorial(tmp_path / "sub", forward="return self.relu(self.conv(x)).view(3, -1)")
    model = load_submission(root).brain_model("tiny")
    with pytest.raises(ModelError, match=r"model 'tiny' raised RuntimeError during forward .*\(5, 3, 16, 16\)"):
        model.activations(image_paths, ["relu"])


def test_probabilities_task_reads_out_the_last_layer(tmp_path, image_paths):
    import pandas as pd

    model = load_submission(write_tutorial(tmp_path / "sub")).brain_model("tiny")
    table = pd.DataFrame({"stimulus_id": [p.stem for p in image_paths], "image_path": [str(p) for p in image_paths],
                          "image_label": ["a", "b", "a", "b", "a"]})
    model.start_task("probabilities", table)
    probabilities = model.look_at(table)
    assert probabilities.dims == ("presentation", "choice") and list(probabilities["choice"].values) == ["a", "b"]
    np.testing.assert_allclose(probabilities.sum("choice"), 1)
